"""The stem's cost measured on this machine, for the stem-designs dashboard: a button that runs
`vggviz.network.measure` in a background thread with a progress bar, and the measured table
beside the counted one, both with the classifier head chosen (fc or GAP), and why a measured
peak need not follow the counts. Errors are shown in words; the controls keep answering while
it runs."""

from __future__ import annotations

import base64
import html
import threading
from collections.abc import Callable

import ipywidgets as w

from vggviz.network.measure import (
    ACCURACY_NOTE,
    PEAK_NOTE,
    MeasureError,
    Measurement,
    Settings,
    measure_stems,
)
from vggviz.plan import formatting as fmt
from vggviz.plan.accounting import summarize
from vggviz.plan.architecture import CLASSIFIERS, STEMS
from vggviz.plan.stem_race import HEADERS, table_cells
from vggviz.render.charts import figure_png
from vggviz.render.stem_race import race_curves
from vggviz.sources.runs import comparison_table, comparisons, list_runs
from vggviz.ui.parts.legibility import live

HEADS = {"fc": "fc (VGG's)", "gap": "GAP"}
"""The classifier heads offered, as their buttons say them (keys of CLASSIFIERS)."""
HEAD_TIPS = {
    "fc": f"{CLASSIFIERS['fc']}; fc1 shrinks with the stem's reduction, so its cost moves too",
    "gap": f"{CLASSIFIERS['gap']}; the same small head on every stem, so the differences are "
           f"the stem's own",
}


def head_title(classifier: str) -> str:
    """The classifier in a table's title: "fc classifier (VGG's)" or "GAP classifier"."""
    return "fc classifier (VGG's)" if classifier == "fc" else f"{HEADS[classifier]} classifier"


def _table(headers: list[str], rows: list[list[str]], title: str, css: str) -> str:
    return (f"<div style='margin-right:18px'><b>{html.escape(title)}</b>"
            f"{fmt.html_table(headers, rows, css_class=css)}</div>")


def _accuracy_note() -> str:
    """What is not measured and where the no-loss claim comes from, in plain sight."""
    text = html.escape(ACCURACY_NOTE).replace(
        "arXiv:1512.03385", "<a href='https://arxiv.org/abs/1512.03385' target='_blank' "
        "rel='noopener' style='text-decoration:underline'>arXiv:1512.03385</a>")
    return (f"<div class='vggviz-accuracy-note' style='background:#fff4ce;padding:4px 8px;"
            f"line-height:1.4;max-width:1100px;margin-top:6px'>{text}</div>")


def _peak_note() -> str:
    """Why a reducing stem's measured peak can read above the VGG stem's, beside the table."""
    return (f"<div class='vggviz-peak-note' style='line-height:1.35;max-width:640px;"
            f"margin-top:4px'><small>{html.escape(PEAK_NOTE)}</small></div>")


def accuracy_section() -> str:
    """The latest comparison of stems by training in the cache (its table and curves, saying
    on what data and budget it was measured) or, where there is none, what is not measured."""
    runs, _ = list_runs()
    found = comparisons(runs)
    if not found:
        return _accuracy_note()
    ident, race_runs = found[0]
    try:
        table = comparison_table(race_runs)
    except ValueError as exc:  # runs that do not make a fair comparison are not shown as one
        return (f"{_accuracy_note()}<div><small>The latest comparison, {html.escape(ident)}, "
                f"is not shown: {html.escape(str(exc))}.</small></div>")
    png = base64.b64encode(figure_png(race_curves([r.manifest for r in race_runs]))).decode()
    stems = " and ".join(r.stem for r in table.rows)
    alt = (f"Held-out accuracy of the {stems} stems after each epoch, against training steps "
           f"and against wall seconds: " + "; ".join(
               f"{r.stem} stem best {r.best:.1%}, final {r.final:.1%}" for r in table.rows))
    return (f"<div class='vggviz-stem-race'><b>Accuracy, measured by training here "
            f"(comparison {html.escape(ident)})</b>"
            f"{fmt.html_table(list(HEADERS), table_cells(table), css_class='vggviz-race')}"
            f"<div style='line-height:1.35;max-width:900px'><small>Measured on "
            f"{html.escape(table.measured_on)}. Equal time = {table.equal_seconds:.0f} s, the "
            f"shortest stem's whole training. Peak MB: {html.escape(table.memory)}. One data "
            f"set, one seed, one budget: it says what these stems did here, not what they do "
            f"on ImageNet.</small></div>"
            f"<img src='data:image/png;base64,{png}' alt='{html.escape(alt)}' "
            f"style='width:min(calc(100vw - 60px), max(840px, 60vw))'></div>")


class MeasurePanel:
    """Counted and measured cost of the whole model with each stem, for the chosen variant and
    classifier head."""

    def __init__(self, variant: Callable[[], str]):
        self.variant = variant
        self.batch = w.BoundedIntText(value=8, min=1, max=64, description="Batch",
                                      layout=w.Layout(width="150px"),
                                      tooltip="random images per forward pass / SGD step")
        self.train = w.Checkbox(value=True, description="and one SGD step",
                                indent=False, layout=w.Layout(width="150px"))
        self.classifier = w.ToggleButtons(
            options=[(label, k) for k, label in HEADS.items()], value="fc",
            description="Classifier", style={"button_width": "90px", "description_width": "72px"},
            tooltips=[HEAD_TIPS[k] for k in HEADS],
            layout=w.Layout(display="flex", align_items="center", flex="0 0 auto"))
        self.button = w.Button(description="Measure on this machine", icon="stopwatch",
                               button_style="primary", layout=w.Layout(width="220px"))
        self.cancel_button = w.Button(description="Cancel", layout=w.Layout(width="80px",
                                                                           display="none"))
        self.progress = w.IntProgress(value=0, min=0, max=1, tooltip="measuring the stems",
                                      layout=w.Layout(width="300px", visibility="hidden"))
        self.progress_text = live(w.HTML())
        self.counted = w.HTML()
        self.measured = w.HTML()
        self.result: Measurement | None = None
        self.thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.button.on_click(lambda _: self.start())
        self.cancel_button.on_click(lambda _: self._cancel.set())
        for control in (self.classifier, self.batch, self.train):
            control.observe(lambda _: self.show_counted(), "value")
        self.widget = w.VBox([
            w.HTML("<h3>The stem's cost, measured on this machine</h3>"),
            w.HBox([self.classifier, self.batch, self.train, self.button, self.cancel_button],
                   layout=w.Layout(align_items="center", flex_flow="row wrap")),
            w.HBox([self.progress, self.progress_text], layout=w.Layout(align_items="center")),
            w.HBox([self.counted, self.measured],
                   layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
            w.HTML(accuracy_section()),
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-measure-panel")
        self.show_counted()

    def settings(self) -> Settings:
        return Settings(self.variant(), self.batch.value, self.train.value,
                        classifier=self.classifier.value)

    def show_counted(self) -> None:
        """The counted table for the current variant, head and batch (instant: arithmetic)."""
        st = self.settings()
        summaries = [summarize(st.variant, stem=k, classifier=st.classifier,
                               input_shape=(st.size, st.size, 3)) for k in STEMS]
        self.counted.value = _table(
            *fmt.counted_stems_table(summaries, st.batch),
            f"Counted, batch of {st.batch} at {st.size}×{st.size}, {head_title(st.classifier)}",
            "vggviz-counted-stems")
        if self.result is not None and self.result.settings != st:
            self.measured.value = (
                f"<div style='color:#555'><b>Measured, "
                f"{html.escape(head_title(self.result.settings.classifier))}</b><br><small>for "
                f"{html.escape(fmt.measured_settings(self.result))}; measure again for these "
                f"settings.</small>{self._measured_table(self.result)}{_peak_note()}</div>")

    @staticmethod
    def _measured_table(m: Measurement) -> str:
        return fmt.html_table(*fmt.measured_table(m, counted=False),
                              css_class="vggviz-measured-stems")

    def start(self) -> None:
        """Measure in a background thread (one fresh process per stem); the page stays live."""
        if self.thread is not None and self.thread.is_alive():
            return
        settings = self.settings()
        self._cancel.clear()
        self.button.disabled = True
        self.cancel_button.layout.display = None
        self.progress.value, self.progress.max = 0, len(STEMS) * settings.steps_per_stem
        self.progress.layout.visibility = "visible"
        self.progress.bar_style = ""
        self.progress_text.value = "starting a fresh Python process per stem…"
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True,
                                       name="vggviz-measure")
        self.thread.start()

    def _step(self, done: int, total: int, what: str) -> None:
        self.progress.value = done
        self.progress_text.value = f"<small>{html.escape(what)}: step {done} of {total}</small>"

    def _failed(self, why: str) -> None:
        self.progress.bar_style = "danger"
        self.progress_text.value = (f"<span style='color:#b00020'>Not measured: "
                                    f"{html.escape(why)}.</span>")

    def _run(self, settings: Settings) -> None:
        try:
            m = measure_stems(settings, progress=self._step, cancel=self._cancel)
        except (MeasureError, ValueError, OSError) as exc:
            self._failed(str(exc))
        except Exception as exc:  # a thread's failure is otherwise lost: say it on the page
            self._failed(f"something went wrong ({type(exc).__name__}: {exc})")
        else:
            self.result = m
            self.progress.bar_style = "success"
            self.progress_text.value = "<small>done</small>"
            self.measured.value = (
                f"<div><b>Measured on this machine, "
                f"{html.escape(head_title(m.settings.classifier))}</b>{self._measured_table(m)}"
                f"<div style='line-height:1.35;max-width:640px'><small>"
                f"{html.escape(fmt.measured_settings(m))}. Times: median (min–max). Peak MB: "
                f"{html.escape(m.memory_source)}.</small></div>{_peak_note()}</div>")
        finally:
            self.button.disabled = False
            self.cancel_button.layout.display = "none"
