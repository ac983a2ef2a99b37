"""Stem designs compared: one image through the VGG, pooled and strided stems, maps and cost."""

from __future__ import annotations

import html
import time

import ipywidgets as w

from vggviz.plan import formatting as fmt
from vggviz.plan import series
from vggviz.plan.accounting import summarize
from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.plan.lessons import DESIGNS, LESSON_FIELDS
from vggviz.plan.view_link import Choice, ignored, parse
from vggviz.render import charts, render_grid
from vggviz.server.page_query import page_query
from vggviz.sources.imagenet import imagenet_supported
from vggviz.sources.images import ImageError
from vggviz.sources.weights import default_weights, foreign_stem_note
from vggviz.ui.panels import chart_tables
from vggviz.ui.panels.lesson_path import LessonPath
from vggviz.ui.panels.measure_panel import MeasurePanel
from vggviz.ui.parts import alt_text, glossary
from vggviz.ui.parts.controls import ImagePicker, StatusLine, picture
from vggviz.ui.parts.extractors import ExtractorPool
from vggviz.ui.parts.kernel_watch import Dashboard

SHOWN = 16  # maps per stem: enough to compare, small enough to sit side by side
TILE_PER_PX = 0.375  # tile px per map px: 224-px maps → 84-px tiles, 56-px maps → 21-px tiles


def gives_up(stem: str, variant: str) -> str:
    """What a stem design hands on and what it gives up for it, in words and numbers."""
    s = summarize(variant, stem=stem)
    entering = s.values_entering_learner
    ratio = fmt.fraction_words(summarize(variant).values_entering_learner / entering)
    last = fmt.shape(s.component("group5").output_shape)
    if stem == "vgg":
        inputs = fmt.count(s.input_shape[0] * s.input_shape[1] * s.input_shape[2])
        return (f"keeps every pixel: {inputs} input values become {fmt.count(entering)} "
                f"(×{entering / (s.input_shape[0] * s.input_shape[1] * 3):.0f}), and group 1's "
                f"convolutions run at full resolution")
    if stem == "pooled":
        return (f"hands on {ratio} ({fmt.count(entering)} values); gives up where in each 2×2 "
                f"the strongest response was (max-pool keeps 1 value of 4)")
    return (f"hands on {ratio} ({fmt.count(entering)} values); gives up fine detail (7×7 "
            f"filters every 2nd pixel, then a 3×3 max-pool) and the last group ends at {last}")


def _column_px(stem: str) -> int:
    """Width of a stem's column: its 4-tile-wide grid, and room for the caption's words."""
    tile = round(224 // STEMS[stem].reduction * TILE_PER_PX)
    return max(190, 4 * tile + 3 * 2 + 16)


def weights_line(fx) -> str:
    """Which filters a stem's maps come from, in words (this dashboard has no weights control)."""
    if fx.weights == "imagenet":
        foreign = foreign_stem_note(fx.weights, fx.variant, fx.stem)
        return f"ImageNet filters. {foreign}" if foreign else "ImageNet filters"
    if not imagenet_supported(fx.variant, fx.stem):
        return f"random filters (seed {fx.seed}): no trained weights exist for this stem"
    return (f"random filters (seed {fx.seed}): ImageNet weights are not in Keras' cache; the "
            f"stem explorer fetches them")


class StemDesigns:
    """Widget app: the same image through every stem design, at true relative size."""

    def __init__(self):
        self.status = StatusLine()
        self.lesson = LessonPath(self.open_link)  # a lesson's step, when the address asks for one
        self._link_said = ""  # what an opening link asked for that was ignored, said once
        self.pool = ExtractorPool(keep=len(STEMS))
        self.variant = w.Dropdown(options=[(v.title, k) for k, v in VARIANTS.items()
                                           if not v.batch_norm],
                                  value="vgg16", description="Variant",
                                  layout=w.Layout(width="300px"))
        self.picker = ImagePicker(self.status, self.refresh)
        self.grids = {k: picture() for k in STEMS}
        self.captions = {k: w.HTML(layout=w.Layout(width="100%")) for k in STEMS}
        self.details = {k: w.HTML(layout=w.Layout(width="100%")) for k in STEMS}
        self.chart = picture("100%")  # a row of four panels as wide as the page
        self.chart.add_class("vggviz-designs-chart")
        self.chart_table = w.HTML()  # the chart's numbers, for a screen reader
        self.variant.observe(lambda _: self.refresh(), "value")
        self.measure = MeasurePanel(lambda: self.variant.value)
        self.variant.observe(lambda _: self.measure.show_counted(), "value")
        # overflow visible: a column is no scrolling box (one a keyboard could not reach)
        columns = [w.VBox([self.captions[k], self.grids[k], self.details[k]],
                          layout=w.Layout(align_items="flex-start", margin="0 14px 0 0",
                                          width=f"{_column_px(k)}px", overflow="visible"))
                   for k in STEMS]
        left = w.VBox([self.picker.widget, self.variant, self.status.widget],
                      layout=w.Layout(width="360px", flex="0 0 360px", align_items="flex-start"))
        self.widget = Dashboard([  # no intro of its own: the notebook's markdown above says it
            w.HTML(glossary.STYLE), self.lesson.widget,
            w.HBox([left, w.HBox(columns, layout=w.Layout(align_items="flex-start"))],
                   layout=w.Layout(align_items="flex-start")),
            w.Box([self.chart, self.chart_table], layout=w.Layout(width="100%")),
            self.measure.widget,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-stem-designs")
        self.open_link(page_query(self.open_link))

    def _fields(self) -> dict:
        """What a link to this page may set: the sample, the variant, a lesson's step."""
        return {"sample": Choice(tuple(self.picker.samples)),
                "variant": Choice(tuple(value for _, value in self.variant.options)),
                **LESSON_FIELDS}

    def open_link(self, query: str) -> None:
        """Show the image and variant a link's `query` asks for (the page's address when it
        opens), and a lesson's step; what does not fit is ignored and said in the status line."""
        state, problems = parse(query, self._fields())
        said = self.lesson.show_step(state, DESIGNS)
        problems += [said] if said else []
        for name, control in (("sample", self.picker.sample), ("variant", self.variant)):
            if name in state:
                control.value = state[name]  # a change redraws: the last one below is cached
        self._link_said = ignored(problems)  # said by the redraw below
        self.refresh()

    def refresh(self) -> None:
        """Run the image through each stem design and redraw maps, captions and chart."""
        variant = self.variant.value
        self.status.show(f"running {self.picker.name} through {len(STEMS)} stems…")
        try:
            t0 = time.perf_counter()
            results = {}
            for key in STEMS:
                fx, _ = self.pool.get(variant, default_weights(variant), key, 0)
                results[key] = fx.activations(self.picker.image, "stem"), fx
        except (ImageError, ValueError, OSError, RuntimeError) as exc:
            self.status.error(f"{exc}. The last view stays.")
            return
        summaries = {k: summarize(variant, stem=k) for k in STEMS}
        for key, (maps, fx) in results.items():
            h, wd, c = maps.shape
            tile = max(8, round(h * TILE_PER_PX))
            self.grids[key].value = render_grid(maps, channels=range(SHOWN), columns=4,
                                                tile=tile, labels=False)
            self.grids[key].alt = alt_text.grid_alt(maps, range(SHOWN), None, STEMS[key].title,
                                                    self.picker.name)
            s = summaries[key]
            self.captions[key].value = (
                f"<div style='line-height:1.3'><b>{STEMS[key].title}</b> → {h}×{wd}×{c}<br>"
                f"<b>{fmt.count(s.values_entering_learner)}</b> values "
                f"({fmt.megabytes(s.values_entering_learner)}) enter the learner</div>")
            self.details[key].value = (
                f"<div style='line-height:1.3'><small>{html.escape(STEMS[key].description)}; "
                f"it {html.escape(gives_up(key, variant))}. Stem "
                f"{fmt.count(round(s.component('stem').macs / 1e6))} M {glossary.term('MACs')}, "
                f"whole model "
                f"{fmt.gmacs(s.total_macs)} G. {html.escape(weights_line(fx))}.</small></div>")
        panels = series.stems(summaries)  # one count for the chart and its table
        self.chart.value = charts.figure_png(charts.stem_comparison(panels))
        table = chart_tables.stems(panels)
        self.chart.alt = chart_tables.alt(table)
        self.chart_table.value = chart_tables.hidden_table(table)
        ms = (time.perf_counter() - t0) * 1e3
        link_said, self._link_said = self._link_said, ""
        self.status.show(f"{self.picker.name} through {len(STEMS)} stems in {ms:.0f} ms"
                         + (f" · {link_said}" if link_said else ""))


def stem_designs() -> w.Widget:
    """The stem designs dashboard as a widget (the app object is at `.app`)."""
    app = StemDesigns()
    app.widget.app = app
    return app.widget
