"""The stem explorer: an image's 64 stem feature maps, the groups behind them, and their cost."""

from __future__ import annotations

import functools
import html
import io
import math
import sys
import threading
import time

import ipywidgets as w
import numpy as np

from vggviz.by_hand import stem as numpy_stem
from vggviz.plan import formatting as fmt
from vggviz.plan.accounting import summarize
from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.render import (
    COLORMAPS,
    colorbar,
    colour_range,
    encode_png,
    focus_scale,
    grid_indices,
    grid_layout,
    kernel_for,
    map_stats,
    outline_tile,
    palette,
    render_kernels,
    sign_legend,
)
from vggviz.render import render_map as render_focus
from vggviz.sources.imagenet import imagenet_cached, imagenet_supported
from vggviz.sources.images import ImageError
from vggviz.sources.weights import foreign_stem_note, weights_credit, weights_notice
from vggviz.ui.panels.classifier_view import ClassifierView
from vggviz.ui.panels.compare_weights import WeightsComparison
from vggviz.ui.panels.convolution_panel import ConvolutionPanel
from vggviz.ui.panels.cost_strip import cost_strip
from vggviz.ui.panels.field_view import FieldView
from vggviz.ui.panels.pattern_view import PatternView
from vggviz.ui.panels.weights_download import WeightsDownloads
from vggviz.ui.parts import alt_text
from vggviz.ui.parts.controls import LABEL_WIDTH, ImagePicker, ModelPicker, StatusLine, picture
from vggviz.ui.parts.extractors import ExtractorPool
from vggviz.ui.parts.file_link import FileLink
from vggviz.ui.parts.kernel_watch import Dashboard
from vggviz.ui.parts.legibility import MIN_TEXT_PX
from vggviz.ui.parts.notices import caution_html, credit_html, notice_html
from vggviz.ui.parts.picture import grid_move

PAGE = 64
STAGE_LABELS = [("Stem", "stem")] + [(f"Group {i}", f"group{i}") for i in range(1, 6)]
LABELLED_TILE = 48  # px: smaller tiles show no channel numbers (they would cover the map)
GRID_TILE = 112  # px: the grid is drawn this sharp, and shown as wide as the window allows
FIT_MIN_PX = 460  # the narrowest the fitted grid is shown (its tile numbers are sized for it)
# As wide as the window allows beside the left and the map column, and no taller than it is.
FIT_WIDTH = f"max({FIT_MIN_PX}px, min(calc(100vw - 760px), calc(100vh - 250px), 980px))"
COLUMN = {"left": "300px", "focus": "330px"}
FOCUS_PX = 270  # the chosen map's displayed side: with its kernel, above the fold
BAR_PX = 300
GRID_HINT = ("Arrow keys choose a map, Home and End the first and last of the page, Page Up and "
             "Page Down the page of channels before and after; Enter or Space opens it large.")
MAP_HINT = ("Arrow keys move the pointed pixel and its value is worked out beside the map; Enter "
            "or Space shows the part of the picture that pixel depends on.")
MAP_STEP = 8  # pixels Page Up and Page Down move the pointed pixel on the large map


def pages(channels: int) -> list[tuple[str, int]]:
    """The pager's choices: "maps 448–511 of 512" for each page of PAGE maps."""
    return [(f"maps {first}–{min(first + PAGE, channels) - 1} of {channels}", first // PAGE)
            for first in range(0, channels, PAGE)]


def what_a_map_is(variant: str, stem: str, stage: str) -> str:
    """One sentence: how one map of `stage` comes to be."""
    bn = " batch norm and" if VARIANTS[variant].batch_norm else ""
    if stage != "stem":
        return (f"Each {stage} map sums 3×3 windows of every map before it, through several "
                f"convolutions, each followed by{bn} ReLU, then a 2×2 max-pool halves it.")
    if stem == "strided":
        return (f"147 weights (7×7×3) and a bias, slid over every 2nd pixel, then{bn} ReLU and "
                f"a 3×3 max-pool: the zeros are where the sum was negative.")
    pool = " and a 2×2 max-pool" if stem == "pooled" else ""
    return (f"27 weights (3×3×3) and a bias, slid over every pixel, then{bn} ReLU{pool}: the "
            f"zeros are where the sum was negative.")


def _serialised(method):
    """Run `method` holding the app's lock: a finished download redraws from its own thread, and
    the patterns' worker draws under it too, so no redraw reads what another is replacing."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return run


class StemExplorer:
    """Widget app: pick an image and a model, see the feature maps of the stem or a group."""

    def __init__(self):
        self.status = StatusLine()
        self.notice = w.HTML()
        self.pool = ExtractorPool(keep=3)  # the view, and both sides of the comparison
        self._lock = threading.RLock()
        self.downloads = WeightsDownloads(self._weights_arrived)
        self.fx = None
        self.maps: np.ndarray | None = None
        self.grid = None
        self.grid_png = b""
        self._busy = False

        self.picker = ImagePicker(self.status, self.refresh)
        # ImageNet from the start: from Keras' cache, or downloaded while random filters show
        self.model = ModelPicker(self.refresh, weights="imagenet", runs=True)
        label = {"description_width": LABEL_WIDTH}
        self.stage = w.ToggleButtons(options=STAGE_LABELS, value="stem",
                                     style={"button_width": "76px"},
                                     tooltips=["the stem's 64 maps"] + [
                                         f"the maps group {i} hands on" for i in range(1, 6)])
        self.page = w.Dropdown(options=pages(64), value=0, description="Show",
                               style={"description_width": "40px"},
                               layout=w.Layout(width="205px", display="none"))
        self.cmap = w.Dropdown(options=list(COLORMAPS), value="viridis", description="Colormap",
                               style=label, layout=w.Layout(width="200px"))
        self.normalize = w.ToggleButtons(options=[("Per map", "per_map"), ("Shared", "shared")],
                                         value="per_map", description="Scale",
                                         style=label | {"button_width": "70px"},
                                         tooltips=["each map from its own min to its max",
                                                   "one range for every map shown"])
        self.order = w.Dropdown(options=[("Channel", "index"), ("Brightest first", "mean"),
                                         ("Most zeros first", "sparsity")],
                                value="index", description="Order", style=label,
                                layout=w.Layout(width="240px"))
        self.tile = w.IntSlider(value=GRID_TILE, min=32, max=176, step=16, description="Tile px",
                                style=label, continuous_update=False)
        self._zoomed = False  # the tile slider sets the grid's size; until moved, it fits
        self.focus = w.IntSlider(value=0, min=0, max=63, description="Map", style=label,
                                 layout=w.Layout(width=COLUMN["focus"]))

        self.grid_image = picture(focusable=True, watched=["click"], hint=GRID_HINT)
        self.grid_image.add_class("vggviz-grid")
        self.grid_bar = picture(f"{BAR_PX}px")
        self.grid_bar.add_class("vggviz-grid-scale")
        self.focus_image = picture(f"{FOCUS_PX}px", focusable=True,
                                   watched=["click", "mousemove"], hint=MAP_HINT)
        self.focus_image.add_class("vggviz-focus")
        self.focus_bar = picture(f"{FOCUS_PX}px")
        self.focus_bar.add_class("vggviz-focus-scale")
        self.kernel_image = picture()
        self.kernel_legend = picture("230px", alt="Key of the kernel's colours: weights below "
                                     "0, 0, and above 0.")
        self.kernel_legend.value = sign_legend(width=230)
        self.kernels_image = picture()
        self._point: tuple[int, int] | None = None  # the large map's pixel the keys point at
        self.focus_info = w.HTML(layout=w.Layout(width=COLUMN["focus"]))
        self.strip = w.HTML(layout=w.Layout(width="100%"))
        self.hover = w.HTML()
        self.field = FieldView(self.picker, self.status)  # what a clicked point depends on
        self.worked = ConvolutionPanel(outline=self.field.outline)  # the value, worked out
        self.costs = w.HTML()
        self.export_grid, self.export_maps = FileLink(), FileLink()
        self.export_button = w.Button(description="Export PNG + .npz", icon="download")
        self.compare = WeightsComparison(self.pool, self.downloads, cmap=self.cmap,
                                         normalize=self.normalize)
        self.classifier = ClassifierView(self.status.error)
        self.patterns = PatternView(self._choose, self.status.error, on_key=self._grid_key,
                                    lock=self._lock)

        self._switching = False  # a stage switch resets the pager without drawing old maps
        self.stage.observe(self._on_stage, "value")
        self.page.observe(lambda _: None if self._switching else self.redraw(), "value")
        for control in (self.cmap, self.normalize, self.order):
            control.observe(lambda _: self.redraw(), "value")
        self.tile.observe(self._on_tile, "value")
        self.focus.observe(lambda _: None if self._switching else self._on_focus(), "value")
        self.export_button.on_click(lambda _: self.export())
        self.grid_image.on_event(self._on_grid_event)
        self.focus_image.on_event(self._on_map_event)

        self.widget = self._layout()
        self.widget.add_class("vggviz-stem-explorer")
        self.refresh()

    def _layout(self) -> w.Widget:
        """At 1280×800 the first screen holds the image, the cost strip, the grid with its
        colour bar (at every stage) and the chosen map with its kernel; the cost table and the
        64 kernels follow below."""
        top = {"align_items": "flex-start"}
        left = w.VBox([
            self.picker.widget, self.classifier.summary, self.field.widget,
            w.HTML("<b>What the stem does to the numbers</b>"), self.strip,
            self.model.widget,
        ], layout=w.Layout(width=COLUMN["left"], flex=f"0 0 {COLUMN['left']}",
                           margin="0 12px 0 0", **top))
        # the pager beside the colour bar: over the grid, it pushed the bar off the first screen
        under = w.HBox([self.grid_bar, self.page], layout=w.Layout(
            flex_flow="row wrap", align_items="center", grid_gap="0 8px"))
        grid = w.VBox([
            self.stage, self.grid_image, under,
            w.HTML("<small>Click a map to look at it closely.</small>"),
            self.cmap, self.normalize, self.order, self.tile,
        ], layout=w.Layout(margin="0 12px 0 0", **top))
        focus = w.VBox([
            self.focus_info, self.focus_image, self.focus_bar, self.focus,
            self.kernel_image, self.kernel_legend, self.hover, self.worked.widget,
            w.HBox([self.export_button, self.export_grid, self.export_maps],
                   layout=w.Layout(flex_flow="row wrap", align_items="center",
                                   grid_gap="0 10px")),
        ], layout=w.Layout(width=COLUMN["focus"], flex=f"0 0 {COLUMN['focus']}", **top))
        focus.add_class("vggviz-focus-column")  # the worked sum's card is placed beside it
        inside = w.VBox([
            w.HTML("<h3>Inside the learner and the classifier</h3>"),
            w.HBox([self.classifier.widget, self.patterns.chosen],
                   layout=w.Layout(flex_flow="row wrap", **top)),
            self.patterns.page,
        ], layout=w.Layout(**top))
        inside.add_class("vggviz-inside")
        below = w.VBox([
            inside,
            w.HTML("<h3>What each component costs</h3>"), self.costs,
            w.HTML("<h3>The 64 stem kernels</h3><small>each filter's 27 weights as a colour "
                   "patch (each scaled to its own range; channel order shown as R, G, B): "
                   "what the stem looks for</small>"), self.kernels_image,
        ], layout=w.Layout(**top))
        columns = w.HBox([left, grid, focus], layout=w.Layout(flex_flow="row wrap", **top))
        columns.add_class("vggviz-columns")
        # No title of its own: the notebook's markdown above it has one.
        return Dashboard([self.notice, self.downloads.widget, self.status.widget,
                          columns, below, self.compare.widget],
                         layout=w.Layout(**top))

    # ------------------------------------------------------------------ model work

    @_serialised
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
        self._point = None
        self.focus_image.mark = []
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
        self._clear_exports()
        self.kernels_image.value = render_kernels(fx.kernels(), tile=36)
        self.kernels_image.alt = (f"The {fx.kernels().shape[-1]} stem kernels of {fx.label}, "
                                  f"each filter's weights as a colour patch.")
        channels = maps.shape[-1]
        choices = pages(channels)
        if self.page.options != tuple(choices):
            self._switching = True
            try:
                self.page.options = choices
                self.page.value = 0
            finally:
                self._switching = False
        self.page.layout.display = None if len(choices) > 1 else "none"
        self.focus.max = channels - 1
        self.strip.value = cost_strip(variant, stem)
        self._show_costs()
        self.redraw(forward_ms=forward_ms, note=same_stem)
        self.compare.update(self.picker.image, variant, stem, seed)
        self.classifier.update(fx, self.picker.image)

    def _weights_arrived(self, variant: str, error: str | None) -> None:
        """A background download ended (called in its thread): show the trained maps, or
        go back to random filters and say why."""
        try:
            with self._lock:
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

    def _on_stage(self, _change) -> None:
        """A new stage: the old stage's pictures go at once (no other stage's maps under the
        new button), then the new ones come."""
        for picture_ in (self.grid_image, self.focus_image):
            picture_.layout.visibility = "hidden"
        self.status.show(f"computing {self.stage.value}…")
        self._switching = True
        try:
            self.page.value = 0
            self.focus.value = 0
        finally:
            self._switching = False
        try:
            self.refresh()
        finally:
            for picture_ in (self.grid_image, self.focus_image):
                picture_.layout.visibility = None

    # ------------------------------------------------------------------ display only

    @_serialised
    def redraw(self, forward_ms: float | None = None, note: str | None = None) -> None:
        """Re-render the grid and the focused map from the cached maps (no forward pass)."""
        if self.maps is None:
            return
        t0 = time.perf_counter()
        channels = self._page_channels()
        try:
            grid = grid_indices(self.maps, normalize=self.normalize.value, order=self.order.value,
                                channels=channels, tile=self.tile.value,
                                labels=self.tile.value >= LABELLED_TILE,
                                label_px=self._label_px(channels))
        except ValueError as exc:
            self.status.error(f"{exc}. The last view stays.")
            return
        self.grid = grid
        self._clear_exports()  # links belong to the view they were made from
        if self.focus.value not in channels:
            self.field.clear()  # it belonged to a map of another page
            self._switching = True
            try:
                self.focus.value = channels[0]
            finally:
                self._switching = False
        self._draw_grid()
        self.grid_bar.value = self._scale_bar(channels)
        self.grid_bar.alt = (f"Colour scale of the grid, {self.cmap.value}: each map from its "
                             "own minimum at the left to its maximum at the right." if
                             self.normalize.value == "per_map" else alt_text.scale_alt(
                                 *colour_range(self.maps, channels), self.cmap.value,
                                 "colour scale of the grid"))
        self.draw_focus()
        render_ms = (time.perf_counter() - t0) * 1e3
        forward = "cached" if forward_ms is None else f"forward {forward_ms:.0f} ms"
        h, wd, c = self.maps.shape
        self.status.show(f"{self.picker.name} · {self.stage.value} {h}×{wd}×{c} · "
                         f"{self.fx.label} · {forward} · render {render_ms:.0f} ms"
                         + (f" · {note}" if note else ""))

    def _draw_grid(self) -> None:
        """The grid as PNG, the focused map's tile outlined, shown at its own pixel size."""
        indices = self.grid.indices
        if self.focus.value in self.grid.channels:
            indices = outline_tile(indices, self.grid.layout,
                                   self.grid.channels.index(self.focus.value))
        self.grid_png = encode_png(indices, palette=palette(self.cmap.value))
        self.grid_image.value = self.grid_png
        self.grid_image.alt = alt_text.grid_alt(self.maps, self.grid.channels, self.focus.value,
                                                self.stage.value, self.picker.name)
        self.grid_image.layout.width = (f"{self.grid.layout.width}px" if self._zoomed else
                                        FIT_WIDTH)

    def _label_px(self, channels: range) -> int:
        """The tile numbers' height in the grid's own pixels: MIN_TEXT_PX on the screen when
        the grid is shown at its pixel size, or fitted as narrow as FIT_MIN_PX."""
        if self._zoomed:
            return MIN_TEXT_PX
        width = grid_layout(len(channels), self.tile.value, map_size=self.maps.shape[:2]).width
        return math.ceil(MIN_TEXT_PX * max(width / FIT_MIN_PX, 1))

    def _on_tile(self, _change) -> None:
        """The tile slider zooms: from now on the grid shows at its own pixel size."""
        self._zoomed = True
        self.redraw()

    def _page_channels(self, channel: int | None = None) -> range:
        """The channels of the page shown, or of the one `channel` is on."""
        first = self.page.value * PAGE if channel is None else channel // PAGE * PAGE
        return range(first, min(first + PAGE, self.maps.shape[-1]))

    def _scale_bar(self, channels: range) -> bytes:
        """The grid's colour scale: each map's own range, or the one range they share."""
        if self.normalize.value == "per_map":
            return colorbar(0, 1, cmap=self.cmap.value, width=BAR_PX,
                            low_text="each map's min", high_text="its max")
        return colorbar(*colour_range(self.maps, channels), cmap=self.cmap.value, width=BAR_PX)

    @_serialised
    def _on_focus(self) -> None:
        """Another map chosen: its tile outlined in the grid, and it drawn large."""
        self.field.clear()  # it belonged to the last map
        if self.grid is not None:
            self._clear_exports()
            self._draw_grid()
        self.draw_focus()

    @_serialised
    def draw_focus(self) -> None:
        """One map large, its statistics, and (for the stem) its 3×3×3 kernel."""
        if self.maps is None:
            return
        channel = self.focus.value
        # shared: its page's range, so that the map is coloured as its tile in the grid is
        shared = ([channel] if self.normalize.value == "per_map" else
                  self._page_channels(channel))
        self.focus_image.value = render_focus(self.maps, channel, cmap=self.cmap.value,
                                              normalize="shared", channels=shared)
        stats = map_stats(self.maps[:, :, channel:channel + 1])
        m = self.maps[:, :, channel]
        self.focus_bar.value = colorbar(*colour_range(self.maps, shared), cmap=self.cmap.value,
                                        width=FOCUS_PX)
        self.focus_image.alt = alt_text.map_alt(m, channel, self.stage.value)
        self.focus_bar.alt = alt_text.scale_alt(*colour_range(self.maps, shared),
                                                self.cmap.value, "colour scale of the map")
        variant, _, stem, _ = self.model.key
        self.focus_info.value = (
            f"<div style='line-height:1.35'><b>{self.stage.value} map {channel}</b> "
            f"({m.shape[0]}×{m.shape[1]}): "
            f"{html.escape(what_a_map_is(variant, stem, self.stage.value))}<br><small>"
            f"min {stats['min'][0]:.3g} · max {stats['max'][0]:.3g} · "
            f"mean {stats['mean'][0]:.3g} · zeros {fmt.share_percent(stats['zeros'][0])} of the "
            "map</small></div>")
        stem_stage = self.stage.value == "stem"
        if stem_stage:
            self.kernel_image.value = kernel_for(self.fx.kernels(), channel, tile=56)
            self.kernel_image.alt = alt_text.kernel_alt(self.fx.kernels()[..., channel],
                                                        channel)
        for part in (self.kernel_image, self.kernel_legend):
            part.layout.display = None if stem_stage else "none"
        self._read_out(self.worked.show(self.fx, self.picker.image, self.stage.value, channel))
        if self.grid is not None:
            self.patterns.show(self.fx, self.stage.value, channel, self.focus_image.value,
                               self.grid.layout, self.grid.channels)

    def _choose(self, channel: int) -> None:
        """A map chosen elsewhere (a tile of the patterns' page): as a click on the grid."""
        if self.maps is not None and 0 <= channel < self.maps.shape[-1]:
            self.focus.value = channel

    def _on_grid_event(self, event: dict) -> None:
        if event.get("type") == "click":
            self._on_grid_click(event)
        elif event.get("type") == "keydown":
            self.grid_image.announce = self._grid_key(event["key"])

    @_serialised
    def _grid_key(self, key: str) -> str:
        """The grid's keys: arrows, Home and End choose a map of the page, Page Up and Page
        Down show the page before or after (the same place on it), Enter and Space bring the
        chosen map's large picture into view. Returns what happened, to be said."""
        if self.grid is None:
            return ""
        if key in ("Enter", " "):
            self.focus_image.reveal()
            return f"Map {self.focus.value}, large: {self.focus_image.alt}"
        position = self.grid.channels.index(self.focus.value)
        if key in ("PageUp", "PageDown"):
            page = self.page.value + (1 if key == "PageDown" else -1)
            if not 0 <= page < len(self.page.options):
                return (f"No page of maps {'after' if key == 'PageDown' else 'before'} this "
                        f"one: {self.page.label}.")
            self.page.value = page  # draws the page, its first map chosen
            channels = self.grid.channels
            self.focus.value = channels[min(position, len(channels) - 1)]
            return f"{self.page.label}: map {self.focus.value} chosen."
        moved = grid_move(key, position, len(self.grid.channels), self.grid.layout.columns)
        self.focus.value = self.grid.channels[moved]
        return f"Map {self.focus.value} chosen, {moved + 1} of {len(self.grid.channels)}."

    def _on_grid_click(self, event: dict) -> None:
        if self.grid is None or "dataX" not in event:
            return
        channel = self.grid.channel_at(event["dataX"], event["dataY"])
        if channel is not None:
            self.focus.value = channel  # its observer outlines the tile and draws the map

    def _on_map_event(self, event: dict) -> None:
        if event.get("type") in ("click", "mousemove"):
            self._on_hover(event)
        if event.get("type") == "click":
            self._on_field_click(event)
        elif event.get("type") == "keydown":
            self._on_map_key(event["key"])

    @_serialised
    def _on_map_key(self, key: str) -> None:
        """The large map's keys: arrows move the pointed pixel (by MAP_STEP with Page Up and
        Down, to the row's ends with Home and End) and work its value out, as the pointer
        does; Enter and Space show its receptive field, as a click does."""
        if self.maps is None:
            return
        h, wd = self.maps.shape[:2]
        row, col = self._point or (h // 2, wd // 2)
        if key in ("Enter", " "):
            self._point = (row, col)
            unit = (self.field.show(self.fx, self.picker.image, self.stage.value,
                                    self.focus.value, row, col) if self.fx is not None else None)
            if unit is not None:
                self.focus_image.announce = (f"Receptive field of x {col}, y {row}: a "
                                             f"{unit.field.size}×{unit.field.size} px box, "
                                             "shown on What the network sees.")
            return
        down, right = {"ArrowLeft": (0, -1), "ArrowRight": (0, 1), "ArrowUp": (-1, 0),
                       "ArrowDown": (1, 0), "PageUp": (-MAP_STEP, 0), "PageDown": (MAP_STEP, 0),
                       "Home": (0, -wd), "End": (0, wd)}[key]
        point = (min(max(row + down, 0), h - 1), min(max(col + right, 0), wd - 1))
        self._point = point
        scale = focus_scale((h, wd))
        self.focus_image.mark = [point[1] * scale + scale // 2, point[0] * scale + scale // 2]
        worked = self.worked.show(self.fx, self.picker.image, self.stage.value,
                                  self.focus.value, at=point)
        self._read_out(worked, point)
        said = alt_text.point_words(float(self.maps[point[0], point[1], self.focus.value]),
                                    *point)
        self.focus_image.announce = said + (f". {alt_text.worked_words(worked)}"
                                            if worked is not None else "")

    @_serialised
    def _on_hover(self, event: dict) -> None:
        point = self._map_point(event)
        if point is not None:
            self._point = point
            self.focus_image.mark = []  # the pointer shows where it is
            worked = self.worked.show(self.fx, self.picker.image, self.stage.value,
                                      self.focus.value, at=point)
            self._read_out(worked, point)

    def _read_out(self, worked, point: tuple[int, int] | None = None) -> None:
        """The value under the pointer, read from the maps shown: at `point`, or where the
        worked sum is (recomputed for new maps), or nothing (it belonged to other maps)."""
        point = point or (worked.at if worked is not None else None)
        if point is None:
            self.hover.value = ""
            return
        y, x = point
        self.hover.value = f"at ({x}, {y}): <b>{self.maps[y, x, self.focus.value]:.4g}</b>"

    def _map_point(self, event: dict) -> tuple[int, int] | None:
        """The (row, col) of the map under a pointer event on the large map, if on it."""
        if self.maps is None or "dataX" not in event:
            return None
        h, wd = self.maps.shape[:2]
        scale = focus_scale((h, wd))
        row, col = int(event["dataY"]) // scale, int(event["dataX"]) // scale
        return (row, col) if 0 <= row < h and 0 <= col < wd else None

    @_serialised
    def _on_field_click(self, event: dict) -> None:
        """A click on the large map: draw what that point depends on (`FieldView`)."""
        point = self._map_point(event)
        if point is not None and self.fx is not None:
            self.field.show(self.fx, self.picker.image, self.stage.value, self.focus.value,
                            *point)

    def _show_costs(self) -> None:
        variant, _, stem, _ = self.model.key
        s = summarize(variant, stem=stem)
        table = fmt.html_table(*fmt.component_table(s), css_class="vggviz-costs",
                               highlight=self.stage.value)
        notes = "<br>".join(f"<b>{name}</b>: {note}" for name, note in fmt.COLUMN_NOTES.items()
                            if name in ("params", "output", "output MB", "activations MB",
                                        "GMACs"))
        self.costs.value = (
            f"{table}<div style='line-height:1.35'><small>{STEMS[stem].title}, "
            f"{s.input_shape[0]}×{s.input_shape[1]} input, one image.<br>{notes}</small></div>")

    def export(self) -> None:
        """Offer the grid as PNG and the maps as a compressed float16 .npz (`maps`), saved by
        the browser: float16 keeps 3 significant digits and halves the bytes, so a stage's
        3.2 M values are a few MB on the wire rather than 13 MB of float32."""
        if self.maps is None:
            return
        buffer = io.BytesIO()
        np.savez_compressed(buffer, maps=self.maps.astype(np.float16))
        stage = self.stage.value
        self.export_grid.offer(self.grid_png, f"{stage}_grid.png", "grid PNG", "image/png")
        self.export_maps.offer(buffer.getvalue(), f"{stage}_maps_float16.npz",
                               f"{stage} maps, float16 .npz ({buffer.tell() / 1e6:.1f} MB)",
                               "application/octet-stream")

    def _clear_exports(self) -> None:
        self.export_grid.clear()
        self.export_maps.clear()


def stem_explorer() -> w.Widget:
    """The stem explorer as a widget (the app object is at `.app` for scripting and tests)."""
    app = StemExplorer()
    app.widget.app = app
    return app.widget
