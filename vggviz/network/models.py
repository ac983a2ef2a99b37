"""Keras builders in the stem → learner (groups) → classifier pattern.

Each builder turns entries of the plan in `vggviz.plan.architecture` into Keras layers named as
`keras.applications` names them, so Keras' ImageNet weight files load as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from vggviz.network.layers import LocalResponseNormalization, SeededGlorotUniform
from vggviz.plan.architecture import (
    GROUPS,
    LayerSpec,
    check_input_shape,
    classifier_layers,
    conv_group,
    group_layers,
    own_groups,
    stage_index,
    stem_layers,
    whole_number,
)


def _initializer(name: str, seed: int | None) -> keras.initializers.Initializer | str:
    """Glorot-uniform (Keras' default), seeded per layer name so a prefix and the full model
    built with the same seed share their weights, and drawn by numpy so the numpy stem shows
    the same filters without TensorFlow."""
    if seed is None:
        return "glorot_uniform"
    return SeededGlorotUniform(name, seed)


def make_layer(spec: LayerSpec, seed: int | None = None) -> keras.layers.Layer:
    """The Keras layer for one plan entry; `seed` makes its initial weights reproducible."""
    if spec.kind == "conv":
        return keras.layers.Conv2D(spec.units, (spec.kernel, spec.kernel), strides=spec.stride,
                                   padding=spec.padding, activation=spec.activation, name=spec.name,
                                   kernel_initializer=_initializer(spec.name, seed))
    if spec.kind == "pool":
        return keras.layers.MaxPooling2D((spec.kernel, spec.kernel), strides=spec.stride,
                                         padding=spec.padding, name=spec.name)
    if spec.kind == "bn":
        return keras.layers.BatchNormalization(name=spec.name)
    if spec.kind == "relu":
        return keras.layers.Activation("relu", name=spec.name)
    if spec.kind == "lrn":
        return LocalResponseNormalization(name=spec.name)
    if spec.kind == "gap":
        return keras.layers.GlobalAveragePooling2D(name=spec.name)
    if spec.kind == "flatten":
        return keras.layers.Flatten(name=spec.name)
    if spec.kind == "dense":
        return keras.layers.Dense(spec.units, activation=spec.activation, name=spec.name,
                                  kernel_initializer=_initializer(spec.name, seed))
    raise ValueError(f"unknown layer kind {spec.kind!r} in {spec.name}")


def _layer_names(x) -> set[str]:
    """The names of the layers `x` was computed by, walked back through Keras' functional graph
    (empty for a tensor that is not symbolic)."""
    names, seen, stack = set(), set(), [x]
    while stack:
        history = getattr(stack.pop(), "_keras_history", None)
        if history is None:
            continue
        node = history.operation._inbound_nodes[history.node_index]
        if id(node) not in seen:
            seen.add(id(node))
            names.add(history.operation.name)
            stack.extend(node.input_tensors)
    return names


def _apply(x, specs: list[LayerSpec], seed: int | None, *, advice: str = ""):
    """`specs` as Keras layers on `x`, refused in words (a ValueError) where Keras would fail
    later or obscurely: a name the model already has, a pool wider than its maps."""
    clash = [spec.name for spec in specs if spec.name in _layer_names(x)]
    if clash:
        raise ValueError(f"the model already has a layer named {', '.join(clash)}; each layer "
                         f"needs a name of its own{advice}")
    for spec in specs:
        side = min((d for d in x.shape[1:3] if d is not None), default=None)
        if spec.kind == "pool" and spec.padding == "valid" and side is not None \
                and side < spec.kernel:
            raise ValueError(f"{spec.name} cannot pool maps of {x.shape[1]}×{x.shape[2]} with its "
                             f"{spec.kernel}×{spec.kernel} window: the input is too small for "
                             f"this many groups (each halves it)")
        x = make_layer(spec, seed)(x)
    return x


def stem(x, variant: str = "vgg16", design: str = "vgg", *, seed: int | None = None):
    """The stem: the first 64-filter conv, which sees the image (pooled or strided if asked)."""
    return _apply(x, stem_layers(variant, design), seed)


def group(x, n_layers: int, n_filters: int, *, block: int = 1, first: int = 1,
          batch_norm: bool = False, seed: int | None = None):
    """A group of the learner as the VGG paper draws it: `n_layers` 3×3 convs of `n_filters`
    with ReLU, then a 2×2 max-pool that halves the maps. Layers are named as Keras names block
    `block` (block{block}_conv{first}…), so Keras' weight files load into them by name."""
    n_layers = whole_number(n_layers, "a group's number of convolutions", 1)
    return _apply(x, conv_group(block, n_layers, n_filters, first=first, batch_norm=batch_norm),
                  seed, advice=": give this group another block= or first=")


def variant_group(x, index: int, variant: str = "vgg16", *, seed: int | None = None):
    """Group `index` (1–5) of a registered variant, as its plan says (kernels, BN, LRN)."""
    return _apply(x, group_layers(variant, index), seed)


def learner(x, blocks: str | Sequence[tuple[int, int]] = "vgg16", groups: int = 5, *,
            seed: int | None = None):
    """The learner: groups 1..`groups` of a variant ("vgg16"), or your own groups given as
    (n_layers, n_filters) pairs, e.g. [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)] on the
    input, or [(1, 64), (2, 128), …] after `stem(x)`, which is block 1's first conv: your groups
    are numbered after the layers `x` already has. Numbers that build no network are refused
    with a ValueError saying why."""
    if isinstance(blocks, str):
        groups = whole_number(groups, "groups", 0)
        if groups > len(GROUPS):
            raise ValueError(f"a VGG learner has {len(GROUPS)} groups, got groups={groups}")
        for index in range(1, groups + 1):
            x = variant_group(x, index, blocks, seed=seed)
        return x
    for layers in own_groups(blocks, _layer_names(x)):
        x = _apply(x, layers, seed)
    return x


def classifier(x, classes: int = 1000, *, head: str = "fc", seed: int | None = None):
    """The classifier: flatten, FC-4096, FC-4096, softmax over `classes` (the paper's, "fc"),
    or global average pooling and the softmax alone (`head="gap"`)."""
    return _apply(x, classifier_layers(classes, head), seed)


def build_vgg(variant: str = "vgg16", *, stem: str = "vgg",
              input_shape: tuple[int, int, int] = (224, 224, 3), include_top: bool = True,
              classes: int = 1000, weights: str | None = None, upto: str | None = None,
              seed: int | None = None, classifier: str = "fc") -> keras.Model:
    """A VGG variant as a `keras.Model`; `upto="stem"`, "group1"… builds only that prefix;
    `classifier` is the head on top: "fc" (the paper's) or "gap" (global average pooling).

    `weights`: None or "random" (Keras' initialisers, reproducible with `seed`),
    "imagenet" (Keras' download and cache), or a path to a weights file in Keras' layout.
    `seed` makes random initial weights reproducible, layer by layer.
    """
    shape = check_input_shape(input_shape, stem)
    head = classifier_layers(classes, classifier)  # refuses an unknown head before building
    groups = stage_index(upto) if upto is not None else len(GROUPS)
    inputs = keras.Input(shape=shape, name="input")
    x = _apply(inputs, stem_layers(variant, stem), seed)
    x = learner(x, variant, groups, seed=seed)
    if include_top and upto is None:
        x = _apply(x, head, seed)
    name = f"{variant}" if stem == "vgg" else f"{variant}_{stem}_stem"
    name += "_gap" if classifier == "gap" and include_top else ""
    model = keras.Model(inputs, x, name=name if upto is None else f"{name}_upto_{upto}")
    if weights not in (None, "random"):
        from vggviz.sources.weight_files import load_weights

        load_weights(model, weights, variant=variant, stem=stem)
    return model

