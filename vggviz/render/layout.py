"""Grid geometry, in numbers only: how many columns, how big a tile, where tile `i` is, and
which tile (so which channel) is under a pixel. Shared by map grids and kernel grids."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vggviz.render._checks import _positive_int

GAP = 2
"""Pixels between tiles."""
OVERVIEW_TILE = 112
"""Default tile size of a grid (224-px stem maps are mean-pooled 2×2)."""
MAX_GRID_WIDTH = 1000
"""`tile=None` keeps a grid at most this wide."""


@dataclass(frozen=True)
class GridLayout:
    """Where the tiles of a grid are: `n` tiles of tile_h × tile_w px, `columns` per row,
    `gap` px between them. Tile `i` (row-major) shows channel `order[i]`."""

    n: int
    columns: int
    tile_h: int
    tile_w: int
    gap: int = GAP

    @property
    def rows(self) -> int:
        return -(-self.n // self.columns)

    @property
    def width(self) -> int:
        return self.columns * self.tile_w + (self.columns - 1) * self.gap

    @property
    def height(self) -> int:
        return self.rows * self.tile_h + (self.rows - 1) * self.gap

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL reports an image's size."""
        return self.width, self.height

    def origin(self, position: int) -> tuple[int, int]:
        """(x, y) of the top-left pixel of tile `position`."""
        if not 0 <= position < self.n:
            raise ValueError(f"tile position must be in 0..{self.n - 1}, got {position}")
        row, col = divmod(position, self.columns)
        return col * (self.tile_w + self.gap), row * (self.tile_h + self.gap)

    def position_at(self, x: float, y: float) -> int | None:
        """The tile under image pixel (x, y), or None on a gap, an empty cell or outside."""
        if x < 0 or y < 0:
            return None
        col, dx = divmod(int(x), self.tile_w + self.gap)
        row, dy = divmod(int(y), self.tile_h + self.gap)
        if dx >= self.tile_w or dy >= self.tile_h or col >= self.columns:
            return None
        position = row * self.columns + col
        return position if position < self.n else None

    def channel_at(self, x: float, y: float, order: Sequence[int]) -> int | None:
        """The channel shown at image pixel (x, y) given the grid's `order` (as returned by
        `order_channels`), or None between tiles."""
        position = self.position_at(x, y)
        return None if position is None else int(order[position])


def _auto_tile(side: int, columns: int, gap: int) -> int:
    """Tile size for maps of `side` px: pool by an integer factor down to OVERVIEW_TILE (or
    less, to keep the grid within MAX_GRID_WIDTH) or repeat small maps up to it."""
    fit = max(1, (MAX_GRID_WIDTH - (columns - 1) * gap) // columns)
    target = min(OVERVIEW_TILE, fit)
    if side > target:
        return max(1, side // math.ceil(side / target))
    return side * (target // side)


def grid_layout(
    n_maps: int,
    tile: int | tuple[int, int] | None = None,
    columns: int | None = None,
    *,
    gap: int = GAP,
    map_size: tuple[int, int] | None = None,
) -> GridLayout:
    """The layout `render_grid` uses for `n_maps` maps of `map_size` (H, W).

    `columns` defaults to ceil(sqrt(n)) and is capped at n. `tile` is the tile's longer side
    (maps keep their aspect ratio; square maps give square tiles) or (tile_h, tile_w);
    `tile=None` picks it from `map_size` (112 px for 224-px maps, small maps up-sampled, the
    grid at most ~MAX_GRID_WIDTH wide).
    """
    n = _positive_int("n_maps", n_maps)
    cols = _positive_int("columns", columns, allow_none=True) or math.ceil(math.sqrt(n))
    cols = min(cols, n)
    if isinstance(gap, bool) or not isinstance(gap, (int, np.integer)) or gap < 0:
        raise ValueError(f"gap must be a non-negative integer, got {gap!r}")
    h, w = (None, None) if map_size is None else (int(map_size[0]), int(map_size[1]))
    if isinstance(tile, tuple):
        th, tw = (_positive_int("tile", t) for t in tile)
    else:
        if tile is None:
            if h is None:
                raise ValueError("tile=None needs map_size=(height, width) to choose a size")
            tile = _auto_tile(max(h, w), cols, gap)
        t = _positive_int("tile", tile)
        if h is None or h == w:
            th = tw = t
        else:
            side = max(h, w)
            th, tw = max(1, round(h * t / side)), max(1, round(w * t / side))
    return GridLayout(n, cols, th, tw, int(gap))
