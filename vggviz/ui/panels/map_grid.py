"""The grid of feature maps: its pager, colour bar, display controls, keys and clicks."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import ipywidgets as w
import numpy as np

from vggviz.render import (
    COLORMAPS,
    Grid,
    colorbar,
    colour_range,
    encode_png,
    grid_indices,
    grid_layout,
    outline_tile,
    palette,
)
from vggviz.ui.panels.chosen_map import COLUMN
from vggviz.ui.parts import alt_text
from vggviz.ui.parts.app_lock import entry
from vggviz.ui.parts.controls import LABEL_WIDTH, picture
from vggviz.ui.parts.legibility import MIN_TEXT_PX
from vggviz.ui.parts.picture import grid_move

PAGE = 64
LABELLED_TILE = 48  # px: smaller tiles show no channel numbers (they would cover the map)
GRID_TILE = 112  # px: the grid is drawn this sharp, and shown as wide as the window allows
FIT_MIN_PX = 448  # the narrowest the fitted grid is shown (its tile numbers are sized for it)
# As wide as the window allows beside the left and the map column, and no taller than it is.
FIT_WIDTH = (f"max({FIT_MIN_PX}px, min(calc(100vw - 430px - {COLUMN}), calc(100vh - 345px), "
             "980px))")
BAR_PX = 300
GRID_HINT = ("Arrow keys choose a map, Home and End the first and last of the page, Page Up and "
             "Page Down the page of channels before and after; Enter or Space opens it large.")


def pages(channels: int) -> list[tuple[str, int]]:
    """The pager's choices: "maps 448–511 of 512" for each page of PAGE maps."""
    return [(f"maps {first}–{min(first + PAGE, channels) - 1} of {channels}", first // PAGE)
            for first in range(0, channels, PAGE)]


class MapGrid:
    """A page of maps as one picture, the chosen map's tile outlined: the one owner of the grid
    drawn, its PNG, the page and the zoom, and of the colour settings the chosen map shares."""

    def __init__(self, lock: AbstractContextManager, *,
                 chosen: Callable[[], int], choose: Callable[[int], None],
                 open_large: Callable[[], str], on_change: Callable[[], None]):
        """`chosen()` is the chosen map, `choose(channel)`
        chooses another, `open_large()` brings it into view large and says so, and
        `on_change()` redraws after the page or a display setting changed."""
        self.lock = lock
        self.chosen, self.choose, self.open_large, self.on_change = (chosen, choose, open_large,
                                                                     on_change)
        label = {"description_width": LABEL_WIDTH}
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
        self.image = picture(focusable=True, watched=["click"], hint=GRID_HINT)
        self.image.add_class("vggviz-grid")
        self.bar = picture(f"{BAR_PX}px")
        self.bar.add_class("vggviz-grid-scale")
        self.grid: Grid | None = None  # the page drawn: its tiles' layout and channels
        self.png = b""  # the grid's picture as shown (and exported)
        self._zoomed = False  # the tile slider sets the grid's size; until moved, it fits
        self._quiet = False  # a page set by the panel itself: drawn by whoever set it

        for control in (self.page, self.cmap, self.normalize, self.order):
            control.observe(self._on_setting, "value")
        self.tile.observe(self._on_tile, "value")
        self.image.on_event(self._on_event)
        # the pager beside the colour bar: over the grid, it pushed the bar off the first screen
        under = w.HBox([self.bar, self.page], layout=w.Layout(
            flex_flow="row wrap", align_items="center", grid_gap="0 8px"))
        self.widget = w.VBox([
            self.image, under,
            w.HTML("<small>Click a map to look at it closely.</small>"),
            self.cmap, self.normalize, self.order, self.tile,
        ], layout=w.Layout(margin="0 12px 0 0", align_items="flex-start"))

    # ------------------------------------------------------------------ the page

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def set_pages(self, channels: int) -> None:
        """The pager for a stage of `channels` maps: back to the first page if the choices
        change (nothing drawn: the caller draws), shown only when there is more than one."""
        choices = pages(channels)
        if self.page.options != tuple(choices):
            with self._quietly():
                self.page.options = choices
                self.page.value = 0
        self.page.layout.display = None if len(choices) > 1 else "none"

    def first_page(self) -> None:
        """Back to the first page, nothing drawn (the caller draws)."""
        with self._quietly():
            self.page.value = 0

    def channels(self, count: int, channel: int | None = None) -> range:
        """Of `count` maps, the channels of the page shown, or of the one `channel` is on."""
        first = self.page.value * PAGE if channel is None else channel // PAGE * PAGE
        return range(first, min(first + PAGE, count))

    def colour_channels(self, channel: int, count: int) -> Sequence[int]:
        """The maps whose range colours `channel`'s tile: its own, or its page's if shared."""
        return [channel] if self.normalize.value == "per_map" else self.channels(count, channel)

    # ------------------------------------------------------------------ drawing

    def lay_out(self, maps: np.ndarray) -> Grid:
        """The page shown, laid out in the order asked for; ValueError (nothing changed) if
        it cannot be."""
        channels = self.channels(maps.shape[-1])
        self.grid = grid_indices(maps, normalize=self.normalize.value, order=self.order.value,
                                 channels=channels, tile=self.tile.value,
                                 labels=self.tile.value >= LABELLED_TILE,
                                 label_px=self._label_px(maps, channels))
        return self.grid

    def draw(self, maps: np.ndarray, chosen: int, stage: str, name: str) -> None:
        """The grid laid out, the `chosen` map's tile outlined, and its colour bar."""
        self.outline(maps, chosen, stage, name)
        channels = self.channels(maps.shape[-1])
        self.bar.value = self._scale_bar(maps, channels)
        self.bar.alt = (f"Colour scale of the grid, {self.cmap.value}: each map from its own "
                        "minimum at the left to its maximum at the right." if
                        self.normalize.value == "per_map" else alt_text.scale_alt(
                            *colour_range(maps, channels), self.cmap.value,
                            "colour scale of the grid"))

    def outline(self, maps: np.ndarray, chosen: int, stage: str, name: str) -> None:
        """The grid as PNG, the `chosen` map's tile outlined, shown at its own pixel size."""
        indices = self.grid.indices
        if chosen in self.grid.channels:
            indices = outline_tile(indices, self.grid.layout, self.grid.channels.index(chosen))
        self.png = encode_png(indices, palette=palette(self.cmap.value))
        self.image.value = self.png
        self.image.alt = alt_text.grid_alt(maps, self.grid.channels, chosen, stage, name)
        self.image.layout.width = f"{self.grid.layout.width}px" if self._zoomed else FIT_WIDTH

    def hide(self, hidden: bool) -> None:
        """Hide the grid's picture (it belongs to maps on their way out), or show it again."""
        self.image.layout.visibility = "hidden" if hidden else None

    def _label_px(self, maps: np.ndarray, channels: range) -> int:
        """The tile numbers' height in the grid's own pixels: MIN_TEXT_PX on the screen when
        the grid is shown at its pixel size, or fitted as narrow as FIT_MIN_PX."""
        if self._zoomed:
            return MIN_TEXT_PX
        width = grid_layout(len(channels), self.tile.value, map_size=maps.shape[:2]).width
        return math.ceil(MIN_TEXT_PX * max(width / FIT_MIN_PX, 1))

    def _scale_bar(self, maps: np.ndarray, channels: range) -> bytes:
        """The grid's colour scale: each map's own range, or the one range they share."""
        if self.normalize.value == "per_map":
            return colorbar(0, 1, cmap=self.cmap.value, width=BAR_PX,
                            low_text="each map's min", high_text="its max")
        return colorbar(*colour_range(maps, channels), cmap=self.cmap.value, width=BAR_PX)

    # ------------------------------------------------------------------ entries

    @entry
    def _on_setting(self, _change: dict) -> None:
        """Another page, colormap, scale or order: drawn again (unless the panel set it)."""
        if not self._quiet:
            self.on_change()

    @entry
    def _on_tile(self, _change: dict) -> None:
        """The tile slider zooms: from now on the grid shows at its own pixel size."""
        self._zoomed = True
        self.on_change()

    @entry
    def _on_event(self, event: dict) -> None:
        """A click or a key on the grid."""
        if event.get("type") == "click":
            self._on_click(event)
        elif event.get("type") == "keydown":
            self.image.announce = self.on_key(event["key"])

    @entry
    def on_key(self, key: str) -> str:
        """The grid's keys: arrows, Home and End choose a map of the page, Page Up and Page
        Down show the page before or after (the same place on it), Enter and Space bring the
        chosen map's large picture into view. Returns what happened, to be said."""
        if self.grid is None:
            return ""
        if key in ("Enter", " "):
            return self.open_large()
        position = self.grid.channels.index(self.chosen())
        if key in ("PageUp", "PageDown"):
            page = self.page.value + (1 if key == "PageDown" else -1)
            if not 0 <= page < len(self.page.options):
                return (f"No page of maps {'after' if key == 'PageDown' else 'before'} this "
                        f"one: {self.page.label}.")
            self.page.value = page  # draws the page, its first map chosen
            channels = self.grid.channels
            self.choose(channels[min(position, len(channels) - 1)])
            return f"{self.page.label}: map {self.chosen()} chosen."
        moved = grid_move(key, position, len(self.grid.channels), self.grid.layout.columns)
        self.choose(self.grid.channels[moved])
        return f"Map {self.chosen()} chosen, {moved + 1} of {len(self.grid.channels)}."

    @entry
    def _on_click(self, event: dict) -> None:
        """A click on a tile chooses its map."""
        if self.grid is None or "dataX" not in event:
            return
        channel = self.grid.channel_at(event["dataX"], event["dataY"])
        if channel is not None:
            self.choose(channel)  # the chosen map's observer outlines the tile and draws it
