"""Fast pictures of feature maps and kernels: grids, single maps, colormaps, PNG encoding.

Only numpy and Pillow do the work; matplotlib is used for nothing but its colormap tables
(`matplotlib.colormaps[name]`, imported on first use) and TensorFlow is never imported.

Speed is the point (the dashboard turns image bytes into a picture of the 64 stem maps in
~20 ms, ~8 ms of which is the forward pass), so a grid is built as one uint8 array of palette
indices with vectorised numpy (pool → normalise → quantise → reshape/transpose into tiles)
and written as a palette ("P") PNG, whose 256 colours are:

* indices 0..253 (`LEVELS` = 254): the colormap, low → high. A constant map is index 0.
* index 254 (`GAP_INDEX`): dark grey, the gaps between tiles and the boxes behind labels.
* index 255 (`LABEL_INDEX`): white, the label text.

`encode_png` is the one place PNG settings live: Pillow's encoder with zlib level 1 and the
Z_RLE strategy (as small as level 1's default strategy on ReLU maps, at half its cost: about
5 ms for the 910×910 stem grid, where an RGB PNG of it would take 10× longer).
"""

from __future__ import annotations

import functools
import io
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "COLORMAPS",
    "FORMATS",
    "GAP",
    "GAP_INDEX",
    "KERNEL_LABEL_HEIGHT",
    "LABEL_INDEX",
    "LEVELS",
    "NORMALIZATIONS",
    "ORDERS",
    "Grid",
    "GridLayout",
    "encode_png",
    "grid_indices",
    "grid_layout",
    "kernel_for",
    "map_stats",
    "order_channels",
    "palette",
    "render_grid",
    "render_kernels",
    "render_map",
]

COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "gray", "RdBu_r", "coolwarm")
"""A short curated list for the UI; any matplotlib colormap name is accepted."""

NORMALIZATIONS = ("per_map", "shared")
ORDERS = ("index", "mean", "sparsity")
FORMATS = ("png", "raw")
CHANNEL_ORDERS = ("BGR", "RGB")

LEVELS = 254
"""Colormap levels of the grid/map palette: indices 0..253."""
GAP_INDEX = 254
LABEL_INDEX = 255
GAP_RGB = (40, 40, 40)
LABEL_RGB = (255, 255, 255)

GAP = 2
"""Pixels between tiles."""
OVERVIEW_TILE = 112
"""Default tile size of a grid (224-px stem maps are mean-pooled 2×2)."""
MAX_GRID_WIDTH = 1000
"""`tile=None` keeps a grid at most this wide."""
FOCUS_SIZE = 448
"""`render_map(scale=None)` up-samples by the largest integer factor that fits this size."""
KERNEL_LABEL_HEIGHT = 12
"""Height of the label strip under the tiles of `kernel_for`."""

PNG_LEVEL = 1
PNG_STRATEGY = zlib.Z_RLE

_MAX_LEVEL = LEVELS - 1e-3  # (x - lo) * _MAX_LEVEL / (hi - lo) truncates to 0..LEVELS-1


# --------------------------------------------------------------------------- colormaps


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


# --------------------------------------------------------------------------- validation


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {choices}")
    return value


def _positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _as_maps(maps: Any) -> np.ndarray:
    """Check for a non-empty (H, W, C) array; return it as floats (no copy if float32/64)."""
    arr = np.asarray(maps)
    if arr.ndim != 3:
        hint = "; pass maps[0] for a batch of one" if arr.ndim == 4 and len(arr) == 1 else ""
        raise ValueError(
            f"maps must be a 3-D (height, width, channels) array, got shape {arr.shape}{hint}"
        )
    if 0 in arr.shape:
        raise ValueError(f"maps must not be empty, got shape {arr.shape}")
    if arr.dtype.kind != "f" or arr.dtype.itemsize < 4:
        arr = arr.astype(np.float32)
    return arr


def _channel_list(n_channels: int, channels: Any) -> list[int]:
    if channels is None:
        return list(range(n_channels))
    if isinstance(channels, (int, np.integer)):
        raise ValueError("channels must be a sequence or range of channel indices, got an int")
    arr = np.asarray(channels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("channels must be a non-empty 1-D sequence of channel indices")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"channels must be integers, got dtype {arr.dtype}")
    bad = arr[(arr < 0) | (arr >= n_channels)]
    if bad.size:
        raise ValueError(
            f"channel {int(bad[0])} is out of range: valid channels are 0..{n_channels - 1}"
        )
    return [int(c) for c in arr]


def _channel(n_channels: int, channel: Any) -> int:
    if (
        isinstance(channel, bool)
        or not isinstance(channel, (int, np.integer))
        or not 0 <= channel < n_channels
    ):
        raise ValueError(f"channel must be an integer in 0..{n_channels - 1}, got {channel!r}")
    return int(channel)


def _select(maps: np.ndarray, chans: list[int]) -> np.ndarray:
    """maps[:, :, chans] — a view when `chans` is an increasing arithmetic progression."""
    n = len(chans)
    step = chans[1] - chans[0] if n > 1 else 1
    if step > 0 and chans == list(range(chans[0], chans[0] + step * n, step)):
        return maps[:, :, chans[0] : chans[0] + step * (n - 1) + 1 : step]
    return maps[:, :, chans]


# --------------------------------------------------------------------------- statistics


def _means(x: np.ndarray) -> np.ndarray:
    """Per-channel means: rows summed in x's dtype (short sums), then in float64 (cheaper
    than converting everything to float64, far more accurate than one float32 sum)."""
    return x.sum(axis=1).sum(axis=0, dtype=np.float64) / (x.shape[0] * x.shape[1])


def _zeros(x: np.ndarray) -> np.ndarray:
    return 1.0 - np.count_nonzero(x, axis=(0, 1)) / (x.shape[0] * x.shape[1])


def map_stats(maps: Any) -> dict[str, np.ndarray]:
    """Per-channel `min`, `max`, `mean` and `zeros` (fraction of values exactly 0, i.e. "dead
    after ReLU") of an (H, W, C) array, each a float64 array of length C."""
    x = _as_maps(maps)
    return {
        "min": x.min(axis=(0, 1)).astype(np.float64),
        "max": x.max(axis=(0, 1)).astype(np.float64),
        "mean": _means(x),
        "zeros": _zeros(x),
    }


def _order_positions(src: np.ndarray, order: str) -> np.ndarray | None:
    """Positions (into src's channels) in display order, or None for the given order."""
    _choice("order", order, ORDERS)
    if order == "index":
        return None
    key = _means(src) if order == "mean" else _zeros(src)
    return np.argsort(-key, kind="stable")  # highest first, ties in the given order


def order_channels(maps: Any, order: str = "index", channels: Any = None) -> list[int]:
    """The channels `render_grid` shows, in the order of its tiles (row by row).

    `"index"` keeps `channels` (default all) as given; `"mean"` puts the highest-mean
    (brightest) maps first; `"sparsity"` puts the maps with the largest fraction of zeros
    (the deadest after ReLU) first. Ties keep the given order.
    """
    x = _as_maps(maps)
    _choice("order", order, ORDERS)
    chans = _channel_list(x.shape[2], channels)
    perm = _order_positions(_select(x, chans), order)
    return chans if perm is None else [chans[i] for i in perm]


# --------------------------------------------------------------------------- geometry


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


# --------------------------------------------------------------------------- resampling


def _axis_slice(axis: int, sl: slice) -> tuple[slice, ...]:
    return (slice(None),) * axis + (sl,)


def _shrink(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Area down-sampling along `axis` to `size`. Integer factors give bin SUMS (a common
    scale of all maps, which normalisation removes); other factors give bin means."""
    n = x.shape[axis]
    if n % size == 0:
        k = n // size
        if k <= 4:  # slice adds: contiguous and cheaper than a reshape-sum
            out = x[_axis_slice(axis, slice(0, None, k))] + x[_axis_slice(axis, slice(1, None, k))]
            for j in range(2, k):
                out += x[_axis_slice(axis, slice(j, None, k))]
            return out
        return x.reshape(x.shape[:axis] + (size, k) + x.shape[axis + 1 :]).sum(axis + 1)
    starts = (np.arange(size) * n) // size
    counts = np.diff(np.append(starts, n)).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = size
    return np.add.reduceat(x, starts, axis=axis) / counts.reshape(shape)


def _nearest(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Nearest-neighbour resampling along `axis` to `size` (np.repeat for integer factors)."""
    n = x.shape[axis]
    if size % n == 0:
        return np.repeat(x, size // n, axis=axis)
    return np.take(x, ((2 * np.arange(size) + 1) * n) // (2 * size), axis=axis)


def _quantise(x: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """Map lo..hi (scalars or per-channel arrays along the last axis) to indices 0..LEVELS-1.

    Where hi <= lo (a constant map) every value becomes index 0.
    """
    lo = np.asarray(lo, dtype=x.dtype)
    span = np.asarray(hi, dtype=x.dtype) - lo
    scale = (_MAX_LEVEL / np.where(span > 0, span, 1)) * (span > 0)
    y = x - lo
    y *= scale.astype(x.dtype)
    return y.astype(np.uint8)


def _finite(x: np.ndarray) -> np.ndarray:
    """x with NaN → 0 and ±inf → the finite max/min of its own map (axes 0, 1), as float64 so
    that pooling huge values cannot overflow (rare: only called when they are present)."""
    x = x.astype(np.float64)
    ok = np.isfinite(x)
    top = np.where(ok, x, -np.inf).max(axis=(0, 1))
    bottom = np.where(ok, x, np.inf).min(axis=(0, 1))
    top, bottom = np.where(np.isfinite(top), top, 0.0), np.where(np.isfinite(bottom), bottom, 0.0)
    x = np.where(np.isnan(x), 0.0, x)
    return np.where(np.isposinf(x), top, np.where(np.isneginf(x), bottom, x))


# --------------------------------------------------------------------------- montage


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


@functools.lru_cache(maxsize=4096)
def _label_stamp(text: str) -> np.ndarray:
    """`text` drawn once with ImageDraw in the bitmap font, as palette indices: LABEL_INDEX
    ink on a GAP_INDEX box with a 1-px margin. Cached, so a grid only copies small arrays."""
    font = _font()
    left, top, right, bottom = font.getbbox(text)
    im = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(im).text((2 - left, 2 - top), text, fill=255, font=font)
    ink = np.asarray(im) > 127
    rows, cols = np.nonzero(ink)
    if rows.size == 0:
        ink = np.zeros((1, 1), bool)
    else:
        ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    stamp = np.full((ink.shape[0] + 2, ink.shape[1] + 2), GAP_INDEX, np.uint8)
    stamp[1:-1, 1:-1][ink] = LABEL_INDEX
    stamp.flags.writeable = False
    return stamp


def _label(canvas: np.ndarray, layout: GridLayout, order: Sequence[int]) -> None:
    """Stamp each tile's channel number in its top-left corner (skipped where the label would
    cover more than the tile's width or half its height)."""
    for position, channel in enumerate(order):
        stamp = _label_stamp(str(channel))
        sh, sw = stamp.shape
        if sw > layout.tile_w or 2 * sh > layout.tile_h:
            continue
        x, y = layout.origin(position)
        canvas[y : y + sh, x : x + sw] = stamp


# --------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class Grid:
    """A rendered grid: palette `indices` (H, W) uint8, its `layout`, and `channels`, the
    channel shown by each tile position (so `channel_at(x, y)` maps a click to a channel)."""

    indices: np.ndarray
    layout: GridLayout
    channels: list[int]

    def channel_at(self, x: float, y: float) -> int | None:
        return self.layout.channel_at(x, y, self.channels)


def _pool_and_range(src: np.ndarray, th: int, tw: int, normalize: str):
    """Area-pool maps down to th×tw (before normalising: less to normalise) and their range:
    per map, or one shared over all."""
    h, w = src.shape[:2]
    if th < h:
        src = _shrink(src, 0, th)
    if tw < w:
        src = _shrink(src, 1, tw)
    if normalize == "per_map":
        return src, src.min(axis=(0, 1)), src.max(axis=(0, 1))
    return src, src.min(), src.max()


def grid_indices(
    maps: Any,
    *,
    normalize: str = "per_map",
    columns: int | None = None,
    order: str = "index",
    channels: Any = None,
    tile: int | tuple[int, int] | None = None,
    labels: bool = True,
) -> Grid:
    """The palette-index picture `render_grid` encodes (see there for the arguments)."""
    x = _as_maps(maps)
    _choice("normalize", normalize, NORMALIZATIONS)
    _choice("order", order, ORDERS)
    h, w, c = x.shape
    chans = _channel_list(c, channels)
    layout = grid_layout(len(chans), tile, columns, map_size=(h, w))
    th, tw = layout.tile_h, layout.tile_w

    src = _select(x, chans)
    perm = _order_positions(src, order)
    shown = chans if perm is None else [chans[i] for i in perm]

    with np.errstate(over="ignore", invalid="ignore"):  # detected just below
        pooled, lo, hi = _pool_and_range(src, th, tw, normalize)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):  # NaN, inf, or overflow
        pooled, lo, hi = _pool_and_range(_finite(src), th, tw, normalize)
    q = _quantise(pooled, lo, hi)
    if th > q.shape[0]:
        q = _nearest(q, 0, th)
    if tw > q.shape[1]:
        q = _nearest(q, 1, tw)

    tiles = q.transpose(2, 0, 1)
    if perm is not None:
        tiles = tiles[perm]
    canvas = _montage(tiles, layout, GAP_INDEX)
    if labels:
        _label(canvas, layout, shown)
    return Grid(np.ascontiguousarray(canvas), layout, shown)


def render_grid(
    maps: Any,
    *,
    cmap: str = "viridis",
    normalize: str = "per_map",
    columns: int | None = None,
    order: str = "index",
    channels: Any = None,
    tile: int | tuple[int, int] | None = None,
    labels: bool = True,
    fmt: str = "png",
) -> bytes | np.ndarray:
    """All requested maps of an (H, W, C) array as one picture: a grid of tiles, GAP px apart.

    * `normalize`: "per_map" scales each map by its own min..max; "shared" uses one min..max
      over all shown maps. A constant map is one colour (the colormap's lowest).
    * `order`: "index" (channel order), "mean" (brightest first), "sparsity" (most zeros
      first); `order_channels` gives the same list, `Grid.channel_at` maps clicks back.
    * `channels`: the channels to show (a page, e.g. range(64, 128)); labels show the true
      channel numbers.
    * `tile`: tile px (longer side); None → 112 px for 224-px maps (2×2 mean-pool), smaller
      maps repeated up to ~112 px, the grid at most ~MAX_GRID_WIDTH wide. Down-sampling is
      an area mean, up-sampling nearest-neighbour.
    * `columns`: default ceil(sqrt(n)). `labels`: channel number in each tile's corner.
    * `fmt`: "png" → PNG bytes; "raw" → the (H, W) uint8 palette indices (see `palette`).
    """
    _choice("fmt", fmt, FORMATS)
    pal = _palette_bytes(cmap)  # validates cmap before any work
    grid = grid_indices(
        maps, normalize=normalize, columns=columns, order=order, channels=channels,
        tile=tile, labels=labels,
    )
    return grid.indices if fmt == "raw" else encode_png(grid.indices, palette=pal)


def render_map(
    maps: Any,
    channel: int,
    *,
    cmap: str = "viridis",
    scale: int | None = None,
    normalize: str = "per_map",
) -> bytes:
    """One map large, as PNG: up-sampled `scale`× (nearest), or by `focus_scale` (to about
    FOCUS_SIZE px) when `scale` is None. Colours span the map's own min..max ("per_map") or
    all channels' ("shared")."""
    x = _as_maps(maps)
    _choice("normalize", normalize, NORMALIZATIONS)
    pal = _palette_bytes(cmap)
    ch = _channel(x.shape[2], channel)
    scale = _positive_int("scale", scale, allow_none=True) or focus_scale(x.shape[:2])
    m = x[:, :, ch]
    whole = m if normalize == "per_map" else x
    lo, hi = whole.min(), whole.max()
    if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN/inf: per map, as in the grid
        m, whole = _finite(m), _finite(whole)
        lo, hi = whole.min(), whole.max()
    q = _quantise(m, lo, hi)
    if scale > 1:
        q = np.repeat(np.repeat(q, scale, axis=0), scale, axis=1)
    return encode_png(q, palette=pal)


def focus_scale(map_shape: tuple[int, int]) -> int:
    """The integer enlargement `render_map` uses: the largest that fits FOCUS_SIZE (224 → 2,
    7 → 64), so a pointer position on the large map divides back to a map pixel."""
    return max(1, FOCUS_SIZE // max(map_shape))


# --------------------------------------------------------------------------- kernels


def _as_kernels(weights: Any) -> np.ndarray:
    w = np.asarray(weights)
    if w.ndim != 4 or 0 in w.shape:
        raise ValueError(
            "weights must be a Keras conv kernel (kh, kw, in_channels, out_channels), "
            f"got shape {w.shape}"
        )
    return w.astype(np.float64)


def _rgb_order(w: np.ndarray, channel_order: str) -> np.ndarray:
    """Input axis (2) of a 3-input kernel in R, G, B order."""
    _choice("channel_order", channel_order, CHANNEL_ORDERS)
    return w[:, :, ::-1] if channel_order == "BGR" else w


def _minmax_u8(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    lo = x.min(axis=axes, keepdims=True)
    span = x.max(axis=axes, keepdims=True) - lo
    return ((x - lo) * (255 / np.where(span > 0, span, 1))).round().astype(np.uint8)


def _resize_nearest(tiles: np.ndarray, size: int) -> np.ndarray:
    """(n, kh, kw, ...) → (n, size, size, ...), nearest-neighbour."""
    return _nearest(_nearest(tiles, 1, size), 2, size)


def _kernel_rgb(w: np.ndarray, channel_order: str) -> np.ndarray:
    """(kh, kw, cin, cout) → (cout, kh, kw, 3) uint8: RGB for cin=3, else the mean as grey."""
    if w.shape[2] == 3:
        k = _rgb_order(w, channel_order).transpose(3, 0, 1, 2)
        return _minmax_u8(k, (1, 2, 3))
    _choice("channel_order", channel_order, CHANNEL_ORDERS)
    grey = _minmax_u8(w.mean(axis=2).transpose(2, 0, 1), (1, 2))
    return np.repeat(grey[..., None], 3, axis=3)


def render_kernels(
    weights: Any,
    *,
    tile: int = 24,
    columns: int | None = None,
    fmt: str = "png",
    channel_order: str = "BGR",
) -> bytes | np.ndarray:
    """Conv kernels (kh, kw, in_ch, out_ch) as a grid of RGB tiles, one per output channel.

    With 3 inputs each kernel's weights are min-max normalised to 0..255 as an RGB image
    (inputs reordered from `channel_order`, Keras' VGG is "BGR"); otherwise the mean over the
    inputs is shown in grey. Tiles are nearest-up-sampled to `tile` px, GAP px apart.
    `fmt="raw"` returns the (H, W, 3) uint8 array.
    """
    _choice("fmt", fmt, FORMATS)
    w = _as_kernels(weights)
    tile = _positive_int("tile", tile)
    rgb = _resize_nearest(_kernel_rgb(w, channel_order), tile)
    layout = grid_layout(w.shape[3], tile, columns)
    canvas = np.ascontiguousarray(_montage(rgb, layout, np.array(GAP_RGB, np.uint8)))
    return canvas if fmt == "raw" else encode_png(canvas)


def kernel_for(
    weights: Any,
    channel: int,
    *,
    tile: int = 48,
    channel_order: str = "BGR",
    cmap: str = "RdBu_r",
    fmt: str = "png",
) -> bytes | np.ndarray:
    """One kernel large: its RGB tile, then its R, G and B input-channel tiles in a diverging
    colormap symmetric around 0 (one scale, max |w|, for the three), labelled underneath.

    Keras' VGG takes BGR input, so with `channel_order="BGR"` input channel 0 is shown as B.
    Kernels without 3 inputs show the grey mean and the diverging mean ("mean").
    The picture is (4·tile + 3·GAP) × (tile + KERNEL_LABEL_HEIGHT) px (2 tiles if not RGB).
    """
    _choice("fmt", fmt, FORMATS)
    w = _as_kernels(weights)
    ch = _channel(w.shape[3], channel)
    tile = _positive_int("tile", tile)
    lut = _colors(cmap, 256)
    k = w[:, :, :, ch : ch + 1]
    first = _kernel_rgb(k, channel_order)[0]
    if w.shape[2] == 3:
        parts = _rgb_order(k, channel_order)[:, :, :, 0].transpose(2, 0, 1)
        names = ["RGB", "R", "G", "B"]
    else:
        parts = k[:, :, :, 0].mean(axis=2)[None]
        names = ["mean", "mean"]
    bound = np.abs(parts).max()
    signed = parts / bound if bound > 0 else np.zeros_like(parts)
    idx = np.clip(np.round((signed + 1) * 127.5), 0, 255).astype(np.uint8)
    tiles = np.concatenate([first[None], lut[idx]])
    tiles = _resize_nearest(tiles, tile)
    layout = GridLayout(len(tiles), len(tiles), tile, tile)
    canvas = np.empty((tile + KERNEL_LABEL_HEIGHT, layout.width, 3), np.uint8)
    canvas[...] = GAP_RGB
    canvas[:tile] = _montage(tiles, layout, np.array(GAP_RGB, np.uint8))
    im = Image.fromarray(canvas)
    draw = ImageDraw.Draw(im)
    font = _font()
    for position, name in enumerate(names):
        left, _, right, _ = font.getbbox(name)
        x = layout.origin(position)[0] + (tile - (right - left)) // 2
        draw.text((x, tile - 1), name, fill=LABEL_RGB, font=font)
    canvas = np.asarray(im)
    return canvas if fmt == "raw" else encode_png(canvas)


# --------------------------------------------------------------------------- PNG


def encode_png(image: np.ndarray | Image.Image, *, palette: Any = None) -> bytes:
    """PNG bytes of a uint8 array — (H, W) grey or, with `palette` ((N, 3) uint8 or N·3 bytes,
    N ≤ 256), palette indices; (H, W, 3) RGB; (H, W, 4) RGBA — or of a PIL image.

    The one place PNG settings live: zlib level PNG_LEVEL with the PNG_STRATEGY (Z_RLE).
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
    im = Image.fromarray(arr)
    if palette is not None:
        if arr.ndim != 2:
            raise ValueError("a palette needs an (H, W) array of indices")
        if isinstance(palette, (bytes, bytearray)):
            palette = np.frombuffer(palette, np.uint8)
        pal = np.asarray(palette, dtype=np.uint8).reshape(-1)
        if pal.size % 3 or not 3 <= pal.size <= 768:
            raise ValueError(f"palette must hold 1..256 RGB colours, got {pal.size} values")
        im = Image.frombuffer("P", (arr.shape[1], arr.shape[0]), np.ascontiguousarray(arr),
                              "raw", "P", 0, 1)
        im.putpalette(pal.tobytes())
    buffer = io.BytesIO()
    im.save(buffer, format="PNG", compress_level=PNG_LEVEL, compress_type=PNG_STRATEGY)
    return buffer.getvalue()
