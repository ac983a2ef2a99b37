"""Receptive fields from the layer plan: which input pixels each layer's units depend on.

Pure arithmetic (no TensorFlow), the standard recurrence over convs and pools:
size r_out = r_in + (k − 1)·j_in, jump j_out = j_in·s, and the centre of unit 0 moves by
((k − 1)/2 − p)·j_in, where p is the padding before the first row as Keras pads ("same": half of
the total, the odd pixel after; "valid": none). Layers that keep the grid (batch norm, ReLU,
LRN) keep the field; a layer that mixes every position (flatten, dense) sees the whole input,
written None. The tests check it against the gradient of a built model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vggviz.plan.architecture import LayerSpec, check_input_shape, layer_plan

SPATIAL = ("conv", "pool")
"""Layer kinds with a window that moves over the maps."""
PER_POSITION = ("bn", "relu", "lrn")
"""Layer kinds that act on each position alone: the field passes through unchanged."""


@dataclass(frozen=True)
class ReceptiveField:
    """The input square one unit of a layer depends on: `size` px a side, `jump` px between
    neighbouring units, and `start`, the (row, col) input coordinate of unit (0, 0)'s centre
    (a half pixel for an even size; negative when the square starts in the padding)."""

    size: int
    jump: int
    start: tuple[float, float]

    def box(self, row: int, col: int, shape: tuple[int, int] | None = None
            ) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) inclusive input pixels of unit (`row`, `col`); clipped to
        an input of `shape` (height, width) when given (the padding holds no pixels)."""
        half = (self.size - 1) / 2
        top, left = (round(s + i * self.jump - half) for s, i in zip(self.start, (row, col),
                                                                        strict=True))
        bottom, right = top + self.size - 1, left + self.size - 1
        if shape is None:
            return top, left, bottom, right
        h, w = shape
        return max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1)

    def to_dict(self) -> dict:
        """Plain JSON-ready data: {size, jump, start: [row, col]}."""
        return {"size": self.size, "jump": self.jump, "start": list(self.start)}


INPUT = ReceptiveField(1, 1, (0.0, 0.0))
"""The input itself: each pixel sees itself."""


def padding_before(size: int, spec: LayerSpec) -> int:
    """Pixels of padding Keras puts before the first row (or column) of a `size`-long input."""
    if spec.padding != "same":
        return 0
    out = math.ceil(size / spec.stride)
    return max((out - 1) * spec.stride + spec.kernel - size, 0) // 2


def output_size(size: int, spec: LayerSpec) -> int:
    """Length of a conv's or pool's output along one side, as Keras computes it."""
    if spec.padding == "same":
        return math.ceil(size / spec.stride)
    return (size - spec.kernel) // spec.stride + 1


def next_field(field: ReceptiveField | None, spec: LayerSpec,
               sides: tuple[int, int]) -> ReceptiveField | None:
    """The field after layer `spec`, whose input is `sides` (height, width) and has `field`."""
    if field is None or spec.kind in PER_POSITION:
        return field
    if spec.kind not in SPATIAL:
        return None  # flatten, dense and the like: every output depends on every pixel
    k, s = spec.kernel, spec.stride
    start = tuple(st + ((k - 1) / 2 - padding_before(n, spec)) * field.jump
                  for st, n in zip(field.start, sides, strict=True))
    return ReceptiveField(field.size + (k - 1) * field.jump, field.jump * s, start)


def plan_fields(plan: list[LayerSpec], input_shape: tuple[int, ...]
                ) -> list[ReceptiveField | None]:
    """Each layer's receptive field, in the order of `plan`, for an (H, W[, C]) input."""
    sides = (int(input_shape[0]), int(input_shape[1]))
    field: ReceptiveField | None = INPUT
    fields = []
    for spec in plan:
        field = next_field(field, spec, sides)
        if spec.kind in SPATIAL:
            sides = (output_size(sides[0], spec), output_size(sides[1], spec))
        fields.append(field)
    return fields


def receptive_fields(variant: str = "vgg16", *, stem: str = "vgg",
                     input_shape: tuple[int, ...] = (224, 224, 3)
                     ) -> dict[str, ReceptiveField]:
    """The receptive field of every layer of the stem and groups, by layer name."""
    shape = check_input_shape((*input_shape[:2], 3), stem)
    plan = layer_plan(variant, stem=stem, include_top=False)
    return {spec.name: field for spec, field in zip(plan, plan_fields(plan, shape), strict=True)}


def stage_field(variant: str, stem: str, stage: str, size: int) -> ReceptiveField:
    """The receptive field of the maps a stage ("stem", "group1"…) hands on, for a square input
    of `size` px."""
    check_input_shape((size, size, 3), stem)
    plan = layer_plan(variant, stem=stem, include_top=False, upto=stage)
    return plan_fields(plan, (size, size))[-1]
