"""Keras builders in the stem → learner (groups) → classifier pattern.

Each builder turns entries of the plan in `vggviz.plan.architecture` into Keras layers named as
`keras.applications` names them, so Keras' ImageNet weight files load as they are.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

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


_POOLINGS = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D}
"""`pooling=` of a model without a top, as keras.applications applies it."""


def _check_weights(weights: object, top: bool, classes: int, activation: object) -> None:
    """Refuse, before anything is built, the `weights` keras.applications refuses: not None,
    "imagenet" or a file; ImageNet's classifier for other than its 1,000 classes; a head whose
    activation is neither the softmax the weights were trained with nor None (logits)."""
    if weights in (None, "random"):
        return
    if weights != "imagenet":
        if not isinstance(weights, str | os.PathLike):
            raise ValueError(f"weights must be None or 'random' (random initialisation), "
                             f"'imagenet' (pre-training on ImageNet) or the path to a weights "
                             f"file, got {weights!r}")
        if not Path(weights).exists():
            from vggviz.sources.weight_files import NoWeightsFile

            raise NoWeightsFile(f"no weights file at {weights}: weights must be None or "
                                f"'random' (random initialisation), 'imagenet' (pre-training "
                                f"on ImageNet) or the path to a weights file")
    if weights == "imagenet" and top and classes != 1000:
        raise ValueError(f"weights='imagenet' with include_top=True needs classes=1000, the "
                         f"classes ImageNet's classifier was trained on; got classes={classes}")
    if top and keras.activations.get(activation) not in (keras.activations.get("softmax"),
                                                         keras.activations.get(None)):
        raise ValueError(f"with trained weights and include_top=True, classifier_activation "
                         f"must be 'softmax' (what they were trained with) or None (logits); "
                         f"got {activation!r}")


def _input_shape(input_shape: Sequence[int | None] | None, input_tensor, *, include_top: bool,
                 flattens: bool, weights: object, stem: str) -> tuple[int | None, int | None, int]:
    """The (H, W, C) the model takes, checked where keras.applications checks it: None is
    224×224×3 with the top and any size without it (or `input_tensor`'s shape); a classifier
    that flattens needs a fixed size, ImageNet's weights 3 channels and, with their classifier,
    the 224×224 it was trained on."""
    if input_shape is None:
        if input_tensor is not None:
            input_shape = tuple(input_tensor.shape[1:])
        else:
            input_shape = (224, 224, 3) if include_top else (None, None, 3)
    shape = check_input_shape(input_shape, stem, free_size=True)
    if flattens and None in shape:
        raise ValueError(f"include_top=True flattens the maps into fc1, so the input needs a "
                         f"fixed size; got input_shape={tuple(input_shape)}: give one, or "
                         f"build with include_top=False or classifier='gap'")
    if weights == "imagenet" and shape[-1] != 3:
        raise ValueError(f"ImageNet weights need an input of 3 channels (RGB); got "
                         f"input_shape={tuple(input_shape)}")
    if weights == "imagenet" and flattens and stem == "vgg" and shape != (224, 224, 3):
        raise ValueError(f"weights='imagenet' with include_top=True needs input_shape=(224, 224, "
                         f"3), the size ImageNet's classifier was trained on; got "
                         f"input_shape={tuple(input_shape)}")
    return shape


def build_vgg(variant: str = "vgg16", *, include_top: bool = True,
              weights: str | os.PathLike | None = None, input_tensor=None,
              input_shape: Sequence[int | None] | None = None, pooling: str | None = None,
              classes: int = 1000, classifier_activation: str | Callable | None = "softmax",
              stem: str = "vgg", upto: str | None = None, seed: int | None = None,
              classifier: str = "fc") -> keras.Model:
    """A VGG variant as a `keras.Model`, taking `keras.applications.VGG16`'s arguments with their
    meaning, and refusing in words (a ValueError) what Keras refuses; plus vggviz's own.

    Keras': `weights` None or "random" (Keras' initialisers), "imagenet" (Keras' download and
    cache) or a weights file in Keras' layout; `input_shape` None is 224×224×3 with the top and
    any size without it; `input_tensor` a Keras tensor to build on; `pooling` "avg" or "max" ends
    a model without the top; `classifier_activation=None` gives logits.
    vggviz's: `stem` ("vgg", "pooled", "strided"); `upto="stem"`, "group1"… builds only that
    prefix (no top); `seed` makes random initial weights reproducible, layer by layer;
    `classifier` is the head on top: "fc" (the paper's) or "gap" (global average pooling).
    """
    top = include_top and upto is None
    _check_weights(weights, top, classes, classifier_activation)
    if pooling is not None and pooling not in _POOLINGS:
        raise ValueError(f"pooling must be None, 'avg' or 'max', got {pooling!r}")
    if input_tensor is not None and not keras.utils.is_keras_tensor(input_tensor):
        raise ValueError(f"input_tensor must be a Keras tensor (keras.Input(...) or a layer's "
                         f"output on one), got a {type(input_tensor).__name__}")
    head = classifier_layers(classes, classifier)  # refuses an unknown head before building
    head[-1] = replace(head[-1], activation=classifier_activation)
    shape = _input_shape(input_shape, input_tensor, include_top=include_top,
                         flattens=top and classifier == "fc", weights=weights, stem=stem)
    groups = stage_index(upto) if upto is not None else len(GROUPS)
    inputs = keras.Input(shape=shape, name="input") if input_tensor is None else input_tensor
    x = _apply(inputs, stem_layers(variant, stem), seed)
    x = learner(x, variant, groups, seed=seed)
    if top:
        x = _apply(x, head, seed)
    elif pooling is not None:
        x = _POOLINGS[pooling](name=f"{pooling}_pool")(x)
    name = f"{variant}" if stem == "vgg" else f"{variant}_{stem}_stem"
    name += "_gap" if classifier == "gap" and include_top else ""
    if input_tensor is not None:  # the model starts where the tensor's own inputs are
        inputs = keras.utils.get_source_inputs(input_tensor)
    model = keras.Model(inputs, x, name=name if upto is None else f"{name}_upto_{upto}")
    if weights not in (None, "random"):
        from vggviz.sources.weight_files import load_weights

        load_weights(model, weights, variant=variant, stem=stem)
    return model
