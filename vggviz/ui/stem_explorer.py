"""The stem explorer: an image's 64 stem feature maps, the groups behind them, and their cost."""

from __future__ import annotations

import functools
import html
import io
import threading
import time

import ipywidgets as w
import numpy as np
from ipyevents import Event

from vggviz import formatting as fmt
from vggviz.accounting import summarize
from vggviz.images import ImageError
from vggviz.render import (
    COLORMAPS,
    encode_png,
    focus_scale,
    grid_indices,
    kernel_for,
    map_stats,
    palette,
    render_kernels,
)
from vggviz.render import render_map as render_focus
from vggviz.ui.compare_weights import WeightsComparison
from vggviz.ui.convolution_panel import ConvolutionPanel
from vggviz.ui.parts import (
    ExtractorPool,
    ImagePicker,
    ModelPicker,
    StatusLine,
    credit_html,
    download_link,
    kernel_watch,
    picture,
)
from vggviz.ui.weights_download import WeightsDownloads
from vggviz.weights import imagenet_cached, imagenet_supported, weights_credit, weights_notice

PAGE = 64
STAGE_LABELS = [("Stem", "stem")] + [(f"Group {i}", f"group{i}") for i in range(1, 6)]


def _serialised(method):
    """Run `method` holding the app's lock: a finished download redraws from its own thread."""

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
        self.model = ModelPicker(self.refresh, weights="imagenet")
        self.stage = w.ToggleButtons(options=STAGE_LABELS, value="stem", description="Stage",
                                     style={"button_width": "68px"})
        self.page = w.IntSlider(value=0, min=0, max=0, description="Page",
                                layout=w.Layout(display="none"))
        self.cmap = w.Dropdown(options=list(COLORMAPS), value="viridis", description="Colormap",
                               layout=w.Layout(width="230px"))
        self.normalize = w.ToggleButtons(options=[("Per map", "per_map"), ("Shared", "shared")],
                                         value="per_map", description="Scale",
                                         style={"button_width": "80px"})
        self.order = w.Dropdown(options=[("Channel", "index"), ("Brightest first", "mean"),
                                         ("Most zeros first", "sparsity")],
                                value="index", description="Order", layout=w.Layout(width="230px"))
        self.tile = w.IntSlider(value=112, min=28, max=224, step=28, description="Tile px")
        self.focus = w.IntSlider(value=0, min=0, max=63, description="Map")

        self.grid_image = picture()
        self.focus_image = picture("336px")
        self.kernel_image = picture()
        self.kernels_image = picture()
        self.focus_info = w.HTML()
        self.hover = w.HTML("<i>point at the large map to read its values</i>")
        self.worked = ConvolutionPanel(outline=self.picker.outline)  # the value, worked out
        self.costs = w.HTML()
        self.exports = w.HTML()
        self.export_button = w.Button(description="Export PNG + .npy", icon="download")
        self.compare = WeightsComparison(self.pool, self.downloads, cmap=self.cmap,
                                         normalize=self.normalize)

        self.stage.observe(self._on_stage, "value")
        self.page.observe(lambda _: self.redraw(), "value")
        for control in (self.cmap, self.normalize, self.order, self.tile):
            control.observe(lambda _: self.redraw(), "value")
        self.focus.observe(lambda _: self.draw_focus(), "value")
        self.export_button.on_click(lambda _: self.export())
        self._click = Event(source=self.grid_image, watched_events=["click"])
        self._click.on_dom_event(self._on_grid_click)
        self._pointer = Event(source=self.focus_image, watched_events=["mousemove", "click"],
                              wait=40, throttle_or_debounce="throttle")
        self._pointer.on_dom_event(self._on_hover)

        self.widget = self._layout()
        self.widget.add_class("vggviz-stem-explorer")
        self.refresh()

    def _layout(self) -> w.Widget:
        display_controls = w.VBox([self.stage, self.page, w.HBox([self.cmap, self.order]),
                                   self.normalize, self.tile])
        focus = w.HBox([self.focus_image,
                        w.VBox([self.focus_info, self.kernel_image, self.hover,
                                self.worked.widget], layout=w.Layout(align_items="flex-start"))],
                       layout=w.Layout(align_items="flex-start", flex_flow="row wrap"))
        left = w.VBox([
            w.HTML("<h3>Image</h3>"), self.picker.widget,
            w.HTML("<h3>Model</h3>"), self.model.widget,
            w.HTML("<h3>Cost</h3>"), self.costs,
            w.HTML("<h3>The 64 stem kernels</h3><small>each filter's weights as a colour "
                   "patch: what the stem looks for</small>"), self.kernels_image,
        ], layout=w.Layout(width="470px", flex="0 0 470px", align_items="flex-start"))
        right = w.VBox([
            display_controls,
            w.HTML("<h3>Feature maps</h3><small>click a map to look at it closely</small>"),
            self.grid_image,
            w.HTML("<h3>One map</h3>"), self.focus, focus,
            w.HBox([self.export_button, self.exports]),
        ], layout=w.Layout(align_items="flex-start"))
        # No title of its own: the notebook's markdown above it has one.
        return w.VBox([kernel_watch(), self.notice, self.downloads.widget, self.status.widget,
                       w.HBox([left, right]), self.compare.widget],
                      layout=w.Layout(align_items="flex-start"))

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
        self.status.show(f"computing the {self.stage.value} of {self.picker.name}…")
        t0 = time.perf_counter()
        downloading = (weights == "imagenet" and imagenet_supported(variant, stem)
                       and not imagenet_cached(variant))
        if downloading:  # in the background: random filters meanwhile, switched when it ends
            self.downloads.start(variant)
        fx, reason = self.pool.get(variant, weights, stem, seed)
        reason = self.downloads.reason(variant, wanted=weights == "imagenet") or reason
        notice = weights_notice(fx.weights, variant, stem, seed, reason)
        if not downloading:
            self.model.weights.value = fx.weights  # shows a fallback; no re-entry while busy
        credit = weights_credit(fx.weights)
        self.notice.value = (
            f"<div class='vggviz-notice' style='background:#fff4ce;padding:4px 8px;"
            f"line-height:1.4'>ℹ {html.escape(notice)}</div>" if notice else
            credit_html(credit) if credit else "")
        maps = fx.activations(self.picker.image, self.stage.value)
        forward_ms = (time.perf_counter() - t0) * 1e3
        self.fx, self.maps = fx, maps
        self.kernels_image.value = render_kernels(fx.kernels(), tile=36)
        channels = maps.shape[-1]
        pages = max(1, -(-channels // PAGE))
        self.page.max = pages - 1
        self.page.layout.display = None if pages > 1 else "none"
        self.focus.max = channels - 1
        self._show_costs()
        self.redraw(forward_ms=forward_ms)
        self.compare.update(self.picker.image, variant, stem, seed)

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

    def _on_stage(self, _change) -> None:
        self.page.value = 0
        self.focus.value = 0
        self.refresh()

    # ------------------------------------------------------------------ display only

    @_serialised
    def redraw(self, forward_ms: float | None = None) -> None:
        """Re-render the grid and the focused map from the cached maps (no forward pass)."""
        if self.maps is None:
            return
        t0 = time.perf_counter()
        first = self.page.value * PAGE
        channels = range(first, min(first + PAGE, self.maps.shape[-1]))
        try:
            grid = grid_indices(self.maps, normalize=self.normalize.value, order=self.order.value,
                                channels=channels, tile=self.tile.value)
            png = encode_png(grid.indices, palette=palette(self.cmap.value))
        except ValueError as exc:
            self.status.error(f"{exc}. The last view stays.")
            return
        self.grid, self.grid_png = grid, png
        self.grid_image.value = png
        if self.focus.value not in channels:
            self.focus.value = channels[0]  # its observer draws the focused map
        else:
            self.draw_focus()
        render_ms = (time.perf_counter() - t0) * 1e3
        forward = "cached" if forward_ms is None else f"forward {forward_ms:.0f} ms"
        h, wd, c = self.maps.shape
        self.status.show(f"{self.picker.name} · {self.stage.value} {h}×{wd}×{c} · "
                         f"{self.fx.label} · {forward} · render {render_ms:.0f} ms")

    @_serialised
    def draw_focus(self) -> None:
        """One map large, its statistics, and (for the stem) its 3×3×3 kernel."""
        if self.maps is None:
            return
        channel = self.focus.value
        self.focus_image.value = render_focus(self.maps, channel, cmap=self.cmap.value,
                                              normalize=self.normalize.value)
        stats = map_stats(self.maps[:, :, channel:channel + 1])
        m = self.maps[:, :, channel]
        self.focus_info.value = (
            f"<b>{self.stage.value} map {channel}</b> ({m.shape[0]}×{m.shape[1]})<br>"
            f"min {stats['min'][0]:.3g} · max {stats['max'][0]:.3g} · "
            f"mean {stats['mean'][0]:.3g}<br>zeros {stats['zeros'][0]:.0%} of the map")
        if self.stage.value == "stem":
            self.kernel_image.value = kernel_for(self.fx.kernels(), channel)
            self.kernel_image.layout.display = None
        else:
            self.kernel_image.layout.display = "none"
        self.worked.show(self.fx, self.picker.image, self.stage.value, channel)

    def _on_grid_click(self, event: dict) -> None:
        if self.grid is None or "dataX" not in event:
            return
        channel = self.grid.channel_at(event["dataX"], event["dataY"])
        if channel is not None:
            self.focus.value = channel

    def _on_hover(self, event: dict) -> None:
        if self.maps is None or "dataX" not in event:
            return
        h, wd = self.maps.shape[:2]
        scale = focus_scale((h, wd))
        x, y = int(event["dataX"]) // scale, int(event["dataY"]) // scale
        if 0 <= x < wd and 0 <= y < h:
            value = self.maps[y, x, self.focus.value]
            self.hover.value = f"at ({x}, {y}): <b>{value:.4g}</b>"
            self.worked.show(self.fx, self.picker.image, self.stage.value, self.focus.value,
                             at=(y, x))

    def _show_costs(self) -> None:
        variant, _, stem, _ = self.model.key
        s = summarize(variant, stem=stem)
        table = fmt.html_table(*fmt.component_table(s), css_class="vggviz-costs",
                               highlight=self.stage.value)
        self.costs.value = (
            f"{table}<p>Values entering the learner: <b>{s.values_entering_learner:,}</b> "
            f"({fmt.megabytes(s.values_entering_learner)} per image, float32)</p>")

    def export(self) -> None:
        """Offer the grid as PNG and the maps as .npy, downloaded by the browser."""
        if self.maps is None:
            return
        buffer = io.BytesIO()
        np.save(buffer, self.maps)
        stage = self.stage.value
        self.exports.value = " · ".join([
            download_link(self.grid_png, f"{stage}_grid.png", "grid PNG", "image/png"),
            download_link(buffer.getvalue(), f"{stage}_maps.npy",
                          f"{stage} maps .npy ({buffer.tell() / 1e6:.1f} MB)",
                          "application/octet-stream"),
        ])


def stem_explorer() -> w.Widget:
    """The stem explorer as a widget (the app object is at `.app` for scripting and tests)."""
    app = StemExplorer()
    app.widget.app = app
    return app.widget
