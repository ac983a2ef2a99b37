"""How vggviz writes a file that other processes and other users read: whole or not at all, and
with the permissions the umask gives, as Keras' own cache does.

Every file vggviz keeps (weights downloads, the classifier's arrays, patterns) goes through a
temporary file beside its target, renamed onto it once complete. The temporary file is created
with mode 0o666, which the kernel narrows by the umask (and a folder's default ACL), so under
the usual umask 022 a teacher's cache is readable by every student on the machine; folders are
created likewise from 0o777. `tempfile.mkstemp` would give 0600: a file only its writer reads.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o666
"""Mode a new file is created with, before the umask (as `open(path, "w")` does)."""


def make_folder(path: str | os.PathLike) -> Path:
    """Create `path` and its missing parents, each 0o777 less the umask; the folder."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_temp(folder: Path, prefix: str) -> tuple[int, Path]:
    """A new, empty file `<prefix><random>.part` in `folder`, opened for writing: its descriptor
    and path. Created exclusively, with FILE_MODE less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = Path(folder) / f"{prefix}{secrets.token_hex(6)}.part"
        try:
            return os.open(path, flags, FILE_MODE), path
        except FileExistsError:  # another writer drew the same name: draw again
            continue


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write `path` through `write(file)` into a temporary file beside it, then rename: another
    process sees the whole entry or none, a failed write leaves nothing behind, and the file
    is readable by whom the umask allows (not only its writer)."""
    path = Path(path)
    make_folder(path.parent)
    fd, tmp = open_temp(path.parent, f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
