"""An upload button that weighs the file in the page, then sends it to the kernel in pieces.

ipywidgets' FileUpload sends every chosen file, whatever its size, as one websocket message; a
message over the server's limit (Tornado's `websocket_max_message_size`, 10 MiB unless set)
closes the socket, and the person sees nothing. Here the page knows the file's size first: a
file over the limit is refused in words without a byte sent. An accepted file travels in
pieces of CHUNK_BYTES (binary buffers, anywidget), each answered by the kernel, so no message
comes near any server's limit and the button can say how far it got. The page sends ahead of
the answers only as many pieces as the link carries in a quarter second: a click waits behind
at most that much of an upload, on a slow link as on a fast one.

The limit is the kernel's: the page gets a copy (`page_max_bytes`) to refuse early, but a page
is anyone's to change, so the kernel weighs every declared size against its own `max_bytes`,
refuses pieces past the declared size, and makes room only for the bytes that have come.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import anywidget
import traitlets

CHUNK_BYTES = 2**16
"""The most bytes one message of an upload carries. A click travels on the same websocket and
waits behind the piece being sent: 64 KiB is 1.3 s on a 50 kB/s link (1 MiB was 20 s)."""

_ESM = """
const ANSWER_MS = 120_000;  // a kernel that answers no piece for this long is not listening
// Pieces sent ahead of the kernel's answers: as many as the link carries in AHEAD_MS, measured
// from the answers so far (one on a slow link, so a click waits behind one piece; up to
// MOST_AHEAD on a fast one, so the answers' round trips do not add up).
const AHEAD_MS = 250;
const MOST_AHEAD = 32;

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
      button.removeAttribute("aria-label");
      input.accept = model.get("accept");
    };
    const progress = (percent) => {
      button.textContent = `Sending ${percent} %`;
      button.setAttribute("aria-label", `${model.get("description")}: sending ${percent} %`);
    };
    // Resolves true when the kernel took piece `index` of `upload`, false if it refused it or
    // did not answer.
    const answer = (upload, index) => new Promise((resolve) => {
      const heard = (msg) => {
        if (msg?.event === "chunk" && msg.upload === upload && msg.index === index) done(msg.ok);
      };
      const done = (ok) => {
        clearTimeout(timer);
        model.off("msg:custom", heard);
        resolve(ok === true);
      };
      const timer = setTimeout(() => done(false), ANSWER_MS);
      model.on("msg:custom", heard);
    });
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", async () => {
      const file = input.files[0];
      input.value = "";  // the same file may be chosen again
      if (!file) return;
      const about = { name: file.name, type: file.type, size: file.size,
                      last_modified: file.lastModified };
      if (file.size > model.get("page_max_bytes")) {
        model.send({ event: "refused", ...about });
        return;
      }
      const chunk = model.get("chunk_bytes");
      const count = Math.max(1, Math.ceil(file.size / chunk));
      const upload = Date.now().toString(36) + Math.random().toString(36).slice(2);
      button.disabled = true;
      progress(0);
      const started = performance.now();
      const waiting = [];  // the answers still due, in the order the pieces went
      let taken = 0, ahead = 1;
      const next = async () => {  // the next answer: false if the kernel refused or fell silent
        if (!(await waiting.shift())) return false;
        taken += 1;
        const done = Math.min(taken * chunk, file.size);
        const perMs = done / Math.max(performance.now() - started, 1);
        ahead = Math.max(1, Math.min(MOST_AHEAD, Math.floor(perMs * AHEAD_MS / chunk)));
        progress(Math.floor(100 * done / (file.size || 1)));
        return true;
      };
      try {
        let ok = true;
        for (let index = 0; ok && index < count; index++) {
          const piece = await file.slice(index * chunk, (index + 1) * chunk).arrayBuffer();
          waiting.push(answer(upload, index));
          model.send({ event: "chunk", upload, index, count, ...about }, undefined, [piece]);
          while (ok && waiting.length >= ahead) ok = await next();
        }
        while (ok && waiting.length) ok = await next();
      } finally {
        button.disabled = false;
        label();
      }
    });
    model.on("change:description", label);
    model.on("change:accept", label);
    label();
    el.replaceChildren(button, input);
  },
};
"""


@dataclass
class _Arrival:
    """An upload whose pieces are coming in: what its first piece said, and the bytes so far."""

    upload: str
    name: str
    type: str
    size: int
    count: int
    last_modified: object  # milliseconds since 1970, as the page says
    content: bytearray
    pieces: int = 0


class ImageUpload(anywidget.AnyWidget):
    """One file from the person's machine, as FileUpload gives it: `value` is a tuple of one
    dict (`name`, `type`, `size`, `content` as a memoryview, `last_modified`). A file over
    `max_bytes` (the kernel's own limit, never synced) is refused: `on_refused(name, size)` is
    called instead, by the page before a byte is sent or by the kernel at the first piece. Pieces
    that do not make the whole file call `on_broken(message)`, and `value` stays as it was; while
    a file of several pieces comes in, `on_progress(name, received, size)` follows it."""

    _esm = _ESM
    description = traitlets.Unicode("Upload").tag(sync=True)
    accept = traitlets.Unicode("").tag(sync=True)
    page_max_bytes = traitlets.Int(0).tag(sync=True)  # the page's copy; the kernel never reads it
    chunk_bytes = traitlets.Int(CHUNK_BYTES, read_only=True).tag(sync=True)
    value = traitlets.Tuple()  # kernel-side only: the bytes come by message, not by state

    def __init__(self, *, max_bytes: int, on_refused: Callable[[str, int], None],
                 on_broken: Callable[[str], None],
                 on_progress: Callable[[str, int, int], None], **kwargs):
        super().__init__(page_max_bytes=max_bytes, **kwargs)
        self.max_bytes = max_bytes  # a plain attribute: no message from the page can reach it
        self._on_refused, self._on_broken, self._on_progress = on_refused, on_broken, on_progress
        self._arrival: _Arrival | None = None  # the latest upload, under way or whole
        self._dropped: object = None  # the id of the latest upload given up on
        self.on_msg(self._received)

    def _received(self, _widget, content: dict, buffers: list) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "refused":
            self._on_refused(str(content.get("name") or "the upload"),
                             int(content.get("size") or 0))
        elif content.get("event") == "chunk":
            arrival = self._piece(content, buffers)
            self.send({"event": "chunk", "upload": content.get("upload"),
                       "index": content.get("index"), "ok": arrival is not None})
            if arrival is None:
                return
            if arrival.pieces < arrival.count:
                self._on_progress(arrival.name, arrival.pieces * CHUNK_BYTES, arrival.size)
                return
            data, arrival.content = arrival.content, bytearray()  # `value` holds the bytes
            self.value = ({"name": arrival.name, "type": arrival.type, "size": arrival.size,
                           "content": memoryview(data),
                           "last_modified": _moment(arrival.last_modified)},)

    def _piece(self, content: dict, buffers: list) -> _Arrival | None:
        """Add one piece after the ones before it and return its upload; None if the piece does
        not fit there, which drops the upload (said once, through `on_broken` or `on_refused`).
        Room is made piece by piece, so a declared size costs nothing until its bytes come."""
        upload, index = content.get("upload"), content.get("index")
        name, kind = str(content.get("name") or "the upload"), str(content.get("type") or "")
        size, count = content.get("size"), content.get("count")
        if type(upload) is not str or type(index) is not int:
            return self._drop(upload, name, "a piece came unnumbered")
        if upload == self._dropped:  # the rest of a dropped upload: already said, or replaced
            return None
        arrival = self._arrival
        if index == 0 and (arrival is None or arrival.upload != upload):
            if arrival is not None and arrival.pieces < arrival.count:
                self._dropped = arrival.upload  # a new upload drops an unfinished one
            self._arrival = None
            if type(size) is not int or type(count) is not int or size < 0:
                return self._drop(upload, name, "it did not say its size")
            if size > self.max_bytes:  # the page should have refused it; it may lie
                self._on_refused(name, size)
                return self._drop(upload)
            if count != max(1, -(-size // CHUNK_BYTES)):
                return self._drop(upload, name, f"{count} pieces cannot hold {size} bytes")
            arrival = self._arrival = _Arrival(upload, name, kind, size, count,
                                               content.get("last_modified"), bytearray())
        if arrival is None or arrival.upload != upload:
            return self._drop(upload, name, f"piece {index + 1} came with no upload under way")
        if arrival.pieces == arrival.count:  # stays whole: a repeat never sets `value` again
            self._on_broken(f"{name} did not arrive whole: piece {index + 1} of {count} came "
                            "after the whole file")
            return None
        if (name, kind, size, count) != (arrival.name, arrival.type, arrival.size,
                                         arrival.count):
            return self._drop(upload, name, "its pieces disagree about the file")
        if index != arrival.pieces:
            return self._drop(upload, name, f"piece {index + 1} of {count} came where piece "
                                            f"{arrival.pieces + 1} was due")
        start = index * CHUNK_BYTES
        due = min(CHUNK_BYTES, size - start)
        piece = memoryview(buffers[0]).cast("B") if buffers else memoryview(b"")
        if piece.nbytes != due:
            return self._drop(upload, name, f"piece {index + 1} of {count} held {piece.nbytes} "
                                            f"bytes where {due} were due")
        arrival.content += piece
        arrival.pieces += 1
        return arrival

    def _drop(self, upload: object, name: str = "", why: str = "") -> None:
        """Forget `upload` and its later pieces; say `why` (once) if there is something to say."""
        self._dropped = upload
        if self._arrival is not None and self._arrival.upload == upload:
            self._arrival = None
        if why:
            self._on_broken(f"{name} did not arrive whole: {why}")


def _moment(milliseconds: object) -> datetime.datetime | None:
    """The page's `lastModified` (milliseconds since 1970) as a time, or None if it is none."""
    if type(milliseconds) not in (int, float) or not milliseconds:
        return None
    try:
        return datetime.datetime.fromtimestamp(milliseconds / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
