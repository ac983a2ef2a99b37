"""Weight sources: ImageNet (Keras' download and cache), random (seeded), or a file.

Files load by layer name, so a prefix model (the stem alone, groups 1..k) takes only the
layers it has, and a file that does not fit the variant is refused with the layers named.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import zipfile
from pathlib import Path

import h5py
import numpy as np

from vggviz.architecture import get_variant, layer_plan

IMAGENET_HOST = "storage.googleapis.com"
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
_KERAS3_KINDS = {"conv2d": "conv", "dense": "dense", "batch_normalization": "bn"}


class WeightsUnavailable(RuntimeError):
    """ImageNet weights cannot be had here (no such weights, or not cached and offline)."""


class WeightsMismatch(ValueError):
    """A weights file does not fit the model; the message names the layers."""


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


def fetch_imagenet(variant: str, include_top: bool = False, *, timeout: float = 3.0) -> Path:
    """Path of the ImageNet weights, downloaded through Keras' cache if needed.

    Offline it fails within `timeout` seconds with `WeightsUnavailable` saying what file to
    put where, instead of hanging on the download.
    """
    if (variant, include_top) not in _IMAGENET_FILES:
        raise WeightsUnavailable(f"Keras publishes ImageNet weights for vgg16 and vgg19 only, "
                                 f"not {variant}")
    path = imagenet_path(variant, include_top)
    if path.is_file():
        return path
    fname, md5 = _IMAGENET_FILES[(variant, include_top)]
    url = _IMAGENET_URL.format(variant=variant, fname=fname)
    advice = f"download {url} and put it at {path}"
    problem = _unreachable(IMAGENET_HOST, timeout)
    if problem:
        raise WeightsUnavailable(f"ImageNet weights are not cached and the network is "
                                 f"unreachable ({problem}); {advice}")
    import keras

    try:
        return Path(keras.utils.get_file(fname, url, cache_subdir="models", file_hash=md5))
    except Exception as exc:  # Keras raises a bare Exception on fetch failure
        raise WeightsUnavailable(f"ImageNet weights could not be downloaded ({exc}); "
                                 f"{advice}") from None


def _unreachable(host: str, timeout: float) -> str | None:
    """Why `host`:443 cannot be reached within `timeout` s (DNS included), or None if it can.

    The probe runs in a daemon thread because a hanging DNS lookup ignores socket timeouts.
    """
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=probe, daemon=True, name="vggviz-network-probe")
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"no answer from {host} within {timeout:g} s"


def _vars(group: h5py.Group) -> list[np.ndarray]:
    return [group[k][()] for k in sorted(group, key=int)]


def _read_legacy_h5(f: h5py.File) -> dict[str, list[np.ndarray]]:
    """Keras 2 layout (ImageNet files): `layer_names` and per-layer `weight_names` attributes."""
    root = f["model_weights"] if "model_weights" in f else f
    out = {}
    for name in root.attrs["layer_names"]:
        name = name.decode() if isinstance(name, bytes) else str(name)
        group = root[name]
        weight_names = [w.decode() if isinstance(w, bytes) else str(w)
                        for w in group.attrs.get("weight_names", [])]
        if weight_names:
            out[name] = [group[w][()] for w in weight_names]
    return out


def _read_keras3_h5(f: h5py.File, variant: str, stem: str) -> dict[str, list[np.ndarray]]:
    """Keras 3 layout: layers are keyed by class (`conv2d_3`); match them to the plan in order."""
    found: dict[str, list[tuple[int, list[np.ndarray]]]] = {}
    for key in f["layers"]:
        m = re.fullmatch(r"(.+?)(?:_(\d+))?", key)
        kind = _KERAS3_KINDS.get(m.group(1)) if m else None
        if kind and "vars" in f["layers"][key] and len(f["layers"][key]["vars"]):
            found.setdefault(kind, []).append((int(m.group(2) or 0),
                                               _vars(f["layers"][key]["vars"])))
    plan = layer_plan(variant, stem=stem, include_top="dense" in found)
    out = {}
    for kind, entries in found.items():
        names = [spec.name for spec in plan if spec.kind == kind]
        if len(names) != len(entries):
            raise WeightsMismatch(f"the file has {len(entries)} {kind} layers; {variant} with the "
                                  f"{stem} stem has {len(names)}")
        ordered = [arrays for _, arrays in sorted(entries, key=lambda e: e[0])]
        out.update(zip(names, ordered, strict=True))
    return out


def _read_keras_archive(path: Path) -> dict[str, list[np.ndarray]]:
    import keras

    import vggviz.models  # noqa: F401  (registers the LRN layer for deserialisation)

    model = keras.saving.load_model(path, compile=False)
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


def read_weights(path: str | os.PathLike, *, variant: str = "vgg16",
                 stem: str = "vgg") -> dict[str, list[np.ndarray]]:
    """Arrays of every layer in a Keras weights file (`.weights.h5`, legacy `.h5`, `.keras`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    if zipfile.is_zipfile(path):
        return _read_keras_archive(path)
    try:
        with h5py.File(path, "r") as f:
            if "layer_names" in f.attrs or "model_weights" in f:
                return _read_legacy_h5(f)
            if "layers" in f:
                return _read_keras3_h5(f, variant, stem)
    except OSError as exc:
        raise WeightsMismatch(f"{path.name} is not a Keras weights file ({exc})") from None
    raise WeightsMismatch(f"{path.name} is not a Keras weights file (no layers found)")


def load_weights(model, weights: str | os.PathLike, *, variant: str = "vgg16",
                 stem: str = "vgg") -> None:
    """Set `model`'s weights by layer name from "imagenet" or a file (extra layers are skipped)."""
    if weights == "imagenet":
        channels = model.input.shape[-1]
        if not imagenet_supported(variant, stem, channels):
            raise WeightsUnavailable(
                f"no ImageNet weights for {variant} with the {stem} stem and {channels} input "
                f"channel(s): Keras publishes them for vgg16 and vgg19 on RGB input only")
        has_top = any(layer.name == "fc1" for layer in model.layers)
        weights = fetch_imagenet(variant, include_top=has_top)
    arrays = read_weights(weights, variant=variant, stem=stem)
    missing, mismatched = [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in arrays:
            missing.append(layer.name)
            continue
        want = [tuple(w.shape) for w in layer.weights]
        have = [tuple(a.shape) for a in arrays[layer.name]]
        if want != have:
            mismatched.append(f"{layer.name} (file {have}, model {want})")
    if missing or mismatched:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + mismatched
        raise WeightsMismatch(f"{Path(weights).name} does not fit {variant} with the {stem} "
                              f"stem: {'; '.join(problems)}")
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(arrays[layer.name])
