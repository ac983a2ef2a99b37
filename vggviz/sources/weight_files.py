"""Keras weights files (`.weights.h5`, legacy `.h5`, `.keras`) read by layer name, without Keras.

A prefix model (the stem alone, groups 1..k) takes only the layers it has, a file that does not
fit is refused with the layers named, and a damaged file (or one that is not Keras weights) in
one line naming it. The whole file is validated before any weight is set."""

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import h5py
import numpy as np

from vggviz.plan.architecture import CLASSIFIERS, STAGES, LayerSpec, layer_plan, stem_layers
from vggviz.sources.imagenet import (
    WeightsUnavailable,
    fetch_imagenet,
    imagenet_supported,
    keras_home,
)

_KERAS3_KINDS = {"conv2d": "conv", "dense": "dense", "batch_normalization": "bn"}


class WeightsMismatch(ValueError):
    """A weights file does not fit the model; the message names the layers."""


class NoWeightsFile(FileNotFoundError, ValueError):
    """No weights file where one was named: a FileNotFoundError, and a ValueError as
    `keras.applications` raises for a `weights` that is neither None, "imagenet" nor a file."""


class WeightsFileDamaged(WeightsMismatch):
    """A weights file cannot be read as Keras weights (damaged, truncated, another format).

    The message is one line: "<file> is damaged or not a Keras weights file (<what is
    wrong>); <what to do>". A WeightsMismatch, so handlers of that catch it too.
    """


class WeightsFileUnreadable(WeightsMismatch):
    """A weights file is there but this user may not read it (its permissions, or a folder's
    on the way): nothing is wrong with the file itself. A WeightsMismatch, as
    WeightsFileDamaged is, so the handlers of either catch it."""


def unreadable(path: str | os.PathLike) -> WeightsFileUnreadable:
    """The one-line WeightsFileUnreadable for `path`: which file, that its bytes are not in
    question, and whom to ask."""
    path = Path(path)
    return WeightsFileUnreadable(
        f"{path.name} cannot be read by this user (permission denied): ask whoever installed it "
        f"to make it readable to all (chmod a+r {path}, and a+x on its folders)")


class _Damage(Exception):
    """What is wrong inside a file, in words; `read_weights` turns it into WeightsFileDamaged."""

    def __init__(self, what: str, *, advice: str | None = None):
        super().__init__(what)
        self.advice = advice


# Errors h5py (which maps HDF5's own), numpy, json, zlib and zipfile raise on malformed content.
_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError,
                RuntimeError, EOFError, NotImplementedError, zipfile.BadZipFile, zlib.error)


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


def _dataset(parent: h5py.Group, key: str, label: str) -> h5py.Dataset:
    """Dataset `key`, not yet read, refused unless it is a dataset of numbers."""
    obj = parent.get(key)
    if not isinstance(obj, h5py.Dataset):
        raise _Damage(f"{label} is missing" if obj is None else f"{label} is not a dataset")
    if obj.dtype.kind not in "fiu":
        raise _Damage(f"{label} holds {obj.dtype} values, not numbers")
    return obj


def _var_datasets(layer: h5py.Group | None, label: str) -> list[h5py.Dataset]:
    """A Keras 3 layer's datasets in order, not yet read: `vars/0`, `vars/1`… ([] if none)."""
    if layer is None or "vars" not in layer:
        return []
    group = layer["vars"]
    if not isinstance(group, h5py.Group):
        raise _Damage(f"{label}/vars is not a group")
    keys = sorted(group)
    if keys != sorted(str(i) for i in range(len(keys))):
        raise _Damage(f"{label}/vars holds {', '.join(keys[:4])}{'…' if len(keys) > 4 else ''}, "
                      f"not weights numbered 0, 1…")
    return [_dataset(group, str(i), f"{label}/vars/{i}") for i in range(len(keys))]


def _is_legacy(f: h5py.File) -> bool:
    return "layer_names" in f.attrs or "layer_names0" in f.attrs or "model_weights" in f


def _legacy_datasets(f: h5py.File) -> dict[str, list[h5py.Dataset]]:
    """Keras 2 layout (ImageNet files): `layer_names` and per-layer `weight_names` attributes.

    Every listed layer is found and checked, also those a prefix model does not take: a file
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
        out[name] = [_dataset(group, w, f"weight {w} of {name}") for w in weight_names]
    return out


def _keras3_layers(f: h5py.File, where: str = "") -> h5py.Group:
    """The `layers` group of a Keras 3 weights file; `where` names the file in an archive."""
    layers = f.get("layers")
    if not isinstance(layers, h5py.Group):
        raise _Damage(f"{where}layers is {'missing' if layers is None else 'not a group'}")
    return layers


def _counted(counts: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) + " layers"


def _saved_plan(counts: Counter, variant: str, stem: str, fname: str) -> list[LayerSpec]:
    """The plan of the model a Keras 3 file was saved from, known by its count of each kind of
    layer with weights: the variant up to a stage (a prefix model) or whole, with either head."""
    plans = {f"up to the {stage}" if stage == "stem" else f"up to {stage}":
             layer_plan(variant, stem=stem, upto=stage) for stage in STAGES}
    plans |= {f"with the {head} classifier": layer_plan(variant, stem=stem, classifier=head)
              for head in CLASSIFIERS}
    have = {}
    for label, plan in plans.items():
        have[label] = Counter(spec.kind for spec in plan if spec.kind in _KERAS3_KINDS.values())
        if have[label] == counts:
            return plan
    options = "; ".join(f"{_counted(c)} {label}" for label, c in have.items())
    raise WeightsMismatch(f"{fname} does not fit {variant} with the {stem} stem: the file has "
                          f"{_counted(counts) if counts else 'no layers with weights'}; "
                          f"{variant} with the {stem} stem has {options}")


def _keras3_keys(layers: h5py.Group, variant: str, stem: str, fname: str) -> dict[str, str]:
    """Layer name → key of a Keras 3 file's `layers` group: keys are by class in model order
    (`conv2d`, `conv2d_1`…), matched kind by kind and in order to the plan of the variant whole
    or up to a stage."""
    found: dict[str, list[tuple[int, str]]] = {}
    for key in layers:
        layer = layers[key]
        if not isinstance(layer, h5py.Group):
            raise _Damage(f"layers/{key} is not a group")
        m = re.fullmatch(r"(.+?)(?:_(\d+))?", key)
        kind = _KERAS3_KINDS.get(m.group(1)) if m else None
        if kind and _var_datasets(layer, f"layers/{key}"):
            found.setdefault(kind, []).append((int(m.group(2) or 0), key))
    plan = _saved_plan(Counter({kind: len(entries) for kind, entries in found.items()}),
                       variant, stem, fname)
    out = {}
    for kind, entries in found.items():
        names = [spec.name for spec in plan if spec.kind == kind]
        out.update(zip(names, [key for _, key in sorted(entries)], strict=True))
    return out


def _keras3_datasets(f: h5py.File, variant: str, stem: str,
                     fname: str) -> dict[str, list[h5py.Dataset]]:
    """Keras 3 layout: each layer of the plan its datasets, found by `_keras3_keys`."""
    layers = _keras3_layers(f)
    return {name: _var_datasets(layers[key], f"layers/{key}")
            for name, key in _keras3_keys(layers, variant, stem, fname).items()}


def _snake_case(class_name: str) -> str:
    """The key Keras 3 files a layer's weights under, from its class (Conv2D → conv2d)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _archive_layers(config: bytes) -> list[tuple[str, str]]:
    """(class, name) of each layer of a `.keras` archive's config.json, in the model's order."""
    try:
        model = json.loads(config)
    except (ValueError, RecursionError) as exc:
        raise _Damage(f"config.json is not JSON: {exc}") from None
    body = model.get("config") if isinstance(model, dict) else None
    layers = body.get("layers") if isinstance(body, dict) else None
    if not isinstance(layers, list):
        raise _Damage("config.json does not list the model's layers")
    out = []
    for entry in layers:
        layer = entry.get("config") if isinstance(entry, dict) else None
        cls = entry.get("class_name") if isinstance(entry, dict) else None
        name = layer.get("name") if isinstance(layer, dict) else None
        if not isinstance(cls, str) or not cls or not isinstance(name, str) or not name:
            raise _Damage(f"config.json lists {str(entry)[:40]!r}, not a layer with a name")
        out.append((cls, name))
    return out


def _archive_datasets(path: Path, stack: ExitStack) -> dict[str, list[h5py.Dataset]]:
    """A `.keras` archive (`model.save`): config.json names the layers in order, and
    model.weights.h5 (Keras 3's layout) keys each one's weights by class and rank, as Keras'
    saver numbers them (conv2d, conv2d_1…; input_layer, max_pooling2d…)."""
    archive = stack.enter_context(zipfile.ZipFile(path))
    members = set(archive.namelist())
    if "config.json" not in members:
        raise _Damage("a zip archive without config.json")
    if "model.weights.h5" not in members:
        raise _Damage("a zip archive without model.weights.h5")
    layers = _archive_layers(archive.read("config.json"))
    fh = stack.enter_context(archive.open("model.weights.h5"))
    f = stack.enter_context(h5py.File(fh, "r"))
    return _archive_weights(_keras3_layers(f, "model.weights.h5: "), layers)


def _archive_weights(stored: h5py.Group,
                     layers: list[tuple[str, str]]) -> dict[str, list[h5py.Dataset]]:
    """Each named layer's datasets from `layers/<key>/vars`; every stored weight must belong
    to a listed layer, and every listed conv, dense or batch-norm layer must have its own."""
    used: Counter = Counter()
    out, claimed = {}, set()
    for cls, name in layers:
        base = _snake_case(cls)
        key = f"{base}_{used[base]}" if used[base] else base
        used[base] += 1
        if name in out:
            raise _Damage(f"config.json lists two layers named {name}")
        group = stored.get(key)
        if group is None and base in _KERAS3_KINDS:
            raise _Damage(f"model.weights.h5 has no layers/{key} for {name}")
        if group is not None and not isinstance(group, h5py.Group):
            raise _Damage(f"model.weights.h5 layers/{key} is not a group")
        out[name] = _var_datasets(group, f"layers/{key}")
        claimed.add(key)
    for key in stored:
        if key not in claimed and isinstance(stored[key], h5py.Group) \
                and _var_datasets(stored[key], key):
            raise _Damage(f"model.weights.h5 holds weights (layers/{key}) of no layer that "
                          f"config.json lists")
    return out


def _datasets(path: Path, variant: str, stem: str,
              stack: ExitStack) -> dict[str, list[h5py.Dataset]]:
    """Every layer's datasets in the file at `path`, open (in `stack`) but not read."""
    if path.is_dir():
        raise _Damage("it is a directory")
    if not path.is_file():
        raise _Damage("it is not a regular file")
    with open(path, "rb") as fh:  # a PermissionError: `weight_datasets` says it is unreadable
        if not fh.read(1):
            raise _Damage("the file is empty")
    if path.suffix == ".keras" and zipfile.is_zipfile(path):
        return _archive_datasets(path, stack)
    if not h5py.is_hdf5(path):
        if zipfile.is_zipfile(path):
            raise _Damage("a zip archive, which Keras reads only when named .keras",
                          advice="rename it to end in .keras")
        raise _Damage("neither an HDF5 file nor a .keras archive")
    f = stack.enter_context(h5py.File(path, "r"))
    if _is_legacy(f):
        return _legacy_datasets(f)
    if "layers" in f:
        return _keras3_datasets(f, variant, stem, path.name)
    raise _Damage("an HDF5 file without Keras layers")


def _what_failed(path: Path, exc: Exception) -> _Damage:
    """A read error of h5py, zipfile, json… as the damage it shows, in words."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    where = "unreadable archive" if path.suffix == ".keras" and zipfile.is_zipfile(path) \
        else "HDF5"
    return _Damage(f"{where}: {text}")


def _in_keras_cache(path: Path) -> bool:
    """Whether `path` lies in Keras' download cache (`$KERAS_HOME/models`, ~/.keras/models)."""
    caches = {keras_home() / "models", Path("~", ".keras", "models").expanduser()}
    try:
        return path.resolve().parent in {cache.resolve() for cache in caches}
    except OSError:
        return False


def _damaged(path: Path, exc: _Damage) -> WeightsFileDamaged:
    """The one-line WeightsFileDamaged for `exc`: the file, what is wrong, what to do."""
    what = " ".join(str(exc).split())
    what = what if len(what) <= 200 else what[:199] + "…"
    if exc.advice:
        advice = exc.advice
    elif _in_keras_cache(path):
        advice = f"delete {path} so Keras downloads it again"
    else:
        advice = "save the weights again with model.save_weights"
    return WeightsFileDamaged(f"{path.name} is damaged or not a Keras weights file ({what}); "
                              f"{advice}")


@contextmanager
def weight_datasets(path: str | os.PathLike, *, variant: str = "vgg16",
                    stem: str = "vgg") -> Iterator[dict[str, list[h5py.Dataset]]]:
    """The HDF5 datasets of every layer in a Keras weights file, by layer name, open inside the
    block but not read: large weights can be copied in chunks (`read_direct`) without ever
    being held whole. Errors as `read_weights` (a read inside the block raises h5py's own)."""
    path = Path(path)
    try:
        path.stat()
    except PermissionError:  # a folder on the way that this user may not enter
        raise unreadable(path) from None
    except OSError:
        raise NoWeightsFile(f"no weights file at {path}") from None
    with ExitStack() as stack:
        try:
            datasets = _datasets(path, variant, stem, stack)
        except PermissionError:
            raise unreadable(path) from None
        except (WeightsMismatch, _Damage) as exc:
            raise (_damaged(path, exc) if isinstance(exc, _Damage) else exc) from None
        except _READ_ERRORS as exc:
            raise _damaged(path, _what_failed(path, exc)) from None
        yield datasets


def read_weights(path: str | os.PathLike, *, variant: str = "vgg16",
                 stem: str = "vgg") -> dict[str, list[np.ndarray]]:
    """Arrays of every layer in a Keras weights file (`.weights.h5`, legacy `.h5`, `.keras`),
    by layer name; a layer without weights maps to [].

    Raises NoWeightsFile (a FileNotFoundError: no such file), WeightsFileDamaged (not readable
    as Keras weights; one line: the file, what is wrong, what to do), WeightsFileUnreadable (this
    user may not read it) or WeightsMismatch (a Keras 3 file whose layers match the variant's
    neither whole nor up to any stage).
    """
    with weight_datasets(path, variant=variant, stem=stem) as datasets:
        try:
            return {name: [np.asarray(d[()]) for d in found]
                    for name, found in datasets.items()}
        except _READ_ERRORS as exc:
            raise _damaged(Path(path), _what_failed(Path(path), exc)) from None


def load_weights(model, weights: str | os.PathLike, *, variant: str = "vgg16",
                 stem: str = "vgg") -> None:
    """Set `model`'s weights by layer name from "imagenet" or a file (extra layers are skipped).

    Nothing is set unless every layer of the model with weights finds arrays of its shapes.
    Raises NoWeightsFile, WeightsMismatch or WeightsFileDamaged (see `read_weights`), or
    WeightsUnavailable for ImageNet weights that cannot be had.
    """
    if weights == "imagenet":
        first_conv = model.get_layer(stem_layers(variant, stem)[0].name)
        channels = first_conv.weights[0].shape[-2]  # its kernel's input channels
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


