"""The grid as PNG and the maps as a compressed float16 .npz, saved by the browser."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractContextManager

import ipywidgets as w
import numpy as np

from vggviz.ui.parts.app_lock import entry
from vggviz.ui.parts.file_link import FileLink

Exported = tuple[np.ndarray, bytes, str]
"""What is exported: the maps, the grid's PNG as shown, the stage's name."""


class MapExport:
    """The export button and the two links it offers: the one owner of those links, which
    belong to the view they were made from."""

    def __init__(self, lock: AbstractContextManager, shown: Callable[[], Exported | None]):
        """`shown()` is what the view shows now, or None before any maps."""
        self.lock, self.shown = lock, shown
        self.grid_link, self.maps_link = FileLink(), FileLink()
        self.button = w.Button(description="Export PNG + .npz", icon="download")
        self.button.on_click(lambda _: self.export())
        self.widget = w.HBox([self.button, self.grid_link, self.maps_link],
                             layout=w.Layout(flex_flow="row wrap", align_items="center",
                                             grid_gap="0 10px"))

    @entry
    def export(self) -> None:
        """Offer the grid as PNG and the maps as a compressed float16 .npz (`maps`), saved by
        the browser: float16 keeps 3 significant digits and halves the bytes, so a stage's
        3.2 M values are a few MB on the wire rather than 13 MB of float32."""
        shown = self.shown()
        if shown is None:
            return
        maps, grid_png, stage = shown
        buffer = io.BytesIO()
        np.savez_compressed(buffer, maps=maps.astype(np.float16))
        self.grid_link.offer(grid_png, f"{stage}_grid.png", "grid PNG", "image/png")
        self.maps_link.offer(buffer.getvalue(), f"{stage}_maps_float16.npz",
                             f"{stage} maps, float16 .npz ({buffer.tell() / 1e6:.1f} MB)",
                             "application/octet-stream")

    def clear(self) -> None:
        """No links: the view they were made from has changed."""
        self.grid_link.clear()
        self.maps_link.clear()
