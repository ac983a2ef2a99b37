"""The on-disk cache that every kernel of a server shares: where it is, how an entry is written
so that a reader never sees half of it, and the digest that keys entries by the weights."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from vggviz.sources.imagenet import imagenet_md5, keras_home

CACHE_SETTING = "VGGVIZ_CACHE"
"""vggviz's cache folder; by default `vggviz/` in Keras' home, beside its weights. Folders after
the first (joined by os.pathsep, ':' on Linux) are read, never written: a cache a teacher filled
before class, say, shared read-only with every student's server."""


def cache_dirs(*parts: str) -> list[Path]:
    """Where an entry may be: the (sub)folder of the cache vggviz writes to, created if needed
    ($VGGVIZ_CACHE's first folder, else $KERAS_HOME/vggviz), then those of the read-only
    caches listed after it that exist."""
    roots = [Path(p.strip()).expanduser()
             for p in os.environ.get(CACHE_SETTING, "").split(os.pathsep) if p.strip()]
    roots = roots or [keras_home() / "vggviz"]
    first = roots[0].joinpath(*parts)
    first.mkdir(parents=True, exist_ok=True)
    return [first] + [r.joinpath(*parts) for r in roots[1:] if r.joinpath(*parts).is_dir()]


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write `path` through `write(file)` into a temporary file beside it, then rename: another
    process sees the whole entry or none, and a failed write leaves nothing behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@functools.lru_cache(maxsize=32)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(2**22):
            h.update(chunk)
    return h.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """A digest of a file's bytes, worked out once per (path, size, modification time)."""
    st = os.stat(path)
    return _file_digest(os.path.abspath(path), st.st_size, st.st_mtime_ns)


def weights_digest(weights: str | os.PathLike, variant: str, *, seed: int = 0,
                   include_top: bool = False) -> str:
    """What names a set of weights in a cache key: Keras' published md5 for ImageNet (no
    hashing of the file), the variant and seed for random weights, a digest of a file's bytes."""
    if weights == "imagenet":
        return f"imagenet-{imagenet_md5(variant, include_top)}"
    if weights == "random":
        return f"random-{variant}-seed{int(seed)}"
    return f"file-{file_digest(weights)}"
