"""Activation-maximisation patterns (RGB tiles) as one grid picture, tiles up-sampled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vggviz.render._tiles import _montage, _nearest
from vggviz.render.layout import grid_layout
from vggviz.render.palettes import GAP_RGB, encode_png


def render_patterns(tiles: Sequence[np.ndarray], *, tile: int | None = None,
                    columns: int | None = None) -> bytes:
    """PNG of square (s, s, 3) uint8 patterns in a grid, each shown `tile` px a side (by default
    as the feature-map grid sizes a map of s px), nearest-neighbour so every pixel stays sharp."""
    tiles = np.stack([np.asarray(t, np.uint8) for t in tiles])
    if tiles.ndim != 4 or tiles.shape[1] != tiles.shape[2] or tiles.shape[3] != 3:
        raise ValueError(f"patterns must be square (s, s, 3) images, got {tiles.shape[1:]}")
    layout = grid_layout(len(tiles), tile, columns, map_size=tiles.shape[1:3])
    big = _nearest(_nearest(tiles, 1, layout.tile_h), 2, layout.tile_w)
    return encode_png(_montage(big, layout, GAP_RGB))
