"""Pixel helpers shared by map grids and kernel pictures: nearest-neighbour up-sampling of
tiles, placing tiles on a canvas by a `GridLayout`, and the bitmap font of their labels."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from PIL import ImageFont

from vggviz.render.layout import GridLayout


def _nearest(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Nearest-neighbour resampling along `axis` to `size` (np.repeat for integer factors)."""
    n = x.shape[axis]
    if size % n == 0:
        return np.repeat(x, size // n, axis=axis)
    return np.take(x, ((2 * np.arange(size) + 1) * n) // (2 * size), axis=axis)


def _montage(tiles: np.ndarray, layout: GridLayout, fill: Any) -> np.ndarray:
    """Place tiles (n, th, tw[, c]) row-major into a canvas filled with `fill`."""
    n, th, tw = tiles.shape[:3]
    extra = tiles.shape[3:]
    g, cols, rows = layout.gap, layout.columns, layout.rows
    canvas = np.empty((rows * (th + g), cols * (tw + g), *extra), tiles.dtype)
    canvas[...] = fill
    cells = canvas.reshape(rows, th + g, cols, tw + g, *extra)
    full = n // cols
    if full:
        block = tiles[: full * cols].reshape(full, cols, th, tw, *extra)
        cells[:full, :th, :, :tw] = block.swapaxes(1, 2)
    if n % cols:
        rest = tiles[full * cols :]
        cells[full, :th, : n % cols, :tw] = rest.swapaxes(0, 1)
    return canvas[: layout.height, : layout.width]


@functools.lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont:
    loader = getattr(ImageFont, "load_default_imagefont", None)  # Pillow >= 10.1: bitmap
    return loader() if loader is not None else ImageFont.load_default()
