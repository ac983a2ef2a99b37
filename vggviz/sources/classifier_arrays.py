"""The paper's classifier's arrays (fc1, fc2, predictions: 123.6 M numbers, 494 MB for VGG16)
copied once out of a weights file into vggviz's disk cache and mapped read-only, so every kernel
of a server shares one copy through the page cache instead of holding its own in TensorFlow.

The copy is made in chunks, keyed by the weights' digest, under a file lock, each file written
whole or not at all and checked against a manifest of sizes and CRC-32s; a read-only cache's
whole entry (a teacher's) is used before the writable one.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
from filelock import FileLock

from vggviz.sources.classifier_problems import (
    HEAD,
    NoClassifier,
    head_problem,
    imagenet_missing,
    weights_problem,
)
from vggviz.sources.disk_cache import cache_dirs, cache_problem, weights_digest
from vggviz.sources.imagenet import fetch_imagenet, imagenet_cached, imagenet_path
from vggviz.sources.shared_files import make_folder, write_atomic
from vggviz.sources.weight_files import WeightsMismatch, unreadable, weight_datasets

CHUNK_VALUES = 2**22
"""Values copied at a time from the weights file (16 MB of float32)."""


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


def _source(fx, download: bool) -> Path:
    """The weights file holding fx's classifier: ImageNet's top file, or fx's own file."""
    if fx.weights == "imagenet":
        if not download and not imagenet_cached(fx.variant, include_top=True):
            raise NoClassifier(imagenet_missing(fx.variant))
        return fetch_imagenet(fx.variant, include_top=True)
    return Path(fx.weights)


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


class HeadArrays(NamedTuple):
    """The head's arrays mapped from one cache entry, and whether this call copied them there."""

    entry: Path
    arrays: dict[str, np.ndarray]
    extracted: bool


_OPEN: dict[str, tuple[tuple, HeadArrays]] = {}


def head_arrays(fx, *, download: bool = False) -> HeadArrays:
    """The classifier arrays of `fx`'s weights, mapped from the cache or copied into it first.

    `download=True` lets ImageNet's top file (553 MB for VGG16) be fetched if Keras' cache lacks
    it. Raises NoClassifier saying why there is no answer (random weights, a file without the
    top, ImageNet's file not here, a cache that cannot be written).
    """
    problem = weights_problem(fx)
    if problem:
        raise NoClassifier(problem)
    try:
        key = weights_digest(fx.weights, fx.variant, seed=fx.seed, include_top=True)
    except PermissionError:
        source = imagenet_path(fx.variant, True) if fx.weights == "imagenet" else fx.weights
        raise NoClassifier(str(unreadable(source))) from None
    entries = cache_dirs("classifier", key)
    entry = entries[0]
    for candidate in entries[1:]:  # a read-only cache's whole entry (a teacher's) first
        opened = _OPEN.get(str(candidate))
        if (opened and opened[0] == _stamp(candidate)) or _intact(candidate):
            entry = candidate
            break
    known = _OPEN.get(str(entry))
    if known and known[0] and known[0] == _stamp(entry):
        return known[1]._replace(extracted=False)
    head = _open(fx, entry, download)
    _OPEN[str(entry)] = (_stamp(entry), head)
    return head


def _open(fx, entry: Path, download: bool) -> HeadArrays:
    """Map the entry's arrays, extracting them first unless they are there intact."""
    extracted = False
    if not _intact(entry):
        problem = cache_problem(entry)
        if problem:
            raise NoClassifier(f"the classifier's arrays cannot be extracted: {problem}")
        make_folder(entry)
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
    return HeadArrays(entry, arrays, extracted)
