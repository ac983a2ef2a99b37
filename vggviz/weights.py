"""Weight sources: ImageNet (downloaded into Keras' cache), random (seeded), or a file.

ImageNet weights come from Keras' URL, or from a mirror or folder named by VGGVIZ_WEIGHTS_URL,
through the proxies the environment names; they are K. Simonyan and A. Zisserman's (Oxford VGG),
published under CC BY 4.0 (`IMAGENET_CREDIT`).

Files load by layer name, so a prefix model (the stem alone, groups 1..k) takes only the
layers it has, and a file that does not fit the variant is refused with the layers named.
A damaged file (or one that is not Keras weights) is refused in one line naming it.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
import zipfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

import h5py
import numpy as np

from vggviz.architecture import get_stem, get_variant, layer_plan
from vggviz.downloads import (
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
_KERAS3_KINDS = {"conv2d": "conv", "dense": "dense", "batch_normalization": "bn"}

T = TypeVar("T")


class WeightsUnavailable(RuntimeError):
    """ImageNet weights cannot be had here (no such weights, or not cached and offline)."""


class WeightsMismatch(ValueError):
    """A weights file does not fit the model; the message names the layers."""


class WeightsFileDamaged(WeightsMismatch):
    """A weights file cannot be read as Keras weights (damaged, truncated, another format).

    The message is one line: "<file> is damaged or not a Keras weights file (<what is
    wrong>); <what to do>". A WeightsMismatch, so handlers of that catch it too.
    """


class _Damage(Exception):
    """What is wrong inside a file, in words; `read_weights` turns it into WeightsFileDamaged."""

    def __init__(self, what: str, *, advice: str | None = None):
        super().__init__(what)
        self.advice = advice


def imagenet_supported(variant: str, stem: str = "vgg", channels: int = 3) -> bool:
    """Whether Keras publishes ImageNet weights for this variant and stem (VGG16/19, RGB)."""
    return get_variant(variant).imagenet and stem in ("vgg", "pooled") and channels == 3


def _keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path("~", ".keras"))).expanduser()


def imagenet_path(variant: str, include_top: bool = False) -> Path:
    """Where Keras' cache keeps the ImageNet weights file (whether or not it is there)."""
    fname, _ = _IMAGENET_FILES[(variant, include_top)]
    return _keras_home() / "models" / fname


def imagenet_cached(variant: str, include_top: bool = False) -> bool:
    """Whether the ImageNet weights are already in Keras' cache: no network needed."""
    return (variant, include_top) in _IMAGENET_FILES and imagenet_path(variant,
                                                                        include_top).is_file()


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
    every process using the cache (see `vggviz.downloads.download`, which also explains
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


# Errors h5py (which maps HDF5's own), numpy and zipfile raise on malformed content.
_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError,
                RuntimeError, EOFError, NotImplementedError)


def _names(obj: h5py.Group, attr: str, label: str) -> list[str] | None:
    """A list-of-names attribute (`layer_names`, `weight_names`), also when Keras 2 split it
    into `attr0`, `attr1`… past HDF5's 64 kB header limit; None when it is absent."""
    if attr in obj.attrs:
        chunks = [obj.attrs[attr]]
    elif f"{attr}0" in obj.attrs:
        chunks = []
        while f"{attr}{len(chunks)}" in obj.attrs:
            chunks.append(obj.attrs[f"{attr}{len(chunks)}"])
    else:
        return None
    names = []
    for value in chunks:
        if isinstance(value, str | bytes):
            raise _Damage(f"{label} is a single string, not a list of names")
        if not isinstance(value, np.ndarray) or (value.ndim != 1 and value.size):
            raise _Damage(f"{label} is not a list of names")
        for name in value:
            try:
                name = name.decode() if isinstance(name, bytes) else name
            except UnicodeDecodeError:
                raise _Damage(f"{label} holds a name that is not UTF-8") from None
            if not isinstance(name, str) or not name:
                raise _Damage(f"{label} holds {name!r}, not a name")
            names.append(name)
    return names


def _array(parent: h5py.Group, key: str, label: str) -> np.ndarray:
    """The numbers of dataset `key`, refused unless it is a dataset of numbers."""
    obj = parent.get(key)
    if not isinstance(obj, h5py.Dataset):
        raise _Damage(f"{label} is missing" if obj is None else f"{label} is not a dataset")
    if obj.dtype.kind not in "fiu":
        raise _Damage(f"{label} holds {obj.dtype} values, not numbers")
    return np.asarray(obj[()])


def _vars(layer: h5py.Group, label: str) -> list[np.ndarray]:
    """A Keras 3 layer's arrays in order: `vars/0`, `vars/1`… ([] if it has no `vars`)."""
    if "vars" not in layer:
        return []
    group = layer["vars"]
    if not isinstance(group, h5py.Group):
        raise _Damage(f"{label}/vars is not a group")
    keys = sorted(group)
    if keys != sorted(str(i) for i in range(len(keys))):
        raise _Damage(f"{label}/vars holds {', '.join(keys[:4])}{'…' if len(keys) > 4 else ''}, "
                      f"not weights numbered 0, 1…")
    return [_array(group, str(i), f"{label}/vars/{i}") for i in range(len(keys))]


def _is_legacy(f: h5py.File) -> bool:
    return "layer_names" in f.attrs or "layer_names0" in f.attrs or "model_weights" in f


def _read_legacy_h5(f: h5py.File) -> dict[str, list[np.ndarray]]:
    """Keras 2 layout (ImageNet files): `layer_names` and per-layer `weight_names` attributes.

    Every listed layer is read and checked, also those a prefix model does not take: a file
    damaged anywhere is refused, not half used. A layer without weights maps to [].
    """
    root = f
    if "layer_names" not in f.attrs and "layer_names0" not in f.attrs:  # Keras 2 model.save
        root = f["model_weights"]
        if not isinstance(root, h5py.Group):
            raise _Damage("model_weights is not a group")
    layer_names = _names(root, "layer_names", "layer_names")
    if layer_names is None:
        raise _Damage("model_weights has no layer_names attribute")
    out = {}
    for name in layer_names:
        group = root.get(name)
        if not isinstance(group, h5py.Group):
            raise _Damage(f"layer_names lists {name}, but the file has no such group")
        weight_names = _names(group, "weight_names", f"weight_names of {name}") or []
        out[name] = [_array(group, w, f"weight {w} of {name}") for w in weight_names]
    return out


def _read_keras3_h5(f: h5py.File, variant: str, stem: str,
                    fname: str) -> dict[str, list[np.ndarray]]:
    """Keras 3 layout: layers are keyed by class (`conv2d_3`); match them to the plan in order."""
    layers = f["layers"]
    if not isinstance(layers, h5py.Group):
        raise _Damage("layers is not a group")
    found: dict[str, list[tuple[int, list[np.ndarray]]]] = {}
    for key in layers:
        layer = layers[key]
        if not isinstance(layer, h5py.Group):
            raise _Damage(f"layers/{key} is not a group")
        arrays = _vars(layer, f"layers/{key}")
        m = re.fullmatch(r"(.+?)(?:_(\d+))?", key)
        kind = _KERAS3_KINDS.get(m.group(1)) if m else None
        if kind and arrays:
            found.setdefault(kind, []).append((int(m.group(2) or 0), arrays))
    dense = len(found.get("dense", ()))  # 3: the paper's fc head; 1: the GAP head
    plan = layer_plan(variant, stem=stem, include_top=dense > 0,
                      classifier="gap" if dense == 1 else "fc")
    out = {}
    for kind, entries in found.items():
        names = [spec.name for spec in plan if spec.kind == kind]
        if len(names) != len(entries):
            raise WeightsMismatch(f"{fname} does not fit {variant} with the {stem} stem: the file "
                                  f"has {len(entries)} {kind} layers; {variant} with the {stem} "
                                  f"stem has {len(names)}")
        ordered = [arrays for _, arrays in sorted(entries, key=lambda e: e[0])]
        out.update(zip(names, ordered, strict=True))
    return out


def _read_keras_archive(path: Path) -> dict[str, list[np.ndarray]]:
    """A `.keras` archive (`model.save`): Keras rebuilds the model; its layers are read by name."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
    except (zipfile.BadZipFile, *_READ_ERRORS) as exc:
        raise _Damage(f"unreadable zip archive: {exc}") from None
    if "config.json" not in members:
        raise _Damage("a zip archive without config.json")
    if not members & {"model.weights.h5", "model.weights.npz"}:
        raise _Damage("a zip archive without model.weights.h5")
    import keras

    import vggviz.layers  # noqa: F401  (registers the LRN layer for deserialisation)

    with warnings.catch_warnings(record=True) as said:  # Keras warns before it fails
        warnings.simplefilter("always")
        try:
            model = keras.saving.load_model(path, compile=False)
        except Exception as exc:  # noqa: BLE001  (Keras raises anything, up to a bare Exception)
            raise _Damage(f"Keras cannot load it: {type(exc).__name__}: {exc}") from None
    for w in said:  # it loaded: what Keras said may matter
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return {layer.name: layer.get_weights() for layer in model.layers}


def _read_file(path: Path, variant: str, stem: str) -> dict[str, list[np.ndarray]]:
    if path.is_dir():
        raise _Damage("it is a directory")
    if not path.is_file():
        raise _Damage("it is not a regular file")
    with open(path, "rb") as fh:  # a PermissionError names the file itself
        if not fh.read(1):
            raise _Damage("the file is empty")
    if path.suffix == ".keras" and zipfile.is_zipfile(path):
        return _read_keras_archive(path)
    if not h5py.is_hdf5(path):
        if zipfile.is_zipfile(path):
            raise _Damage("a zip archive, which Keras reads only when named .keras",
                          advice="rename it to end in .keras")
        raise _Damage("neither an HDF5 file nor a .keras archive")
    try:
        with h5py.File(path, "r") as f:
            if _is_legacy(f):
                return _read_legacy_h5(f)
            if "layers" in f:
                return _read_keras3_h5(f, variant, stem, path.name)
    except (WeightsMismatch, _Damage):
        raise
    except _READ_ERRORS as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise _Damage(f"HDF5: {text}") from None
    raise _Damage("an HDF5 file without Keras layers")


def _in_keras_cache(path: Path) -> bool:
    """Whether `path` lies in Keras' download cache (`$KERAS_HOME/models`, ~/.keras/models)."""
    caches = {_keras_home() / "models", Path("~", ".keras", "models").expanduser()}
    try:
        return path.resolve().parent in {cache.resolve() for cache in caches}
    except OSError:
        return False


def read_weights(path: str | os.PathLike, *, variant: str = "vgg16",
                 stem: str = "vgg") -> dict[str, list[np.ndarray]]:
    """Arrays of every layer in a Keras weights file (`.weights.h5`, legacy `.h5`, `.keras`),
    by layer name; a layer without weights maps to [].

    Raises FileNotFoundError (no such file), WeightsFileDamaged (not readable as Keras weights;
    one line: the file, what is wrong, what to do) or WeightsMismatch (a Keras 3 file whose
    layers do not match the variant's).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        return _read_file(path, variant, stem)
    except _Damage as exc:
        what = " ".join(str(exc).split())
        what = what if len(what) <= 200 else what[:199] + "…"
        if exc.advice:
            advice = exc.advice
        elif _in_keras_cache(path):
            advice = f"delete {path} so Keras downloads it again"
        else:
            advice = "save the weights again with model.save_weights"
        raise WeightsFileDamaged(f"{path.name} is damaged or not a Keras weights file ({what}); "
                                 f"{advice}") from None


def load_weights(model, weights: str | os.PathLike, *, variant: str = "vgg16",
                 stem: str = "vgg") -> None:
    """Set `model`'s weights by layer name from "imagenet" or a file (extra layers are skipped).

    Nothing is set unless every layer of the model with weights finds arrays of its shapes.
    Raises FileNotFoundError, WeightsMismatch or WeightsFileDamaged (see `read_weights`), or
    WeightsUnavailable for ImageNet weights that cannot be had.
    """
    if weights == "imagenet":
        channels = model.input.shape[-1]
        if not imagenet_supported(variant, stem, channels):
            raise WeightsUnavailable(
                f"no ImageNet weights for {variant} with the {stem} stem and {channels} input "
                f"channel(s): Keras publishes them for vgg16 and vgg19 on RGB input only")
        has_top = any(layer.name == "fc1" for layer in model.layers)
        weights = fetch_imagenet(variant, include_top=has_top)
    shapes = {layer.name: [tuple(w.shape) for w in layer.weights]
              for layer in model.layers if layer.weights}
    arrays = read_fitting(weights, shapes, variant=variant, stem=stem)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(arrays[layer.name])


def read_fitting(path: str | os.PathLike, shapes: dict[str, list[tuple[int, ...]]], *,
                 variant: str = "vgg16", stem: str = "vgg") -> dict[str, list[np.ndarray]]:
    """The arrays of the layers in `shapes` (layer name → its weights' shapes) from a weights
    file, all of them present with those shapes, or WeightsMismatch naming what does not fit
    (and the errors of `read_weights`); the file's other layers are left out."""
    arrays = read_weights(path, variant=variant, stem=stem)
    missing, mismatched = [], []
    for name, want in shapes.items():
        if name not in arrays:
            missing.append(name)
            continue
        have = [tuple(a.shape) for a in arrays[name]]
        if have != want:
            mismatched.append(f"{name} (file {have}, model {want})")
    if missing or mismatched:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + mismatched
        raise WeightsMismatch(f"{Path(path).name} does not fit {variant} with the {stem} "
                              f"stem: {'; '.join(problems)}")
    return {name: arrays[name] for name in shapes}


# --- policy: which weights a view gets, and how that reads in words ---------------------------


def resolve_weights(requested: str | os.PathLike, variant: str = "vgg16", stem: str = "vgg", *,
                    download: bool = True) -> tuple[str | os.PathLike, str | None]:
    """Turn "auto" into "imagenet" where those weights can be had, else "random" plus a notice.

    With `download=False` only Keras' cache is consulted (instant: for opening a dashboard).
    Other requests are returned as they are, with no notice.
    """
    if requested != "auto":
        return requested, None
    if imagenet_supported(variant, stem):
        if imagenet_cached(variant):
            return "imagenet", None
        if download:
            try:
                fetch_imagenet(variant)
                return "imagenet", None
            except WeightsUnavailable as exc:
                return "random", f"{exc}: showing randomly initialised filters"
        return "random", ("ImageNet weights are not downloaded yet: showing randomly "
                          "initialised filters")
    return "random", (f"Keras has no ImageNet weights for {variant} with the {stem} stem: "
                      f"showing randomly initialised filters")


def initial_weights(variant: str = "vgg16") -> str:
    """ImageNet when Keras' cache holds it, else random: opening never waits on a download."""
    return "imagenet" if imagenet_cached(variant) else "random"


def with_fallback(load: Callable[[str | os.PathLike], T],
                  weights: str | os.PathLike) -> tuple[T, str | None]:
    """`load(weights)`; if trained weights cannot be had or their file is damaged, `load("random")`
    and the reason in words, so a view always opens."""
    try:
        return load(weights), None
    except (WeightsUnavailable, WeightsMismatch) as exc:
        if weights == "random":
            raise
        return load("random"), f"{exc}: showing randomly initialised filters"


def weights_label(weights: str | os.PathLike, seed: int = 0) -> str:
    """How the weights read in a status line: "ImageNet", "random (seed 0)" or the file name."""
    if weights == "imagenet":
        return "ImageNet"
    if weights == "random":
        return f"random (seed {seed})"
    return Path(weights).name


def weights_notice(weights: str | os.PathLike, variant: str, stem: str = "vgg", seed: int = 0,
                   reason: str | None = None) -> str | None:
    """Why the maps come from random filters, in words (`reason` if a fallback gave one); None
    when the weights are trained."""
    if weights != "random":
        return None
    if reason:
        return reason
    if not imagenet_supported(variant, stem):
        return (f"Keras publishes ImageNet weights for VGG16 and VGG19 with the VGG or pooled "
                f"stem only: showing randomly initialised filters (seed {seed})")
    if not imagenet_cached(variant):
        return ("ImageNet weights are not downloaded yet: showing randomly initialised filters "
                "(`vggviz fetch-weights` or the stem explorer downloads them, 58 MB)")
    return f"Showing randomly initialised filters (seed {seed}); ImageNet has trained ones."


def weights_credit(weights: str | os.PathLike) -> str | None:
    """The credit to show beside maps made with `weights` (ImageNet's authors); else None."""
    return IMAGENET_CREDIT if weights == "imagenet" else None


def imagenet_top_problem(variant: str, stem: str = "vgg", size: int = 224) -> str | None:
    """Why Keras' ImageNet classifier cannot run on this model, in words; None when it can.

    Its fc1 was trained on the 7×7×512 values of the last pool, so only inputs that pool down
    to 7×7 fit: 224–255 px with the VGG stem, 448–511 px with the pooled one.
    """
    from vggviz.accounting import summarize

    if not imagenet_supported(variant, stem):
        return (f"Keras publishes ImageNet weights for vgg16 and vgg19 with the VGG or pooled "
                f"stem only, not {variant} with the {stem} stem")

    def last_pool(n: int) -> tuple[int, ...]:
        return summarize(variant, stem=stem, input_shape=(n, n, 3),
                         include_top=False).component("group5").output_shape

    h, w, c = last_pool(size)
    if (h, w) == (7, 7):
        return None
    fits = [n for n in range(get_stem(stem).min_input, 1025) if last_pool(n)[:2] == (7, 7)]
    return (f"Keras' ImageNet classifier takes the 7×7×512 values of the last pool; {variant} "
            f"with the {stem} stem at {size} px gives {h}×{w}×{c}: use an input of "
            f"{fits[0]}–{fits[-1]} px")
