"""The convolution, worked out: beside the large stem map, how the value under the pointer came
to be — the input patch, the kernel, the products, their sum, the bias and the ReLU (and the
max-pool of the pooled and strided stems), with the numbers the network used.

HTML tables with inline colours (no picture to encode), so a pointer move redraws it at once.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w
import numpy as np
from PIL import Image

from vggviz.by_hand.convolution import INPUT_CHANNELS, WorkedConvolution, worked_output
from vggviz.render import LEVELS, SIGN_CMAP, palette
from vggviz.ui.parts.alt_text import worked_words

if TYPE_CHECKING:
    from vggviz.network.features import FeatureExtractor

NARROW = 430
"""px: the widest the panel's prose may be (its tables may be wider: a 7×7 kernel's are)."""
LENS = "vggviz-lens"
"""The panel's class while it holds a worked sum: a card beside the large map, over the grid,
shown while the pointer is on the map (CSS :hover, no round trip), so the sum is in view where
the pointer is at 1280×800 too; it lets clicks through to the grid under it. Its top is level
with the map's (a 7×7 kernel's taller card: with the column's, to end above 800 px)."""
PATCH_BOUND = 150.0
"""|value| of the strongest colour for the network's input numbers (about 255 less the mean)."""
SHOWN_CHANNELS = ("R", "G", "B")
"""The order the input channels are listed in, as the kernel's tiles are (the network takes
them as B, G, R: `INPUT_CHANNELS`)."""
POINTS = "Points are (x, y): x across, y down, from (0, 0) at the top left."
"""How the explorer writes a point (never (row, col)), said on screen beside them."""
CONVENTION = f"{POINTS} Channels are listed R, G, B."
HINT = ("<i>point at (or click) the large map: beside it, its value is worked out from the "
        f"input patch the filter saw, its weights and the ReLU.</i> <small>{CONVENTION}</small>")
_HATCH = "repeating-linear-gradient(45deg,#e4e4e4 0 2px,#fff 2px 5px)"
_STYLE = """<style>
.vggviz-conv{border-collapse:separate;border-spacing:1px 0;font:12px/1.25 sans-serif}
.vggviz-conv td{padding:0 2px;text-align:right;font-family:monospace;white-space:nowrap;
  min-width:5ch}
.vggviz-conv td.op,.vggviz-conv th{text-align:center;font-family:sans-serif;font-weight:normal;
  color:#555;padding:0 3px;min-width:0}
.vggviz-conv td.ch{font:bold 12px sans-serif;text-align:center;min-width:0}
.vggviz-conv tr.gap td{height:4px}
.vggviz-conv.small{border-spacing:0;line-height:1.05}
.vggviz-conv.small td{padding:0 1px;min-width:4ch}
.vggviz-conv-sum{border-collapse:collapse;font:12px/1.35 sans-serif}
.vggviz-conv-sum td{padding:0 6px 0 0}
.vggviz-conv-sum td.n{text-align:right;font-family:monospace}
.vggviz-conv-key span{display:inline-block;width:11px;height:11px;vertical-align:-1px;
  border:1px solid #bbb;margin:0 2px 0 6px}
.widget-box.vggviz-focus-column{position:relative;overflow:visible}
.vggviz-worked.vggviz-lens{position:absolute;top:74px;right:calc(100% + 8px);z-index:5;
  width:max-content;padding:6px 8px;background:#fff;border:1px solid #999;
  box-shadow:0 2px 10px rgba(0,0,0,.3);pointer-events:none;visibility:hidden}
.vggviz-worked.vggviz-lens:has(.vggviz-conv.small){top:0}
.vggviz-focus-column:has(img.vggviz-focus:hover) .vggviz-worked.vggviz-lens,
.vggviz-focus-column:has(img.vggviz-focus:focus-visible) .vggviz-worked.vggviz-lens{
  visibility:visible}
.vggviz-worked-words{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
  white-space:nowrap}
@media (max-width:1199px){.vggviz-worked.vggviz-lens{position:static;visibility:visible;
  box-shadow:none;border:0;padding:0}}
</style>"""


def number(value: float) -> str:
    """A short signed number for a table cell, with a true minus sign: −103, −12.3, 0.43."""
    size = abs(value)
    text = f"{value:.0f}" if size >= 99.5 else f"{value:.1f}" if size >= 9.95 else f"{value:.2f}"
    return _minus(text)


def compact(value: float) -> str:
    """At most four characters with the sign, for the 7×7 card's 441 cells at a legible 12 px
    (each cell's title keeps the exact value): −21, 9.3, −.05."""
    size = abs(value)
    if size >= 9.5:
        return _minus(f"{value:.0f}")
    if size >= 0.995:
        return _minus(f"{value:.1f}")
    if size < 0.005:
        return "0"
    return _minus(f"{value:.2f}".replace("0.", ".", 1))


def exact(value: float) -> str:
    """A number of the arithmetic, to three decimals: −18.213, 5.475, 0.000."""
    return _minus(f"{value:.3f}")


def _minus(text: str) -> str:
    return (text.lstrip("-") if float(text) == 0 else text).replace("-", "−")


def _sign_colours(values: np.ndarray, bound: float) -> np.ndarray:
    """(…, 3) uint8 colours of `values` in the diverging colormap, symmetric around 0."""
    lut = palette(SIGN_CMAP)[:LEVELS]
    signed = values / bound if bound > 0 else np.zeros_like(values)
    index = np.clip(np.round((signed + 1) / 2 * (LEVELS - 1)), 0, LEVELS - 1).astype(int)
    return lut[index]


def _luminance(rgb: np.ndarray) -> float:
    """WCAG 2.1 relative luminance of an sRGB uint8 colour."""
    c = np.asarray(rgb, float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def _ink(rgb: np.ndarray) -> str:
    """Black or white text, whichever has the higher WCAG contrast on the `rgb` background."""
    y = _luminance(rgb)
    return "#000" if (y + 0.05) / 0.05 >= 1.05 / (y + 0.05) else "#fff"


def _cell(text: str, rgb: np.ndarray | None, title: str) -> str:
    """One table cell; `rgb` None means the "same" padding (hatched)."""
    if rgb is None:
        return f"<td title='{title}' style='background:{_HATCH};color:#595959'>{text}</td>"
    r, g, b = (int(v) for v in rgb)
    return (f"<td title='{title}' style='background:rgb({r},{g},{b});color:{_ink(rgb)}'>"
            f"{text}</td>")


def _patch_picture(worked: WorkedConvolution) -> str:
    """The patch as the colours a person sees, padding hatched."""
    kh, kw = worked.inside.shape
    px = 14 if kh <= 3 else 9
    top, left = worked.origin
    rows = []
    for i in range(kh):
        cells = []
        for j in range(kw):
            where = f"pixel ({left + j}, {top + i})"
            if worked.inside[i, j]:
                r, g, b = (int(v) for v in worked.colours[i, j])
                cells.append(f"<td title='{where}: RGB {r}, {g}, {b}' style='width:{px}px;"
                             f"height:{px}px;padding:0;background:rgb({r},{g},{b})'></td>")
            else:
                cells.append(f"<td title='{where}: outside the image (padding)' style='width:"
                             f"{px}px;height:{px}px;padding:0;background:{_HATCH}'></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    where = (f"The patch of {kh}×{kw} pixels, x {left}–{left + kw - 1}, y {top}–{top + kh - 1}, "
             "as a person sees it" + ("" if worked.inside.all() else "; part of it padding"))
    return (f"<table role=img aria-label='{html.escape(where, quote=True)}' style='border-"
            "collapse:collapse;border:1px solid #444;display:inline-table;vertical-align:middle'>"
            f"{''.join(rows)}</table>")


def _tables(worked: WorkedConvolution) -> str:
    """Input numbers × weights = products, one block of rows per input channel (R, G, B)."""
    kh, kw = worked.inside.shape
    weights_rgb = _sign_colours(worked.weights, float(np.abs(worked.weights).max()))
    products_rgb = _sign_colours(worked.products, float(np.abs(worked.products).max()))
    patch_rgb = _sign_colours(worked.patch, PATCH_BOUND)
    top, left = worked.origin
    short = compact if kw > 3 else number  # the 7×7 card: 147 products wide
    head = (f"<tr><td class=op></td><th colspan={kw}>input numbers</th><td class=op></td>"
            f"<th colspan={kw}>weights</th><td class=op></td><th colspan={kw}>products</th>"
            "<th>sum</th></tr>")
    rows = [head]
    for position, name in enumerate(SHOWN_CHANNELS):
        k = INPUT_CHANNELS.index(name)
        subtotal = worked.products[..., k].sum(dtype=np.float64)
        for i in range(kh):
            cells = [f"<td class=ch rowspan={kh}>{name}</td>"] if i == 0 else []
            for j in range(kw):
                where = f"({left + j}, {top + i})"
                if worked.inside[i, j]:
                    cells.append(_cell(short(worked.patch[i, j, k]), patch_rgb[i, j, k],
                                       f"{name} at {where}: {worked.patch[i, j, k]:.3f}"))
                else:
                    cells.append(_cell("0", None, f"{name} at {where}: padding, 0"))
            if i == 0:
                cells.append(f"<td class=op rowspan={kh}>×</td>")
            cells += [_cell(short(worked.weights[i, j, k]), weights_rgb[i, j, k],
                            f"weight {name} at ({j}, {i}): {worked.weights[i, j, k]:.4f}")
                      for j in range(kw)]
            if i == 0:
                cells.append(f"<td class=op rowspan={kh}>=</td>")
            cells += [_cell(short(worked.products[i, j, k]), products_rgb[i, j, k],
                            f"product {name} at ({j}, {i}): {worked.products[i, j, k]:.4f}")
                      if worked.inside[i, j] else _cell("0", None, "padding × weight: 0")
                      for j in range(kw)]
            if i == 0:
                cells.append(f"<td rowspan={kh} style='vertical-align:middle'>"
                             f"{short(subtotal)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        if position < len(SHOWN_CHANNELS) - 1:
            rows.append(f"<tr class=gap><td colspan={3 * kw + 4}></td></tr>")
    small = " small" if kw > 3 else ""
    return f"<table class='vggviz-conv{small}'>{''.join(rows)}</table>"


def _arithmetic(worked: WorkedConvolution) -> str:
    """Sum, bias, (BN), pre-activation, ReLU and (pooled stems) the max-pool, line by line."""
    lines = [(f"sum of the {worked.terms} products", worked.total, ""),
             ("+ bias", worked.bias, "")]
    if worked.normalization is None:
        lines.append(("= pre-activation", worked.pre_activation, ""))
    else:
        scale, shift = worked.normalization
        lines += [("= convolution", worked.total + worked.bias, ""),
                  (f"× {exact(scale)} + {exact(shift)}", worked.pre_activation,
                   "batch norm: the pre-activation")]
    relu = f"ReLU: max(0, {exact(worked.pre_activation)})"
    if worked.pool is None:
        lines.append((f"<b>{relu}</b>", worked.output, f"= {_map_value(worked)}"))
    else:
        cy, cx = worked.conv_at
        lines.append((relu, worked.output, f"the convolution's output at ({cx}, {cy})"))
    rows = "".join(f"<tr><td>{label}</td><td class=n>{exact(value)}</td><td>{note}</td></tr>"
                   for label, value, note in lines)
    text = f"<table class=vggviz-conv-sum>{rows}</table>"
    return text if worked.pool is None else text + _pool(worked)


def _map_value(worked: WorkedConvolution) -> str:
    """The map's value as the pointer's read-out gives it."""
    y, x = worked.at
    return (f"the map's value at ({x}, {y}): "
            f"<b class=vggviz-worked-value>{worked.value:.4g}</b>")


def _pool(worked: WorkedConvolution) -> str:
    """The max-pool's window of ReLU outputs, the winner boxed, and what it gives the map."""
    n = worked.pool.shape[0]
    rows = []
    for i in range(n):
        cells = []
        for j in range(n):
            value = worked.pool[i, j]
            border = "2px solid #000" if (i, j) == worked.winner else "1px solid #ccc"
            cells.append(f"<td style='border:{border};padding:0 3px;text-align:right;"
                         f"font-family:monospace'>{'–' if np.isnan(value) else number(value)}"
                         "</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    window = ("<table style='border-collapse:collapse;display:inline-table;vertical-align:"
              f"middle;font-size:12px'>{''.join(rows)}</table>")
    notes = []
    if np.isnan(worked.pool).any():
        notes.append("– lies past the edge of the convolution's output")
    if worked.value == 0:
        notes.append("all are 0, so the pool gives 0; the boxed one, worked out above, is the "
                     "largest before the ReLU")
    else:
        notes.append("the boxed one is the largest, the one worked out above")
    return (f"<div style='margin-top:3px'>{n}×{n} max-pool {window} → {_map_value(worked)}"
            f"<br><small>The ReLU outputs of the pool's window: {'; '.join(notes)}.</small>"
            "</div>")


def _key() -> str:
    """The colour key: negative, zero, positive, padding."""
    lut = _sign_colours(np.array([-1.0, 0.0, 1.0]), 1.0)
    swatches = [f"<span style='background:rgb{tuple(int(v) for v in rgb)}'></span>{name}"
                for rgb, name in zip(lut, ("negative", "0", "positive"), strict=True)]
    swatches.append(f"<span style='background:{_HATCH}'></span>padding (zeros)")
    return f"<div class=vggviz-conv-key style='font-size:12px;color:#555'>{''.join(swatches)}</div>"


def worked_html(worked: WorkedConvolution) -> str:
    """The worked convolution as HTML: title, patch, the three tables, the arithmetic, a key."""
    y, x = worked.at
    kh, kw = worked.inside.shape
    top, left, bottom, right = worked.box
    pool = "" if worked.pool is None else f", then a {len(worked.pool)}×{len(worked.pool)} max-pool"
    if worked.stem == "strided":
        kind = (f"Strided stem: a {kh}×{kw}×3 kernel, stride {worked.stride}, so "
                f"{worked.terms} products, laid out the same way{pool}.")
    elif worked.stem == "pooled":
        kind = f"Pooled stem: {kh}×{kw}×3 = {worked.terms} products{pool}."
    else:
        kind = f"{kh}×{kw}×3 = {worked.terms} products, added up."
    return (
        f"{_STYLE}<div class=vggviz-worked-panel style='font:12px sans-serif'>"
        f"<div style='max-width:{NARROW}px'><b>How map {worked.channel}'s value at ({x}, {y}) "
        f"is made</b><p class=vggviz-worked-words>{html.escape(worked_words(worked))}</p><br>"
        f"<small>{html.escape(kind)}</small>"
        f"<div style='margin:4px 0;display:flex;gap:6px;align-items:center'>"
        f"{_patch_picture(worked)}<small>The patch: pixels ({left}, {top})–({right}, {bottom}) "
        "of what the network sees (outlined there). Its numbers are what the network received, "
        f"listed R, G, B (it takes them as B, G, R), less the ImageNet mean. {POINTS}"
        "</small></div></div>"
        f"{_tables(worked)}<div style='margin-top:4px;max-width:{NARROW}px'>"
        f"{_arithmetic(worked)}</div>{_key()}</div>"
    )


class ConvolutionPanel:
    """The worked convolution of the stem map pixel under the pointer, or a line saying why not.

    `outline(box)` is called with the patch's (top, left, bottom, right) on the network's input,
    or None when no patch is shown, so the picture of the input can mark it.
    """

    def __init__(self, outline: Callable[[tuple[int, int, int, int] | None], None] | None = None):
        self.widget = w.HTML(_narrow(HINT))
        self.widget.add_class("vggviz-worked")
        self.worked: WorkedConvolution | None = None
        self._outline = outline or (lambda box: None)
        self._source: tuple | None = None  # (extractor, image) the inputs below belong to
        self._inputs: tuple | None = None  # (pixels, kernel, bias, batch norm)
        self._at: tuple[int, int] | None = None

    def show(self, fx: FeatureExtractor | None, image: Image.Image | None, stage: str, channel: int,
             at: tuple[int, int] | None = None) -> WorkedConvolution | None:
        """Work out map `channel`'s value at `at` (row, col) of the stem of `fx` on `image`.

        `at=None` works out the last pixel pointed at again (another map, the same picture), or
        shows the hint when the picture or the model changed. Any other stage is explained.
        """
        if self._source is None or self._source[0] is not fx or self._source[1] is not image:
            self._source, self._inputs, self._at = (fx, image), None, None
        if stage != "stem":
            return self._say(f"<i>{html.escape(_group_note(stage))}</i>")
        self._at = at or self._at
        if self._at is None or fx is None or image is None:
            return self._say(HINT)
        try:
            if self._inputs is None:
                self._inputs = (fx.fitted(image)[0], *fx.stem_weights(), fx.stem_batch_norm())
            pixels, kernel, bias, norm = self._inputs
            worked = worked_output(pixels, kernel, bias, *self._at, channel, stem=fx.stem,
                                   batch_norm=norm)
        except ValueError as exc:  # a position outside the map, a picture that cannot be read
            self._at = None
            return self._say(f"<i>{html.escape(str(exc))}: point at the large map.</i>")
        self.worked = worked
        self.widget.value = worked_html(worked)
        self.widget.add_class(LENS)
        self._outline(worked.box)
        return worked

    def _say(self, text: str) -> None:
        self.worked = None
        self.widget.remove_class(LENS)
        self.widget.value = _narrow(text)
        self._outline(None)


def _narrow(text: str) -> str:
    """`text` no wider than the panel beside the map: a long line would push it below the map,
    and the page would jump under the pointer when the worked sum took its place."""
    return f"{_STYLE}<div style='max-width:{NARROW}px'>{text}</div>"


def _group_note(stage: str) -> str:
    """Why a group's value is not worked out, in words."""
    return (f"{stage.replace('group', 'Group ')}'s values are sums over the maps before it, "
            "through several layers and pools; the worked sum is for the stem's maps: step "
            "back to Stem to see one.")
