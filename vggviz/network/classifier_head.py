"""The paper's classifier (flatten → fc1 → fc2 → predictions) run in numpy on memory-mapped
float32 arrays, so every kernel of a server shares one copy of its 123.6 M numbers (494 MB for
VGG16) through the page cache instead of holding its own in TensorFlow.

The first use copies the three dense layers' kernels and biases out of the weights file, in
chunks, into `.npy` files in vggviz's disk cache (keyed by the weights' digest, under a file
lock, each file written whole or not at all, checked against a manifest of sizes and CRC-32s);
later uses map them read-only. `logit_gradient` is the backward pass through the same layers,
which Grad-CAM takes as the upstream gradient of the conv stack (`vggviz.network.class_heat`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from pathlib import Path

import numpy as np
from filelock import FileLock

from vggviz.sources.disk_cache import cache_dirs, weights_digest, write_atomic
from vggviz.sources.imagenet import WeightsUnavailable, fetch_imagenet, imagenet_cached
from vggviz.sources.weight_files import WeightsMismatch, weight_datasets
from vggviz.sources.weights import imagenet_top_problem

HEAD = ("fc1", "fc2", "predictions")
"""The dense layers of the fc head, named as Keras names them."""
TOP_FILE_MB = {"vgg16": 553, "vgg19": 575}
"""Size of Keras' ImageNet files with the classifier in MB (10^6 bytes, as a download counts
them): 553,467,096 and 574,710,816 bytes."""
CHUNK_VALUES = 2**22
"""Values copied at a time from the weights file (16 MB of float32)."""


class NoClassifier(WeightsUnavailable):
    """This extractor's weights give no classifier answer; the message says why in words."""


def _entry_files() -> list[str]:
    return [f"{layer}_{part}.npy" for layer in HEAD for part in ("kernel", "bias")]


def _crc(path: Path) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(2**24):
            crc = zlib.crc32(chunk, crc)
    return crc


def _copy_npy(dataset, path: Path) -> None:
    """`dataset` as a float32 .npy at `path`, copied CHUNK_VALUES at a time."""
    shape = tuple(dataset.shape)
    rows = max(1, CHUNK_VALUES // max(1, int(np.prod(shape[1:], dtype=np.int64))))
    buffer = np.empty((min(rows, shape[0]), *shape[1:]), np.float32)

    def write(fh) -> None:
        header = {"descr": "<f4", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, shape[0], rows):
            stop = min(start + rows, shape[0])
            part = buffer[:stop - start]
            dataset.read_direct(part, np.s_[start:stop], np.s_[:stop - start])
            fh.write(part.tobytes())

    write_atomic(path, write)


def imagenet_missing(variant: str) -> str:
    """That ImageNet's classifier file is not downloaded yet, its size, and how to get it."""
    title = variant.upper()
    return (f"ImageNet's classifier for {title} is not downloaded yet ({TOP_FILE_MB[variant]} "
            f"MB): `vggviz fetch-weights {variant} --top` fetches it")


def _source(fx, download: bool) -> Path:
    """The weights file holding fx's classifier: ImageNet's top file, or fx's own file."""
    if fx.weights == "imagenet":
        if not download and not imagenet_cached(fx.variant, include_top=True):
            raise NoClassifier(imagenet_missing(fx.variant))
        return fetch_imagenet(fx.variant, include_top=True)
    return Path(fx.weights)


def pooled_shape(fx) -> tuple[int, int, int]:
    """The (h, w, c) of fx's last pool, which the classifier flattens (7×7×512 at 224 px)."""
    from vggviz.plan.accounting import summarize

    return summarize(fx.variant, stem=fx.stem, input_shape=(fx.size, fx.size, 3),
                     include_top=False).component("group5").output_shape


def weights_problem(fx) -> str | None:
    """Why fx's kind of weights gives no answer whatever the files hold: random weights, or an
    ImageNet top that cannot take this variant, stem or size; None otherwise."""
    if fx.weights == "random":
        return "the weights are random, never trained on any classes"
    if fx.weights == "imagenet":
        return imagenet_top_problem(fx.variant, fx.stem, fx.size)
    return None


def fit_problem(what: str, rows: int, fx) -> str | None:
    """Why `what` (a classifier taking `rows` values) does not fit fx's last pool; None if it
    does."""
    h, w, c = pooled_shape(fx)
    if rows == h * w * c:
        return None
    return (f"{what} takes {rows:,} values, but {fx.variant} with the {fx.stem} stem at "
            f"{fx.size} px gives {h}×{w}×{c} = {h * w * c:,} from its last pool")


def head_problem(layers: dict, name: str, fx) -> str | None:
    """Why the layers of weights file `name` (by layer name, as `weight_datasets` gives them)
    hold no fc classifier for fx's input; None when they hold one that fits."""
    missing = [layer for layer in HEAD if len(layers.get(layer, [])) != 2]
    if missing == ["fc1", "fc2"]:
        return (f"{name} holds the GAP classifier (avg_pool, predictions); predictions here run "
                f"the paper's fc head (fc1, fc2, predictions)")
    if missing:
        return f"{name} has no classifier: it was saved without the top ({', '.join(missing)})"
    return fit_problem(f"{name}'s classifier", layers["fc1"][0].shape[0], fx)


def _extract(source: Path, entry: Path, fx) -> None:
    """Copy the head's arrays from `source` into `entry`, the manifest last."""
    with weight_datasets(source, variant=fx.variant, stem=fx.stem) as layers:
        problem = head_problem(layers, source.name, fx)
        if problem:
            raise NoClassifier(problem)
        manifest = {}
        for name in HEAD:
            for part, dataset in zip(("kernel", "bias"), layers[name], strict=True):
                path = entry / f"{name}_{part}.npy"
                _copy_npy(dataset, path)
                manifest[path.name] = {"shape": list(dataset.shape), "bytes": path.stat().st_size,
                                       "crc32": _crc(path)}
    write_atomic(entry / "manifest.json", lambda fh: fh.write(json.dumps(manifest).encode()))


def _intact(entry: Path) -> bool:
    """Whether every file of the entry is there with the size and CRC-32 its manifest says."""
    try:
        manifest = json.loads((entry / "manifest.json").read_text())
        return sorted(manifest) == sorted(_entry_files()) and all(
            (entry / name).stat().st_size == m["bytes"] and _crc(entry / name) == m["crc32"]
            for name, m in manifest.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _stamp(entry: Path) -> tuple:
    """What changes when an entry's files are replaced or damaged (inode, size, mtime)."""
    try:
        return tuple((st.st_ino, st.st_size, st.st_mtime_ns) for st in
                     (os.stat(entry / name) for name in ["manifest.json", *_entry_files()]))
    except OSError:
        return ()


_OPEN: dict[str, tuple[tuple, SharedClassifier]] = {}


@dataclasses.dataclass(frozen=True, eq=False)
class SharedClassifier:
    """The fc head's arrays, mapped read-only from the disk cache (shared by every process)."""

    entry: Path
    arrays: dict[str, np.ndarray]
    extracted: bool = False
    """Whether this process copied the arrays out of the weights file (False: found cached)."""

    @classmethod
    def for_extractor(cls, fx, *, download: bool = False) -> SharedClassifier:
        """The classifier of `fx`'s weights, from the cache or extracted into it first.

        `download=True` lets ImageNet's top file (553 MB for VGG16) be fetched if Keras' cache
        lacks it. Raises NoClassifier saying why there is no answer (random weights, a file
        without the top, a size whose last pool does not fit, ImageNet's file not here).
        """
        problem = weights_problem(fx)
        if problem:
            raise NoClassifier(problem)
        entries = cache_dirs("classifier", weights_digest(fx.weights, fx.variant, seed=fx.seed,
                                                          include_top=True))
        entry = entries[0]
        for candidate in entries[1:]:  # a read-only cache's whole entry (a teacher's) first
            opened = _OPEN.get(str(candidate))
            if (opened and opened[0] == _stamp(candidate)) or _intact(candidate):
                entry = candidate
                break
        known = _OPEN.get(str(entry))
        head = None
        if known and known[0] and known[0] == _stamp(entry):
            head = dataclasses.replace(known[1], extracted=False)
        else:
            head = cls._open(fx, entry, download)
            _OPEN[str(entry)] = (_stamp(entry), head)
        problem = fit_problem("this classifier", head.arrays["fc1_kernel"].shape[0], fx)
        if problem:
            raise NoClassifier(problem)
        return head

    @classmethod
    def _open(cls, fx, entry: Path, download: bool) -> SharedClassifier:
        """Map the entry's arrays, extracting them first unless they are there intact."""
        extracted = False
        if not _intact(entry):
            with FileLock(str(entry) + ".lock"):
                if not _intact(entry):  # another process may have written it meanwhile
                    (entry / "manifest.json").unlink(missing_ok=True)
                    try:
                        _extract(_source(fx, download), entry, fx)
                    except WeightsMismatch as exc:
                        raise NoClassifier(str(exc)) from None
                    extracted = True
        arrays = {name.removesuffix(".npy"): np.load(entry / name, mmap_mode="r")
                  for name in _entry_files()}
        return cls(entry, arrays, extracted)

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
