"""Data sets that come as one archive: downloaded as the ImageNet weights are (progress,
proxies, an md5 check, a lock, no half-written file; `downloads.download`), then unpacked whole
or not at all, in Keras' cache with Keras' own layout.

`keras.utils.get_file(fname=NAME, origin=URL, extract=True)` keeps the archive at
`$KERAS_HOME/datasets/NAME_archive` and unpacks it into `$KERAS_HOME/datasets/NAME/`; so does
this module, so a set fetched by either is there for the other. Unpacking goes into a temp
folder beside the target (tarfile's 'data' filter: no path outside it, no device, no link out)
renamed onto it when complete, under a lock, so a second process waits and then reads it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tarfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from vggviz.sources.downloads import (
    DownloadError,
    ProgressCallback,
    _locked,
    download,
    terminal_progress,
)
from vggviz.sources.imagenet import keras_home
from vggviz.sources.shared_files import make_folder

DATA_URL_SETTING = "VGGVIZ_DATA_URL"
"""A classroom mirror of the data sets' archives: a base URL, or a local folder, holding them
under their published names (cifar-10-python.tar.gz, imagenette2-160.tgz)."""


class DataUnavailable(RuntimeError):
    """A data set cannot be had here; the message says in one line why and what to put where."""


def datasets_dir() -> Path:
    """Keras' folder of data sets: `$KERAS_HOME/datasets` (else ~/.keras/datasets)."""
    return keras_home() / "datasets"


def archive_url(url: str) -> str:
    """`url`, or the same file name on the mirror `VGGVIZ_DATA_URL` names."""
    mirror = os.environ.get(DATA_URL_SETTING, "").strip()
    fname = url.rsplit("/", 1)[-1]
    if not mirror:
        return url
    if "://" not in mirror:  # a folder on this machine (or a share mounted on it)
        return Path(mirror).expanduser().resolve().as_uri() + "/" + fname
    return f"{mirror.rstrip('/')}/{fname}"


def unpacked(url: str, md5: str, name: str, what: str, ready: Callable[[Path], bool], *,
             progress: ProgressCallback | None = None, timeout: float = 15.0) -> Path:
    """Keras' folder `datasets/NAME` holding the archive at `url` unpacked, downloaded (md5
    checked; a bar on stderr unless `progress`) and unpacked first unless `ready(folder)`.
    Raises DataUnavailable saying which file to put where."""
    folder = datasets_dir() / name
    if ready(folder):
        return folder
    archive = datasets_dir() / f"{name}_archive"
    url = archive_url(url)
    try:
        with nullcontext(progress) if progress else terminal_progress(what) as show:
            download(url, archive, md5, timeout=timeout, progress=show)
    except DownloadError as exc:
        raise DataUnavailable(f"{what} could not be downloaded ({exc}); download {url} and put "
                              f"it at {archive} (or set {DATA_URL_SETTING} to a folder or mirror "
                              f"holding it)") from None
    try:
        with _locked(folder.with_name(f"{name}.unpack.lock"), None, None):
            if not ready(folder):  # not unpacked by whoever held the lock before us
                _unpack(archive, folder)
    except DownloadError as exc:  # the lock's file cannot be made
        raise DataUnavailable(f"{what} cannot be unpacked: {exc}") from None
    if not ready(folder):
        raise DataUnavailable(f"{archive} is not {what}'s archive (unpacked into {folder}, what "
                              f"was expected is missing); delete both and try again")
    return folder


def _unpack(archive: Path, folder: Path) -> None:
    """Unpack `archive` into `folder` whole or not at all (DataUnavailable saying why)."""
    tmp = make_folder(folder.with_name(f".{folder.name}.{secrets.token_hex(6)}.part"))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        if folder.exists():  # unpacked in part by some other tool: replaced
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except (tarfile.TarError, OSError) as exc:
        raise DataUnavailable(f"{archive} cannot be unpacked ({exc}); delete it and try "
                              f"again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
