"""The VGG family side by side: parameters, activation memory and MACs (no TensorFlow)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import ipywidgets as w
from matplotlib.figure import Figure

from vggviz.plan import formatting as fmt
from vggviz.plan import series
from vggviz.plan.accounting import summarize_all
from vggviz.plan.architecture import COMPONENTS, STEMS, VARIANTS
from vggviz.plan.lessons import FAMILY, LESSON_FIELDS
from vggviz.plan.view_link import Choice, ignored, link, parse
from vggviz.render import charts
from vggviz.server.page_query import page_query
from vggviz.ui.panels import chart_tables
from vggviz.ui.panels.head_costs import ClassifierHead
from vggviz.ui.panels.lesson_path import LessonPath
from vggviz.ui.panels.network_glance import NetworkGlance
from vggviz.ui.panels.stack_panel import stack_panel
from vggviz.ui.parts import glossary
from vggviz.ui.parts.controls import StatusLine, framed, picture
from vggviz.ui.parts.kernel_watch import Dashboard
from vggviz.ui.parts.latest import LatestOnly
from vggviz.ui.parts.view_address import ViewLink

SIZES = range(32, 513, 32)
FIELDS = {"variant": Choice(tuple(VARIANTS)), "stem": Choice(tuple(STEMS)),
          "size": Choice(tuple(str(size) for size in SIZES))}
"""What a link to the family page may set: the variant, the stem and the input size."""
CHARTS_KEPT = 64
"""PNGs kept per app, the most recently shown: a few sweeps of the slider (about 40 kB each)."""
STALE = "vggviz-stale"
"""The class of a chart still showing an earlier setting while the current one draws."""
TABLE_STYLE = (
    # the region may be narrower than the table (ipywidgets' HTML content would grow to it)
    ".vggviz-family-table > .widget-html-content {min-width: 0; max-width: 100%}"
    ".vggviz-family-scroll {overflow-x: auto; max-width: 100%}"
    ".vggviz-family-scroll:focus-visible {outline: 2px solid #1a56db}"
    # headings over two lines ("group3 / params"): the numbers set the columns' widths
    "table.vggviz-family th {white-space: normal; vertical-align: bottom; text-align: right}"
    "table.vggviz-family th:first-child {text-align: left}")
"""The family table's CSS: it fits a 1280 px screen, and scrolls sideways in a narrower one."""
CHARTS_STYLE = (
    # The three charts of every variant and the classifier head's panel: one under another
    # (the charts up to 1000 px wide), two to a row where the window has room for two of
    # 860 px or more (1920 px: about 930 px each; the head's panel beside the MACs chart).
    ".vggviz-family-charts {display: grid; gap: 16px 24px; width: 100%;"
    " grid-template-columns: repeat(auto-fit, minmax(min(100%, 860px), 1fr))}"
    ".vggviz-family-charts > :not(.vggviz-classifier-head) {max-width: 1000px}")
"""The family charts' CSS: they take the width a wide window offers."""
_DRAWING = threading.Lock()  # matplotlib's text engine is not thread-safe: one draw at a time


class VGGFamily:
    """Widget app: every variant's cost, and how the input size changes it.

    The table and texts answer a control at once; the charts are drawn by a background thread
    that only ever draws the latest setting, so a burst of moves answers the last one. Until a
    chart is drawn for the setting shown it is dimmed, and the status line says so: nothing on
    the page passes for an earlier setting. Every chart keeps its axes while the largest bar
    stays within one step of `charts.axis_ceiling`, and a chart already drawn for a setting
    comes from a small cache.
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
        self.lesson = LessonPath(self.open_link)  # a lesson's step, when the address asks for one
        self.link = ViewLink(hint="The variant, the stem and the input size, as a link to "
                                     "open this view again.")
        # Twelve columns: their headings wrap, so the table fits a 1280 px screen; in a narrower
        # window it scrolls sideways in a box of its own (a Tab stop, so a keyboard scrolls it
        # too) instead of running off the page.
        self.table = w.HTML(layout=w.Layout(max_width="100%"))
        self.table.add_class("vggviz-family-table")
        self.stacks = w.HTML()  # stacked 3×3 convolutions against one large kernel
        self.params_chart, self.memory_chart = picture(), picture()
        self.macs_chart, self.size_chart = picture("100%"), picture("100%")
        self.params_chart.layout.width = self.memory_chart.layout.width = "100%"
        self.size_chart.add_class("vggviz-size-chart")
        self.frames = {"size": framed(self.size_chart), "params": framed(self.params_chart),
                       "memory": framed(self.memory_chart), "macs": framed(self.macs_chart)}
        for frame in self.frames.values():
            frame.layout.width = "100%"
        # beside the controls, as wide as the window leaves, up to 1150 px (its text
        # at 18 px: wider, it would shout over the page)
        self.frames["size"].layout = w.Layout(flex="1 1 0", min_width="0", max_width="1150px")
        self.head = ClassifierHead()
        self.charts = w.Box([*(self.frames[name] for name in ("params", "memory", "macs")),
                             self.head.widget])
        self.charts.add_class("vggviz-family-charts")
        # The chosen variant drawn as its parts; a part pressed is marked there and its
        # parameters' column marked in the table below.
        self.glance = NetworkGlance(self._choose_part)
        self._counted = ""  # the table's HTML, its chosen part's column marked by _mark_part
        self.frames["head"] = self.head.frame  # a chart's frame is dimmed while it is stale
        # Each chart's numbers, visually hidden beside it, for a screen reader; its alt is
        # the table's caption.
        self.tables = {name: w.HTML() for name in self.frames}
        for name, frame in self.frames.items():
            frame.children = (*frame.children, self.tables[name])
        self._charts: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()  # PNG, its table
        self._shown = threading.Lock()  # a setting's pictures go up only while it is current
        self._worker = LatestOnly("vggviz-family", self._failed)
        self._generation = 0
        self._adjusting = False  # a change of the slider's range, not of the person's choice
        self._link_said = ""  # what an opening link asked for that was ignored, said once
        for control in (self.size, self.stem, self.variant, self.log):
            control.observe(lambda _: None if self._adjusting else self.refresh(), "value")
        controls = w.VBox([
            w.HTML("<div style='line-height:1.35'><b>What the input size does</b><br><small>"
                   "Move the slider: fc1 (flatten → 4096) grows with the area of the last pool, "
                   "and so does the stem's output.</small></div>"),
            self.size, self.stem, self.variant,
        ], layout=w.Layout(width="420px", flex="0 0 420px", align_items="flex-start"))
        shown = ("total params", "fc1 params", "stem MB", "activations MB", "GMACs")
        seen: set[str] = set()  # each term explained at its first use only
        footnote = "<br>".join(f"<b>{glossary.explain(name, seen)}</b>: "
                               f"{glossary.explain(note, seen)}"
                               for name, note in fmt.COLUMN_NOTES.items() if name in shown)
        self.widget = Dashboard([
            # No intro of its own: the notebook's markdown above says it.
            w.HTML(f"<style>.{STALE} {{opacity: 0.3}}{TABLE_STYLE}{CHARTS_STYLE}</style>"
                   f"{glossary.STYLE}"),
            self.lesson.widget,  # a lesson's step, if the address asks for one, over the view
            self.glance.widget,  # VGG at a glance first: what the counts below are of
            w.HBox([controls, self.frames["size"]], layout=w.Layout(width="100%")),
            self.status.widget, self.link,
            w.HTML("<h3>Parameters per component, and the cost of one image</h3>"),
            self.table, w.HTML(f"<div style='line-height:1.35'><small>{footnote}</small></div>"),
            self.log, self.charts, self.stacks,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-vgg-family")
        self.open_link(page_query(self.open_link))

    def open_link(self, query: str) -> None:
        """Show the setting a link's `query` asks for (the page's address when it opens); what
        does not fit is ignored and said in the status line."""
        state, problems = parse(query, FIELDS | LESSON_FIELDS)
        said = self.lesson.show_step(state, FAMILY)
        problems += [said] if said else []
        self._adjusting = True  # one recount for all of it, below
        try:
            for name, control in (("variant", self.variant), ("stem", self.stem)):
                if name in state:
                    control.value = state[name]
            if "size" in state:
                self.size.min = min(SIZES)  # refresh sets it back to the stem's minimum
                self.size.value = int(state["size"])
        finally:
            self._adjusting = False
        self._link_said = ignored(problems)
        self.refresh()

    def _cached(self, key: tuple) -> tuple[bytes, chart_tables.Table] | None:
        """The PNG drawn for `key` and its table, if still kept (with `_shown` held)."""
        drawn = self._charts.get(key)
        if drawn is not None:
            self._charts.move_to_end(key)
        return drawn

    def _draw(self, key: tuple, draw: Callable[[], Figure],
              table: Callable[[], chart_tables.Table],
              generation: int) -> tuple[bytes, chart_tables.Table] | None:
        """The PNG of a chart and its numbers' table, drawn once per setting; None if the
        setting was superseded while this waited to draw."""
        with _DRAWING:
            with self._shown:
                drawn, current = self._cached(key), generation == self._generation
            if drawn is not None or not current:
                return drawn
            drawn = charts.figure_png(draw()), table()
            with self._shown:
                self._charts[key] = drawn
                while len(self._charts) > CHARTS_KEPT:
                    self._charts.popitem(last=False)
        return drawn

    def refresh(self) -> None:
        """Recount every variant for the chosen stem and input size: the table and texts at
        once, the charts from the cache or, dimmed until then, from the background thread."""
        t0 = time.perf_counter()
        stem, variant, log = self.stem.value, self.variant.value, self.log.value
        link_said, self._link_said = self._link_said, ""
        minimum = STEMS[stem].min_input
        sizes = [s for s in SIZES if s >= minimum]
        note = (f"the {STEMS[stem].title.lower()} needs an input of at least "
                f"{minimum}×{minimum} px (every 2×2 pool halves it): the slider starts there"
                if self.size.value < minimum else None)
        if self.size.min != minimum:  # the slider reads what is drawn: it starts at the minimum
            self._adjusting = True
            try:
                self.size.min = minimum  # clamps the value up if it was below
            finally:
                self._adjusting = False
        n = self.size.value
        summaries = summarize_all(stem=stem, input_shape=(n, n, 3))
        self._counted = (
            "<div class='vggviz-family-scroll' role='region' tabindex='0' "
            "aria-label='Every variant, counted'>"
            f"{fmt.html_table(*fmt.variants_table(summaries), css_class='vggviz-family')}</div>")
        self._mark_part()
        self.stacks.value = stack_panel(variant, stem)
        self.head.show(variant, stem, n)
        self.glance.show(variant, stem, self.glance.shown, n)
        self.link.query = link({"variant": variant, "stem": stem, "size": str(n)}, FIELDS)
        setting = f"input {n}×{n}×3 · {STEMS[stem].title} · float32, batch 1"
        # Each chart and its table read one series, counted here once.
        by_size = series.input_sizes(variant, sizes, stem=stem, current=n)
        params, memory, macs = (series.by_variant(summaries, m) for m in series.METRICS)
        heads = series.head_sizes(variant, sizes, stem=stem, current=n)
        drawings = [
            ("size", "size", ("size", variant, stem, n),
             lambda: charts.input_size_effect(by_size), lambda: chart_tables.by_size(by_size)),
            ("parameters", "params", ("params", stem, n, log),
             lambda: charts.params_by_variant(params, log=log, limit=charts.axis_ceiling(
                 max(params.totals))),
             lambda: chart_tables.by_variant(params)),
            ("activation memory", "memory", ("memory", stem, n),
             lambda: charts.activation_memory_by_variant(memory, limit=charts.axis_ceiling(
                 max(memory.totals) / fmt.MB)),
             lambda: chart_tables.by_variant(memory)),
            ("MACs", "macs", ("macs", stem, n),
             lambda: charts.macs_by_variant(macs, limit=charts.axis_ceiling(
                 max(macs.totals) / 1e9)),
             lambda: chart_tables.by_variant(macs)),
            ("classifier head", "head", ("head", variant, stem, n),
             lambda: charts.head_vs_input_size(heads), lambda: chart_tables.by_size(heads)),
        ]
        with self._shown:
            self._generation += 1
            generation = self._generation
            waiting = []
            for item in drawings:
                drawn = self._cached(item[2])
                if drawn is None:
                    self.frames[item[1]].add_class(STALE)
                    waiting.append(item)
                else:
                    self._show(item[1], drawn)

        def settled() -> None:
            if note:
                self.status.error(note)
            else:
                ms = (time.perf_counter() - t0) * 1e3
                self.status.show(f"{setting} · answered in {ms:.0f} ms"
                                 + (f" · {link_said}" if link_said else ""))

        if not waiting:
            settled()
            return
        if note:
            self.status.error(note)
        else:
            self.status.show(f"{setting} · drawing {len(waiting)} of the charts…"
                             + (f" · {link_said}" if link_said else ""))

        def draw_waiting() -> None:
            failed = []
            for what, chart, key, draw, table in waiting:
                try:
                    drawn = self._draw(key, draw, table, generation)
                except Exception as exc:  # said below; the other charts still draw
                    failed.append(f"the {what} chart could not be drawn "
                                  f"({type(exc).__name__}: {exc})")
                    continue
                with self._shown:
                    if drawn is None or generation != self._generation:
                        return  # a newer setting is on its way: draw that one instead
                    self._show(chart, drawn)
            with self._shown:
                if generation != self._generation:
                    return
                if failed:
                    self.status.error(f"{'; '.join(failed)}. Dimmed, a chart still shows an "
                                      f"earlier setting; the rest is for input {n}×{n}.")
                else:
                    settled()

        self._worker.submit(draw_waiting)

    def _choose_part(self, part: str) -> None:
        """A part pressed in the drawing (which marks it): its column is marked in the table."""
        self._mark_part()

    def _mark_part(self) -> None:
        """The table, with the column of the part marked in the drawing (if any) marked too:
        tinted and edged in blue, its heading underlined."""
        part, mark = self.glance.shown, ""
        if part:
            column = 2 + COMPONENTS.index(part)  # after the variant's column; 1-based
            cells = f"table.vggviz-family tr > :nth-child({column})"
            mark = (f"<style>{cells} {{background: #e8f0fe; box-shadow: inset 2px 0 #1a56db, "
                    f"inset -2px 0 #1a56db}} {cells}:is(th) {{text-decoration: underline "
                    f"2px}}</style>")
        self.table.value = mark + self._counted

    def _show(self, chart: str, drawn: tuple[bytes, chart_tables.Table]) -> None:
        """A chart's picture, its alt (the table's caption) and its numbers as a table."""
        png, table = drawn
        picture = self.frames[chart].children[0]
        picture.value, picture.alt = png, chart_tables.alt(table)
        self.tables[chart].value = chart_tables.hidden_table(table)
        self.frames[chart].remove_class(STALE)

    def _failed(self, exc: Exception) -> None:
        """What went wrong in the background thread, in words (the pictures stay as they were)."""
        self.status.error(f"the charts could not be drawn ({type(exc).__name__}: {exc})")

    def wait(self, timeout: float | None = None) -> None:
        """Block until the charts of the current setting are drawn (for scripts and tests)."""
        self._worker.wait(timeout)


def vgg_family() -> w.Widget:
    """The VGG family dashboard as a widget (the app object is at `.app`)."""
    app = VGGFamily()
    app.widget.app = app
    return app.widget
