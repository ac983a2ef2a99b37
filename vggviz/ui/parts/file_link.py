"""A link that saves a file the kernel made, sent to the page as a binary widget buffer.

A `data:` URI in an HTML widget travels as base64 text inside the widget's JSON state: a
stage's maps were 17 MB on the wire that way. Here the bytes go once, as they are, and the
browser makes a blob URL of them (anywidget: a few lines of JavaScript, no build step).
"""

from __future__ import annotations

import anywidget
import traitlets

_ESM = """
export default {
  render({ model, el }) {
    const link = document.createElement("a");
    link.className = "vggviz-download";
    let url = null;
    const show = () => {
      if (url) URL.revokeObjectURL(url);
      url = null;
      const data = model.get("data");
      if (!data || !data.byteLength) {  // no file: no link in the page at all
        el.replaceChildren();
        return;
      }
      url = URL.createObjectURL(new Blob([data], { type: model.get("mime") }));
      link.href = url;
      link.download = model.get("filename");
      link.textContent = "⬇ " + model.get("label");
      el.replaceChildren(link);
    };
    for (const name of ["data", "filename", "label", "mime"]) model.on(`change:${name}`, show);
    show();
    return () => { if (url) URL.revokeObjectURL(url); };
  },
};
"""


class FileLink(anywidget.AnyWidget):
    """A download link for `data` saved as `filename`; not in the page while `data` is empty."""

    _esm = _ESM
    data = traitlets.Bytes(b"").tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    mime = traitlets.Unicode("application/octet-stream").tag(sync=True)

    def offer(self, data: bytes, filename: str, label: str, mime: str) -> None:
        """Show the link for these bytes (all traits at once: one message to the page)."""
        with self.hold_sync():
            self.data, self.filename, self.label, self.mime = data, filename, label, mime

    def clear(self) -> None:
        """Hide the link and drop its bytes (they belonged to an earlier view)."""
        self.data = b""
