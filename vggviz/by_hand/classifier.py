"""The classifier heads worked in numpy, with one calling convention (`classes`, `class_of`,
`logits`, `probabilities`, `logit_gradient`): the paper's (flatten → fc1 → fc2 → predictions) on
the arrays a server shares (`vggviz.sources.classifier_arrays`), and a training run's GAP head
(avg_pool → predictions, a few thousand numbers read from the run's weights). The backward pass
is what Grad-CAM takes as the upstream gradient of the conv stack (`vggviz.network.class_heat`)."""

from __future__ import annotations

import dataclasses
import weakref
from pathlib import Path

import numpy as np

from vggviz.sources.classifier_arrays import head_arrays
from vggviz.sources.classifier_problems import NoClassifier, fit_problem
from vggviz.sources.imagenet_classes import ImageNetClass, class_of
from vggviz.sources.weight_files import WeightsMismatch, read_weights


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, classes) scores, shifted by each row's largest so exp never
    overflows."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclasses.dataclass(frozen=True, eq=False)
class SharedClassifier:
    """The fc head's arrays, mapped read-only from the disk cache (shared by every process)."""

    entry: Path
    arrays: dict[str, np.ndarray]
    extracted: bool = False
    """Whether this process copied the arrays out of the weights file (False: found cached)."""

    @classmethod
    def for_extractor(cls, fx, *, download: bool = False) -> SharedClassifier:
        """The classifier of `fx`'s weights (see `head_arrays`), if it fits fx's last pool.

        Raises NoClassifier saying why there is no answer (random weights, a file without the
        top, a size whose last pool does not fit, ImageNet's file not here).
        """
        head = cls(*head_arrays(fx, download=download))
        problem = fit_problem("this classifier", head.arrays["fc1_kernel"].shape[0], fx)
        if problem:
            raise NoClassifier(problem)
        return head

    @property
    def classes(self) -> int:
        """Number of classes the head scores (1000 for ImageNet)."""
        return int(self.arrays["predictions_bias"].shape[0])

    def class_of(self, index: int) -> ImageNetClass:
        """Class `index` of this head: ImageNet's, or a numbered stand-in for other classes."""
        return class_of(index, self.classes)

    def _hidden(self, pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flattened input and the pre-ReLU values of fc1 and fc2."""
        x = np.asarray(pooled, np.float32).reshape(len(pooled), -1)
        z1 = x @ self.arrays["fc1_kernel"] + self.arrays["fc1_bias"]
        z2 = np.maximum(z1, 0) @ self.arrays["fc2_kernel"] + self.arrays["fc2_bias"]
        return x, z1, z2

    def logits(self, pooled: np.ndarray) -> np.ndarray:
        """(n, classes) pre-softmax scores of (n, 7, 7, 512) group-5 outputs."""
        _, _, z2 = self._hidden(pooled)
        return np.maximum(z2, 0) @ self.arrays["predictions_kernel"] \
            + self.arrays["predictions_bias"]

    def probabilities(self, pooled: np.ndarray) -> np.ndarray:
        """(n, classes) softmax of the logits, as Keras' last layer gives them."""
        return softmax(self.logits(pooled))

    def logit_gradient(self, pooled: np.ndarray,
                       class_index: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """∂logit_c/∂pooled for class `class_index` (one, or one per image), shaped like
        `pooled`, and the logits: backward through the dense layers and their ReLU masks."""
        pooled = np.asarray(pooled, np.float32)
        x, z1, z2 = self._hidden(pooled)
        logits = np.maximum(z2, 0) @ self.arrays["predictions_kernel"] \
            + self.arrays["predictions_bias"]
        c = np.broadcast_to(np.asarray(class_index), (len(x),))
        g2 = self.arrays["predictions_kernel"][:, c].T * (z2 > 0)
        g1 = (g2 @ self.arrays["fc2_kernel"].T) * (z1 > 0)
        return (g1 @ self.arrays["fc1_kernel"].T).reshape(pooled.shape), logits


@dataclasses.dataclass(frozen=True, eq=False)
class GapClassifier:
    """A training run's head: the mean of each group-5 map (avg_pool), then the softmax dense
    layer `predictions`, with the run's own class names."""

    kernel: np.ndarray
    bias: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def for_extractor(cls, fx) -> GapClassifier:
        """The GAP head of `fx`'s run, read from its final weights (NoClassifier if damaged)."""
        try:
            kernel, bias = read_weights(fx.weights, variant=fx.variant,
                                        stem=fx.stem)["predictions"]
        except (OSError, WeightsMismatch, KeyError, ValueError) as exc:
            raise NoClassifier(f"run {fx.run.name} has no readable GAP head: {exc}") from None
        if kernel.shape[1] != len(fx.class_names):
            raise NoClassifier(f"run {fx.run.name}'s head scores {kernel.shape[1]} classes, "
                               f"its manifest names {len(fx.class_names)}")
        return cls(np.asarray(kernel, np.float32), np.asarray(bias, np.float32), fx.class_names)

    @property
    def classes(self) -> int:
        """Number of classes the head scores."""
        return int(self.bias.shape[0])

    def class_of(self, index: int) -> ImageNetClass:
        """Class `index` by the run's own name (no WordNet id: these are not ImageNet's)."""
        return ImageNetClass(index, "", self.names[index])

    def logits(self, pooled: np.ndarray) -> np.ndarray:
        """(n, classes) pre-softmax scores of (n, h, w, c) group-5 outputs."""
        return np.asarray(pooled, np.float32).mean(axis=(1, 2)) @ self.kernel + self.bias

    def probabilities(self, pooled: np.ndarray) -> np.ndarray:
        """(n, classes) softmax of the logits, as Keras' last layer gives them."""
        return softmax(self.logits(pooled))

    def logit_gradient(self, pooled: np.ndarray,
                       class_index: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """∂logit_c/∂pooled (the class's weights spread evenly over the h×w places the mean
        takes), shaped like `pooled`, and the logits."""
        pooled = np.asarray(pooled, np.float32)
        n, h, w, _ = pooled.shape
        c = np.broadcast_to(np.asarray(class_index), (n,))
        grad = np.broadcast_to((self.kernel[:, c].T / (h * w))[:, None, None, :], pooled.shape)
        return np.ascontiguousarray(grad, np.float32), self.logits(pooled)


_GAP_HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Each live extractor's GAP head, read once from its run's weights file."""


def classifier_for(fx, *, download: bool = False) -> SharedClassifier | GapClassifier:
    """The head that answers for `fx`: a run's own GAP head (read once per extractor), else
    the fc head its weights hold (`SharedClassifier.for_extractor`; NoClassifier saying why
    there is none)."""
    if getattr(fx, "run", None) is not None:
        if fx not in _GAP_HEADS:
            _GAP_HEADS[fx] = GapClassifier.for_extractor(fx)
        return _GAP_HEADS[fx]
    return SharedClassifier.for_extractor(fx, download=download)
