"""The on-disk cache that every kernel of a server shares: where it is, why it cannot be written
(in words), and the digest that keys entries by the weights. Entries are written with
`vggviz.sources.shared_files.write_atomic`: whole or not at all, readable by other users."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from vggviz.sources.downloads import file_md5
from vggviz.sources.imagenet import imagenet_md5, imagenet_path, keras_home

CACHE_SETTING = "VGGVIZ_CACHE"
"""vggviz's cache folder; by default `vggviz/` in Keras' home, beside its weights. Folders after
the first (joined by os.pathsep, ':' on Linux) are read, never written: a cache a teacher filled
before class, say, shared read-only with every student's server."""


def cache_dirs(*parts: str) -> list[Path]:
    """Where an entry may be: the (sub)folder of the cache vggviz writes to ($VGGVIZ_CACHE's
    first folder, else $KERAS_HOME/vggviz), then those of the read-only caches listed after it
    that exist. Nothing is created here: a cache that cannot be written is still read, and
    `cache_problem` says why what is computed cannot be kept."""
    roots = [Path(p.strip()).expanduser()
             for p in os.environ.get(CACHE_SETTING, "").split(os.pathsep) if p.strip()]
    roots = roots or [keras_home() / "vggviz"]
    first = roots[0].joinpath(*parts)
    return [first] + [r.joinpath(*parts) for r in roots[1:] if r.joinpath(*parts).is_dir()]


def cache_problem(folder: str | os.PathLike) -> str | None:
    """Why this user cannot write into `folder` (created as needed), in words with what to do;
    None when it can."""
    folder = Path(folder)
    existing = folder
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        why = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        why = f"{existing} cannot be written by this user (permission denied)"
    else:
        return None
    return (f"vggviz's cache cannot be written here: {why}; set {CACHE_SETTING} to a folder this "
            f"user can write, before any read-only ones (e.g. "
            f"{CACHE_SETTING}=~/.cache/vggviz{os.pathsep}{keras_home() / 'vggviz'})")


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
    """What names a set of weights in a cache key: for ImageNet, the md5 of the file in Keras'
    cache as checked (once per path, inode, size and modification time: a file placed by hand
    under ImageNet's name is keyed by what it holds, not by its name; a file not there yet by
    Keras' published md5, which its download checks before keeping it); the variant and seed
    for random weights; a digest of a file's bytes. OSError if the file cannot be read."""
    if weights == "imagenet":
        path = imagenet_path(variant, include_top)
        md5 = file_md5(path) if path.is_file() else imagenet_md5(variant, include_top)
        return f"imagenet-{md5}"
    if weights == "random":
        return f"random-{variant}-seed{int(seed)}"
    return f"file-{file_digest(weights)}"
