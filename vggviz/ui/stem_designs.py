"""Stem designs compared: one image through the VGG, pooled and strided stems, maps and cost."""

from __future__ import annotations

import time

import ipywidgets as w

from vggviz import formatting as fmt
from vggviz import plots
from vggviz.accounting import summarize
from vggviz.architecture import STEMS, VARIANTS
from vggviz.images import ImageError
from vggviz.render import render_grid
from vggviz.ui.parts import (
    ExtractorPool,
    ImagePicker,
    StatusLine,
    kernel_watch,
    picture,
)
from vggviz.weights import initial_weights, weights_notice

SHOWN = 16  # maps per stem: enough to compare, small enough to sit side by side
TILE_PER_PX = 0.5  # tile px per map px: 224-px maps → 112-px tiles, 56-px maps → 28-px tiles


class StemDesigns:
    """Widget app: the same image through every stem design, at true relative size."""

    def __init__(self):
        self.status = StatusLine()
        self.pool = ExtractorPool(keep=len(STEMS))
        self.variant = w.Dropdown(options=[(v.title, k) for k, v in VARIANTS.items()
                                           if not v.batch_norm],
                                  value="vgg16", description="Variant")
        self.picker = ImagePicker(self.status, self.refresh)
        self.grids = {k: picture() for k in STEMS}
        self.captions = {k: w.HTML() for k in STEMS}
        self.chart = picture()
        self.variant.observe(lambda _: self.refresh(), "value")
        columns = [w.VBox([self.captions[k], self.grids[k]],
                          layout=w.Layout(align_items="flex-start", margin="0 12px 0 0"))
                   for k in STEMS]
        self.widget = w.VBox([
            w.HTML("<p>The VGG stem keeps all 224×224 pixels, "
                   "so 3.2 million values enter the learner; pooling or striding in the stem "
                   "hands on a quarter or a sixteenth. Maps are drawn at true relative size "
                   f"(first {SHOWN} of 64).</p>"),
            kernel_watch(), w.HBox([self.picker.widget, self.variant]), self.status.widget,
            w.HBox(columns, layout=w.Layout(align_items="flex-end")), self.chart,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-stem-designs")
        self.refresh()

    def refresh(self) -> None:
        """Run the image through each stem design and redraw maps, captions and chart."""
        variant = self.variant.value
        self.status.show(f"running {self.picker.name} through {len(STEMS)} stems…")
        try:
            t0 = time.perf_counter()
            results = {}
            for key in STEMS:
                fx, reason = self.pool.get(variant, initial_weights(variant), key, 0)
                results[key] = fx.activations(self.picker.image, "stem"), fx, reason
        except (ImageError, ValueError, OSError, RuntimeError) as exc:
            self.status.error(f"{exc}. The last view stays.")
            return
        summaries = {k: summarize(variant, stem=k) for k in STEMS}
        for key, (maps, fx, _) in results.items():
            h, wd, c = maps.shape
            tile = max(8, round(h * TILE_PER_PX))
            self.grids[key].value = render_grid(maps, channels=range(SHOWN), columns=4,
                                                tile=tile, labels=False)
            s = summaries[key]
            self.captions[key].value = (
                f"<b>{STEMS[key].title}</b><br><small>{STEMS[key].description}</small><br>"
                f"output {h}×{wd}×{c} · {s.values_entering_learner:,} values "
                f"({fmt.megabytes(s.values_entering_learner)})<br>"
                f"stem {s.component('stem').macs / 1e6:,.0f} M MACs · "
                f"whole model {s.total_macs / 1e9:.2f} G MACs<br><small>{fx.label}</small>")
        self.chart.value = plots.figure_png(plots.stem_comparison(summaries))
        notices = {weights_notice(fx.weights, variant, key, 0, reason)
                   for key, (_, fx, reason) in results.items()} - {None}
        ms = (time.perf_counter() - t0) * 1e3
        self.status.show(" · ".join([f"{self.picker.name} through {len(STEMS)} stems in "
                                     f"{ms:.0f} ms", *sorted(notices)]))


def stem_designs() -> w.Widget:
    """The stem designs dashboard as a widget (the app object is at `.app`)."""
    app = StemDesigns()
    app.widget.app = app
    return app.widget
