"""Once a page has built a dashboard's widgets, the kernel sends again the state of each one that
changed after the dashboard was displayed.

A page loads its widgets by asking the kernel for all their states at once (ipywidgets'
`request_states`), then makes a model for each. An update sent in between (a chart drawn by a
background thread while the page loads) reaches a page with no model for it yet and is dropped:
the VGG family page kept a chart empty for good in 4 of 97 loads on a busy machine. `PageSync`,
drawn last in the page, asks once; the kernel answers with the state of every widget whose state
differs from the one it had when displayed (the page got the rest in its first load).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import anywidget
import ipywidgets as w

_ESM = "export default { render({ model }) { model.send({ sync: true }); } };"


def widgets(root: w.Widget) -> Iterator[w.Widget]:
    """`root` and every widget its synced traits refer to (children, layout, style, ...), once."""
    seen, stack = set(), [root]
    while stack:
        widget = stack.pop()
        if widget.model_id in seen:
            continue
        seen.add(widget.model_id)
        yield widget
        for name in widget.keys:
            value = getattr(widget, name)
            if isinstance(value, w.Widget):
                stack.append(value)
            elif isinstance(value, list | tuple):
                stack.extend(item for item in value if isinstance(item, w.Widget))


def _digest(widget: w.Widget) -> str:
    """A digest of the state the page would be sent (binary values by their own digest)."""
    def binary(value: object) -> str:
        if isinstance(value, bytes | bytearray | memoryview):
            return hashlib.blake2b(bytes(value), digest_size=16).hexdigest()
        return repr(value)

    text = json.dumps(widget.get_state(), sort_keys=True, default=binary)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class PageSync(anywidget.AnyWidget):
    """Hidden; `displayed()` notes the states as displayed, and the page's one message, once it
    has drawn the dashboard, has every widget that changed since sent again."""

    _esm = _ESM

    def __init__(self, root: w.Widget):
        super().__init__(layout=w.Layout(display="none"))
        self._root = root
        self._displayed: dict[str, str] = {}  # model id → digest; empty: all are sent again
        self.on_msg(lambda _, content, __: self._sync(content))

    def displayed(self) -> None:
        """Note the state of every widget as the page's first load will find it (or newer)."""
        self._displayed = {widget.model_id: _digest(widget) for widget in widgets(self._root)}

    def _sync(self, content: object) -> None:
        if not (isinstance(content, dict) and content.get("sync") is True):
            return
        for widget in widgets(self._root):
            if self._displayed.get(widget.model_id) != _digest(widget):
                widget.send_state()
