"""Colour scales and marks: what a colour means (a colour bar with its values, a sign legend
for kernels) and which tile is chosen (an outline). Every picture of values gets a scale."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vggviz.render.layout import GridLayout
from vggviz.render.palettes import LABEL_INDEX, SIGN_CMAP, _colors, encode_png

BAR_HEIGHT = 14
"""Height of the colour ramp in a colour bar, px."""
TEXT_RGB = (34, 34, 34)


@functools.lru_cache(maxsize=16)
def _text_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's scalable default font at `size` px (legible, unlike the tiny bitmap one)."""
    return ImageFont.load_default(size=size)


def _label(value: float) -> str:
    return f"{value:.3g}"


def colorbar(lo: float, hi: float, *, cmap: str = "viridis", width: int = 300,
             low_text: str | None = None, high_text: str | None = None) -> bytes:
    """PNG of a horizontal colour ramp from `lo` to `hi` with both values written under it
    (or `low_text`/`high_text` in their place), and zero marked where it falls inside."""
    lo, hi = float(lo), float(hi)
    font = _text_font(12)
    height = BAR_HEIGHT + 18
    canvas = Image.new("RGB", (width, height), "white")
    ramp = _colors(cmap, 256)[np.linspace(0, 255, width - 2).round().astype(int)]
    canvas.paste(Image.fromarray(np.repeat(ramp[None], BAR_HEIGHT, axis=0)), (1, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, width - 1, BAR_HEIGHT], outline=TEXT_RGB)
    draw.text((1, BAR_HEIGHT + 2), low_text or _label(lo), fill=TEXT_RGB, font=font)
    draw.text((width - 1, BAR_HEIGHT + 2), high_text or _label(hi), fill=TEXT_RGB, font=font,
              anchor="ra")
    if lo < 0 < hi and low_text is None:
        x = round(1 + (width - 3) * (0 - lo) / (hi - lo))
        draw.line([x, 0, x, BAR_HEIGHT + 3], fill=TEXT_RGB, width=1)
        draw.text((x, BAR_HEIGHT + 2), "0", fill=TEXT_RGB, font=font, anchor="ma")
    return encode_png(np.asarray(canvas))


def colour_ramp(cmap: str = "viridis", levels: int = 256) -> bytes:
    """PNG of a bare colour ramp, `levels` px wide and 1 px high, low end at the left: for a
    page to stretch to any width (and write its values beside it at a legible size)."""
    return encode_png(_colors(cmap, levels)[None])


def sign_legend(*, cmap: str = SIGN_CMAP, width: int = 300) -> bytes:
    """PNG of a diverging ramp labelled "negative", "0", "positive": how kernel weights read."""
    font = _text_font(12)
    canvas = Image.new("RGB", (width, BAR_HEIGHT + 18), "white")
    ramp = _colors(cmap, 256)[np.linspace(0, 255, width - 2).round().astype(int)]
    canvas.paste(Image.fromarray(np.repeat(ramp[None], BAR_HEIGHT, axis=0)), (1, 0))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, width - 1, BAR_HEIGHT], outline=TEXT_RGB)
    draw.text((1, BAR_HEIGHT + 2), "negative weight", fill=TEXT_RGB, font=font)
    draw.text((width // 2, BAR_HEIGHT + 2), "0", fill=TEXT_RGB, font=font, anchor="ma")
    draw.text((width - 1, BAR_HEIGHT + 2), "positive", fill=TEXT_RGB, font=font, anchor="ra")
    return encode_png(np.asarray(canvas))


def outline_tile(indices: np.ndarray, layout: GridLayout, position: int,
                 thickness: int = 2) -> np.ndarray:
    """A copy of a grid's palette indices with tile `position` framed in the label colour,
    so the chosen map stays marked in the grid."""
    out = np.array(indices, copy=True)
    x, y = layout.origin(position)
    h, w = layout.tile_h, layout.tile_w
    t = max(1, min(thickness, h // 4, w // 4))
    out[y:y + t, x:x + w] = LABEL_INDEX
    out[y + h - t:y + h, x:x + w] = LABEL_INDEX
    out[y:y + h, x:x + t] = LABEL_INDEX
    out[y:y + h, x + w - t:x + w] = LABEL_INDEX
    return out
