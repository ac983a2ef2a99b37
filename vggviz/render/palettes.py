"""Colours and PNG bytes: colormap tables, the 256-colour palette of grids and maps, and
`encode_png`, the one place PNG settings live.

matplotlib is used for nothing but its colormap tables (`matplotlib.colormaps[name]`,
imported on first use). A grid or map is a palette ("P") PNG whose 256 colours are:

* indices 0..253 (`LEVELS` = 254): the colormap, low → high. A constant map is index 0.
* index 254 (`GAP_INDEX`): dark grey, the gaps between tiles and the boxes behind labels.
* index 255 (`LABEL_INDEX`): white, the label text.

PNGs are written here, not by Pillow: every row with PNG's "Up" filter (its difference from
the row above, one numpy subtraction), deflated at level 1 by ISA-L (`isal`), whose deflate
is several times faster than zlib's. The 910×910 stem grid of random-weight maps takes about
2 ms and 0.41 MB where Pillow's best (zlib level 1, Z_RLE, no filter) took about 6 ms and
0.47 MB; an RGB PNG of it would take 10× longer.
"""

from __future__ import annotations

import functools
import struct
import zlib
from typing import Any

import numpy as np
from isal import isal_zlib
from PIL import Image

COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "gray", "RdBu_r", "coolwarm")
"""A short curated list for the UI; any matplotlib colormap name is accepted."""

SIGN_CMAP = "coolwarm"
"""The colours of a weight's sign (kernels, their legend, the worked convolution): blue below 0,
red above. Moreland's diverging map (2009) keeps its two sides apart under protanopia,
deuteranopia and tritanopia: simulated (Machado 2009, full severity), equal weights of opposite
sign stay at least 28 CIEDE2000 apart, where RdBu_r's fall to 20 (protanopia)."""

FORMATS = ("png", "raw")

LEVELS = 254
"""Colormap levels of the grid/map palette: indices 0..253."""
GAP_INDEX = 254
LABEL_INDEX = 255
GAP_RGB = (40, 40, 40)
LABEL_RGB = (255, 255, 255)

PNG_LEVEL = 1
"""ISA-L's deflate level (0..3): 1 is within 2 % of 2's size on grids, and faster."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # samples per pixel → PNG colour type: grey, RGB, RGBA
_PALETTE_TYPE = 3
_UP = 2  # PNG filter type "Up": each byte minus the byte above it


@functools.lru_cache(maxsize=64)
def _colors(cmap: str, n: int) -> np.ndarray:
    """`n` RGB uint8 colours sampled evenly from matplotlib colormap `cmap` (read-only)."""
    if not isinstance(cmap, str):
        raise ValueError(f"cmap must be a colormap name such as {COLORMAPS}, got {cmap!r}")
    import matplotlib  # colormap tables only; never pyplot

    try:
        colormap = matplotlib.colormaps[cmap]
    except KeyError:
        raise ValueError(
            f"unknown colormap {cmap!r}; choose one of {COLORMAPS} or any matplotlib colormap"
        ) from None
    rgb = (colormap(np.linspace(0.0, 1.0, n))[:, :3] * 255).round().astype(np.uint8)
    rgb.flags.writeable = False
    return rgb


@functools.lru_cache(maxsize=64)
def _palette_bytes(cmap: str) -> bytes:
    return palette(cmap).tobytes()


@functools.lru_cache(maxsize=64)
def palette(cmap: str = "viridis") -> np.ndarray:
    """The (256, 3) uint8 palette of grids and maps: `LEVELS` colormap colours, gap, label."""
    pal = np.empty((256, 3), np.uint8)
    pal[:LEVELS] = _colors(cmap, LEVELS)
    pal[GAP_INDEX] = GAP_RGB
    pal[LABEL_INDEX] = LABEL_RGB
    pal.flags.writeable = False
    return pal


def encode_png(image: np.ndarray | Image.Image, *, palette: Any = None) -> bytes:
    """PNG bytes of a uint8 array — (H, W) grey or, with `palette` ((N, 3) uint8 or N·3 bytes,
    N ≤ 256), palette indices; (H, W, 3) RGB; (H, W, 4) RGBA — or of a PIL image.

    The one place PNG settings live: 8-bit samples, rows Up-filtered, deflated by ISA-L at
    PNG_LEVEL (see the module's docstring).
    """
    if isinstance(image, Image.Image):
        if image.mode == "P" and palette is None:
            palette = image.getpalette() or None
        elif image.mode not in ("L", "RGB", "RGBA", "P"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image = np.asarray(image)
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"encode_png needs a uint8 array, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or 0 in arr.shape:
        raise ValueError(
            f"encode_png needs an (H, W), (H, W, 3) or (H, W, 4) array, got shape {arr.shape}"
        )
    colour_type, pal = _COLOUR_TYPES[1 if arr.ndim == 2 else arr.shape[2]], None
    if palette is not None:
        if arr.ndim != 2:
            raise ValueError("a palette needs an (H, W) array of indices")
        if isinstance(palette, (bytes, bytearray)):
            palette = np.frombuffer(palette, np.uint8)
        pal = np.asarray(palette, dtype=np.uint8).reshape(-1)
        if pal.size % 3 or not 3 <= pal.size <= 768:
            raise ValueError(f"palette must hold 1..256 RGB colours, got {pal.size} values")
        if pal.size < 768 and int(arr.max()) >= pal.size // 3:  # PNG needs a colour per index
            pal = np.concatenate([pal, np.zeros(3 * (int(arr.max()) + 1) - pal.size, np.uint8)])
        colour_type = _PALETTE_TYPE
    height, width = arr.shape[:2]
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    chunks = [_chunk(b"IHDR", header)]
    if pal is not None:
        chunks.append(_chunk(b"PLTE", pal.tobytes()))
    chunks += [_chunk(b"IDAT", isal_zlib.compress(_up_filtered(arr), PNG_LEVEL)),
               _chunk(b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(chunks)


def _up_filtered(arr: np.ndarray) -> memoryview:
    """PNG's scanlines, each a filter byte (Up) then the row minus the row above (mod 256; the
    first row's "above" is zeros, so it stays as it is)."""
    rows = arr.reshape(arr.shape[0], -1)
    out = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    out[:, 0] = _UP
    out[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
    return memoryview(out).cast("B")


def _chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data, CRC-32 of type and data."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
