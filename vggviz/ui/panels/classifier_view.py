"""What the classifier concludes and where it looks: the top-5 classes as bars, and the
Grad-CAM class heat over what the network sees, worked out in a background thread so every
control keeps answering. With no trained classifier, one line says why there is no answer."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

import ipywidgets as w

from vggviz.network.class_heat import CAM_STAGES, ClassHeat, GradCam
from vggviz.network.predictions import ClassScore, NoClassifier, classifier_problem, top_classes
from vggviz.plan.architecture import VARIANTS
from vggviz.plan.formatting import probability
from vggviz.render.heat import heat_overlay, heat_scale
from vggviz.sources.classifier_problems import TOP_FILE_MB
from vggviz.sources.imagenet import imagenet_cached
from vggviz.ui.panels.weights_download import WeightsDownloads
from vggviz.ui.parts.alt_text import heat_alt
from vggviz.ui.parts.app_lock import entry
from vggviz.ui.parts.controls import LABEL_WIDTH, picture
from vggviz.ui.parts.latest import LatestOnly

HEAT_PX = 270
BAR_COLOUR = "#31688e"  # viridis' blue: 5.6:1 on white
GRAD_CAM = ("<a href='https://arxiv.org/abs/1610.02391' target='_blank' rel='noopener' "
            "style='text-decoration:underline'>Grad-CAM</a> (Selvaraju et al. 2017)")


def bars_html(variant: str, scores: list[ClassScore]) -> str:
    """The top classes as a table of bars a screen reader reads as a table."""
    rows = "".join(
        f"<tr><th scope='row' style='text-align:left;font-weight:normal;padding-right:8px'>"
        f"{html.escape(s.words)}</th><td style='width:150px'><div style='background:"
        f"{BAR_COLOUR};height:12px;width:{max(1, round(s.probability * 150))}px'></div></td>"
        f"<td style='text-align:right;padding-left:6px'>{probability(s.probability)}</td></tr>"
        for s in scores)
    return (f"<table class='vggviz-top5' style='border-collapse:collapse;line-height:1.5'><caption "
            f"style='text-align:left'><b>{html.escape(VARIANTS[variant].title)} thinks it is…"
            f"</b> (probabilities of its top {len(scores)} of 1,000 ImageNet classes)</caption>"
            f"{rows}</table>")


def summary_line(variant: str, scores: list[ClassScore]) -> str:
    """The answer in one line: "VGG16: tabby 0.62 · Egyptian cat 0.20 · …"."""
    best = scores[0]
    return (f"<b>{html.escape(VARIANTS[variant].title)}:</b> {html.escape(best.words)} "
            f"{probability(best.probability)} · and {len(scores) - 1} more below")


def heat_caption(heat: ClassHeat, variant: str) -> str:
    """What the heat shows, in words."""
    h, w_ = heat.heat.shape
    name = html.escape(heat.class_name.replace("_", " "))
    where = (f"brightest where raising the {heat.layer} maps ({h}×{w_}) would raise the score "
             f"of “{name}” most; scaled so its peak is 1")
    if not heat.evidence:
        where = (f"no place in the {heat.layer} maps raises the score of “{name}”: no evidence "
                 f"for this class at {heat.stage}")
    return (f"{GRAD_CAM} of {html.escape(VARIANTS[variant].title)} at {heat.stage}: {where}. "
            f"Deeper groups have seen more of the picture in coarser maps; group 3's are the "
            f"finest.")


class ClassifierView:
    """The classifier's top-5 and the class heat for the image shown, with the trained
    classifier's file fetched only when asked (progress bar and Cancel)."""

    def __init__(self, on_error: Callable[[str], None],
                 lock: AbstractContextManager | None = None):
        """`on_error(words)` says what failed; `lock` is the app's (without one, the view's
        own), held by every way in: the page's, the download's and the worker's draws."""
        self.on_error = on_error
        self.lock = lock or threading.RLock()
        self.summary = w.HTML()  # the one-line answer, near the picture
        self.summary.add_class("vggviz-answer-line")
        self.answer = w.HTML()
        self.answer.add_class("vggviz-answer")
        self.fetch = w.Button(description="Get the classifier", icon="download",
                              layout=w.Layout(width="auto", display="none"))
        self.fetch.on_click(lambda _: self._fetch())
        self.downloads = WeightsDownloads(self._arrived, include_top=True)
        label = {"description_width": LABEL_WIDTH}
        self.heat_class = w.Dropdown(options=[], description="Class", style=label,
                                     layout=w.Layout(width=f"{HEAT_PX}px"))
        self.heat_stage = w.ToggleButtons(
            options=[(f"Group {s[-1]}", s) for s in CAM_STAGES], value="group5",
            description="Heat at", style=label | {"button_width": "72px"},
            tooltips=[f"the last convolution of {s}" for s in CAM_STAGES])
        self.heat_image = picture(f"{HEAT_PX}px")
        self.heat_image.add_class("vggviz-heat")
        self.heat_bar = picture(f"{HEAT_PX}px")
        self.heat_caption = w.HTML(layout=w.Layout(width=f"{HEAT_PX}px"))
        self.heat_box = w.VBox([self.heat_image, self.heat_bar, self.heat_caption],
                               layout=w.Layout(display="none", align_items="flex-start",
                                               margin="0 24px 0 0"))
        self.heat_controls = w.VBox([self.heat_class, self.heat_stage],
                                    layout=w.Layout(display="none"))
        answer = w.VBox([self.answer, self.fetch, self.downloads.widget, self.heat_controls],
                        layout=w.Layout(align_items="flex-start", width="360px",
                                        margin="0 24px 0 0"))
        self.widget = w.HBox([answer, self.heat_box],
                             layout=w.Layout(align_items="flex-start", flex_flow="row wrap"))
        self.widget.add_class("vggviz-classifier-view")
        self._work = LatestOnly("vggviz-classifier",
                                lambda exc: self.on_error(f"the classifier's answer failed "
                                                          f"({type(exc).__name__}: {exc})"))
        self._shown: tuple | None = None  # (fx, image) the view belongs to
        self._setting = False
        self.heat_class.observe(lambda _: None if self._setting else self._redo_heat(), "value")
        self.heat_stage.observe(lambda _: self._redo_heat(), "value")

    @entry
    def update(self, fx, image, *, again: bool = False) -> None:
        """Show what `fx`'s classifier says about `image` (in the background), or why not;
        nothing to do when they are what is shown (a stage switch, say) unless `again` (the
        classifier's file came or failed since)."""
        if not again and self._shown is not None and self._shown[0] is fx \
                and self._shown[1] is image:
            return
        self._shown = (fx, image)
        problem = classifier_problem(fx)
        if problem is not None:
            self._no_answer(fx, problem)
            return
        self.fetch.layout.display = "none"
        self.answer.value = f"<i>asking {html.escape(VARIANTS[fx.variant].title)}…</i>"
        self._work.submit(lambda: self._answer(fx, image))

    def _no_answer(self, fx, problem: str) -> None:
        self.summary.value = (f"<div style='line-height:1.3'><small>No answer from the "
                              f"classifier: {html.escape(problem)}.</small></div>")
        can_fetch = fx.weights == "imagenet" and fx.variant in TOP_FILE_MB \
            and not imagenet_cached(fx.variant, include_top=True) \
            and not self.downloads.running(fx.variant)
        failure = self.downloads.failure(fx.variant) if can_fetch else None
        self.answer.value = (f"<div style='line-height:1.35'><b>What the classifier concludes"
                             f"</b><br>No answer: {html.escape(problem)}."
                             + (f"<br><span class='vggviz-download-failed'>The last try failed: "
                                f"{html.escape(failure)}.</span>" if failure else "")
                             + "</div>")
        self.fetch.description = (f"Get {VARIANTS[fx.variant].title}'s classifier "
                                  f"({TOP_FILE_MB.get(fx.variant, 0)} MB)")
        self.fetch.layout.display = None if can_fetch else "none"
        self.heat_box.layout.display = self.heat_controls.layout.display = "none"

    def _answer(self, fx, image) -> None:
        """The worker's job: the top-5 worked out, then drawn, then the class heat."""
        try:
            scores = top_classes(fx, image, k=5)
        except NoClassifier as exc:
            self._no_answer_for(fx, image, str(exc))
            return
        if self._show_answer(fx, image, scores):
            self._heat(fx, image)

    @entry
    def _no_answer_for(self, fx, image, problem: str) -> None:
        """Why there is no answer, if `fx` and `image` are still what is shown."""
        if self._shown == (fx, image):
            self._no_answer(fx, problem)

    @entry
    def _show_answer(self, fx, image, scores: list[ClassScore]) -> bool:
        """The top-5 as bars, if `fx` and `image` are still what is shown; whether so."""
        if self._shown != (fx, image):
            return False  # a newer image or model came meanwhile
        self.answer.value = bars_html(fx.variant, scores)
        self.summary.value = (f"<div style='line-height:1.3'><small>"
                              f"{summary_line(fx.variant, scores)}</small></div>")
        self._setting = True
        try:
            self.heat_class.options = [(f"{s.words} ({probability(s.probability)})", s.index)
                                       for s in scores]
            self.heat_class.value = scores[0].index
        finally:
            self._setting = False
        return True

    def _heat(self, fx, image) -> None:
        """The worker's job: the class heat worked out for the class and stage chosen."""
        self._show_heat(fx, image, GradCam(fx).attribute(image, self.heat_stage.value,
                                                         self.heat_class.value))

    @entry
    def _show_heat(self, fx, image, heat: ClassHeat) -> None:
        """The class heat over the picture, if `fx` and `image` are still what is shown."""
        if self._shown != (fx, image):
            return
        pixels, _ = fx.fitted(image)
        self.heat_image.value = heat_overlay(pixels, heat.heat)
        self.heat_image.alt = heat_alt(heat)
        self.heat_bar.value = heat_scale(width=HEAT_PX)
        self.heat_bar.alt = ("Colour scale of the class heat: 0 at the left to the peak, 1, at "
                             "the right.")
        self.heat_caption.value = (f"<div style='line-height:1.35'><small>"
                                   f"{heat_caption(heat, fx.variant)}</small></div>")
        self.heat_box.layout.display = self.heat_controls.layout.display = None

    @entry
    def _redo_heat(self) -> None:
        """Another class or stage for the heat: worked out again in the background."""
        if self._shown is not None and self.heat_class.options:
            fx, image = self._shown
            self._work.submit(lambda: self._heat(fx, image))

    @entry
    def _fetch(self) -> None:
        """The "Get the classifier" button: its file fetched in the background."""
        if self._shown is None:
            return
        self.fetch.layout.display = "none"
        self.downloads.start(self._shown[0].variant)

    @entry
    def _arrived(self, variant: str, error: str | None) -> None:
        """The classifier's file arrived (or failed), in the download's thread: answer for what
        is shown now, or say why not and offer the download again."""
        if error:
            self.on_error(error)
        if self._shown is not None and self._shown[0].variant == variant:
            self.update(*self._shown, again=True)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the answer and heat asked for so far are shown (for tests)."""
        self._work.wait(timeout)
