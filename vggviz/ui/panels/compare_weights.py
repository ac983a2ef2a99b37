"""Trained against random filters: one image's stem maps and kernels with both, side by side.

The stem's 1,792 numbers (64 kernels of 3×3×3 weights and 64 biases) are all that differ
between the two columns; what the maps show apart is what training on ImageNet put there.
"""

from __future__ import annotations

import html
from contextlib import AbstractContextManager

import ipywidgets as w
import numpy as np
from PIL import Image

from vggviz.plan.formatting import share_percent
from vggviz.render import render_grid, render_kernels
from vggviz.sources.imagenet import IMAGENET_CREDIT, imagenet_cached, imagenet_supported
from vggviz.ui.panels.weights_download import WeightsDownloads
from vggviz.ui.parts.alt_text import grid_alt
from vggviz.ui.parts.app_lock import entry
from vggviz.ui.parts.controls import picture
from vggviz.ui.parts.extractors import ExtractorPool
from vggviz.ui.parts.notices import credit_html

TILE = 48  # px per map: two 8×8 grids side by side fit a 1280-px screen
KERNEL_TILE = 24


class _Side:
    """One column: a title, numbers about the weights, the 64 maps and the 64 kernels."""

    def __init__(self):
        self.caption = w.HTML()
        self.grid = picture()
        self.kernels = picture()
        self.widget = w.VBox([self.caption, self.grid, w.HTML("<small>its 64 kernels</small>"),
                              self.kernels],
                             layout=w.Layout(align_items="flex-start", margin="0 24px 0 0"))

    def show(self, title: str, fx, maps: np.ndarray, cmap: str, normalize: str) -> None:
        kernel, bias = fx.stem_weights()
        zeros = float((maps == 0).mean())
        bias_text = ("biases all 0" if not bias.any() else
                     f"biases {bias.min():.2f} … {bias.max():.2f}")
        self.caption.value = (
            f"<b>{html.escape(title)}</b><br><small>weights "
            f"{kernel.min():.2f} … {kernel.max():.2f} (spread {kernel.std():.2f}) · "
            f"{bias_text} · {share_percent(zeros)} of the map values are 0</small>")
        self.grid.value = render_grid(maps, cmap=cmap, normalize=normalize, tile=TILE,
                                      labels=False)
        self.kernels.value = render_kernels(kernel, tile=KERNEL_TILE)
        self.grid.alt = f"{title}: " + grid_alt(maps, range(maps.shape[-1]), None, "stem",
                                                "the picture")
        self.kernels.alt = (f"{title}: the {kernel.shape[-1]} stem kernels as colour patches, "
                            f"weights {kernel.min():.2f} to {kernel.max():.2f}.")


class WeightsComparison:
    """The same image's stem maps and kernels with ImageNet and with random weights, side by
    side, behind a toggle (nothing is computed while it is closed); it says why it cannot
    show them when the trained weights are not here."""

    def __init__(self, pool: ExtractorPool, downloads: WeightsDownloads, *, cmap: w.Dropdown,
                 normalize: w.ToggleButtons, lock: AbstractContextManager):
        """`cmap` and `normalize` are the app's controls, drawn with; `lock` is the app's."""
        self.lock = lock
        self.pool, self.downloads = pool, downloads
        self.cmap, self.normalize = cmap, normalize
        self.toggle = w.ToggleButton(value=False, icon="columns",
                                     description="Compare trained and random filters",
                                     tooltip="the stem's maps and kernels with ImageNet's "
                                     "weights beside random ones",
                                     layout=w.Layout(width="300px"))
        self.message = w.HTML()
        self.sides = {"imagenet": _Side(), "random": _Side()}
        self.columns = w.HBox([side.widget for side in self.sides.values()],
                              layout=w.Layout(align_items="flex-start"))
        self.credit = w.HTML()
        self.body = w.VBox([self.message, self.columns, self.credit],
                           layout=w.Layout(display="none"))
        self.widget = w.VBox([
            w.HTML("<h3>Trained or random?</h3><small>the same image through the stem with "
                   "ImageNet's weights and with random ones: the 1,792 numbers of the stem "
                   "are all that differ</small>"),
            self.toggle, self.body,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-compare-weights")
        self._subject: tuple[Image.Image, str, str, int] | None = None
        for control in (self.toggle, cmap, normalize):
            control.observe(lambda _: self.draw(), "value")

    @entry
    def update(self, image: Image.Image, variant: str, stem: str, seed: int) -> None:
        """Compare on this image and model from now on (drawn at once if the toggle is on)."""
        self._subject = (image, variant, stem, seed)
        self.draw()

    def _problem(self, variant: str, stem: str, seed: int) -> str | None:
        """Why the comparison cannot be drawn, in words; None when it can."""
        if not imagenet_supported(variant, stem):
            return ("Keras publishes ImageNet weights for VGG16 and VGG19 with the VGG or pooled "
                    "stem only: choose one of those to compare trained filters with random ones.")
        if self.downloads.running(variant):
            return ("The ImageNet weights are downloading (progress at the top): the "
                    "comparison appears when they arrive.")
        if not imagenet_cached(variant):
            failure = self.downloads.failure(variant)
            return ("There are no trained filters to compare with: "
                    + (failure if failure else "the ImageNet weights are not downloaded yet; "
                       "choose ImageNet above to download them") + ".")
        _, reason = self.pool.get(variant, "imagenet", stem, seed)
        return f"There are no trained filters to compare with: {reason}." if reason else None

    @entry
    def draw(self) -> None:
        """Show or hide the comparison and, when shown, draw both columns."""
        self.body.layout.display = None if self.toggle.value else "none"
        if not self.toggle.value or self._subject is None:
            return
        image, variant, stem, seed = self._subject
        problem = self._problem(variant, stem, seed)
        self.message.value = "" if problem is None else \
            f"<div class='vggviz-compare-why'>ℹ {html.escape(problem)}</div>"
        self.columns.layout.display = "none" if problem else None
        self.credit.value = "" if problem else credit_html(IMAGENET_CREDIT)
        if problem:
            return
        titles = {"imagenet": "Trained on ImageNet",
                  "random": f"Random (seed {seed}), never trained"}
        for weights, side in self.sides.items():
            fx, _ = self.pool.get(variant, weights, stem, seed)
            side.show(titles[weights], fx, fx.activations(image, "stem"), self.cmap.value,
                      self.normalize.value)
