"""Settings that Voilà and Jupyter Server load from the project's configuration files."""
