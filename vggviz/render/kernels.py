"""Conv kernels as pictures: `render_kernels`, a grid of every output channel's kernel as an
RGB (or grey) tile, and `kernel_for`, one kernel large with its input channels side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from vggviz.render._checks import _channel, _choice, _positive_int
from vggviz.render._tiles import _montage, _nearest
from vggviz.render.layout import GridLayout, grid_layout
from vggviz.render.palettes import (
    FORMATS,
    GAP_RGB,
    LABEL_RGB,
    SIGN_CMAP,
    _colors,
    encode_png,
)
from vggviz.render.scales import _text_font

CHANNEL_ORDERS = ("BGR", "RGB")

KERNEL_LABEL_HEIGHT = 14
"""Height of the label strip under the tiles of `kernel_for`."""


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
    cmap: str = SIGN_CMAP,
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
    font = _text_font(12)  # scalable: legible, unlike the bitmap font
    for position, name in enumerate(names):
        x = layout.origin(position)[0] + tile // 2
        draw.text((x, tile + 1), name, fill=LABEL_RGB, font=font, anchor="ma")
    canvas = np.asarray(im)
    return canvas if fmt == "raw" else encode_png(canvas)
