"""The effective receptive field of one unit: which input pixels actually move it.

The theoretical field (`vggviz.plan.receptive_field`) says which pixels a unit *may* depend on; the
gradient of the unit with respect to the input, from one backward pass through the prefix model,
says how much each pixel moves it for this image and these weights. The gradient is exactly
zero outside the theoretical box, and inside it only the pixels that reach the unit through
live ReLUs and winning max-pool positions count.

`EffectiveField(fx).attribute(image, stage, target)` (the interpretation methods' one
convention, `vggviz.network.attribution`): `target` the unit, (channel, row, col).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vggviz.network.attribution import Attribution
from vggviz.network.compiled import compiled
from vggviz.plan.receptive_field import ReceptiveField, stage_field
from vggviz.sources.images import ImageSource, preprocess

if TYPE_CHECKING:
    from vggviz.network.features import FeatureExtractor


@dataclass(frozen=True)
class UnitField:
    """One unit's value, its theoretical box and its gradient on the input.

    `gradient` is (H, W): |∂unit/∂input| summed over the three colour channels, in units of the
    network's input numbers (0–255 less the mean, so the same as per pixel level). `box` is
    (top, left, bottom, right), inclusive, clipped at the image's border.
    """

    stage: str
    channel: int
    row: int
    col: int
    value: float
    field: ReceptiveField
    box: tuple[int, int, int, int]
    gradient: np.ndarray

    @property
    def target(self) -> tuple[int, int, int]:
        """The unit, (channel, row, col) (the methods' shared answer, `Attributed`)."""
        return self.channel, self.row, self.col

    @property
    def attribution(self) -> np.ndarray:
        """The gradient on the input (the methods' shared answer, `Attributed`)."""
        return self.gradient

    @property
    def moving(self) -> tuple[int, int, int, int] | None:
        """(top, left, bottom, right) of the pixels with a nonzero gradient; None if the unit
        is dead (ReLU at zero): then no pixel moves it."""
        rows, cols = np.nonzero(self.gradient)
        if rows.size == 0:
            return None
        return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def _gradient_function(model, output: int):
    """A compiled function (x, [row, col, channel]) → (unit, ∂unit/∂x) for `model`: traced once
    per model (a fraction of a second), then about twice as fast as running eagerly; it lives
    as long as the model (`vggviz.network.compiled`)."""

    def build(weak_model):
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def gradient(x, index):
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = weak_model()(x, training=False)
                out = outputs[output] if isinstance(outputs, list | tuple) else outputs
                unit = tf.gather_nd(out[0], index[None])[0]
            return unit, tape.gradient(unit, x)

        return gradient

    return compiled(model, (EffectiveField.name, output), build)


def input_gradient(model, batch: np.ndarray, channel: int, row: int, col: int,
                   output: int = -1) -> tuple[float, np.ndarray]:
    """The value of unit (`row`, `col`, `channel`) of `model`'s output (its `output`-th, for a
    model with several) on `batch` (1, H, W, C), and its gradient on the input, (H, W, C)."""
    out_shape = model.outputs[output].shape
    if not (0 <= row < out_shape[1] and 0 <= col < out_shape[2] and 0 <= channel < out_shape[3]):
        raise ValueError(f"unit ({row}, {col}) of map {channel} is outside the "
                         f"{out_shape[1]}×{out_shape[2]}×{out_shape[3]} maps")
    unit, gradient = _gradient_function(model, output)(
        np.asarray(batch, np.float32), np.array([row, col, channel], np.int32))
    return float(unit), np.asarray(gradient[0])


class EffectiveField(Attribution):
    """One unit's gradient on the input beside its theoretical box, over one extractor:
    `attribute(image, stage, target)` with `target` the unit, (channel, row, col)."""

    name = "effective_field"

    def attribute(self, image: ImageSource, stage: str,
                  target: tuple[int, int, int]) -> UnitField:
        """The theoretical box and the gradient of unit `target` = (channel, row, col) of
        `stage` for `image`, through the extractor's prefix model (one backward pass)."""
        fx: FeatureExtractor = self.fx
        channel, row, col = (int(v) for v in target)
        field = stage_field(fx.variant, fx.stem, stage, fx.size)
        pixels, _ = fx.fitted(image)
        value, gradient = input_gradient(fx.model(stage), preprocess(pixels, fx.weights),
                                         channel, row, col)
        box = field.box(row, col, (fx.size, fx.size))
        return UnitField(stage, channel, row, col, value, field, box,
                         np.abs(gradient).sum(axis=-1))
