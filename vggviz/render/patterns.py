"""Pictures of the input patterns that excite feature maps: one pattern enlarged so its pixels
show, and a page of them laid out tile for tile as the maps' grid is, so a click means the same
channel in both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

from vggviz.render.layout import GridLayout
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
