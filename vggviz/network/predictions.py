"""The classifier's answer for an image: its top classes with their probabilities (a run's by its
own class names), or why this network gives none, said before anything is downloaded or built.

The group-5 maps come from the extractor's cache (a group-5 view already computed them), the
head from the memory-mapped `SharedClassifier`: predictions after a group-5 view cost the three
dense layers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vggviz.by_hand.classifier import classifier_for
from vggviz.plan.architecture import whole_number
from vggviz.sources.classifier_problems import (
    NoClassifier,
    head_problem,
    imagenet_missing,
    weights_problem,
)
from vggviz.sources.imagenet import imagenet_cached
from vggviz.sources.weight_files import WeightsMismatch, weight_datasets


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
    try:
        with weight_datasets(fx.weights, variant=fx.variant, stem=fx.stem) as layers:
            return head_problem(layers, Path(fx.weights).name, fx)
    except (OSError, WeightsMismatch) as exc:
        return str(exc)


def classifier_problem(fx) -> str | None:
    """Why `fx` gives no classifier answer, in one line; None when it gives one. Instant:
    no download, no TensorFlow (a weights file's layout is read, not its numbers)."""
    if getattr(fx, "run", None) is not None:
        return None  # a run's GAP head takes any size's group-5 maps
    problem = weights_problem(fx)
    if problem:
        return problem
    if fx.weights == "imagenet":
        return None if imagenet_cached(fx.variant, include_top=True) else \
            imagenet_missing(fx.variant)
    return _file_problem(fx)


def top_classes(fx, image, k: int = 5, *, download: bool = False) -> list[ClassScore]:
    """The `k` most probable classes for `image`, most probable first. Raises NoClassifier
    (see `classifier_problem`); `download=True` may fetch ImageNet's classifier file."""
    k = whole_number(k, "k", 1)
    head = classifier_for(fx, download=download)
    pooled = fx.activations(image, "group5")
    probs = head.probabilities(pooled[np.newaxis])[0]
    best = np.argsort(probs, kind="stable")[::-1][:k]
    return [ClassScore(*head.class_of(int(i)), float(probs[i])) for i in best]


__all__ = ["ClassScore", "NoClassifier", "classifier_problem", "top_classes"]
