"""Pictures of the input patterns that excite feature maps: one pattern enlarged so its pixels
show, and a page of them laid out tile for tile as the maps' grid is, so a click means the same
channel in both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from vggviz.render.layout import GridLayout, grid_layout
from vggviz.render.palettes import GAP_RGB, encode_png

MISSING_RGB = (236, 236, 236)
"""A tile whose pattern is not computed yet."""


def _tile(pixels: np.ndarray, width: int, height: int) -> Image.Image:
    """A pattern scaled to a tile: nearest-neighbour when enlarged a lot (a 3-px stem pattern
    stays nine visible pixels), smooth otherwise."""
    image = Image.fromarray(np.asarray(pixels, np.uint8))
    sharp = width >= 4 * image.width
    return image.resize((width, height), Image.Resampling.NEAREST if sharp else
                        Image.Resampling.LANCZOS)


def render_pattern(pixels: np.ndarray, side: int = 160) -> bytes:
    """PNG of one pattern (s, s, 3) uint8 RGB, `side` px square."""
    return encode_png(np.asarray(_tile(pixels, side, side)))


def render_pattern_page(patterns: Mapping[int, np.ndarray], layout: GridLayout,
                        order: Sequence[int]) -> bytes:
    """PNG of a page of patterns in the maps' grid `layout`: tile i shows channel `order[i]`'s
    pattern, or a plain grey tile while it is not there yet."""
    canvas = Image.new("RGB", layout.size, GAP_RGB)
    blank = Image.new("RGB", (layout.tile_w, layout.tile_h), MISSING_RGB)
    for position, channel in enumerate(order[:layout.n]):
        pixels = patterns.get(int(channel))
        tile = blank if pixels is None else _tile(pixels, layout.tile_w, layout.tile_h)
        canvas.paste(tile, layout.origin(position))
    return encode_png(canvas)


def render_patterns(tiles: Sequence[np.ndarray], *, tile: int | None = None,
                    columns: int | None = None) -> bytes:
    """PNG of square (s, s, 3) uint8 patterns in a grid of their own, each `tile` px a side (by
    default as the feature-map grid sizes a map of s px)."""
    tiles = [np.asarray(t, np.uint8) for t in tiles]
    shapes = {t.shape for t in tiles}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 3 \
            or next(iter(shapes))[0] != next(iter(shapes))[1]:
        raise ValueError(f"patterns must be square (s, s, 3) images of one size, got "
                         f"{sorted(shapes)}")
    layout = grid_layout(len(tiles), tile, columns, map_size=tiles[0].shape[:2])
    return render_pattern_page(dict(enumerate(tiles)), layout, range(len(tiles)))
