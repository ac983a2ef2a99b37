"""Grad-CAM (Selvaraju et al. 2017, arXiv:1610.02391): where in the image the classifier
finds evidence for a class, at the last convolution of group 3, 4 or 5.

Each channel k of that conv's output A (after its ReLU, as Keras' Grad-CAM example takes it)
is weighted by the spatial mean of ∂logit_c/∂A_k (the pre-softmax score, as the paper), and the
heat is the ReLU of the weighted sum. The conv part runs in TensorFlow with a GradientTape; the
head (the fc head memory-mapped, or a run's GAP head) runs in numpy and hands the tape its
gradient at the last pool (`logit_gradient`).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from vggviz.by_hand.classifier import classifier_for
from vggviz.plan.architecture import layer_plan

CAM_STAGES = ("group3", "group4", "group5")
"""Groups whose last convolution Grad-CAM can look at (group 5 by default, as the paper)."""
NO_EVIDENCE = "no evidence for this class here"

_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # fx → {stage: model}


@dataclass(frozen=True)
class ClassHeat:
    """A Grad-CAM map: `heat` (h, w) float32 in [0, 1] (the map over its max; zeros when the
    max is 0), its `raw_max`, the class, and where it was taken."""

    heat: np.ndarray
    raw_max: float
    class_index: int
    class_name: str
    stage: str
    layer: str

    @property
    def evidence(self) -> bool:
        """Whether any place shows evidence for the class (the weighted sum is positive)."""
        return self.raw_max > 0

    @property
    def words(self) -> str:
        """What the map shows, in words."""
        name = self.class_name.replace("_", " ")
        if not self.evidence:
            return f"{name}: {NO_EVIDENCE} ({self.layer})"
        return f"{name}: where {self.layer} ({self.stage}) finds evidence for it"


def cam_layer(variant: str, stage: str, stem: str = "vgg") -> str:
    """The layer whose output Grad-CAM weighs: the last conv of `stage`, after its ReLU
    (block5_conv3 in VGG16; block5_relu3 in the BN variants), before the group's pool."""
    if stage not in CAM_STAGES:
        raise ValueError(f"Grad-CAM looks at {', '.join(CAM_STAGES)}, not {stage!r}")
    specs = [s for s in layer_plan(variant, stem=stem, include_top=False, upto=stage)
             if s.component == stage]
    last_conv = max(i for i, s in enumerate(specs) if s.kind == "conv")
    after = [s for s in specs[last_conv:] if s.kind in ("conv", "relu")]
    return after[-1].name


def _probe(fx, stage: str):
    """A Keras model from the input to (A, the group-5 pool), sharing fx's layers."""
    models = _PROBES.setdefault(fx, {})
    if stage not in models:
        import keras

        base = fx.model("group5")
        models[stage] = keras.Model(base.input, [base.get_layer(cam_layer(
            fx.variant, stage, fx.stem)).output, base.outputs[-1]])
    return models[stage]


def class_heat(fx, image, *, class_index: int | None = None, stage: str = "group5",
               download: bool = False) -> ClassHeat:
    """Grad-CAM of `image` for `class_index` (default: the top class) at `stage`'s last conv.
    Raises NoClassifier when fx has no classifier answer (`classifier_problem`)."""
    import tensorflow as tf

    layer = cam_layer(fx.variant, stage, fx.stem)
    head = classifier_for(fx, download=download)
    if class_index is not None and not 0 <= int(class_index) < head.classes:
        raise ValueError(f"class index must be 0–{head.classes - 1}, got {class_index}")
    batch, _ = fx.prepare(image)
    probe = _probe(fx, stage)
    with tf.GradientTape() as tape:
        a, pooled = probe(batch, training=False)
    pooled_np = pooled.numpy()
    if class_index is None:
        class_index = int(np.argmax(head.logits(pooled_np)[0]))
    upstream, _ = head.logit_gradient(pooled_np, int(class_index))
    grads = tape.gradient(pooled, a, output_gradients=tf.constant(upstream))
    weights = np.asarray(grads)[0].mean(axis=(0, 1))
    cam = np.maximum(np.asarray(a)[0] @ weights, 0).astype(np.float32)
    top = float(cam.max())
    heat = cam / top if top > 0 else np.zeros_like(cam)
    name = head.class_of(int(class_index)).name
    return ClassHeat(heat, top, int(class_index), name, stage, layer)
