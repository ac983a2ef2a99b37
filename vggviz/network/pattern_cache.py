"""Activation-maximisation patterns on disk, shared by every kernel of a server.

An entry is one file per map: a one-line JSON header (shape, dtype, the activations before and
after, a blake2b digest of the pixels) and the raw RGB bytes. It is written atomically, so two
kernels writing the same entry are safe, and checked when read: a damaged entry reads as missing
(the caller recomputes and rewrites it) and is never shown. No TensorFlow here, so a page can
show what is ready at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vggviz.sources.disk_cache import cache_dirs
from vggviz.sources.shared_files import write_atomic

FORMAT = 1
"""Version of the entry layout and of the optimisation behind it (in every key)."""


@dataclass(frozen=True)
class Entry:
    """What an entry holds: RGB pixels and the target activation before and after."""

    pixels: np.ndarray
    start: float
    end: float


def entry_folders(weights_id: str, variant: str, stem: str, stage: str, layer: str, size: int,
                  settings_key: str) -> tuple[Path, ...]:
    """The folders of one stage's patterns (keyed by everything that determines a pattern but
    its map): the one written to, then those of read-only caches (`cache_dirs`)."""
    return tuple(cache_dirs("patterns", f"v{FORMAT}", weights_id, variant, stem,
                            f"{stage}-{layer}-{size}px", settings_key))


def entry_path(folder: Path, channel: int) -> Path:
    """The file of map `channel` in `folder`."""
    return folder / f"{int(channel)}.pattern"


def _digest(pixels: np.ndarray) -> str:
    return hashlib.blake2b(pixels.tobytes(), digest_size=16).hexdigest()


def write_entry(path: Path, entry: Entry) -> Path:
    """Write `entry` to `path` atomically (a reader sees all of it or nothing)."""
    pixels = np.ascontiguousarray(entry.pixels, np.uint8)
    header = {"shape": list(pixels.shape), "dtype": "uint8", "start": float(entry.start),
              "end": float(entry.end), "blake2b": _digest(pixels)}

    def write(fh) -> None:
        fh.write(json.dumps(header).encode() + b"\n")
        fh.write(pixels.tobytes())

    return write_atomic(path, write)


def read_entry(path: Path, size: int) -> Entry | None:
    """The entry at `path` if it is whole and right (a size×size×3 uint8 image whose digest
    matches); None when it is missing or damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head, sep, body = data.partition(b"\n")
    try:
        header = json.loads(head)
        shape = tuple(header["shape"])
        start, end, digest = float(header["start"]), float(header["end"]), header["blake2b"]
        ok = sep and header["dtype"] == "uint8" and shape == (size, size, 3)
    except (ValueError, KeyError, TypeError):
        return None
    if not ok or len(body) != size * size * 3:
        return None
    pixels = np.frombuffer(body, np.uint8).reshape(shape)
    if _digest(pixels) != digest:
        return None
    return Entry(pixels, start, end)
