"""Class heat over the picture: a Grad-CAM map upsampled (bilinear) to the network's-eye view
and blended over it in a colour-vision-safe colormap, with the scale that says what it means."""

from __future__ import annotations

import numpy as np
from PIL import Image

from vggviz.render.palettes import _colors, encode_png
from vggviz.render.scales import colorbar

HEAT_CMAP = "inferno"
"""Perceptually uniform and colour-vision safe, dark for no evidence (not jet)."""


def heat_overlay(pixels: np.ndarray, heat: np.ndarray, *, cmap: str = HEAT_CMAP,
                 alpha: float = 0.5) -> bytes:
    """PNG of `heat` ((h, w) in [0, 1]) resized bilinearly to `pixels` ((H, W, 3) uint8) and
    blended over them: `alpha` of the colour, 1 − `alpha` of the picture."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be (H, W, 3) uint8, got {pixels.shape} {pixels.dtype}")
    heat = np.asarray(heat, np.float32)
    if heat.ndim != 2 or not np.isfinite(heat).all():
        raise ValueError(f"heat must be a finite (h, w) map, got shape {heat.shape}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be within 0–1, got {alpha}")
    h, w = pixels.shape[:2]
    big = np.asarray(Image.fromarray(heat).resize((w, h), Image.BILINEAR))
    levels = (np.clip(big, 0, 1) * 255).round().astype(np.intp)
    colour = _colors(cmap, 256)[levels].astype(np.float32)
    blended = alpha * colour + (1 - alpha) * pixels.astype(np.float32)
    return encode_png(blended.round().astype(np.uint8))


def heat_scale(*, cmap: str = HEAT_CMAP, width: int = 300) -> bytes:
    """PNG of the heat's colour bar: 0 no evidence, 1 the place of most evidence."""
    return colorbar(0, 1, cmap=cmap, width=width, low_text="0: no evidence",
                    high_text="1: most evidence")
