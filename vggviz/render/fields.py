"""A unit's receptive field on the picture the network sees: its theoretical box outlined and its
gradient (the effective field) as heat over the greyed picture, with the heat's colour scale."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from vggviz.render.palettes import _colors, encode_png
from vggviz.render.scales import colorbar

HEAT_CMAP = "inferno"
"""Colormap of the gradient: black where a pixel does not move the unit, yellow where most."""
HEAT_ALPHA = 0.8
"""How much of the heat covers the greyed picture inside the box (the rest shows the pixels)."""
BOX_RGB = (0, 229, 255)
"""The theoretical box's outline: cyan, apart from the heat's colours and the patch's yellow."""


def _greyed(pixels: np.ndarray) -> np.ndarray:
    """The picture in dim grey, so the heat's colours read over it."""
    grey = np.asarray(pixels, np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat((60 + 0.45 * grey)[..., None], 3, axis=-1)


def outline_box(picture: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, ...],
                grow: int = 2) -> None:
    """Frame `box` (top, left, bottom, right, inclusive) in `colour` on a black hairline, just
    outside it where the picture has room, so all four sides show even for a 3×3 box."""
    top, left, bottom, right = box
    last_x, last_y = picture.width - 1, picture.height - 1
    draw = ImageDraw.Draw(picture)
    for extra, ink, width in ((grow + 1, (0, 0, 0), 1), (grow, colour, 2)):
        draw.rectangle((max(left - extra, 0), max(top - extra, 0), min(right + extra, last_x),
                        min(bottom + extra, last_y)), outline=ink, width=width)


def field_picture(pixels: np.ndarray, gradient: np.ndarray, box: tuple[int, int, int, int],
                  patch: tuple[int, int, int, int] | None = None) -> bytes:
    """PNG of `pixels` (H, W, 3) greyed, with `gradient` (H, W, ≥ 0) as heat inside `box`,
    scaled to its largest value (HEAT_CMAP), the box outlined in cyan and, if given, `patch`
    in yellow (the stem's worked-out patch)."""
    out = _greyed(pixels)
    top, left, bottom, right = box
    peak = float(gradient.max())
    level = gradient / peak if peak > 0 else np.zeros_like(gradient, np.float32)
    heat = _colors(HEAT_CMAP, 256)[np.clip(np.round(level * 255), 0, 255).astype(int)]
    inside = (slice(top, bottom + 1), slice(left, right + 1))
    out[inside] = (1 - HEAT_ALPHA) * out[inside] + HEAT_ALPHA * heat[inside]
    picture = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    outline_box(picture, box, BOX_RGB)
    if patch is not None:
        outline_box(picture, patch, (255, 230, 0), grow=1)
    return encode_png(picture)


def heat_legend(width: int = 300) -> bytes:
    """The heat's colour scale: 0 (the pixel does not move the unit) to the largest gradient."""
    return colorbar(0, 1, cmap=HEAT_CMAP, width=width, low_text="0: does not move it",
                    high_text="moves it most")
