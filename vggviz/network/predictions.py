"""The classifier's answer for an image: its top classes with their probabilities, or why this
network gives none, said before anything is downloaded or built.

The group-5 maps come from the extractor's cache (a group-5 view already computed them), the
head from the memory-mapped `SharedClassifier`: predictions after a group-5 view cost the three
dense layers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vggviz.network.classifier_head import (
    HEAD,
    NoClassifier,
    SharedClassifier,
    imagenet_missing,
)
from vggviz.plan.architecture import whole_number
from vggviz.sources.imagenet import imagenet_cached
from vggviz.sources.imagenet_classes import imagenet_classes
from vggviz.sources.weight_files import WeightsMismatch, weight_datasets
from vggviz.sources.weights import imagenet_top_problem


@dataclass(frozen=True)
class ClassScore:
    """One class of the answer: its index, WordNet id, Keras' name and probability."""

    index: int
    wnid: str
    name: str
    probability: float

    @property
    def words(self) -> str:
        """The name as people write it: "Egyptian_cat" → "Egyptian cat"."""
        return self.name.replace("_", " ")


def _file_problem(fx) -> str | None:
    """Why fx's own weights file has no classifier for this input, read from its layout only."""
    from vggviz.plan.accounting import summarize

    try:
        with weight_datasets(fx.weights, variant=fx.variant, stem=fx.stem) as layers:
            missing = [name for name in HEAD if len(layers.get(name, [])) != 2]
            rows = layers["fc1"][0].shape[0] if not missing else 0
    except (OSError, WeightsMismatch) as exc:
        return str(exc)
    name = Path(fx.weights).name
    if missing == ["fc1", "fc2"]:
        return (f"{name} holds the GAP classifier (avg_pool, predictions); predictions here run "
                f"the paper's fc head (fc1, fc2, predictions)")
    if missing:
        return f"{name} has no classifier: it was saved without the top ({', '.join(missing)})"
    h, w, c = summarize(fx.variant, stem=fx.stem, input_shape=(fx.size, fx.size, 3),
                        include_top=False).component("group5").output_shape
    if rows != h * w * c:
        return (f"{name}'s classifier takes {rows:,} values, but {fx.variant} with the "
                f"{fx.stem} stem at {fx.size} px gives {h}×{w}×{c} = {h * w * c:,}")
    return None


def classifier_problem(fx) -> str | None:
    """Why `fx` gives no classifier answer, in one line; None when it gives one. Instant:
    no download, no TensorFlow (a weights file's layout is read, not its numbers)."""
    if fx.weights == "random":
        return "the classifier is untrained: random weights give no answer"
    if fx.weights == "imagenet":
        problem = imagenet_top_problem(fx.variant, fx.stem, fx.size)
        if problem:
            return problem
        if not imagenet_cached(fx.variant, include_top=True):
            return imagenet_missing(fx.variant)
        return None
    return _file_problem(fx)


def top_classes(fx, image, k: int = 5, *, download: bool = False) -> list[ClassScore]:
    """The `k` most probable classes for `image`, most probable first. Raises NoClassifier
    (see `classifier_problem`); `download=True` may fetch ImageNet's classifier file."""
    k = whole_number(k, "k", 1)
    head = SharedClassifier.for_extractor(fx, download=download)
    pooled = fx.activations(image, "group5")
    probs = head.probabilities(pooled[np.newaxis])[0]
    best = np.argsort(probs, kind="stable")[::-1][:k]
    classes = imagenet_classes() if head.classes == len(imagenet_classes()) else None
    return [ClassScore(int(i), classes[i].wnid if classes else f"class{i}",
                       classes[i].name if classes else f"class {i}", float(probs[i]))
            for i in best]


__all__ = ["ClassScore", "NoClassifier", "classifier_problem", "top_classes"]
