"""ImageNet's 1,000 class names, offline: Keras' `imagenet_class_index.json`, shipped with the
package so that predictions read in words without the download Keras' `decode_predictions`
makes.

The file is byte for byte the one Keras downloads (its md5, c2c37ea517e94d9795004a39431a14cb,
is the hash `keras.applications.imagenet_utils` pins). Keras publishes it under the Apache
License 2.0; the names are WordNet's synsets as the ILSVRC 2012 classes use them.
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from typing import NamedTuple

import numpy as np

CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
"""The md5 Keras pins for `imagenet_class_index.json`; the shipped file has it."""


class ImageNetClass(NamedTuple):
    """One of ImageNet's 1,000 classes: its index, WordNet id and Keras' name for it."""

    index: int
    wnid: str
    name: str

    @property
    def words(self) -> str:
        """The name as people write it: "Egyptian_cat" → "Egyptian cat"."""
        return self.name.replace("_", " ")


def class_index_bytes() -> bytes:
    """The shipped class-index file as it is (for checking it against Keras' md5)."""
    return files("vggviz.sources").joinpath("data", "imagenet_class_index.json").read_bytes()


@functools.cache
def imagenet_classes() -> tuple[ImageNetClass, ...]:
    """The 1,000 classes in the order of the classifier's outputs (0 tench … 999 toilet tissue)."""
    index = json.loads(class_index_bytes())
    return tuple(ImageNetClass(i, *index[str(i)]) for i in range(len(index)))


def class_of(index: int, classes: int = 1000) -> ImageNetClass:
    """Class `index` of a classifier with `classes` outputs: ImageNet's own when it has its
    1,000, else a numbered stand-in ("class 7") for a head trained on other classes."""
    if classes == len(imagenet_classes()):
        return imagenet_classes()[index]
    return ImageNetClass(index, f"class{index}", f"class {index}")


def decode_predictions(preds: np.ndarray, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Keras' `decode_predictions`, offline: for each row of (n, 1000) probabilities, the
    `top` classes as (WordNet id, name, probability), most probable first."""
    preds = np.asarray(preds)
    classes = imagenet_classes()
    if preds.ndim != 2 or preds.shape[1] != len(classes):
        raise ValueError(f"decode_predictions expects a batch of predictions of shape "
                         f"(samples, {len(classes)}); got {preds.shape}")
    results = []
    for row in preds:
        best = row.argsort()[-top:][::-1]  # as Keras picks them
        results.append([(classes[i].wnid, classes[i].name, float(row[i])) for i in best])
    return results
