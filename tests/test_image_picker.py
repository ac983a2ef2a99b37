"""What the image picker keeps of an upload: the pictures the views show, never the decoded
original (a 40 MP photo is 120 MB of pixels in every kernel), and the upload still comes back
when chosen again after a sample."""

from __future__ import annotations

import dataclasses
import io

import ipywidgets as w
import numpy as np
from PIL import Image

from vggviz.ui.parts.controls import UPLOADED, ImagePicker, StatusLine

FITTED = 224 * 224 * 3  # bytes of the network's-eye view


def held_bytes(obj, seen: set[int] | None = None) -> int:
    """Bytes of pixels and pictures reachable from `obj`'s attributes and containers (widgets
    left out: what they hold is what the page shows, PNGs of a few hundred pixels)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, w.Widget) or callable(obj) and not hasattr(
            obj, "__dict__"):
        return 0
    seen.add(id(obj))
    if isinstance(obj, Image.Image):
        return obj.width * obj.height * len(obj.getbands())
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, bytes | bytearray | memoryview):
        return len(obj)
    if isinstance(obj, dict):
        return sum(held_bytes(v, seen) for v in obj.values())
    if isinstance(obj, list | tuple | set | frozenset):
        return sum(held_bytes(v, seen) for v in obj)
    if dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__") and type(obj).__module__ \
            .startswith("vggviz"):
        return sum(held_bytes(v, seen) for v in vars(obj).values())
    return 0


def forty_megapixels() -> bytes:
    """An 8000×5000 PNG (a gradient: a few hundred kB on the wire, 120 MB decoded)."""
    rows = np.linspace(0, 255, 5000, dtype=np.uint8)[:, None, None]
    cols = np.linspace(0, 255, 8000, dtype=np.uint8)[None, :, None]
    pixels = np.concatenate(np.broadcast_arrays(rows, cols, rows // 2 + cols // 2), axis=2)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def test_a_forty_megapixel_upload_leaves_only_what_is_shown_and_comes_back_when_chosen():
    picker = ImagePicker(StatusLine(), lambda: None)
    before = held_bytes(picker)
    picker.load_upload({"name": "huge.png", "content": memoryview(forty_megapixels())})
    grown = held_bytes(picker) - before
    assert grown <= FITTED + 200_000, f"the picker keeps {grown / 1e6:.1f} MB of the upload"
    assert picker.image.size == (224, 224) and picker.name == "huge.png"
    shown = picker.image.tobytes(), picker.original.value
    assert "8000×5000 pixels" in picker.original.alt

    sample = next(iter(picker.samples))
    picker.sample.value = sample
    assert picker.name == sample and picker.image.tobytes() != shown[0]
    picker.sample.value = "huge.png" + UPLOADED  # back to the upload: as it was
    assert (picker.image.tobytes(), picker.original.value) == shown
    assert picker.name == "huge.png" and "8000×5000 pixels" in picker.original.alt
