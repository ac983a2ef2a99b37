"""Widget parts every panel uses: pictures with text, the upload button, pickers and the status
line, the lost-kernel watch, legibility and glossary, background work that answers the latest."""
