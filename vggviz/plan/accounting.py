"""What each layer and component of a VGG variant costs: parameters, activation values, MACs.

Pure arithmetic on the layer plan of `vggviz.plan.architecture`: instant for every variant and
input size, and proved equal to Keras' own `count_params()` and output shapes by the tests.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

from vggviz.plan.architecture import (
    COMPONENTS,
    VARIANTS,
    LayerSpec,
    check_input_shape,
    get_stem,
    get_variant,
    layer_plan,
)
from vggviz.plan.receptive_field import ReceptiveField, receptive_fields

BYTES_PER_VALUE = 4
"""float32: every figure of memory here is for one image in float32."""

MATERIALIZED = ("conv", "pool", "gap", "lrn", "dense")
"""Layers whose outputs count as activation memory: what an inference graph keeps, with each
batch norm and ReLU folded into its conv (as inference engines fuse them), global average
pooling's C values kept like any pool's, and flatten a mere reshape. So a BN variant's
activations equal its plain twin's: like is compared with like."""


@dataclass(frozen=True)
class LayerCost:
    """One layer's output shape and costs."""

    name: str
    component: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    activation_values: int
    macs: int


@dataclass(frozen=True)
class ComponentCost:
    """A component's totals; `output_shape` is what it hands to the next component, and
    `activation_values` counts the outputs of its MATERIALIZED layers (BN and ReLU fused)."""

    name: str
    params: int
    output_shape: tuple[int, ...]
    activation_values: int
    macs: int

    @property
    def activation_bytes(self) -> int:
        """Memory of the component's activations (see MATERIALIZED), float32, batch 1."""
        return self.activation_values * BYTES_PER_VALUE

    @property
    def output_values(self) -> int:
        """Number of values the component hands on (e.g. the stem's, entering the learner)."""
        return math.prod(self.output_shape)


@dataclass(frozen=True)
class Summary:
    """The cost of one variant with one stem design, input shape and top."""

    variant: str
    stem: str
    input_shape: tuple[int, int, int]
    include_top: bool
    layers: tuple[LayerCost, ...]
    components: tuple[ComponentCost, ...]
    classifier: str = "fc"

    @property
    def total_params(self) -> int:
        return sum(c.params for c in self.components)

    @property
    def trainable_params(self) -> int:
        """Parameters training changes: all but batch norm's moving mean and variance (what
        PyTorch counts as a model's parameters; Keras' count_params() includes them)."""
        return self.total_params - sum(r.params // 2 for r in self.layers if r.kind == "bn")

    @property
    def total_macs(self) -> int:
        return sum(c.macs for c in self.components)

    @property
    def activation_values(self) -> int:
        return sum(c.activation_values for c in self.components)

    @property
    def activation_bytes(self) -> int:
        return self.activation_values * BYTES_PER_VALUE

    @property
    def values_entering_learner(self) -> int:
        """Feature values the stem hands to group 1: the cost the VGG stem does not reduce."""
        return self.component("stem").output_values

    @property
    def receptive_fields(self) -> dict[str, ReceptiveField | None]:
        """Each layer's receptive field in input pixels, by layer name
        (`vggviz.plan.receptive_field`); None for the classifier's layers, which see the whole
        input."""
        fields = receptive_fields(self.variant, stem=self.stem, input_shape=self.input_shape)
        return {layer.name: fields.get(layer.name) for layer in self.layers}

    def component(self, name: str) -> ComponentCost:
        """The component called `name` ("stem", "group1"…"group5", "classifier")."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component {name!r}; this model has {[c.name for c in self.components]}")

    def to_dict(self) -> dict:
        """Plain JSON-ready data (the shape of `vggviz summary --json`); a layer's
        `receptive_field` is {size, jump, start: [row, col]}, or null for the whole input."""
        fields = self.receptive_fields
        return {
            "variant": self.variant,
            "stem": self.stem,
            "input_shape": list(self.input_shape),
            "include_top": self.include_top,
            "classifier": self.classifier if self.include_top else None,
            "total_params": self.total_params,
            "components": [
                {"name": c.name, "params": c.params, "output_shape": list(c.output_shape),
                 "activation_values": c.activation_values, "macs": c.macs}
                for c in self.components
            ],
            "layers": [asdict(layer) | {"output_shape": list(layer.output_shape),
                                        "receptive_field": _field_dict(fields[layer.name])}
                       for layer in self.layers],
        }


def _field_dict(field: ReceptiveField | None) -> dict | None:
    return None if field is None else field.to_dict()


def _spatial(size: int, spec: LayerSpec) -> int:
    """Output side of a conv or pool, as Keras computes it for "same" and "valid" padding."""
    if spec.padding == "same":
        return math.ceil(size / spec.stride)
    return (size - spec.kernel) // spec.stride + 1


def layer_cost(spec: LayerSpec, input_shape: tuple[int, ...]) -> LayerCost:
    """Output shape, parameters and MACs of one layer given its input shape."""
    params = macs = 0
    if spec.kind == "conv":
        h, w, cin = input_shape
        shape: tuple[int, ...] = (_spatial(h, spec), _spatial(w, spec), spec.units)
        params = spec.kernel * spec.kernel * cin * spec.units + spec.units
        macs = shape[0] * shape[1] * spec.units * spec.kernel * spec.kernel * cin
    elif spec.kind == "pool":
        h, w, c = input_shape
        shape = (_spatial(h, spec), _spatial(w, spec), c)
    elif spec.kind == "gap":  # global average pooling: one mean per channel, no weights
        shape = (input_shape[-1],)
    elif spec.kind == "bn":
        shape = input_shape
        params = 4 * input_shape[-1]  # gamma, beta, moving mean, moving variance
    elif spec.kind in ("relu", "lrn"):
        shape = input_shape
    elif spec.kind == "flatten":
        shape = (math.prod(input_shape),)
    elif spec.kind == "dense":
        (n_in,) = input_shape
        shape = (spec.units,)
        params = n_in * spec.units + spec.units
        macs = n_in * spec.units
    else:
        raise ValueError(f"unknown layer kind {spec.kind!r} in {spec.name}")
    return LayerCost(spec.name, spec.component, spec.kind, shape, params, math.prod(shape), macs)


@lru_cache(maxsize=512)
def summarize(variant: str = "vgg16", *, stem: str = "vgg",
              input_shape: tuple[int, int, int] = (224, 224, 3), include_top: bool = True,
              classes: int = 1000, classifier: str = "fc") -> Summary:
    """Costs of every layer and component of a variant, from its plan alone (no TensorFlow);
    `classifier` is the head ("fc", the paper's, or "gap")."""
    get_variant(variant)
    get_stem(stem)
    shape = check_input_shape(tuple(input_shape), stem)
    layers = []
    current: tuple[int, ...] = shape
    for spec in layer_plan(variant, stem=stem, include_top=include_top, classes=classes,
                           classifier=classifier):
        cost = layer_cost(spec, current)
        layers.append(cost)
        current = cost.output_shape
    components = []
    for name in COMPONENTS:
        rows = [layer for layer in layers if layer.component == name]
        if rows:
            components.append(ComponentCost(
                name,
                sum(r.params for r in rows),
                rows[-1].output_shape,
                sum(r.activation_values for r in rows if r.kind in MATERIALIZED),
                sum(r.macs for r in rows),
            ))
    return Summary(variant, stem, shape, bool(include_top), tuple(layers), tuple(components),
                   classifier)


def summarize_all(*, stem: str = "vgg", input_shape: tuple[int, int, int] = (224, 224, 3),
                  include_top: bool = True, classifier: str = "fc") -> list[Summary]:
    """One summary per variant, in the order of `VARIANTS`."""
    return [summarize(name, stem=stem, input_shape=tuple(input_shape), include_top=include_top,
                      classifier=classifier)
            for name in VARIANTS]
