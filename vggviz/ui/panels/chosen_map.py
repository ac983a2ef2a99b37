"""The chosen map, large: its colour bar, Map slider, kernel tile, the value under the pointer
and its worked sum, its keys and pointer."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import ipywidgets as w
import numpy as np
from PIL import Image

from vggviz.plan import formatting as fmt
from vggviz.plan.architecture import VARIANTS
from vggviz.render import (
    colour_ramp,
    colour_range,
    focus_scale,
    kernel_for,
    map_stats,
    render_map,
    sign_legend,
)
from vggviz.render.maps import FOCUS_SIZE
from vggviz.ui.panels.convolution_panel import ConvolutionPanel
from vggviz.ui.panels.field_view import FieldView
from vggviz.ui.parts import alt_text
from vggviz.ui.parts.app_lock import entry
from vggviz.ui.parts.controls import LABEL_WIDTH, picture

FOCUS_ROOM = 580  # px of the window's height the first screen needs besides the chosen map
FOCUS_PX = 240  # the chosen map's least side: with its kernel and key on a 1280×800 screen
FOCUS_SIDE = (f"clamp({FOCUS_PX}px, min(calc({FOCUS_PX}px + (100vw - 1280px) / 3), "
              f"calc(100vh - {FOCUS_ROOM}px)), {FOCUS_SIZE}px)")
"""The chosen map's side on the page: FOCUS_PX up to 1280 px of window, a third of every pixel
wider (the first screen's height allowing), up to its PNG's FOCUS_SIZE (shown 1:1, crisp)."""
COLUMN = f"max(330px, {FOCUS_SIDE})"  # the chosen map's column, beside the grid
MAP_HINT = ("Arrow keys move the pointed pixel and its value is worked out beside the map; Enter "
            "or Space shows the part of the picture that pixel depends on.")
SCALE_STYLE = """<style>
img.vggviz-focus{image-rendering:pixelated}
img.vggviz-focus-scale{height:14px!important;object-fit:fill!important;box-sizing:border-box;
  border:1px solid #222}
.vggviz-scale-values{position:relative;height:1.35em;color:#222;white-space:nowrap;
  font:clamp(12px,calc(8px + .3125vw),14px)/1.35 sans-serif}
.vggviz-scale-values span{position:absolute;top:0}
</style>"""
"""The large map drawn with square pixels, its colour ramp as wide and its values written 12 px
at 1280 px of window to 14 px at 1920, whatever the ramp's width."""
MAP_STEP = 8  # pixels Page Up and Page Down move the pointed pixel on the large map


def scale_values(lo: float, hi: float) -> str:
    """The values at the ends of a colour ramp from `lo` to `hi`, as HTML to go under it (a
    map's values are never below 0: a ReLU comes before every map shown, so no zero to mark)."""
    return (f"{SCALE_STYLE}<div class='vggviz-scale-values' aria-hidden='true'>"
            f"<span style='left:0'>{html.escape(alt_text.number(lo))}</span>"
            f"<span style='right:0'>{html.escape(alt_text.number(hi))}</span></div>")


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


class Shown(NamedTuple):
    """The maps a chosen map is drawn from: the extractor, its maps of `stage`, the image."""

    fx: Any
    maps: np.ndarray
    image: Image.Image
    stage: str


class ChosenMap:
    """One map large with what explains it: the one owner of the chosen channel (the Map
    slider), of the maps it was drawn from, and of the pixel the keys or the pointer point at."""

    def __init__(self, lock: AbstractContextManager, field: FieldView, worked: ConvolutionPanel,
                 below: w.Widget, on_choose: Callable[[], None]):
        """`field` shows what a clicked pixel depends on, `worked` works its value out; `below`
        is shown under them; `on_choose()` is called when another map is chosen."""
        self.lock = lock
        self.field, self.worked, self.on_choose = field, worked, on_choose
        self.slider = w.IntSlider(value=0, min=0, max=63, description="Map",
                                  style={"description_width": LABEL_WIDTH},
                                  layout=w.Layout(width=COLUMN))
        self.image = picture(FOCUS_SIDE, focusable=True, watched=["click", "mousemove"],
                             hint=MAP_HINT)
        self.image.add_class("vggviz-focus")
        self.bar = picture(FOCUS_SIDE)  # the colour ramp, stretched; its values below it
        self.bar.add_class("vggviz-focus-scale")
        self.bar_values = w.HTML(scale_values(0, 1), layout=w.Layout(width=FOCUS_SIDE, margin="0"))
        self.kernel_image = picture()
        self.kernel_legend = picture("230px", alt="Key of the kernel's colours: weights below "
                                     "0, 0, and above 0.")
        self.kernel_legend.value = sign_legend(width=230)
        self.info = w.HTML(layout=w.Layout(width=COLUMN))
        self.hover = w.HTML()
        self._shown: Shown | None = None  # what the large map was drawn from
        self._point: tuple[int, int] | None = None  # the large map's pixel the keys point at
        self._quiet = False  # a map chosen by the app itself: drawn by whoever chose it

        self.slider.observe(self._on_slider, "value")
        self.image.on_event(self._on_event)
        self.widget = w.VBox([
            self.info, self.image, self.bar, self.bar_values, self.slider, self.kernel_image,
            self.kernel_legend, self.hover, self.worked.widget, below,
        ], layout=w.Layout(width=COLUMN, flex=f"0 0 {COLUMN}", align_items="flex-start"))
        self.widget.add_class("vggviz-focus-column")  # the worked sum's card is placed beside it

    # ------------------------------------------------------------------ the chosen map

    @property
    def channel(self) -> int:
        """The map chosen."""
        return self.slider.value

    def choose(self, channel: int, *, quiet: bool = False) -> None:
        """Choose map `channel` if there is one; `quiet`: without drawing (the caller draws)."""
        if not 0 <= channel <= self.slider.max:
            return
        self._quiet = quiet
        try:
            self.slider.value = channel
        finally:
            self._quiet = False

    def set_count(self, channels: int) -> None:
        """The slider's range for a stage of `channels` maps."""
        self.slider.max = channels - 1

    def forget_point(self) -> None:
        """No pixel pointed at: it belonged to the maps on their way out."""
        self._point = None
        self.image.mark = []

    def hide(self, hidden: bool) -> None:
        """Hide the large map (it belongs to maps on their way out), or show it again."""
        self.image.layout.visibility = "hidden" if hidden else None

    def reveal(self) -> str:
        """Bring the large map into view; what it shows, to be said."""
        self.image.reveal()
        return f"Map {self.channel}, large: {self.image.alt}"

    def draw(self, shown: Shown, variant: str, stem: str, cmap: str,
             shared: Sequence[int]) -> None:
        """The chosen map large, coloured on the range of the maps `shared` (as its tile in
        the grid), its statistics, and (for the stem) its 3×3×3 kernel."""
        self._shown = shown
        fx, maps, image, stage = shown
        channel = self.channel
        self.image.value = render_map(maps, channel, cmap=cmap, normalize="shared",
                                      channels=shared)
        stats = map_stats(maps[:, :, channel:channel + 1])
        m = maps[:, :, channel]
        lo, hi = colour_range(maps, shared)
        self.bar.value = colour_ramp(cmap)
        self.bar_values.value = scale_values(lo, hi)
        self.image.alt = alt_text.map_alt(m, channel, stage)
        self.bar.alt = alt_text.scale_alt(lo, hi, cmap, "colour scale of the map")
        self.info.value = (
            f"<div style='line-height:1.35'><b>{stage} map {channel}</b> "
            f"({m.shape[0]}×{m.shape[1]}): "
            f"{html.escape(what_a_map_is(variant, stem, stage))}<br><small>"
            f"min {stats['min'][0]:.3g} · max {stats['max'][0]:.3g} · "
            f"mean {stats['mean'][0]:.3g} · zeros {fmt.share_percent(stats['zeros'][0])} of the "
            "map</small></div>")
        stem_stage = stage == "stem"
        if stem_stage:
            self.kernel_image.value = kernel_for(fx.kernels(), channel, tile=56)
            self.kernel_image.alt = alt_text.kernel_alt(fx.kernels()[..., channel], channel)
        for part in (self.kernel_image, self.kernel_legend):
            part.layout.display = None if stem_stage else "none"
        self._read_out(self.worked.show(fx, image, stage, channel))

    # ------------------------------------------------------------------ entries

    @entry
    def _on_slider(self, _change: dict) -> None:
        """Another map chosen (unless the app chose it quietly)."""
        if not self._quiet:
            self.on_choose()

    @entry
    def _on_event(self, event: dict) -> None:
        """A pointer move, a click or a key on the large map."""
        if event.get("type") in ("click", "mousemove"):
            self._on_hover(event)
        if event.get("type") == "click":
            self._on_field_click(event)
        elif event.get("type") == "keydown":
            self._on_key(event["key"])

    @entry
    def _on_key(self, key: str) -> None:
        """The large map's keys: arrows move the pointed pixel (by MAP_STEP with Page Up and
        Down, to the row's ends with Home and End) and work its value out, as the pointer
        does; Enter and Space show its receptive field, as a click does."""
        if self._shown is None:
            return
        fx, maps, image, stage = self._shown
        h, wd = maps.shape[:2]
        row, col = self._point or (h // 2, wd // 2)
        if key in ("Enter", " "):
            self._point = (row, col)
            unit = self.field.show(fx, image, stage, self.channel, row, col)
            if unit is not None:
                self.image.announce = (f"Receptive field of x {col}, y {row}: a "
                                       f"{unit.field.size}×{unit.field.size} px box, "
                                       "shown on What the network sees.")
            return
        down, right = {"ArrowLeft": (0, -1), "ArrowRight": (0, 1), "ArrowUp": (-1, 0),
                       "ArrowDown": (1, 0), "PageUp": (-MAP_STEP, 0), "PageDown": (MAP_STEP, 0),
                       "Home": (0, -wd), "End": (0, wd)}[key]
        point = (min(max(row + down, 0), h - 1), min(max(col + right, 0), wd - 1))
        self._point = point
        scale = focus_scale((h, wd))
        self.image.mark = [point[1] * scale + scale // 2, point[0] * scale + scale // 2]
        worked = self.worked.show(fx, image, stage, self.channel, at=point)
        self._read_out(worked, point)
        said = alt_text.point_words(float(maps[point[0], point[1], self.channel]), *point)
        self.image.announce = said + (f". {alt_text.worked_words(worked)}"
                                      if worked is not None else "")

    @entry
    def _on_hover(self, event: dict) -> None:
        """The pointer on the large map: the value under it, worked out."""
        point = self._map_point(event)
        if point is not None:
            self._point = point
            self.image.mark = []  # the pointer shows where it is
            fx, _, image, stage = self._shown
            worked = self.worked.show(fx, image, stage, self.channel, at=point)
            self._read_out(worked, point)

    @entry
    def _on_field_click(self, event: dict) -> None:
        """A click on the large map: draw what that point depends on (`FieldView`)."""
        point = self._map_point(event)
        if point is not None:
            fx, _, image, stage = self._shown
            self.field.show(fx, image, stage, self.channel, *point)

    def _read_out(self, worked: Any, point: tuple[int, int] | None = None) -> None:
        """The value under the pointer, read from the maps shown: at `point`, or where the
        worked sum is (recomputed for new maps), or nothing (it belonged to other maps)."""
        point = point or (worked.at if worked is not None else None)
        if point is None:
            self.hover.value = ""
            return
        y, x = point
        self.hover.value = f"at ({x}, {y}): <b>{self._shown.maps[y, x, self.channel]:.4g}</b>"

    def _map_point(self, event: dict) -> tuple[int, int] | None:
        """The (row, col) of the map under a pointer event on the large map, if on it."""
        if self._shown is None or "dataX" not in event:
            return None
        h, wd = self._shown.maps.shape[:2]
        scale = focus_scale((h, wd))
        row, col = int(event["dataY"]) // scale, int(event["dataX"]) // scale
        return (row, col) if 0 <= row < h and 0 <= col < wd else None
