"""Text alternatives for the explorer's pictures, written from the numbers they are drawn from,
so a screen reader says what the picture shows (which maps are bright, where a map is strongest,
which weights are largest), not only that a picture is there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from vggviz.plan.formatting import share_percent
from vggviz.render.palettes import SIGN_CMAP

if TYPE_CHECKING:
    from vggviz.by_hand.convolution import WorkedConvolution
    from vggviz.network.class_heat import ClassHeat

SIGN_WORDS = {"coolwarm": ("red", "blue"), "RdBu_r": ("red", "blue"), "RdBu": ("blue", "red")}
"""Colormap: (colour of positive, colour of negative) values, for the kernel's words."""
CHANNELS = ("B", "G", "R")  # the network's input channel order


def number(value: float) -> str:
    """A short number with a true minus sign: −0.412, 3.1, 0."""
    text = f"{value:.3g}"
    return ("0" if float(text) == 0 else text).replace("-", "−")


def region(row: int, col: int, height: int, width: int) -> str:
    """Where (`row`, `col`) lies in a `height`×`width` picture, in words: "top left", "centre"."""
    vertical = ("top", "middle", "bottom")[min(3 * row // max(height, 1), 2)]
    horizontal = ("left", "centre", "right")[min(3 * col // max(width, 1), 2)]
    return "centre" if (vertical, horizontal) == ("middle", "centre") else \
        f"{vertical} {horizontal}"


def grid_alt(maps: np.ndarray, channels: Sequence[int], chosen: int | None, stage: str,
             image_name: str) -> str:
    """The grid: how many maps of which stage and image, their size, the chosen one (if any),
    and the three brightest (highest mean) and the all-zero maps among those shown."""
    h, w, total = maps.shape
    shown = list(channels)
    count = (f"{len(shown)} {stage} feature maps" if len(shown) == total else
             f"{len(shown)} of the {total} {stage} feature maps (maps {min(shown)}–{max(shown)})")
    means = maps[:, :, shown].mean(axis=(0, 1))
    brightest = [shown[i] for i in np.argsort(-means, kind="stable")[:3]]
    dark = [c for c, m in zip(shown, maps[:, :, shown].max(axis=(0, 1)), strict=True) if m <= 0]
    text = (f"{count} of {image_name}, {h}×{w} each"
            + ("" if chosen is None else f", map {chosen} chosen")
            + f"; brightest maps {', '.join(map(str, brightest))}")
    if dark:
        text += f"; {len(dark)} all zero" + (f" ({', '.join(map(str, dark))})"
                                             if len(dark) <= 5 else "")
    return text + "."


def map_alt(m: np.ndarray, channel: int, stage: str) -> str:
    """One map large: its size, range, share of zeros and where it is strongest."""
    h, w = m.shape
    zeros = float(np.mean(m == 0))
    row, col = np.unravel_index(int(np.argmax(m)), m.shape)
    text = (f"{stage} map {channel}, {h}×{w}: values {number(m.min())} to {number(m.max())}, "
            f"{share_percent(zeros)} zeros")
    if m.max() > 0:
        text += (f"; strongest at x {col}, y {row} ({region(row, col, h, w)}), "
                 f"{number(m.max())}")
    return text + "."


def point_words(value: float, row: int, col: int) -> str:
    """The pixel pointed at with the keys, as it is said: "x 90, y 50: 0.531"."""
    return f"x {col}, y {row}: {number(value)}"


def kernel_alt(weights: np.ndarray, channel: int, cmap: str = SIGN_CMAP, top: int = 3) -> str:
    """A (kh, kw, 3) kernel in the network's B, G, R order: its `top` largest weights by size,
    with their sign's colour, channel and place (x, y) as the explorer writes points."""
    kh, kw, _ = weights.shape
    positive, negative = SIGN_WORDS.get(cmap, ("positive", "negative"))
    order = np.argsort(-np.abs(weights), axis=None, kind="stable")[:top]
    parts = []
    for flat in order:
        i, j, k = np.unravel_index(int(flat), weights.shape)
        value = float(weights[i, j, k])
        colour = positive if value > 0 else negative
        parts.append(f"{number(value)} ({colour}) in {CHANNELS[k]} at ({j}, {i})")
    sums = {name: float(weights[..., k].sum()) for k, name in enumerate(CHANNELS)}
    leaning = ", ".join(f"{name} {number(sums[name])}" for name in ("R", "G", "B"))
    return (f"Kernel of map {channel}: {kh}×{kw} weights for each of R, G and B, {positive} "
            f"above 0 and {negative} below. Largest: {'; '.join(parts)}. Sums per channel: "
            f"{leaning}.")


def worked_words(worked: WorkedConvolution) -> str:
    """The worked convolution's sum in words, from patch to the map's value."""
    y, x = worked.at
    text = (f"Map {worked.channel} at x {x}, y {y}: the {worked.terms} products of the patch and "
            f"the weights add up to {number(worked.total)}; plus the bias {number(worked.bias)}")
    text += (f" gives {number(worked.pre_activation)}" if worked.normalization is None else
             f", then batch norm, gives {number(worked.pre_activation)}")
    text += ", the ReLU keeps it" if worked.pre_activation > 0 else ", the ReLU makes it 0"
    if worked.pool is not None:
        return text + (f", and the {len(worked.pool)}×{len(worked.pool)} max-pool gives "
                       f"{number(worked.value)}.")
    return text + f", so the map's value is {number(worked.value)}."


def network_view_alt(image_name: str, patch: tuple[int, int, int, int] | None = None,
                     field: str | None = None) -> str:
    """What the network sees, with the marks on it: the worked patch and a unit's field."""
    text = f"What the network sees: {image_name}, resized and cropped to 224×224"
    if field:
        text += f"; {field}"
    if patch is not None:
        top, left, bottom, right = patch
        text += (f"; the worked patch outlined in yellow, pixels x {left}–{right}, "
                 f"y {top}–{bottom}")
    return text + "."


def field_words(box: tuple[int, int, int, int], gradient: np.ndarray | None) -> str:
    """A unit's receptive field on the picture: the box, and where its gradient is largest."""
    top, left, bottom, right = box
    text = f"the unit's receptive field outlined in cyan, x {left}–{right}, y {top}–{bottom}"
    if gradient is not None and gradient.max() > 0:
        row, col = np.unravel_index(int(np.argmax(gradient)), gradient.shape)
        text += (f", heat strongest at x {col}, y {row} "
                 f"({region(row, col, *gradient.shape)})")
    return text


def heat_alt(heat: ClassHeat, image_name: str = "what the network sees") -> str:
    """The class heat: for which class, at which stage, and where it is highest."""
    name = heat.class_name.replace("_", " ")
    if not heat.evidence:
        return (f"Class heat for “{name}” at {heat.stage} over {image_name}: no place raises "
                f"its score, so no heat.")
    h, w = heat.heat.shape
    row, col = np.unravel_index(int(np.argmax(heat.heat)), heat.heat.shape)
    hot = float(np.mean(heat.heat >= 0.5))
    return (f"Class heat for “{name}” at {heat.stage} over {image_name}: highest in the "
            f"{region(row, col, h, w)} (cell x {col}, y {row} of {w}×{h}); {hot:.0%} of the "
            f"picture at half the peak or more.")


def pattern_alt(stage: str, channel: int) -> str:
    """The input pattern found for one map."""
    return f"The input pattern that excites {stage} map {channel} most, found by gradient ascent."


def pattern_page_alt(stage: str, order: Sequence[int], found: int, chosen: int) -> str:
    """The page of patterns, laid out as the grid."""
    order = list(order)
    missing = len(order) - found
    return (f"Patterns of {stage} maps {min(order)}–{max(order)}, laid out as the grid, "
            f"map {chosen} chosen" + (f"; {missing} not found yet, grey" if missing else "")
            + ".")


def scale_alt(low: float, high: float, cmap: str, what: str = "colour scale") -> str:
    """A colour bar: its colormap and the values at its two ends."""
    return f"{what.capitalize()}, {cmap}: {number(low)} at the left to {number(high)} at the right."
