"""The VGG family side by side: parameters, activation memory and MACs (no TensorFlow)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import ipywidgets as w
from matplotlib.figure import Figure

from vggviz.plan import formatting as fmt
from vggviz.plan.accounting import summarize_all
from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.render import charts
from vggviz.ui.classifier_head import ClassifierHead
from vggviz.ui.kernel_watch import Dashboard
from vggviz.ui.stack_panel import stack_panel
from vggviz.ui.widgets import StatusLine, picture

SIZES = range(32, 513, 32)


class VGGFamily:
    """Widget app: every variant's cost, and how the input size changes it.

    The chart that answers the input-size slider stands beside it and is drawn at once with
    the table; the three charts below follow from a worker thread, so the slider answers
    while they draw. Every chart keeps its axes across slider positions (the largest size
    sets them), and a chart already drawn for a setting comes from a cache.
    """

    def __init__(self):
        self.size = w.IntSlider(value=224, min=32, max=512, step=32, description="Input px",
                                continuous_update=False)
        self.stem = w.ToggleButtons(options=[(s.title, k) for k, s in STEMS.items()],
                                    value="vgg", description="Stem",
                                    style={"button_width": "95px"},
                                    tooltips=[s.description for s in STEMS.values()])
        self.variant = w.Dropdown(options=[(v.title, k) for k, v in VARIANTS.items()],
                                  value="vgg16", description="Variant",
                                  layout=w.Layout(width="260px"))
        self.log = w.Checkbox(value=False, description="parameters on a log scale")
        self.status = StatusLine()
        # Twelve columns are wider than a 1280 px screen: the table scrolls sideways in its
        # own box instead of running off the page's edge.
        self.table = w.HTML(layout=w.Layout(max_width="100%", overflow="auto hidden"))
        self.stacks = w.HTML()  # stacked 3×3 convolutions against one large kernel
        self.params_chart, self.memory_chart = picture(), picture()
        self.macs_chart, self.size_chart = picture(), picture("560px")
        self.size_chart.add_class("vggviz-size-chart")
        self.head = ClassifierHead()
        self._charts: dict[tuple, bytes] = {}
        self._drawing = threading.Lock()  # matplotlib's text engine is not thread-safe
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vggviz-family")
        self._generation = 0
        self.pending: Future | None = None  # the charts below, while they draw
        self._adjusting = False  # a change of the slider's range, not of the person's choice
        for control in (self.size, self.stem, self.variant, self.log):
            control.observe(lambda _: None if self._adjusting else self.refresh(), "value")
        controls = w.VBox([
            w.HTML("<div style='line-height:1.35'><b>What the input size does</b><br><small>"
                   "Move the slider: fc1 (flatten → 4096) grows with the area of the last pool, "
                   "and so does the stem's output.</small></div>"),
            self.size, self.stem, self.variant,
        ], layout=w.Layout(width="420px", align_items="flex-start"))
        shown = ("total params", "fc1 params", "stem MB", "activations MB", "GMACs")
        footnote = "<br>".join(f"<b>{name}</b>: {note}"
                               for name, note in fmt.COLUMN_NOTES.items() if name in shown)
        self.widget = Dashboard([
            # No intro of its own: the notebook's markdown above says it.
            w.HBox([controls, self.size_chart]), self.status.widget,
            w.HTML("<h3>Parameters per component, and the cost of one image</h3>"),
            self.table, w.HTML(f"<div style='line-height:1.35'><small>{footnote}</small></div>"),
            self.log, self.params_chart, self.memory_chart, self.macs_chart,
            self.head.widget, self.stacks,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-vgg-family")
        self.refresh()

    def _chart(self, key: tuple, draw: Callable[[], Figure]) -> bytes:
        """The PNG of a chart, drawn once per setting."""
        if key not in self._charts:
            with self._drawing:
                self._charts[key] = charts.figure_png(draw())
        return self._charts[key]

    def refresh(self) -> None:
        """Recount every variant for the chosen stem and input size and redraw: the chart
        beside the slider and the table first, then the three charts below."""
        t0 = time.perf_counter()
        n, stem, variant, log = self.size.value, self.stem.value, self.variant.value, \
            self.log.value
        minimum = STEMS[stem].min_input
        sizes = [s for s in SIZES if s >= minimum]
        if self.size.min != minimum:  # the slider reads what is drawn: it starts at the minimum
            self._adjusting = True
            try:
                self.size.min = minimum  # clamps the value up if it was below
            finally:
                self._adjusting = False
        note = (f"the {STEMS[stem].title.lower()} needs an input of at least "
                f"{minimum}×{minimum} px (every 2×2 pool halves it): the slider starts there"
                if n < minimum else None)
        n = self.size.value
        summaries = summarize_all(stem=stem, input_shape=(n, n, 3))
        self.size_chart.value = self._chart(
            ("size", variant, stem, n),
            lambda: charts.input_size_effect(variant, sizes, stem=stem, current=n))
        self.table.value = fmt.html_table(*fmt.variants_table(summaries),
                                          css_class="vggviz-family")
        self.stacks.value = stack_panel(variant, stem)
        largest = summarize_all(stem=stem, input_shape=(sizes[-1], sizes[-1], 3))
        self._generation += 1
        generation = self._generation
        drawings = [
            (self.params_chart, ("params", stem, n, log),
             lambda: charts.params_by_variant(summaries, log=log,
                                             limit=max(s.total_params for s in largest))),
            (self.memory_chart, ("memory", stem, n),
             lambda: charts.activation_memory_by_variant(
                 summaries, limit=max(s.activation_bytes for s in largest) / fmt.MB)),
            (self.macs_chart, ("macs", stem, n),
             lambda: charts.macs_by_variant(summaries,
                                           limit=max(s.total_macs for s in largest) / 1e9)),
            (self.head.chart, ("head", variant, stem, n),
             lambda: charts.head_vs_input_size(variant, sizes, stem=stem, current=n)),
        ]
        self.head.show(variant, stem, n)

        def draw_below() -> None:
            for image, key, draw in drawings:
                if generation != self._generation:
                    return  # the slider moved on: draw the newer setting instead
                image.value = self._chart(key, draw)

        ms = (time.perf_counter() - t0) * 1e3
        if note:
            self.status.error(note)
        else:
            self.status.show(f"input {n}×{n}×3 · {STEMS[stem].title} · float32, batch 1 · "
                             f"answered in {ms:.0f} ms")
        self.pending = self._worker.submit(draw_below)

    def wait(self) -> None:
        """Block until the charts below the table are drawn (for scripts and tests)."""
        if self.pending is not None:
            self.pending.result()


def vgg_family() -> w.Widget:
    """The VGG family dashboard as a widget (the app object is at `.app`)."""
    app = VGGFamily()
    app.widget.app = app
    return app.widget
