"""A PNG picture with a text alternative, and, where asked, pointer and keyboard events.

ipywidgets' Image has no `alt` (its `tooltip` becomes a title, which screen readers may skip), and
it takes no focus. `Picture` shows its PNG bytes as an <img> with `alt`; with `focusable` it is a
Tab stop that sends the keys of a grid (arrows, Home/End, PageUp/PageDown, Enter, Space), and it
reports clicks and pointer moves in the image's own pixels, as ipyevents does for an Image.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import anywidget
import traitlets

KEYS = ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown",
        "Enter", " ")
"""The keys a focusable picture takes; every other key (Tab first) goes on as it would."""

_ESM = """
const KEYS = new Set(__KEYS__);
const MOVE_MS = 40;  // pointer moves sent at most this often

export default {
  render({ model, el }) {
    const img = document.createElement("img");
    img.draggable = false;
    img.style.cssText = "display:block;width:100%;height:auto;object-fit:contain";
    const said = document.createElement("span");  // the chosen part, said when it changes
    said.className = "vggviz-sr-only";
    said.setAttribute("aria-live", "polite");
    const hint = document.createElement("span");  // how the keys work, read after the alt
    hint.className = "vggviz-sr-only";
    hint.id = `vggviz-hint-${Math.random().toString(36).slice(2)}`;
    const mark = document.createElement("div");  // the point the keys moved to
    mark.className = "vggviz-picture-mark";
    let url = null;
    const show = () => {
      const data = model.get("value");
      const old = url;
      url = data && data.byteLength ? URL.createObjectURL(new Blob([data], {type: "image/png"}))
                                   : null;
      if (url) img.src = url; else img.removeAttribute("src");
      if (old) URL.revokeObjectURL(old);
    };
    const classes = () => {
      const own = model.get("_dom_classes").filter((name) => name !== "vggviz-picture");
      img.className = ["vggviz-picture-img", ...own].join(" ");
    };
    const describe = () => {
      // no alt until one is given: an empty one would call the picture decorative, and hide
      // a missing text from axe-core's image-alt rule
      if (model.get("alt")) img.alt = model.get("alt"); else img.removeAttribute("alt");
      hint.textContent = model.get("hint");
      if (model.get("focusable")) img.tabIndex = 0; else img.removeAttribute("tabindex");
      if (model.get("hint")) img.setAttribute("aria-describedby", hint.id);
      else img.removeAttribute("aria-describedby");
      said.textContent = model.get("announce");
    };
    const place = () => {
      const [x, y] = model.get("mark");
      mark.hidden = x === undefined || !img.naturalWidth;
      if (mark.hidden) return;
      mark.style.left = `${100 * x / img.naturalWidth}%`;
      mark.style.top = `${100 * y / img.naturalHeight}%`;
    };
    img.addEventListener("load", place);
    const at = (event) => {
      const box = img.getBoundingClientRect();
      if (!box.width || !box.height) return null;
      return { dataX: Math.floor((event.clientX - box.left) * img.naturalWidth / box.width),
               dataY: Math.floor((event.clientY - box.top) * img.naturalHeight / box.height) };
    };
    const send = (type, where) => { if (where) model.send({ type, ...where }); };
    let last = 0, later = null, pending = null;
    const pointer = (event) => {
      if (!model.get("watched").includes(event.type)) return;
      if (event.type !== "mousemove") return send(event.type, at(event));
      pending = at(event);  // the latest move is sent, at most every MOVE_MS
      const wait = last + MOVE_MS - performance.now();
      if (wait > 0) {
        later ??= setTimeout(() => {
          later = null;
          last = performance.now();
          send("mousemove", pending);
        }, wait);
        return;
      }
      last = performance.now();
      send("mousemove", pending);
    };
    img.addEventListener("click", pointer);
    img.addEventListener("mousemove", pointer);
    img.addEventListener("keydown", (event) => {
      if (!model.get("focusable") || !KEYS.has(event.key) || event.altKey || event.ctrlKey
          || event.metaKey) return;
      event.preventDefault();  // no page scroll; Tab and the rest are left alone
      model.send({ type: "keydown", key: event.key });
    });
    model.on("msg:custom", (msg) => {
      if (msg?.do === "reveal") img.scrollIntoView({ block: "nearest", inline: "nearest" });
    });
    model.on("change:value", show);
    model.on("change:_dom_classes", classes);
    model.on("change:mark", place);
    for (const name of ["alt", "hint", "focusable", "announce"]) {
      model.on(`change:${name}`, describe);
    }
    show();
    classes();
    describe();
    place();
    el.replaceChildren(img, mark, said, hint);
    return () => { if (url) URL.revokeObjectURL(url); };  // the view is gone: free its picture
  },
};
""".replace("__KEYS__", json.dumps(KEYS))

_CSS = """
/* The focus ring is drawn inside the picture (its box clips what lies outside): 3 px of blue
   on 2 px of white, 6.6:1 against each other, so it shows on any picture. */
.vggviz-picture { position: relative; }
.vggviz-picture-img:focus-visible { outline: none; }
.vggviz-picture:has(> .vggviz-picture-img:focus-visible)::after {
  content: ""; position: absolute; inset: 0; pointer-events: none;
  border: 3px solid #0b57d0; box-shadow: inset 0 0 0 2px #fff; }
.vggviz-picture-img { scroll-margin: 64px 16px; }  /* focused: its ring and title in view */
.vggviz-picture-mark { position: absolute; width: 9px; height: 9px; pointer-events: none;
  transform: translate(-50%, -50%); border: 2px solid #ffe600; outline: 1px solid #000; }
.vggviz-sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden;
                  clip: rect(0 0 0 0); white-space: nowrap; }
"""


class Picture(anywidget.AnyWidget):
    """A PNG (`value`, bytes sent as a binary buffer) shown as an <img> with `alt`.

    With `focusable`, the <img> is a Tab stop described by `hint` (how its keys work); its keys
    (`KEYS`) and the pointer events in `watched` ("click", "mousemove", in image pixels `dataX`,
    `dataY`) come to the callbacks of `on_event` as dicts with `type`. `announce` is said
    politely by screen readers when it changes (the part chosen with the keys); `mark` ([x, y]
    in image pixels, or empty) shows where the keys point, outlined in yellow and black."""

    _esm = _ESM
    _css = _CSS
    value = traitlets.Bytes(b"").tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
    hint = traitlets.Unicode("").tag(sync=True)
    focusable = traitlets.Bool(False).tag(sync=True)
    announce = traitlets.Unicode("").tag(sync=True)
    watched = traitlets.List(traitlets.Unicode()).tag(sync=True)
    mark = traitlets.List(traitlets.Int(), maxlen=2).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_class("vggviz-picture")
        self._callbacks: list[Callable[[dict], None]] = []
        self.on_msg(self._received)

    def on_event(self, callback: Callable[[dict], None]) -> None:
        """Call `callback(event)` for each key or watched pointer event from the page."""
        self._callbacks.append(callback)

    def reveal(self) -> None:
        """Scroll the page, as little as it takes, so that the picture is in view."""
        self.send({"do": "reveal"})

    def _received(self, _widget, content: dict, _buffers) -> None:
        if not isinstance(content, dict) or content.get("type") not in (*self.watched,
                                                                        "keydown"):
            return
        if content["type"] == "keydown" and content.get("key") not in KEYS:
            return
        for callback in self._callbacks:
            callback(content)


def grid_move(key: str, position: int, count: int, columns: int) -> int:
    """Where a key moves the chosen tile of a grid of `count` tiles, `columns` to a row:
    arrows by one tile or one row, Home and End to the first and last (no wrapping)."""
    step = {"ArrowLeft": -1, "ArrowRight": 1, "ArrowUp": -columns, "ArrowDown": columns}
    if key == "Home":
        return 0
    if key == "End":
        return count - 1
    moved = position + step.get(key, 0)
    return moved if 0 <= moved < count else position
