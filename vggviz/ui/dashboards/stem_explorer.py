"""The stem explorer: an image's 64 stem feature maps, the groups behind them, and their cost.

The explorer does the model work (picker → extractor → maps) and wires its panels together;
each panel owns its own state. Every way in holds the app's one lock (`parts.app_lock`).
"""

from __future__ import annotations

import sys
import threading
import time

import ipywidgets as w
import numpy as np
import traitlets

from vggviz.by_hand import stem as numpy_stem
from vggviz.plan.architecture import STAGES, STEMS, VARIANTS
from vggviz.plan.lessons import EXPLORER, LESSON_FIELDS
from vggviz.plan.view_link import Choice, Field, Whole, ignored, link, parse
from vggviz.render import render_kernels
from vggviz.server.page_query import page_query
from vggviz.sources.imagenet import imagenet_cached, imagenet_supported
from vggviz.sources.images import ImageError
from vggviz.sources.weights import foreign_stem_note, weights_credit, weights_notice
from vggviz.ui.panels.chosen_map import COLUMN, ChosenMap, Shown
from vggviz.ui.panels.classifier_view import ClassifierView
from vggviz.ui.panels.compare_weights import WeightsComparison
from vggviz.ui.panels.component_costs import ComponentCosts
from vggviz.ui.panels.convolution_panel import ConvolutionPanel
from vggviz.ui.panels.cost_strip import cost_strip
from vggviz.ui.panels.field_view import FieldView
from vggviz.ui.panels.lesson_path import LessonPath
from vggviz.ui.panels.map_export import Exported, MapExport
from vggviz.ui.panels.map_grid import PAGE, MapGrid
from vggviz.ui.panels.network_glance import NetworkGlance
from vggviz.ui.panels.pattern_view import PatternView
from vggviz.ui.panels.weights_download import WeightsDownloads
from vggviz.ui.parts.app_lock import entry
from vggviz.ui.parts.controls import ImagePicker, ModelPicker, StatusLine, picture
from vggviz.ui.parts.extractors import ExtractorPool
from vggviz.ui.parts.kernel_watch import Dashboard
from vggviz.ui.parts.notices import caution_html, credit_html, notice_html
from vggviz.ui.parts.view_address import ViewLink

LEFT = "300px"  # the left column: the image, the cost strip, the model
TALL_CARD = ("<style>.vggviz-stem-explorer .vggviz-worked.vggviz-lens:has(.vggviz-conv.small)"
             "{top:-99px}</style>")
"""The worked sum of a 7×7 kernel, the tallest card, starts level with the network's drawing
(99 px tall, compact) over the grid: below it, the card ran off a 1280×800 screen."""
SHOWN_MAX = f"calc(770px + {COLUMN})"
"""The drawing, the grid and the chosen map together at most (the chosen map beside the grid)."""
LINKED_WEIGHTS = ("imagenet", "random")
"""Weights a link can name (a training run's folder is this computer's own)."""
LINK_TIP = ("The sample image, the model, the stage, the page of maps and the chosen map, as a "
            "link to open this view again. An uploaded image cannot be linked (it never leaves "
            "this computer's page): the link then opens on the first sample.")


class Stage(traitlets.HasTraits):
    """The stage whose maps are shown: "stem" or "group1"…"group5" (observe "value")."""

    value = traitlets.Enum(STAGES, "stem")


class StemExplorer:
    """Widget app: pick an image and a model, see the feature maps of the stem or a group."""

    def __init__(self):
        self.lock = threading.RLock()  # the app's one lock, held by every way in
        self.status = StatusLine()
        self.notice = w.HTML()
        self.pool = ExtractorPool(keep=3)  # the view, and both sides of the comparison
        self.downloads = WeightsDownloads(self._weights_arrived)
        self.fx = None
        self.maps: np.ndarray | None = None
        self._busy = False
        self._link_said: tuple[str, tuple] = ("", ())  # what a link ignored, for that view

        self.picker = ImagePicker(self.status, self.refresh)
        # ImageNet from the start: from Keras' cache, or downloaded while random filters show
        self.model = ModelPicker(self.refresh, weights="imagenet", runs=True)
        self.stage = Stage()  # chosen in the network's drawing (`self.glance`)
        self.stage.observe(self._on_stage, "value")
        self.kernels_image = picture()  # the 64 stem kernels, below
        self.strip = w.HTML(layout=w.Layout(width="100%"))
        self.field = FieldView(self.picker, self.status)  # what a clicked point depends on
        self.worked = ConvolutionPanel(outline=self.field.outline)  # the value, worked out
        self.map_export = MapExport(self.lock, self._exported)
        self.chosen_map = ChosenMap(self.lock, self.field, self.worked,
                                    below=self.map_export.widget, on_choose=self._on_chosen)
        self.map_grid = MapGrid(self.lock, chosen=lambda: self.chosen_map.channel,
                                choose=self.chosen_map.choose, open_large=self.chosen_map.reveal,
                                on_change=self.redraw)
        self.component_costs = ComponentCosts()
        # The network drawn as its parts, the stage shown marked: the stage control (a part
        # pressed goes to it), above the grid and the chosen map
        self.glance = NetworkGlance(self._go_to, compact=True)
        self.link = ViewLink(hint=LINK_TIP)
        self.lesson = LessonPath(self.open_link)  # a lesson's step, when the address asks for one
        self.compare = WeightsComparison(self.pool, self.downloads, cmap=self.map_grid.cmap,
                                         normalize=self.map_grid.normalize, lock=self.lock)
        self.classifier = ClassifierView(self.status.error, lock=self.lock)
        self.patterns = PatternView(self.chosen_map.choose, self.status.error,
                                    on_key=self.map_grid.on_key, lock=self.lock)

        self.widget = self._layout()
        self.widget.add_class("vggviz-stem-explorer")
        self.open_link(page_query(self.open_link))

    def _layout(self) -> w.Widget:
        """At 1280×800 the first screen holds the image, the cost strip, the network's drawing
        (the stage control) over the grid with its colour bar (at every stage) and the chosen
        map with its kernel; the cost table, the 64 kernels and the link follow below."""
        top = {"align_items": "flex-start"}
        left = w.VBox([
            self.picker.widget, self.classifier.summary, self.field.widget,
            w.HTML(f"{TALL_CARD}<b>What the stem does to the numbers</b>"), self.strip,
            self.model.widget,
        ], layout=w.Layout(width=LEFT, flex=f"0 0 {LEFT}", margin="0 12px 0 0", **top))
        inside = w.VBox([
            w.HTML("<h3>Inside the learner and the classifier</h3>"),
            w.HBox([self.classifier.widget, self.patterns.chosen],
                   layout=w.Layout(flex_flow="row wrap", **top)),
            self.patterns.page,
        ], layout=w.Layout(**top))
        inside.add_class("vggviz-inside")
        below = w.VBox([
            inside,
            w.HTML("<h3>What each component costs</h3>"), self.component_costs.widget,
            w.HTML("<h3>The 64 stem kernels</h3><small>each filter's 27 weights as a colour "
                   "patch (each scaled to its own range; channel order shown as R, G, B): "
                   "what the stem looks for</small>"), self.kernels_image,
        ], layout=w.Layout(**top))
        left.add_class("vggviz-left-column")
        self.map_grid.widget.add_class("vggviz-grid-column")
        seen = {"overflow": "visible"}  # the worked sum's card shows whole over the grid
        # The chosen map to the right of the room left: at 1280 px the widest worked sum (a
        # 7×7 kernel's) needs all of it between the map and the page's left edge.
        shown = w.VBox([self.glance.widget,
                        w.HBox([self.map_grid.widget, self.chosen_map.widget],
                               layout=w.Layout(flex_flow="row wrap", width="100%",
                                               justify_content="space-between", **seen, **top))],
                       layout=w.Layout(flex="1 1 auto", max_width=SHOWN_MAX, **seen, **top))
        columns = w.HBox([left, shown], layout=w.Layout(flex_flow="row wrap", width="100%",
                                                         **top))
        columns.add_class("vggviz-columns")
        # No title of its own: the notebook's markdown above it has one.
        return Dashboard([self.lesson.widget, self.notice, self.downloads.widget,
                          self.status.widget, columns, below, self.link, self.compare.widget],
                         layout=w.Layout(**top))

    # ------------------------------------------------------------------ model work

    @entry
    def refresh(self) -> None:
        """Run the model on the current image (or answer from the cache) and redraw."""
        if self._busy:
            return
        self._busy = True
        try:
            self._refresh()
        except (ImageError, ValueError, OSError, RuntimeError) as exc:
            self.status.error(f"{exc}. The last view stays.")
        finally:
            self._busy = False

    def _refresh(self) -> None:
        variant, weights, stem, seed = self.model.key
        self.field.clear()  # it belonged to the last image, model or stage
        self.chosen_map.forget_point()
        stage = self.stage.value
        loading = "keras" not in sys.modules and not (stage == "stem"
                                                       and numpy_stem.supported(variant, stem))
        self.status.show(f"computing the {stage} of {self.picker.name}…" + (
            " (loading TensorFlow for the first time: a few seconds)" if loading else ""))
        t0 = time.perf_counter()
        downloading = (weights == "imagenet" and imagenet_supported(variant, stem)
                       and not imagenet_cached(variant))
        if downloading:  # in the background: random filters meanwhile, switched when it ends
            self.downloads.start(variant)
        fx, reason = self.pool.get(variant, weights, stem, seed)
        if fx.run is not None:  # a run brings its own; shown in the picker (no re-entry: busy)
            variant, stem = self.model.variant.value, self.model.stem.value = fx.variant, fx.stem
        reason = self.downloads.reason(variant, wanted=weights == "imagenet") or reason
        notice = weights_notice(fx.weights, variant, stem, seed, reason)
        if not downloading and fx.run is None:
            self.model.weights.value = fx.weights  # shows a fallback; no re-entry while busy
        credit, foreign = weights_credit(fx.weights), foreign_stem_note(fx.weights, variant, stem)
        self.notice.value = (notice_html(notice) if notice else
                             (caution_html(foreign) if foreign else "")
                             + (credit_html(credit) if credit else ""))
        maps = fx.activations(self.picker.image, self.stage.value)
        forward_ms = (time.perf_counter() - t0) * 1e3
        same_stem = self._same_stem(self.fx, fx)
        self.fx, self.maps = fx, maps
        self.map_export.clear()
        self.kernels_image.value = render_kernels(fx.kernels(), tile=36)
        self.kernels_image.alt = (f"The {fx.kernels().shape[-1]} stem kernels of {fx.label}, "
                                  f"each filter's weights as a colour patch.")
        channels = maps.shape[-1]
        self.map_grid.set_pages(channels)
        self.chosen_map.set_count(channels)
        self.strip.value = cost_strip(variant, stem)
        self.component_costs.show(variant, stem, self.stage.value)
        self.glance.show(variant, stem, self.stage.value)
        self.redraw(forward_ms=forward_ms, note=same_stem)
        self.compare.update(self.picker.image, variant, stem, seed)
        self.classifier.update(fx, self.picker.image)

    def _fields(self) -> dict[str, Field]:
        """What a link to this page may set, and to what."""
        return {"sample": Choice(tuple(self.picker.samples)), "variant": Choice(tuple(VARIANTS)),
                "weights": Choice(LINKED_WEIGHTS), "seed": Whole(0, self.model.seed.max),
                "stem": Choice(tuple(STEMS)), "stage": Choice(STAGES),
                "page": Whole(0, 512 // PAGE - 1), "map": Whole(0, 511)}

    @entry
    def open_link(self, query: str) -> None:
        """Show the view a link's `query` asks for (the page's address when it opens); what
        does not fit is ignored and said in the status line."""
        state, problems = parse(query, self._fields() | LESSON_FIELDS)
        said = self.lesson.show_step(state, EXPLORER)
        problems += [said] if said else []
        controls = {"sample": self.picker.sample, "variant": self.model.variant,
                    "weights": self.model.weights, "seed": self.model.seed,
                    "stem": self.model.stem, "stage": self.stage}
        self._busy = True  # one forward pass for all of it, below
        try:
            for name, control in controls.items():
                if name in state:
                    control.value = state[name]
        finally:
            self._busy = False
        self.refresh()
        if self.maps is not None:
            channels = self.maps.shape[-1]
            page, chosen = state.get("page"), state.get("map")
            if chosen is not None and chosen >= channels:
                problems.append(f"map={chosen} is past the {stage_said(self.stage.value)}'s "
                                f"{channels} maps")
                chosen = None
            if page is None and chosen is not None:
                page = chosen // PAGE
            if page is not None and page >= len(self.map_grid.page.options):
                problems.append(f"page={page} is past the {stage_said(self.stage.value)}'s "
                                f"{len(self.map_grid.page.options)} page(s) of maps")
            elif page is not None:
                self.map_grid.page.value = page  # its observer redraws
            if chosen is not None:
                self.chosen_map.choose(chosen)
        if problems:  # said with the view the link opened, until another is chosen
            self._link_said = ignored(problems), self._view_key()
            self.status.add(self._link_said[0])

    def _view_key(self) -> tuple:
        """What makes another view: the image, the variant, the stem and the stage (not the
        weights, which a download in the background may change)."""
        return self.picker.name, self.model.variant.value, self.model.stem.value, self.stage.value

    def _go_to(self, part: str) -> None:
        """A part pressed in the drawing: the classifier's view further down, or that stage."""
        if part == "classifier":
            self.glance.reveal(".vggviz-inside")
        else:
            self.stage.value = part

    @entry
    def _weights_arrived(self, variant: str, error: str | None) -> None:
        """A background download ended (called in its thread): show the trained maps, or
        go back to random filters and say why."""
        try:
            if error and self.model.key[:2] == (variant, "imagenet"):
                self.model.weights.value = "random"  # its observer refreshes the view
            else:
                self.refresh()
        except Exception as exc:  # noqa: BLE001  (in a thread: a traceback would reach the page)
            self.status.error(f"switching weights failed ({type(exc).__name__}: {exc})")

    @staticmethod
    def _same_stem(before, after) -> str | None:
        """Words for a variant change that leaves the stem's filters as they were."""
        if (before is None or before.variant == after.variant or before.stem != after.stem
                or VARIANTS[before.variant].batch_norm != VARIANTS[after.variant].batch_norm):
            return None
        if before.weights != after.weights or not np.array_equal(before.kernels(),
                                                                 after.kernels()):
            return None
        return (f"{VARIANTS[after.variant].title} has the same stem as "
                f"{VARIANTS[before.variant].title} (the same 1,792 numbers): the maps don't "
                f"change")

    @entry
    def _on_stage(self, _change: dict) -> None:
        """A new stage: the old stage's pictures go at once (no other stage's maps under the
        new button), then the new ones come."""
        for panel in (self.map_grid, self.chosen_map):
            panel.hide(True)
        self.status.show(f"computing {self.stage.value}…")
        self.map_grid.first_page()
        self.chosen_map.choose(0, quiet=True)
        try:
            self.refresh()
        finally:
            for panel in (self.map_grid, self.chosen_map):
                panel.hide(False)

    # ------------------------------------------------------------------ display only

    @entry
    def redraw(self, forward_ms: float | None = None, note: str | None = None) -> None:
        """Re-render the grid and the chosen map from the cached maps (no forward pass)."""
        if self.maps is None:
            return
        t0 = time.perf_counter()
        try:
            self.map_grid.lay_out(self.maps)
        except ValueError as exc:
            self.status.error(f"{exc}. The last view stays.")
            return
        self.map_export.clear()  # links belong to the view they were made from
        channels = self.map_grid.channels(self.maps.shape[-1])
        if self.chosen_map.channel not in channels:
            self.field.clear()  # it belonged to a map of another page
            self.chosen_map.choose(channels[0], quiet=True)
        self.map_grid.draw(self.maps, self.chosen_map.channel, self.stage.value,
                           self.picker.name)
        self.draw_focus()
        render_ms = (time.perf_counter() - t0) * 1e3
        forward = "cached" if forward_ms is None else f"forward {forward_ms:.0f} ms"
        h, wd, c = self.maps.shape
        self.status.show(f"{self.picker.name} · {self.stage.value} {h}×{wd}×{c} · "
                         f"{self.fx.label} · {forward} · render {render_ms:.0f} ms"
                         + (f" · {note}" if note else ""))
        said, view = self._link_said
        if said and view == self._view_key():
            self.status.add(said)

    def _on_chosen(self) -> None:
        """Another map chosen (inside the slider's entry): its tile outlined in the grid, and
        it drawn large."""
        self.field.clear()  # it belonged to the last map
        if self.map_grid.grid is not None:
            self.map_export.clear()
            self.map_grid.outline(self.maps, self.chosen_map.channel, self.stage.value,
                                  self.picker.name)
        self.draw_focus()

    @entry
    def draw_focus(self) -> None:
        """The chosen map large, coloured as its tile, and its pattern beside the page's."""
        if self.maps is None:
            return
        channel = self.chosen_map.channel
        variant, _, stem, _ = self.model.key
        self.chosen_map.draw(Shown(self.fx, self.maps, self.picker.image, self.stage.value),
                             variant, stem, self.map_grid.cmap.value,
                             self.map_grid.colour_channels(channel, self.maps.shape[-1]))
        grid = self.map_grid.grid
        if grid is not None:
            self.patterns.show(self.fx, self.stage.value, channel, self.chosen_map.image.value,
                               grid.layout, grid.channels)
        self._write_link()

    def _write_link(self) -> None:
        """The link to the view shown: every setting a link can carry (an upload's image
        cannot be, and the note says so)."""
        variant, weights, stem, seed = self.model.key
        state = {"variant": variant, "stem": stem, "stage": self.stage.value,
                 "page": self.map_grid.page.value or 0, "map": self.chosen_map.channel}
        sample = self.picker.sample.value
        if sample in self.picker.samples:
            state["sample"] = sample
        if weights in LINKED_WEIGHTS:
            state["weights"] = weights
            if weights == "random":
                state["seed"] = seed
        self.link.query = link(state, self._fields())
        self.link.note = ("" if "sample" in state else
                          f"{self.picker.name} is an upload: it cannot be linked, and the link "
                          f"opens on the first sample.") + (
            "" if weights in LINKED_WEIGHTS else
            " A training run's weights are this computer's own: the link leaves them out.")

    def _exported(self) -> Exported | None:
        """What the export offers: the maps, the grid as shown, the stage."""
        return None if self.maps is None else (self.maps, self.map_grid.png, self.stage.value)


def stage_said(stage: str) -> str:
    """"stem", "group 2": a stage as the page writes it."""
    return stage.replace("group", "group ")


def stem_explorer() -> w.Widget:
    """The stem explorer as a widget (the app object is at `.app` for scripting and tests)."""
    app = StemExplorer()
    app.widget.app = app
    return app.widget
