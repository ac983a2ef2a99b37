"""CIFAR-10 (60,000 photos of 32×32 px, ten classes) in Keras' cache and Keras' layout.

Keras' `keras.datasets.cifar10.load_data()` keeps the archive at
`$KERAS_HOME/datasets/cifar-10-batches-py-target_archive` and reads the batches it unpacks into
`cifar-10-batches-py-target/cifar-10-batches-py/`. This module reads the same files the same
way (the same order, so the first N images are Keras' first N), but only the batches it needs,
any number of images in a batch, and without Keras' costs: `load_data` hashes the 170 MB archive
and unpacks it again on every call, and downloads with no lock, leaving a bad file in the cache.
A missing archive is downloaded by `archives.unpacked` (the weights' rules).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from vggviz.sources.datasets.archives import DataUnavailable, datasets_dir, unpacked
from vggviz.sources.datasets.resizing import fitted
from vggviz.sources.downloads import ProgressCallback
from vggviz.sources.shapes import Shapes

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
"""The archive's md5, as its authors' page (and torchvision) give it."""
NAME = "cifar-10-batches-py-target"
"""Keras' folder for the unpacked archive, in its cache's datasets/."""
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
"""The class names, by label (the archive's batches.meta)."""

_NUMPY_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"),
                  ("numpy.core.multiarray", "_reconstruct"),
                  ("numpy._core.multiarray", "_reconstruct")}


def batches_dir() -> Path:
    """Where the batches are once unpacked (whether or not they are there)."""
    return datasets_dir() / NAME / "cifar-10-batches-py"


def _ready(folder: Path) -> bool:
    """Whether every batch is in the unpacked `folder`."""
    return all((folder / "cifar-10-batches-py" / name).is_file()
               for name in (*TRAIN_BATCHES, TEST_BATCH))


def cifar10(size: int = 32, train_images: int = 50_000, test_images: int = 10_000, *,
            progress: ProgressCallback | None = None) -> tuple[Shapes, Shapes]:
    """The first `train_images` training and `test_images` test images of CIFAR-10 (at most
    50,000 and 10,000), fitted to `size`×`size`; boxes None. Downloads the archive into Keras'
    cache first if it is not there (DataUnavailable saying which file to put where if it
    cannot)."""
    unpacked(URL, MD5, NAME, "CIFAR-10", _ready, progress=progress)
    folder = batches_dir()
    parts, got = [], 0
    for name in TRAIN_BATCHES:
        if got >= train_images:
            break
        images, labels = read_batch(folder / name)
        parts.append((images[: train_images - got], labels[: train_images - got]))
        got += len(parts[-1][1])
    train = [np.concatenate(p) for p in zip(*parts, strict=True)]
    test = [a[:test_images] for a in read_batch(folder / TEST_BATCH)]
    return tuple(Shapes(fitted(images, size), labels, None, CLASSES)
                 for images, labels in (train, test))


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch (a pickled dict: 'data' (N, 3072) uint8, channel planes of 32×32 rows,
    and 'labels'), as images (N, 32, 32, 3) uint8 and labels (N,) int64. The pickle may build
    numpy arrays and nothing else (as Keras' reader), so a tampered file cannot run code."""
    try:
        with open(path, "rb") as fh:
            batch = _NumpyOnly(fh, encoding="bytes").load()
        batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
        data = np.asarray(batch["data"], np.uint8)
        images = data.reshape(len(data), 3, 32, 32).transpose(0, 2, 3, 1)
        labels = np.asarray(batch["labels"], np.int64)
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, ValueError, AttributeError,
            TypeError) as exc:
        raise DataUnavailable(f"{path} is not a CIFAR-10 batch ({exc}); delete "
                              f"{path.parent.parent} and try again") from None
    if len(labels) != len(images):
        raise DataUnavailable(f"{path} has {len(images)} images but {len(labels)} labels; "
                              f"delete {path.parent.parent} and try again")
    return np.ascontiguousarray(images), labels


class _NumpyOnly(pickle.Unpickler):
    """An unpickler that builds numpy arrays and nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _NUMPY_GLOBALS:
            raise pickle.UnpicklingError(f"refused to build {module}.{name}")
        return super().find_class(module.replace("numpy.core.", "numpy._core."), name)
