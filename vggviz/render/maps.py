"""Feature maps as pictures: a grid of many maps (`render_grid`, `grid_indices`) or one map
large (`render_map`), plus the statistics and channel orders the grid is sorted by.

Speed is the point (the dashboard turns image bytes into a picture of the 64 stem maps in
~15 ms of CPU, ~5 ms of which is the forward pass), so a grid is built as one uint8 array of
palette indices with vectorised numpy (range of the maps → pool → quantise → reshape/transpose
into tiles) and written as a palette PNG (see `vggviz.render.palettes`). The range is the maps'
own, not their pooled tiles', so a colour bar stating it reads true for the grid and the
large map alike.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from vggviz.render._checks import _channel, _choice, _positive_int
from vggviz.render._tiles import _font, _montage, _nearest
from vggviz.render.layout import GridLayout, grid_layout
from vggviz.render.palettes import (
    FORMATS,
    GAP_INDEX,
    LABEL_INDEX,
    LEVELS,
    _palette_bytes,
    encode_png,
)
from vggviz.render.scales import _text_font

NORMALIZATIONS = ("per_map", "shared")
ORDERS = ("index", "mean", "sparsity")

FOCUS_SIZE = 448
"""`render_map(scale=None)` up-samples by the largest integer factor that fits this size."""

_MAX_LEVEL = LEVELS - 1e-3  # (x - lo) * _MAX_LEVEL / (hi - lo) truncates to 0..LEVELS-1


# --------------------------------------------------------------------------- validation


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


def _quantise(x: np.ndarray, lo: Any, hi: Any, *, scratch: bool = False) -> np.ndarray:
    """Map lo..hi (scalars or per-channel arrays along the last axis) to indices 0..LEVELS-1.

    Where hi <= lo (a constant map) every value becomes index 0. `scratch`: x is the caller's
    own temporary, worked on in place (one array fewer to allocate).
    """
    lo = np.asarray(lo, dtype=x.dtype)
    span = np.asarray(hi, dtype=x.dtype) - lo
    scale = (_MAX_LEVEL / np.where(span > 0, span, 1)) * (span > 0)
    y = np.subtract(x, lo, out=x if scratch else None)
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


# --------------------------------------------------------------------------- labels


@functools.lru_cache(maxsize=4096)
def _label_stamp(text: str, size: int | None = None) -> np.ndarray:
    """`text` drawn once with ImageDraw in the bitmap font (or the scalable one at `size` px),
    as palette indices: LABEL_INDEX ink on a GAP_INDEX box with a 1-px margin. Cached, so a
    grid only copies small arrays."""
    font = _font() if size is None else _text_font(size)
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


def _label(canvas: np.ndarray, layout: GridLayout, order: Sequence[int],
           size: int | None = None) -> None:
    """Stamp each tile's channel number in its top-left corner (skipped where the label would
    cover more than the tile's width or half its height)."""
    for position, channel in enumerate(order):
        stamp = _label_stamp(str(channel), size)
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


def colour_range(maps: Any, channels: Any = None) -> tuple[float, float]:
    """The values the colormap's ends stand for when `channels` (default all) share one
    scale: their finite min and max. `render_grid`, `render_map` and a colour bar stating
    this range therefore colour a value alike; one channel gives that map's own range."""
    x = _as_maps(maps)
    _, lo, hi = _finite_range(_select(x, _channel_list(x.shape[2], channels)), "shared")
    return float(lo), float(hi)


def _finite_range(src: np.ndarray, normalize: str) -> tuple[np.ndarray, Any, Any]:
    """`src` and its min and max, per map (arrays along the channels) or over all: of the
    values themselves, not of a pooled copy, so a map's colours mean the same in the grid and
    large. With NaN or inf, `_finite(src)` and its range."""
    lo, hi = _extremes(src, normalize)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        src = _finite(src)
        lo, hi = _extremes(src, normalize)
    return src, lo, hi


def _extremes(src: np.ndarray, normalize: str) -> tuple[Any, Any]:
    """Min and max per map or over all: rows first (element-wise over whole rows), about 3×
    faster than numpy's reduction over axes (0, 1) of a channels-last array."""
    lo, hi = src.min(axis=0).min(axis=0), src.max(axis=0).max(axis=0)
    return (lo, hi) if normalize == "per_map" else (lo.min(), hi.max())


def _gain(n: int, size: int) -> int:
    """How many values `_shrink` adds into one along an axis of n shrunk to size (1: a mean)."""
    return n // size if size < n and n % size == 0 else 1


def _pool(src: np.ndarray, th: int, tw: int) -> np.ndarray:
    """Area-pool maps down to th×tw (before quantising: less to quantise)."""
    h, w = src.shape[:2]
    if th < h:
        src = _shrink(src, 0, th)
    if tw < w:
        src = _shrink(src, 1, tw)
    return src


BAND_BYTES = 2**20
"""`_pooled_range` reads the maps in bands of rows of about this many bytes (cache-sized)."""


def _pooled_range(src: np.ndarray, normalize: str, th: int, tw: int,
                  gain: int) -> tuple[np.ndarray, Any, Any]:
    """`src` pooled to th×tw (`_pool`) and its range (`_finite_range`). Where rows shrink by
    an integer factor, both come from one pass over bands of rows, each band pooled while its
    range is read from cache (the stem's maps: about 0.6 ms less than two passes). Values
    that are not finite, or sums that would overflow, go the two-pass way (in float64)."""
    h, w, c = src.shape
    if th < h and h % th == 0:
        k = h // th
        rows = max(1, BAND_BYTES // (k * w * c * src.itemsize)) * k
        pooled = lo = hi = None
        with np.errstate(over="ignore", invalid="ignore"):  # such bands are not used
            for top in range(0, h, rows):
                band = src[top:top + rows]
                low, high = band.min(axis=0).min(axis=0), band.max(axis=0).max(axis=0)
                lo = low if lo is None else np.minimum(lo, low, out=lo)
                hi = high if hi is None else np.maximum(hi, high, out=hi)
                part = _pool(band, band.shape[0] // k, tw)
                if pooled is None:
                    pooled = np.empty((th, *part.shape[1:]), part.dtype)
                pooled[top // k:top // k + part.shape[0]] = part  # while it is in cache
        if normalize == "shared":
            lo, hi = lo.min(), hi.max()
        largest = max(float(np.max(np.abs(lo))), float(np.max(np.abs(hi))))
        if (np.isfinite(lo).all() and np.isfinite(hi).all()
                and largest * gain < float(np.finfo(src.dtype).max)):
            return pooled, lo, hi
    src, lo, hi = _finite_range(src, normalize)
    largest = max(float(np.max(np.abs(lo))), float(np.max(np.abs(hi))))
    if largest * gain >= float(np.finfo(src.dtype).max):  # the sums would overflow
        src, lo, hi = src.astype(np.float64), np.float64(lo), np.float64(hi)
    return _pool(src, th, tw), lo, hi


def grid_indices(
    maps: Any,
    *,
    normalize: str = "per_map",
    columns: int | None = None,
    order: str = "index",
    channels: Any = None,
    tile: int | tuple[int, int] | None = None,
    labels: bool = True,
    label_px: int | None = None,
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

    gain = _gain(h, th) * _gain(w, tw)  # pooled sums: the range in the same units
    pooled, lo, hi = _pooled_range(src, normalize, th, tw, gain)
    q = _quantise(pooled, np.multiply(lo, gain), np.multiply(hi, gain),
                  scratch=not np.may_share_memory(pooled, x))
    if th > q.shape[0]:
        q = _nearest(q, 0, th)
    if tw > q.shape[1]:
        q = _nearest(q, 1, tw)

    tiles = q.transpose(2, 0, 1)
    if perm is not None:
        tiles = tiles[perm]
    canvas = _montage(tiles, layout, GAP_INDEX)
    if labels:
        _label(canvas, layout, shown, label_px)
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
    label_px: int | None = None,
    fmt: str = "png",
) -> bytes | np.ndarray:
    """All requested maps of an (H, W, C) array as one picture: a grid of tiles, GAP px apart.

    * `normalize`: "per_map" scales each map by its own min..max; "shared" uses one min..max
      over all shown maps (`colour_range`). The range is the maps' own, not their pooled
      tiles': a value gets the same colour here and in `render_map`. A constant map is one
      colour (the colormap's lowest).
    * `order`: "index" (channel order), "mean" (brightest first), "sparsity" (most zeros
      first); `order_channels` gives the same list, `Grid.channel_at` maps clicks back.
    * `channels`: the channels to show (a page, e.g. range(64, 128)); labels show the true
      channel numbers.
    * `tile`: tile px (longer side); None → 112 px for 224-px maps (2×2 mean-pool), smaller
      maps repeated up to ~112 px, the grid at most ~MAX_GRID_WIDTH wide. Down-sampling is
      an area mean, up-sampling nearest-neighbour.
    * `columns`: default ceil(sqrt(n)). `labels`: channel number in each tile's corner, in
      the small bitmap font, or with `label_px` in the scalable font that many px high: a grid
      shown smaller than drawn needs it to keep its numbers legible.
    * `fmt`: "png" → PNG bytes; "raw" → the (H, W) uint8 palette indices (see `palette`).
    """
    _choice("fmt", fmt, FORMATS)
    pal = _palette_bytes(cmap)  # validates cmap before any work
    grid = grid_indices(
        maps, normalize=normalize, columns=columns, order=order, channels=channels,
        tile=tile, labels=labels, label_px=label_px,
    )
    return grid.indices if fmt == "raw" else encode_png(grid.indices, palette=pal)


def render_map(
    maps: Any,
    channel: int,
    *,
    cmap: str = "viridis",
    scale: int | None = None,
    normalize: str = "per_map",
    channels: Any = None,
) -> bytes:
    """One map large, as PNG: up-sampled `scale`× (nearest), or by `focus_scale` (to about
    FOCUS_SIZE px) when `scale` is None. Colours span the map's own min..max ("per_map") or
    the range `channels` (default all; the grid's page, to colour as the grid does) share
    ("shared"), as `colour_range` gives them."""
    x = _as_maps(maps)
    _choice("normalize", normalize, NORMALIZATIONS)
    pal = _palette_bytes(cmap)
    ch = _channel(x.shape[2], channel)
    scale = _positive_int("scale", scale, allow_none=True) or focus_scale(x.shape[:2])
    shared = [ch] if normalize == "per_map" else _channel_list(x.shape[2], channels)
    if ch not in shared:
        raise ValueError(f"channel {ch} is not among the channels whose range it is to share")
    lo, hi = colour_range(x, shared)
    m = x[:, :, ch]
    if not np.isfinite(m).all():
        m = _finite(m[:, :, None])[:, :, 0]
    q = _quantise(m, lo, hi)
    if scale > 1:
        q = np.repeat(np.repeat(q, scale, axis=0), scale, axis=1)
    return encode_png(q, palette=pal)


def focus_scale(map_shape: tuple[int, int]) -> int:
    """The integer enlargement `render_map` uses: the largest that fits FOCUS_SIZE (224 → 2,
    7 → 64), so a pointer position on the large map divides back to a map pixel."""
    return max(1, FOCUS_SIZE // max(map_shape))
