"""VGG configurations and stem designs as plain data (no TensorFlow).

The layer plan produced here is the single source of truth: `vggviz.plan.accounting` does
arithmetic on it and `vggviz.network.models` turns each entry into a Keras layer, so the counts
and the built model cannot drift apart.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Collection
from dataclasses import dataclass

WIDTHS = (64, 128, 256, 512, 512)
"""Filters of the five convolutional blocks (Simonyan & Zisserman 2014, Table 1)."""

GROUPS = ("group1", "group2", "group3", "group4", "group5")
STAGES = ("stem", *GROUPS)
COMPONENTS = (*STAGES, "classifier")
CLASSIFIERS = {
    "fc": "the paper's: flatten, fc1 and fc2 of 4096 neurons, a softmax over the classes",
    "gap": "the later design's: global average pooling, then one softmax dense layer",
}
"""Classifier heads: the paper's fully connected one and global average pooling (GAP)."""


@dataclass(frozen=True)
class Variant:
    """One VGG configuration: kernel size of each conv, block by block."""

    name: str
    title: str
    config: str
    kernels: tuple[tuple[int, ...], ...]
    batch_norm: bool = False
    lrn: bool = False
    imagenet: bool = False

    @property
    def convs(self) -> tuple[int, ...]:
        """Number of convolutions per block, e.g. (2, 2, 3, 3, 3) for VGG16."""
        return tuple(len(block) for block in self.kernels)


@dataclass(frozen=True)
class StemDesign:
    """How the network first reduces (or keeps) the input's resolution."""

    name: str
    title: str
    description: str
    reduction: int
    min_input: int


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a plan; `units` is filters (conv) or neurons (dense)."""

    name: str
    component: str
    kind: str  # conv, bn, relu, lrn, pool, gap, flatten, dense
    units: int = 0
    kernel: int = 0
    stride: int = 1
    padding: str = "valid"
    activation: str | None = None


def _k3(*counts: int) -> tuple[tuple[int, ...], ...]:
    return tuple((3,) * n for n in counts)


_C = ((3, 3), (3, 3), (3, 3, 1), (3, 3, 1), (3, 3, 1))

_BASE = (
    Variant("vgg11", "VGG11", "A", _k3(1, 1, 2, 2, 2)),
    Variant("vgg11_lrn", "VGG11-LRN", "A-LRN", _k3(1, 1, 2, 2, 2), lrn=True),
    Variant("vgg13", "VGG13", "B", _k3(2, 2, 2, 2, 2)),
    Variant("vgg16_c", "VGG16-C (1×1)", "C", _C),
    Variant("vgg16", "VGG16", "D", _k3(2, 2, 3, 3, 3), imagenet=True),
    Variant("vgg19", "VGG19", "E", _k3(2, 2, 4, 4, 4), imagenet=True),
)
_BN = tuple(
    Variant(f"{v.name}_bn", f"{v.title}-BN", f"{v.config}+BN", v.kernels, batch_norm=True)
    for v in _BASE
    if v.name in ("vgg11", "vgg13", "vgg16", "vgg19")
)

VARIANTS: dict[str, Variant] = {v.name: v for v in (*_BASE, *_BN)}
"""Every VGG variant vggviz builds, by name."""

STEMS: dict[str, StemDesign] = {
    s.name: s
    for s in (
        StemDesign(
            "vgg", "VGG stem", "3×3 conv, 64 filters, stride 1: keeps the full resolution", 1, 32
        ),
        StemDesign(
            "pooled", "Pooled stem", "the VGG stem's conv, then 2×2 max-pool, stride 2", 2, 64
        ),
        StemDesign(
            "strided",
            "Strided stem",
            "7×7 conv, 64 filters, stride 2, then 3×3 max-pool, stride 2",
            4,
            128,
        ),
    )
}
"""Stem designs: the VGG stem and two that reduce the resolution before the learner."""


def get_variant(name: str) -> Variant:
    """The variant called `name`, or a ValueError naming the valid choices."""
    try:
        return VARIANTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}") from None


def get_stem(name: str) -> StemDesign:
    """The stem design called `name`, or a ValueError naming the valid choices."""
    try:
        return STEMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown stem {name!r}; choose from {', '.join(STEMS)}") from None


def check_input_shape(input_shape: tuple[int | None, ...], stem: str = "vgg", *,
                      free_size: bool = False) -> tuple[int | None, int | None, int]:
    """Validate (H, W, C): C is 1 or 3 and both sides fit the five group pools after `stem`.

    With `free_size` a side may be None, any size (as a model without a flattening top takes);
    it stays None in the shape returned."""
    design = get_stem(stem)
    try:
        h, w, c = (None if v is None and free_size and i < 2 else int(v)
                   for i, v in enumerate(input_shape))
    except (TypeError, ValueError):
        raise ValueError(
            f"input shape must be (height, width, channels), got {input_shape!r}"
        ) from None
    if c not in (1, 3):
        raise ValueError(f"input must have 1 or 3 channels, got {c}")
    if min((side for side in (h, w) if side is not None), default=design.min_input) \
            < design.min_input:
        raise ValueError(
            f"the {design.name} stem needs an input of at least {design.min_input}×"
            f"{design.min_input} px (every 2×2 pool halves the maps), got {h}×{w}"
        )
    return h, w, c


def _conv(name: str, component: str, units: int, kernel: int, batch_norm: bool,
          stride: int = 1) -> list[LayerSpec]:
    """A conv followed by ReLU, or by BatchNormalization then ReLU in the BN variants."""
    if not batch_norm:
        return [LayerSpec(name, component, "conv", units, kernel, stride, "same", "relu")]
    suffix = name.rsplit("_", 1)[-1].replace("conv", "")
    prefix = name.rsplit("_", 1)[0]
    return [
        LayerSpec(name, component, "conv", units, kernel, stride, "same"),
        LayerSpec(f"{prefix}_bn{suffix}", component, "bn"),
        LayerSpec(f"{prefix}_relu{suffix}", component, "relu"),
    ]


def stem_layers(variant: str = "vgg16", stem: str = "vgg") -> list[LayerSpec]:
    """The stem: the first 64-filter conv (named as Keras does), pooled or strided if asked."""
    v, design = get_variant(variant), get_stem(stem)
    if design.name == "strided":
        return [
            *_conv("stem_conv", "stem", WIDTHS[0], 7, v.batch_norm, stride=2),
            LayerSpec("stem_pool", "stem", "pool", kernel=3, stride=2, padding="same"),
        ]
    layers = _conv("block1_conv1", "stem", WIDTHS[0], v.kernels[0][0], v.batch_norm)
    if design.name == "pooled":
        layers.append(LayerSpec("stem_pool", "stem", "pool", kernel=2, stride=2))
    return layers


def whole_number(value: object, what: str, minimum: int) -> int:
    """`value` as an int if it is a whole number of at least `minimum` (not a float, a string or
    a bool), else a ValueError saying what `what` needs."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")
    return int(value)


def conv_group(block: int, n_layers: int, n_filters: int, *, kernels: tuple[int, ...] | None = None,
               first: int = 1, batch_norm: bool = False,
               component: str | None = None) -> list[LayerSpec]:
    """A group as the VGG paper draws it: `n_layers` convs of `n_filters` (3×3 unless `kernels`
    says), each with ReLU, then a 2×2 max-pool that halves the maps. Named as Keras names block
    `block` (block{block}_conv{first}…, block{block}_pool), so its weight files load by name."""
    block = whole_number(block, "a group's block number", 1)
    n_layers = whole_number(n_layers, "a group's number of convolutions", 0)
    n_filters = whole_number(n_filters, "a group's number of filters", 1)
    first = whole_number(first, "the number of a group's first convolution", 1)
    kernels = tuple(kernels) if kernels is not None else (3,) * n_layers
    if len(kernels) != n_layers:
        raise ValueError(f"{n_layers} layers need {n_layers} kernel sizes, got {kernels}")
    component = component or f"group{block}"
    layers: list[LayerSpec] = []
    for i, kernel in enumerate(kernels, start=first):
        layers += _conv(f"block{block}_conv{i}", component, n_filters, kernel, batch_norm)
    layers.append(LayerSpec(f"block{block}_pool", component, "pool", kernel=2, stride=2))
    return layers


def own_groups(blocks: object, taken: Collection[str] = ()) -> list[list[LayerSpec]]:
    """A learner of your own groups, given as (n_layers, n_filters) pairs, each group numbered
    after the layers already `taken` by the model it extends: after a stem (which is block 1's
    first conv, as in every plan here) group 1 begins at block1_conv2, so stem + [(1, 64), (2,
    128), (3, 256), (3, 512), (3, 512)] is VGG16's conv base, named as Keras names it.

    Anything else is refused with a ValueError naming the group: no groups, a group that is not
    a pair, fewer than one conv or filter, numbers that are not whole."""
    if isinstance(blocks, str | bytes) or not isinstance(blocks, Collection):
        raise ValueError(f"a learner's groups are a list of (n_layers, n_filters) pairs, "
                         f"got {blocks!r}")
    if not blocks:
        raise ValueError("a learner needs at least one group, got an empty list")
    taken = set(taken)
    if "stem_conv" in taken:  # the strided stem's conv stands in for block1_conv1
        taken.add("block1_conv1")
    groups, block = [], 1
    for index, pair in enumerate(blocks, start=1):
        if isinstance(pair, str | bytes) or not isinstance(pair, Collection) or len(pair) != 2:
            raise ValueError(f"group {index} must be a pair (n_layers, n_filters), got {pair!r}")
        n_layers, n_filters = pair
        n_layers = whole_number(n_layers, f"group {index}'s number of convolutions", 1)
        n_filters = whole_number(n_filters, f"group {index}'s number of filters", 1)
        while f"block{block}_pool" in taken:
            block += 1
        first = 1 + max((int(name.rsplit("conv", 1)[1]) for name in taken
                         if re.fullmatch(rf"block{block}_conv\d+", name)), default=0)
        layers = conv_group(block, n_layers, n_filters, first=first)
        taken |= {spec.name for spec in layers}
        groups.append(layers)
    return groups


def group_layers(variant: str, index: int) -> list[LayerSpec]:
    """Group `index` (1–5) of a variant: its block's convs and pool (group 1 less the stem)."""
    v = get_variant(variant)
    if index not in range(1, 6):
        raise ValueError(f"group index must be 1–5, got {index}")
    first = 2 if index == 1 else 1  # the stem is block 1's first conv
    kernels = v.kernels[index - 1][first - 1:]
    layers = conv_group(index, len(kernels), WIDTHS[index - 1], kernels=kernels, first=first,
                        batch_norm=v.batch_norm)
    if index == 1 and v.lrn:
        layers.insert(0, LayerSpec("block1_lrn", "group1", "lrn"))
    return layers


def classifier_layers(classes: int = 1000, head: str = "fc") -> list[LayerSpec]:
    """The classifier: the paper's `head="fc"` (flatten, two 4096-neuron dense layers, a softmax
    over `classes`) or `"gap"` (global average pooling, then the softmax dense layer), as
    `keras.applications` gives with `pooling="avg"` plus a Dense(classes)."""
    classes = whole_number(classes, "classes", 1)
    predictions = LayerSpec("predictions", "classifier", "dense", classes,
                            activation="softmax")
    if head == "gap":
        return [LayerSpec("avg_pool", "classifier", "gap"), predictions]
    if head != "fc":
        raise ValueError(f"unknown classifier {head!r}; choose from {', '.join(CLASSIFIERS)}")
    return [
        LayerSpec("flatten", "classifier", "flatten"),
        LayerSpec("fc1", "classifier", "dense", 4096, activation="relu"),
        LayerSpec("fc2", "classifier", "dense", 4096, activation="relu"),
        predictions,
    ]


def stage_maps(variant: str, stage: str, widths: tuple[int, ...] = WIDTHS) -> int:
    """How many feature maps `stage` hands on when the groups have `widths` filters (a training
    run's narrower learner; VGG's by default): the stem's 64, then each group's convs' width (a
    group without convs, VGG11's group 1, hands on what it got)."""
    maps = WIDTHS[0]
    for index in range(1, stage_index(stage) + 1):
        if any(spec.kind == "conv" for spec in group_layers(variant, index)):
            maps = int(widths[index - 1])
    return maps


def stage_index(stage: str) -> int:
    """0 for the stem, k for group k; a ValueError naming the stages otherwise."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    return STAGES.index(stage)


def layer_plan(variant: str = "vgg16", *, stem: str = "vgg", include_top: bool = True,
               classes: int = 1000, upto: str | None = None,
               classifier: str = "fc") -> list[LayerSpec]:
    """Every layer of the model in order; `upto` ("stem", "group1"…) stops after that stage;
    `classifier` is the head on top ("fc", the paper's, or "gap"; see CLASSIFIERS)."""
    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier {classifier!r}; choose from "
                         f"{', '.join(CLASSIFIERS)}")
    last = stage_index(upto) if upto is not None else len(STAGES) - 1
    plan = stem_layers(variant, stem)
    for index in range(1, last + 1):
        plan += group_layers(variant, index)
    if include_top and upto is None:
        plan += classifier_layers(classes, classifier)
    return plan
