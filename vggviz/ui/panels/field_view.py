"""What one unit of a map sees: a click on the large map draws, on "What the network sees", the
unit's theoretical receptive field (outlined) and its gradient on the input (heat), with a
caption in words and the heat's colour scale."""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING

import ipywidgets as w

from vggviz.network.effective_field import EffectiveField, UnitField
from vggviz.render.fields import field_picture, heat_legend
from vggviz.ui.parts.alt_text import field_words, network_view_alt
from vggviz.ui.parts.controls import ImagePicker, StatusLine, picture

if TYPE_CHECKING:
    from vggviz.network.features import FeatureExtractor

CSS_CLASS = "vggviz-receptive-field"
"""Class of the network's-eye picture while it shows a unit's field (the browser tests find it)."""
HINT = ("<div style='line-height:1.3'><small><i>Click a point of the large map: “What the "
        "network sees” then shows the part of the picture that point depends on.</i></small>"
        "</div>")


def caption(unit: UnitField, ms: float, *, under_patch: bool = False) -> str:
    """The field in words: the box in the colour it shows in (cyan, or yellow where the stem's
    worked patch, the same box, is drawn over it), how much of it lies on the picture, what the
    heat is."""
    top, left, bottom, right = unit.box
    n = unit.field.size
    where = f"unit at ({unit.col}, {unit.row}) of {unit.stage} map {unit.channel}"
    clipped = (bottom - top + 1, right - left + 1) != (n, n)
    seen = (f", {bottom - top + 1}×{right - left + 1} of it on the picture" if clipped else "")
    colour = "yellow: the worked patch is this box" if under_patch else "cyan"
    lines = [f"<b>{html.escape(where)} sees a {n}×{n} px box of the input</b> ({colour}{seen}); "
             "the gradient shows which pixels actually move it."]
    if unit.moving is None:
        lines.append("<i>This unit is 0 here (its ReLU is off): no pixel moves it, so no heat. "
                     "Click a brighter point.</i>")
    lines.append(f"<small>Heat: |∂unit/∂input| summed over R, G, B, as a share of its largest "
                 f"value. Unit value {unit.value:.3g}; its neighbours' boxes are "
                 f"{unit.field.jump} px apart; one backward pass, {ms:.0f} ms.</small>")
    return f"<div class=vggviz-field-caption style='line-height:1.3'>{'<br>'.join(lines)}</div>"


class FieldView:
    """Draws a clicked unit's field on the picker's network view, and its caption and scale.

    Also the stem's worked-patch outline goes through `outline`, so the two marks share the
    picture: the patch in yellow over the field, or on the plain picture when no field shows.
    """

    def __init__(self, picker: ImagePicker, status: StatusLine):
        self.picker, self.status = picker, status
        self.unit: UnitField | None = None
        self._pixels = None
        self._ms = 0.0  # how long the shown field took to compute
        self._patch: tuple[int, int, int, int] | None = None
        self.caption = w.HTML(HINT)
        self.legend = picture("296px", alt="Colour scale of the field's heat: from no effect "
                              "on the unit at the left to the largest at the right.")
        self.legend.value = heat_legend(296)
        self.legend.layout.display = "none"
        self.widget = w.VBox([self.legend, self.caption],
                             layout=w.Layout(width="300px", margin="2px 0 6px 0"))
        self.widget.add_class("vggviz-field-view")

    def show(self, fx: FeatureExtractor, image, stage: str, channel: int, row: int,
             col: int) -> UnitField | None:
        """Compute unit (`row`, `col`) of map `channel` of `stage` and draw its field; on any
        failure say so in the status line and leave the last drawing as it was."""
        self.status.show(f"following the unit at ({col}, {row}) of {stage} map {channel} back "
                         "to the input…")
        try:
            t0 = time.perf_counter()
            unit = EffectiveField(fx).attribute(image, stage, (channel, row, col))
            pixels, _ = fx.fitted(image)
            ms = (time.perf_counter() - t0) * 1e3
        except Exception as exc:  # noqa: BLE001  (TensorFlow's errors too: words, no traceback)
            self.status.error(f"the receptive field could not be computed ({exc}). The last "
                              "view stays.")
            return None
        self.unit, self._pixels, self._ms = unit, pixels, ms
        self._draw()
        self.legend.layout.display = None
        self.status.show(f"{stage} map {channel}, unit at ({col}, {row}): a "
                         f"{unit.field.size}×{unit.field.size} px field · gradient {ms:.0f} ms")
        return unit

    def clear(self) -> None:
        """Back to the plain picture (with the stem's patch, if one is outlined)."""
        if self.unit is None:
            return
        self.unit = self._pixels = None
        self.caption.value = HINT
        self.legend.layout.display = "none"
        self.picker.network_view.remove_class(CSS_CLASS)
        self.picker.widen(False)
        self.picker.outline(self._patch, redraw=True)

    def outline(self, box: tuple[int, int, int, int] | None) -> None:
        """Mark the stem's worked patch `box` (None: none) with the field, if one shows."""
        self._patch = box
        if self.unit is None:
            self.picker.outline(box)
        else:
            self._draw()

    def _draw(self) -> None:
        self.picker.network_view.value = field_picture(self._pixels, self.unit.gradient,
                                                       self.unit.box, self._patch)
        self.caption.value = caption(self.unit, self._ms,
                                     under_patch=self._patch == self.unit.box)
        gradient = None if self.unit.moving is None else self.unit.gradient
        self.picker.network_view.alt = network_view_alt(
            self.picker.name, self._patch, field_words(self.unit.box, gradient))
        self.picker.network_view.add_class(CSS_CLASS)
        self.picker.widen(True)
