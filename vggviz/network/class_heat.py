"""Grad-CAM (Selvaraju et al. 2017, arXiv:1610.02391): where in the image the classifier
finds evidence for a class, at the last convolution of group 3, 4 or 5.

Each channel k of that conv's output A (after its ReLU, as Keras' Grad-CAM example takes it)
is weighted by the spatial mean of ∂logit_c/∂A_k (the pre-softmax score, as the paper), and the
heat is the ReLU of the weighted sum. The conv part runs in TensorFlow with a GradientTape; the
head (the fc head memory-mapped, or a run's GAP head) runs in numpy and hands the tape its
gradient at the last pool (`logit_gradient`).

`GradCam(fx).attribute(image, stage, target)` (the interpretation methods' one convention,
`vggviz.network.attribution`): `target` the class (None: the top class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vggviz.by_hand.classifier import classifier_for
from vggviz.network.attribution import Attribution
from vggviz.network.compiled import compiled
from vggviz.plan.architecture import layer_plan

CAM_STAGES = ("group3", "group4", "group5")
"""Groups whose last convolution Grad-CAM can look at (group 5 by default, as the paper)."""
NO_EVIDENCE = "no evidence for this class here"


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
    def target(self) -> int:
        """The class the map is of (the methods' shared answer, `Attributed`)."""
        return self.class_index

    @property
    def attribution(self) -> np.ndarray:
        """The heat map (the methods' shared answer, `Attributed`)."""
        return self.heat

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


class GradCam(Attribution):
    """Grad-CAM over one extractor: `attribute(image, stage, target)` with `stage` one of
    CAM_STAGES and `target` a class index (None: the top class)."""

    name = "class_heat"

    def _probe(self, stage: str):
        """A Keras model from the input to (A, the group-5 pool), sharing fx's layers, made
        once per group-5 model (`vggviz.network.compiled`)."""
        layer = cam_layer(self.fx.variant, stage, self.fx.stem)

        def build(weak_base):  # holding fx or the model here would keep the model alive
            import keras

            base = weak_base()
            return keras.Model(base.input, [base.get_layer(layer).output, base.outputs[-1]])

        return compiled(self.fx.model("group5"), (self.name, stage), build)

    def attribute(self, image: Any, stage: str, target: int | None = None, *,
                  download: bool = False) -> ClassHeat:
        """Grad-CAM of `image` for class `target` (default: the top class) at `stage`'s last
        conv. Raises NoClassifier when fx has no classifier answer (`classifier_problem`)."""
        import tensorflow as tf

        fx = self.fx
        layer = cam_layer(fx.variant, stage, fx.stem)
        head = classifier_for(fx, download=download)
        if target is not None and not 0 <= int(target) < head.classes:
            raise ValueError(f"class index must be 0–{head.classes - 1}, got {target}")
        batch, _ = fx.prepare(image)
        probe = self._probe(stage)
        with tf.GradientTape() as tape:
            a, pooled = probe(batch, training=False)
        pooled_np = pooled.numpy()
        if target is None:
            target = int(np.argmax(head.logits(pooled_np)[0]))
        upstream, _ = head.logit_gradient(pooled_np, int(target))
        grads = tape.gradient(pooled, a, output_gradients=tf.constant(upstream))
        weights = np.asarray(grads)[0].mean(axis=(0, 1))
        cam = np.maximum(np.asarray(a)[0] @ weights, 0).astype(np.float32)
        top = float(cam.max())
        heat = cam / top if top > 0 else np.zeros_like(cam)
        name = head.class_of(int(target)).name
        return ClassHeat(heat, top, int(target), name, stage, layer)
