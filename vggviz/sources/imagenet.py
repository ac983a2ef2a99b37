"""ImageNet weights: Keras' published files (names, md5, URL or a classroom mirror), their
place in Keras' cache, the download, and the credit their licence (CC BY 4.0) asks for."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from vggviz.plan.architecture import get_variant
from vggviz.sources.downloads import (
    DownloadCancelled,
    DownloadError,
    ProgressCallback,
    download,
    terminal_progress,
)

WEIGHTS_URL_SETTING = "VGGVIZ_WEIGHTS_URL"
"""A classroom mirror of the ImageNet files: a base URL or a local folder with Keras' names."""
_IMAGENET_URL = "https://storage.googleapis.com/tensorflow/keras-applications/{variant}/{fname}"
_IMAGENET_FILES = {  # (variant, include_top): (file name, md5) as in keras.applications
    ("vgg16", True): ("vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                      "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16", False): ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                       "6d6bbae143d832006294945121d1f1fc"),
    ("vgg19", True): ("vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                      "cbe5617147190e668d6c5d5026f83318"),
    ("vgg19", False): ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                       "253f8cb515780f3b799900260a226db6"),
}
IMAGENET_CREDIT = ("ImageNet weights: K. Simonyan & A. Zisserman (Visual Geometry Group, Oxford), "
                   "\"Very Deep Convolutional Networks for Large-Scale Image Recognition\", "
                   "arXiv:1409.1556 (2014); CC BY 4.0, via Keras")
"""The credit the VGG weights' licence (CC BY 4.0) asks for, with the paper they come from."""

class WeightsUnavailable(RuntimeError):
    """ImageNet weights cannot be had here (no such weights, or not cached and offline)."""


def imagenet_supported(variant: str, stem: str = "vgg", channels: int = 3) -> bool:
    """Whether Keras publishes ImageNet weights for this variant and stem (VGG16/19, RGB)."""
    return get_variant(variant).imagenet and stem in ("vgg", "pooled") and channels == 3


def keras_home() -> Path:
    """Keras' home folder ($KERAS_HOME, else ~/.keras): its cache is models/ inside."""
    return Path(os.environ.get("KERAS_HOME", Path("~", ".keras"))).expanduser()


def imagenet_path(variant: str, include_top: bool = False) -> Path:
    """Where Keras' cache keeps the ImageNet weights file (whether or not it is there)."""
    fname, _ = _IMAGENET_FILES[(variant, include_top)]
    return keras_home() / "models" / fname


def imagenet_cached(variant: str, include_top: bool = False) -> bool:
    """Whether the ImageNet weights are already in Keras' cache: no network needed."""
    return (variant, include_top) in _IMAGENET_FILES and imagenet_path(variant,
                                                                        include_top).is_file()


def imagenet_md5(variant: str, include_top: bool = False) -> str:
    """The md5 Keras publishes for the ImageNet weights file (KeyError if there is none)."""
    return _IMAGENET_FILES[(variant, include_top)][1]


def imagenet_url(variant: str, include_top: bool = False) -> str:
    """Where the ImageNet weights file comes from: Keras' published URL, or the mirror that
    `VGGVIZ_WEIGHTS_URL` names (a base URL, or a local folder, holding Keras' file names)."""
    fname, _ = _IMAGENET_FILES[(variant, include_top)]
    mirror = os.environ.get(WEIGHTS_URL_SETTING, "").strip()
    if not mirror:
        return _IMAGENET_URL.format(variant=variant, fname=fname)
    if "://" not in mirror:  # a folder on this machine (or a share mounted on it)
        return Path(mirror).expanduser().resolve().as_uri() + "/" + fname
    return f"{mirror.rstrip('/')}/{fname}"


def fetch_imagenet(variant: str, include_top: bool = False, *, timeout: float = 15.0,
                   progress: ProgressCallback | None = None,
                   waiting: Callable[[], None] | None = None,
                   cancel: threading.Event | None = None) -> Path:
    """Path of the ImageNet weights in Keras' cache, downloaded first if they are not there.

    The download checks Keras' published md5, honours the proxy variables, and is shared by
    every process using the cache (see `vggviz.sources.downloads.download`, which also explains
    `waiting` and `cancel`). `progress` gets the transfer's progress; by default a bar on
    stderr shows it. Raises WeightsUnavailable saying what failed and which file to put where.
    """
    if (variant, include_top) not in _IMAGENET_FILES:
        raise WeightsUnavailable(f"Keras publishes ImageNet weights for vgg16 and vgg19 only, "
                                 f"not {variant}")
    path = imagenet_path(variant, include_top)
    if path.is_file():
        return path
    fname, md5 = _IMAGENET_FILES[(variant, include_top)]
    url = imagenet_url(variant, include_top)
    try:
        with nullcontext(progress) if progress else terminal_progress(fname) as show:
            return download(url, path, md5, timeout=timeout, progress=show, waiting=waiting,
                            cancel=cancel)
    except DownloadCancelled:
        raise WeightsUnavailable(f"the download of {fname} was cancelled; nothing was "
                                 f"kept") from None
    except DownloadError as exc:
        raise WeightsUnavailable(f"ImageNet weights could not be downloaded ({exc}); download "
                                 f"{url} and put it at {path} (or set {WEIGHTS_URL_SETTING} "
                                 f"to a folder or mirror holding it)") from None


