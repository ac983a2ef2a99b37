"""An upload button that weighs the file in the page before sending it to the kernel.

ipywidgets' FileUpload sends every chosen file, whatever its size, as one websocket message; a
message over the server's limit (Tornado's `websocket_max_message_size`) closes the socket, and
the person sees nothing. Here the page knows the file's size first: a file over `max_bytes` is
refused in words without a byte sent, so the server's limit can sit just above `max_bytes`.
The bytes of an accepted file travel once, as a binary buffer (anywidget).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import anywidget
import traitlets

_ESM = """
export default {
  render({ model, el }) {
    const input = document.createElement("input");
    input.type = "file";
    input.hidden = true;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "jupyter-widgets jupyter-button widget-button vggviz-upload";
    const label = () => {
      button.textContent = "⬆ " + model.get("description");
      input.accept = model.get("accept");
    };
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", async () => {
      const file = input.files[0];
      input.value = "";  // the same file may be chosen again
      if (!file) return;
      const about = { name: file.name, type: file.type, size: file.size,
                      last_modified: file.lastModified };
      if (file.size > model.get("max_bytes")) {
        model.send({ event: "refused", ...about });
        return;
      }
      button.disabled = true;
      try {
        model.send({ event: "file", ...about }, undefined, [await file.arrayBuffer()]);
      } finally {
        button.disabled = false;
      }
    });
    model.on("change:description", label);
    model.on("change:accept", label);
    label();
    el.replaceChildren(button, input);
  },
};
"""


class ImageUpload(anywidget.AnyWidget):
    """One file from the person's machine, as FileUpload gives it: `value` is a tuple of one
    dict (`name`, `type`, `size`, `content` as a memoryview, `last_modified`). A file over
    `max_bytes` never leaves the page: `on_refused(name, size)` is called instead."""

    _esm = _ESM
    description = traitlets.Unicode("Upload").tag(sync=True)
    accept = traitlets.Unicode("").tag(sync=True)
    max_bytes = traitlets.Int(0).tag(sync=True)
    value = traitlets.Tuple()  # kernel-side only: the bytes come by message, not by state

    def __init__(self, *, on_refused: Callable[[str, int], None], **kwargs):
        super().__init__(**kwargs)
        self._on_refused = on_refused
        self.on_msg(self._received)

    def _received(self, _widget, content: dict, buffers: list) -> None:
        if not isinstance(content, dict):
            return
        name, size = str(content.get("name") or "the upload"), int(content.get("size") or 0)
        if content.get("event") == "refused":
            self._on_refused(name, size)
        elif content.get("event") == "file" and buffers:
            modified = content.get("last_modified")
            self.value = ({"name": name, "type": str(content.get("type") or ""), "size": size,
                           "content": memoryview(buffers[0]),
                           "last_modified": datetime.datetime.fromtimestamp(
                               modified / 1000, tz=datetime.UTC) if modified else None},)
