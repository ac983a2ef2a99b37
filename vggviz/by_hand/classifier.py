"""The paper's classifier (flatten → fc1 → fc2 → predictions) worked in numpy on the arrays a
server shares (`vggviz.sources.classifier_arrays`): its scores, and the backward pass through the
same layers that Grad-CAM takes as the upstream gradient of the conv stack
(`vggviz.network.class_heat`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from vggviz.sources.classifier_arrays import head_arrays
from vggviz.sources.classifier_problems import NoClassifier, fit_problem


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
        z = self.logits(pooled)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

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
