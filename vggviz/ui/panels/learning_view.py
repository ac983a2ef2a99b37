"""What a run shows as it learns, or as it is replayed: the stem's 64 kernels now beside their
start, the probe image's 64 stem maps, and loss and accuracy per epoch, one line per stem; each
picture with its words (alt) and the curves' numbers in a table a screen reader reads."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import ipywidgets as w
import numpy as np

from vggviz.by_hand.kernel_structure import kernel_structure
from vggviz.plan.architecture import get_stem
from vggviz.render import encode_png, render_grid, render_kernels
from vggviz.render.charts import figure_png, training_curves
from vggviz.sources.runs import Snapshot
from vggviz.ui.panels import chart_tables
from vggviz.ui.parts.alt_text import grid_alt
from vggviz.ui.parts.controls import picture

KERNEL_TILE = 22  # px per kernel tile: 8 columns ≈ 200 px
MAP_TILE = 40  # px per map tile: 8 columns ≈ 340 px
PROBE_PX = 96


def structure_words(kernels: np.ndarray) -> str:
    """How edge- and colour-like the kernels are, against random weights, in words."""
    s = kernel_structure(kernels)
    return (f"a plane explains {float(np.mean(s.smooth)):.0%} of their energy on average "
            f"(random weights: {s.smooth_chance:.0%})")


def kernels_alt(now: Snapshot, start: Snapshot, stem: str) -> str:
    """The two kernel grids in words: which steps, how far the kernels moved, how structured."""
    moved = np.linalg.norm(now.kernels - start.kernels) / max(np.linalg.norm(start.kernels),
                                                              1e-12)
    return (f"The {now.kernels.shape[-1]} kernels of the {get_stem(stem).title} at step "
            f"{now.step}, as RGB tiles each scaled to its own range, beside the same kernels at "
            f"step {start.step}. They moved {moved:.0%} of their starting size; "
            f"{structure_words(now.kernels)}.")


def curves_table(epochs: Mapping[str, Sequence[Mapping[str, float]]]) -> chart_tables.Table:
    """The curves' numbers: per stem and epoch, training and held-out loss and accuracy."""
    def cell(row: Mapping[str, float], key: str, percent: bool) -> str:
        value = row.get(key)
        if value is None:
            return "–"
        return f"{value:.1%}" if percent else f"{value:.3f}"

    rows = [[f"{get_stem(stem).title}, epoch {row['epoch']}",
             cell(row, "loss", False), cell(row, "val_loss", False),
             cell(row, "accuracy", True), cell(row, "val_accuracy", True)]
            for stem, rows_ in epochs.items() for row in rows_]
    return ("The chart's numbers: loss and accuracy per epoch, one line per stem",
            ["stem and epoch", "training loss", "held-out loss", "training accuracy",
             "held-out accuracy"], rows)


class LearningView:
    """The kernels (now and at the start), the probe's maps and the curves, drawn on request."""

    def __init__(self):
        self.kernels_now = picture(None)
        self.kernels_now.add_class("vggviz-kernels-now")
        self.kernels_start = picture(None)
        self.kernels_start.add_class("vggviz-kernels-start")
        self.probe = picture(f"{PROBE_PX}px")
        self.maps = picture(None)
        self.maps.add_class("vggviz-probe-maps")
        self.kernels_title = w.HTML()
        self.maps_title = w.HTML()
        self.structure = w.HTML(layout=w.Layout(width="440px"))
        self.curves = picture(None)
        self.curves.add_class("vggviz-curves")
        self.curves_table = w.HTML()
        self.curves_note = w.HTML()
        caption = "<small class='vggviz-caption'>{}</small>"
        kernels = w.VBox([self.kernels_title, w.HBox([
            w.VBox([w.HTML(caption.format("now")), self.kernels_now]),
            w.VBox([w.HTML(caption.format("at the start")), self.kernels_start]),
        ], layout=w.Layout(grid_gap="0 12px")), self.structure],
            layout=w.Layout(align_items="flex-start", margin="0 24px 0 0"))
        maps = w.VBox([self.maps_title, w.HBox([
            w.VBox([w.HTML(caption.format("probe image")), self.probe]),
            w.VBox([w.HTML(caption.format("its 64 stem maps")), self.maps]),
        ], layout=w.Layout(grid_gap="0 12px"))], layout=w.Layout(align_items="flex-start"))
        self.pictures = w.HBox([kernels, maps], layout=w.Layout(align_items="flex-start",
                                                                flex_flow="row wrap"))
        self.chart = w.VBox([self.curves_note, w.Box([self.curves, self.curves_table])],
                            layout=w.Layout(align_items="flex-start", display="none"))
        # two parts, placed by the app: the pictures, and the curves (beside the controls)
        self.widget = w.VBox([self.pictures], layout=w.Layout(align_items="flex-start"))
        self.widget.layout.display = "none"  # until there is something to show
        self._start_key: tuple | None = None  # what the start picture shows
        self._probe_key: int | None = None

    def show(self, now: Snapshot, start: Snapshot, stem: str, probe_image: np.ndarray,
             probe_name: str, total_steps: int | None = None) -> None:
        """Draw snapshot `now` beside `start` of a run of `stem` whose probe is `probe_image`."""
        self.widget.layout.display = None
        of = f" of {total_steps}" if total_steps else ""
        self.kernels_title.value = (f"<b>The stem's kernels at step {now.step}{of}</b> "
                                    f"<small>({html.escape(get_stem(stem).title)})</small>")
        self.kernels_now.value = render_kernels(now.kernels, tile=KERNEL_TILE, columns=8)
        if self._start_key != (id(start), start.step):
            self._start_key = (id(start), start.step)
            self.kernels_start.value = render_kernels(start.kernels, tile=KERNEL_TILE, columns=8)
            self.kernels_start.alt = (f"The same {start.kernels.shape[-1]} kernels at step "
                                      f"{start.step}, before training: "
                                      f"{structure_words(start.kernels)}.")
        self.kernels_now.alt = kernels_alt(now, start, stem)
        self.structure.value = (f"<div style='line-height:1.35'><small>Now "
                                f"{html.escape(structure_words(now.kernels))}; near 100 % a "
                                f"kernel is an edge or colour detector.</small></div>")
        maps = np.asarray(now.probe_maps, np.float32)
        self.maps_title.value = (f"<b>What the stem makes of one held-out image at step "
                                 f"{now.step}</b>")
        self.maps.value = render_grid(maps, columns=8, tile=MAP_TILE, labels=False)
        self.maps.alt = grid_alt(maps, range(maps.shape[-1]), None, "stem", probe_name)
        if self._probe_key != id(probe_image):
            self._probe_key = id(probe_image)
            self.probe.value = encode_png(np.repeat(np.repeat(
                probe_image, max(1, PROBE_PX // probe_image.shape[0]), 0),
                max(1, PROBE_PX // probe_image.shape[1]), 1))
        self.probe.alt = f"The probe image, {probe_name}, as the network sees it."

    def show_curves(self, epochs: Mapping[str, Sequence[Mapping[str, float]]]) -> None:
        """Loss and accuracy per epoch, one line per stem; a line to say none is done yet."""
        self.chart.layout.display = None
        if not any(epochs.values()):
            self.curves.layout.display = "none"
            self.curves_table.value = ""
            self.curves_note.value = ("<small>Loss and accuracy appear here after the first "
                                      "epoch.</small>")
            return
        self.curves_note.value = ""
        self.curves.layout.display = None
        self.curves.value = figure_png(training_curves(epochs), dpi=90)
        table = curves_table(epochs)
        self.curves.alt = chart_tables.alt(table)
        self.curves_table.value = chart_tables.hidden_table(table)
