"""Weight files: loaded by layer name, and damaged ones refused in one line naming the file.

`load_weights` may only succeed or raise FileNotFoundError, WeightsMismatch (the file does not
fit the model) or WeightsFileDamaged (a WeightsMismatch: the file cannot be read as Keras
weights); each message is one line naming the file. The damaged files are made from real ones
(Keras 2's HDF5 layout, Keras 3's `.weights.h5` and `.keras`), then broken with h5py and zipfile;
the fuzz tests below break them at random.
"""

from __future__ import annotations

import io
import json
import shutil
import warnings
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from conftest import write_legacy_h5
from fuzz_profile import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from vggviz.cli import main
from vggviz.network.models import build_vgg, learner, stem
from vggviz.sources.imagenet import imagenet_path
from vggviz.sources.weight_files import (
    WeightsFileDamaged,
    WeightsMismatch,
    load_weights,
    read_weights,
)

FUZZ = settings(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- real files: a VGG16 prefix (block1) saved in each layout Keras has used -------------------


@pytest.fixture(scope="module")
def model():
    """VGG16 up to group 1 on 32×32 input (2 convs, 40k parameters); built once, ~0.2 s."""
    return build_vgg("vgg16", upto="group1", input_shape=(32, 32, 3), seed=0)


@pytest.fixture(scope="module")
def sources(model, tmp_path_factory) -> dict[str, Path]:
    """Valid files that `model` loads: Keras 2 HDF5, Keras 3 `.weights.h5`, `.keras` archive."""
    folder = tmp_path_factory.mktemp("valid")
    legacy = folder / "block1.h5"
    write_legacy_h5(model, legacy)
    keras3 = folder / "block1.weights.h5"
    model.save_weights(keras3)
    archive = folder / "block1.keras"
    model.save(archive)
    return {"legacy": legacy, "keras3": keras3, "archive": archive}


def test_each_layout_loads_by_name(model, sources):
    other = build_vgg("vgg16", upto="group1", input_shape=(32, 32, 3), seed=1)
    want = [w.copy() for w in model.get_weights()]
    for path in sources.values():
        other.set_weights([np.zeros_like(w) for w in want])
        load_weights(other, path)
        for a, b in zip(other.get_weights(), want, strict=True):
            np.testing.assert_array_equal(a, b)


# --- the damage cases: each a function (valid sources, folder) -> the damaged file ---------------


def _copy(src: Path, folder: Path, name: str) -> Path:
    dst = folder / name
    shutil.copy(src, dst)
    return dst


def weight_names_point_nowhere(s, folder):
    path = _copy(s["legacy"], folder, "nowhere.h5")
    with h5py.File(path, "a") as f:
        f["block1_conv1"].attrs["weight_names"] = [b"block1_conv1/gone:0", b"block1_conv1/b:0"]
    return path


def layer_names_is_one_string(s, folder):
    path = _copy(s["legacy"], folder, "one-string.h5")
    with h5py.File(path, "a") as f:
        f.attrs["layer_names"] = "block1_conv1"
    return path


def layer_group_missing(s, folder):
    path = _copy(s["legacy"], folder, "no-group.h5")
    with h5py.File(path, "a") as f:
        del f["block1_conv2"]
    return path


def model_weights_without_layer_names(s, folder):
    """A Keras 2 whole-model file keeps the weights under `model_weights`; its names are gone."""
    path = folder / "no-layer-names.h5"
    with h5py.File(s["legacy"], "r") as src, h5py.File(path, "w") as f:
        root = f.create_group("model_weights")
        for name in src:
            src.copy(src[name], root, name)
        f.attrs["model_config"] = "{}"
    return path


def weight_names_is_a_number(s, folder):
    path = _copy(s["legacy"], folder, "number.h5")
    with h5py.File(path, "a") as f:
        f["block1_conv1"].attrs["weight_names"] = 7
    return path


def weight_is_a_string(s, folder):
    path = _copy(s["legacy"], folder, "string-weight.h5")
    with h5py.File(path, "a") as f:
        del f["block1_conv1/block1_conv1/kernel:0"]
        f["block1_conv1/block1_conv1"].create_dataset("kernel:0", data="not a kernel")
    return path


def weight_is_text_of_the_right_shape(s, folder):
    path = _copy(s["legacy"], folder, "text-kernel.h5")
    with h5py.File(path, "a") as f:
        del f["block1_conv1/block1_conv1/kernel:0"]
        f["block1_conv1/block1_conv1"].create_dataset("kernel:0",
                                                      data=np.full((3, 3, 3, 64), b"x"))
    return path


def weight_name_is_a_group(s, folder):
    path = _copy(s["legacy"], folder, "group-weight.h5")
    with h5py.File(path, "a") as f:
        f["block1_conv1"].attrs["weight_names"] = [b"block1_conv1"]
    return path


def truncated_hdf5(s, folder):
    path = folder / "truncated.h5"
    data = s["legacy"].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def vars_keys_not_integers(s, folder):
    path = _copy(s["keras3"], folder, "named-vars.weights.h5")
    with h5py.File(path, "a") as f:
        f.move("layers/conv2d/vars/0", "layers/conv2d/vars/kernel")
    return path


def vars_keys_with_a_gap(s, folder):
    path = _copy(s["keras3"], folder, "gap.weights.h5")
    with h5py.File(path, "a") as f:
        f.move("layers/conv2d/vars/1", "layers/conv2d/vars/2")
    return path


def layers_is_a_dataset(s, folder):
    path = folder / "layers-dataset.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("layers", data=np.arange(4))
    return path


def vars_member_is_a_group(s, folder):
    path = _copy(s["keras3"], folder, "vars-group.weights.h5")
    with h5py.File(path, "a") as f:
        del f["layers/conv2d_1/vars/1"]
        f.create_group("layers/conv2d_1/vars/1")
    return path


def keras3_weight_is_text(s, folder):
    path = _copy(s["keras3"], folder, "text.weights.h5")
    with h5py.File(path, "a") as f:
        del f["layers/conv2d/vars/1"]
        f["layers/conv2d/vars"].create_dataset("1", data=np.full(64, b"x"))
    return path


def empty_zip(s, folder):
    path = folder / "empty.keras"
    zipfile.ZipFile(path, "w").close()
    return path


def archive_config_not_json(s, folder):
    path = folder / "bad-config.keras"
    with zipfile.ZipFile(s["archive"]) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"{not json" if name == "config.json" else src.read(name))
    return path


def archive_weights_garbage(s, folder):
    path = folder / "bad-weights.keras"
    with zipfile.ZipFile(s["archive"]) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"\0garbage" * 64 if name.endswith(".h5") else src.read(name))
    return path


def archive_weights_empty_hdf5(s, folder):
    """Keras warns that it skips the layers it finds no weights for, then fails."""
    path = folder / "no-weights.keras"
    h5py.File(folder / "empty.h5", "w").close()
    with zipfile.ZipFile(s["archive"]) as src, zipfile.ZipFile(path, "w") as dst:
        dst.writestr("config.json", src.read("config.json"))
        dst.write(folder / "empty.h5", "model.weights.h5")
    return path


def archive_named_h5(s, folder):
    return _copy(s["archive"], folder, "archive.h5")


def empty_file(s, folder):
    path = folder / "empty.h5"
    path.write_bytes(b"")
    return path


def random_bytes(s, folder):
    path = folder / "random.weights.h5"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    return path


def directory(s, folder):
    path = folder / "folder.weights.h5"
    path.mkdir()
    return path


DAMAGE = [weight_names_point_nowhere, layer_names_is_one_string, layer_group_missing,
          model_weights_without_layer_names, weight_names_is_a_number, weight_is_a_string,
          weight_is_text_of_the_right_shape, weight_name_is_a_group, truncated_hdf5,
          vars_keys_not_integers, vars_keys_with_a_gap, layers_is_a_dataset,
          vars_member_is_a_group, keras3_weight_is_text, empty_zip, archive_config_not_json,
          archive_weights_garbage, archive_weights_empty_hdf5,
          archive_named_h5, empty_file, random_bytes, directory]


def _refusal(call) -> BaseException:
    try:
        call()
    except Exception as exc:  # noqa: BLE001  (the tests below say which ones are allowed)
        return exc
    pytest.fail("the damaged file was accepted")


def _one_line_naming(message: str, path: Path) -> None:
    assert path.name in message, message
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.replace("_", "-"))
def test_a_damaged_file_is_refused_in_one_line_naming_it(damage, model, sources, tmp_path):
    path = damage(sources, tmp_path)
    before = [w.copy() for w in model.get_weights()]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        exc = _refusal(lambda: load_weights(model, path))
    assert not said, [str(w.message) for w in said]  # the one line is all a user sees
    assert type(exc).__name__ == "WeightsFileDamaged", f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, WeightsFileDamaged) and isinstance(exc, WeightsMismatch)
    message = str(exc)
    _one_line_naming(message, path)
    assert message.startswith(f"{path.name} is damaged or not a Keras weights file (")
    advice = ("rename it to end in .keras" if damage is archive_named_h5
              else "save the weights again with model.save_weights")
    assert message.endswith(f"; {advice}"), message
    for a, b in zip(model.get_weights(), before, strict=True):  # nothing half-loaded
        np.testing.assert_array_equal(a, b)
    with pytest.raises(WeightsFileDamaged):
        read_weights(path)


@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("picture") / "cat.png"
    Image.new("RGB", (40, 30), (200, 120, 40)).save(path)
    return path


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.replace("_", "-"))
def test_the_command_line_says_a_damaged_file_in_one_line(damage, sources, picture, tmp_path,
                                                          capsys):
    """Exit code 1 (bad input), never 2 (usage), and no traceback."""
    path = damage(sources, tmp_path)
    code = main(["stem", str(picture), "--weights", str(path), "--out", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 1, err
    _one_line_naming(err.strip(), path)
    assert err.startswith(f"vggviz: error: {path.name} is damaged"), err


def test_a_damaged_file_in_keras_cache_is_to_be_deleted(model, sources, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    cached = imagenet_path("vgg16", include_top=False)
    cached.parent.mkdir(parents=True)
    data = sources["legacy"].read_bytes()
    cached.write_bytes(data[: len(data) // 3])  # an interrupted download
    for weights in ("imagenet", cached):
        with pytest.raises(WeightsFileDamaged) as info:
            load_weights(model, weights)
        message = str(info.value)
        _one_line_naming(message, cached)
        assert message.endswith(f"; delete {cached} so Keras downloads it again"), message


def test_a_missing_file_is_named(model, tmp_path):
    path = tmp_path / "nowhere.weights.h5"
    with pytest.raises(FileNotFoundError) as info:
        load_weights(model, path)
    _one_line_naming(str(info.value), path)


# --- fitting the model: the behaviours any loader must keep -------------------------------------


def test_a_prefix_model_takes_only_its_layers(model, sources):
    stem = build_vgg("vgg16", upto="stem", input_shape=(32, 32, 3), seed=5)
    for path in sources.values():
        stem.set_weights([np.zeros_like(w) for w in stem.get_weights()])
        load_weights(stem, path)
        np.testing.assert_array_equal(stem.get_layer("block1_conv1").get_weights()[0],
                                      model.get_layer("block1_conv1").get_weights()[0])


def test_layers_the_file_lacks_are_named_and_nothing_is_loaded(sources):
    deeper = build_vgg("vgg16", upto="group2", input_shape=(32, 32, 3), seed=6)
    before = [w.copy() for w in deeper.get_weights()]
    with pytest.raises(WeightsMismatch) as info:
        load_weights(deeper, sources["legacy"])
    assert not isinstance(info.value, WeightsFileDamaged)
    assert "missing block2_conv1, block2_conv2" in str(info.value)
    _one_line_naming(str(info.value), sources["legacy"])
    for a, b in zip(deeper.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_shape_mismatches_are_named_and_nothing_is_loaded(model, sources, tmp_path):
    path = _copy(sources["legacy"], tmp_path, "narrow.h5")
    with h5py.File(path, "a") as f:
        del f["block1_conv2/block1_conv2/kernel:0"]
        f["block1_conv2/block1_conv2"].create_dataset("kernel:0", data=np.ones((3, 3, 64, 32)))
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(WeightsMismatch, match=r"block1_conv2 \(file \[\(3, 3, 64, 32\), \(64,\)"):
        load_weights(model, path)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


# --- Keras 3 files of prefix models, and `.keras` archives read without Keras --------------------


def _layer_weights(model) -> dict[str, list[np.ndarray]]:
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


def _assert_same(got: dict[str, list[np.ndarray]], want: dict[str, list[np.ndarray]]) -> None:
    assert set(got) == set(want)
    for name, arrays in want.items():
        assert len(got[name]) == len(arrays), name
        for a, b in zip(got[name], arrays, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)


PREFIXES = [("vgg16", "vgg", "stem"), ("vgg16", "vgg", "group1"), ("vgg16", "vgg", "group3"),
            ("vgg19", "vgg", "group4"), ("vgg16", "pooled", "group2"),
            ("vgg16", "strided", "group1"), ("vgg19", "strided", "group3"),
            ("vgg16_bn", "vgg", "group2"), ("vgg11_lrn", "pooled", "group2"),
            ("vgg13", "vgg", None)]


@pytest.mark.parametrize(("variant", "stem", "upto"), PREFIXES, ids=lambda v: str(v))
def test_keras3_files_of_prefix_models_load_as_they_were_saved(variant, stem, upto, tmp_path):
    """`save_weights` of a prefix model (or a whole one, with the GAP head), unpadded, loads
    back into a model built alike with other weights: every array equals the saved model's."""
    size = 128 if stem == "strided" else 64
    kwargs = dict(stem=stem, upto=upto, input_shape=(size, size, 3), classifier="gap")
    saved = build_vgg(variant, seed=1, **kwargs)
    path = tmp_path / f"{variant}-{stem}-{upto}.weights.h5"
    saved.save_weights(path)
    loaded = build_vgg(variant, seed=2, **kwargs)
    first = next(layer.name for layer in saved.layers if layer.weights)
    assert not np.array_equal(saved.get_layer(first).get_weights()[0],
                              loaded.get_layer(first).get_weights()[0])
    load_weights(loaded, path, variant=variant, stem=stem)
    _assert_same(_layer_weights(loaded), _layer_weights(saved))
    stem_only = build_vgg(variant, stem=stem, upto="stem", input_shape=(size, size, 3), seed=3)
    load_weights(stem_only, path, variant=variant, stem=stem)  # a shorter prefix takes its part
    _assert_same(_layer_weights(stem_only),
                 {name: w for name, w in _layer_weights(saved).items()
                  if name in _layer_weights(stem_only)})


def test_keras3_files_that_fit_no_prefix_are_refused_naming_what_does(tmp_path):
    """VGG16 up to group 3 has 7 convs: no stage of VGG19 ends there (1, 2, 4, 8…), so its
    third group is not VGG19's, although VGG19's stem alone would find a kernel of its shape."""
    path = tmp_path / "vgg16-group3.weights.h5"
    build_vgg("vgg16", upto="group3", input_shape=(32, 32, 3)).save_weights(path)
    vgg19 = build_vgg("vgg19", upto="stem", input_shape=(32, 32, 3))
    with pytest.raises(WeightsMismatch, match="7 conv layers; vgg19 with the vgg stem has 1 conv "
                       "layers up to the stem; 2 conv layers up to group1; 4 conv layers up to "
                       "group2; 8 conv layers up to group3") as info:
        load_weights(vgg19, path, variant="vgg19")
    assert not isinstance(info.value, WeightsFileDamaged)
    _one_line_naming(str(info.value), path)
    inputs = keras.Input((32, 32, 3))  # a model of your own: three convs where VGG16 has two
    mine = keras.Model(inputs, learner(stem(inputs), [(2, 64)]))
    mine.save_weights(other := tmp_path / "mine.weights.h5")
    with pytest.raises(WeightsMismatch, match="the file has 3 conv layers; vgg16"):
        load_weights(build_vgg("vgg16", upto="stem", input_shape=(32, 32, 3)), other)


@pytest.mark.parametrize("which", ["ours: vgg16 conv base", "ours: vgg11_lrn, gap head",
                                   "ours: vgg16_bn up to group2", "keras.applications.VGG16"])
def test_keras_archives_read_without_keras_give_what_keras_loads(which, tmp_path):
    """Keras' own `load_model` is the reference: the same layers, the same arrays."""
    if which.startswith("keras"):
        model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    elif "lrn" in which:
        model = build_vgg("vgg11_lrn", input_shape=(32, 32, 3), classifier="gap", seed=4)
    elif "bn" in which:
        model = build_vgg("vgg16_bn", upto="group2", input_shape=(32, 32, 3), seed=4)
        model.get_layer("block1_bn1").moving_mean.assign(np.arange(64, dtype="float32"))
    else:
        model = build_vgg("vgg16", include_top=False, input_shape=(32, 32, 3), seed=4)
    path = tmp_path / "model.keras"
    model.save(path)
    reference = keras.saving.load_model(path, compile=False)
    ours = read_weights(path)
    _assert_same({name: w for name, w in ours.items() if w}, _layer_weights(reference))
    assert set(ours) == {layer.name for layer in reference.layers}


def test_long_name_lists_split_over_attributes_are_read(model, sources, tmp_path):
    """Keras 2 splits an attribute past HDF5's 64 kB header limit into `layer_names0`, `1`…"""
    path = _copy(sources["legacy"], tmp_path, "chunked.h5")
    with h5py.File(path, "a") as f:
        names = list(f.attrs["layer_names"])
        del f.attrs["layer_names"]
        f.attrs["layer_names0"] = [n.encode() for n in names[:2]]
        f.attrs["layer_names1"] = [n.encode() for n in names[2:]]
    assert set(read_weights(path)) >= {"block1_conv1", "block1_conv2"}
    load_weights(model, path)


def test_reading_any_weights_file_imports_neither_keras_nor_the_builders(sources):
    """Reading is light: h5py, zipfile and json, in a fresh interpreter."""
    import subprocess
    import sys

    code = ("import sys, vggviz.sources.weights\n"
            "from vggviz.sources.weight_files import read_weights\n"
            f"for path in {[str(p) for p in sources.values()]!r}:\n"
            "    assert read_weights(path)['block1_conv2'][0].shape == (3, 3, 64, 64)\n"
            "loaded = {'keras', 'tensorflow', 'vggviz.network.models'} & set(sys.modules)\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- fuzzing: damaged variations of the valid files ---------------------------------------------


def _check(model, path: Path) -> None:
    """The property: loads, or refuses with a one-line message naming the file."""
    try:
        load_weights(model, path)
    except (FileNotFoundError, WeightsMismatch) as exc:
        _one_line_naming(str(exc), path)
        event(type(exc).__name__)
    else:
        event("loaded")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _members(f: h5py.File) -> tuple[list[str], list[str]]:
    groups, datasets = [], []
    f.visititems(lambda name, obj: (groups if isinstance(obj, h5py.Group) else datasets)
                 .append(name))
    return groups, datasets


# Text without NUL: an HDF5 variable-length string cannot hold one (h5py refuses to write it),
# so no file can carry it to the reader.
ATTRIBUTE_VALUES = st.one_of(
    st.text(st.characters(exclude_characters="\x00"), max_size=20), st.integers(-5, 5),
    st.just(np.array([], "S1")),
    st.just(np.zeros(3)), st.just(np.array([[b"a", b"b"]])),
    st.lists(st.sampled_from(["block1_conv1", "block1_conv2", "block1_pool", "input", "x",
                              "block1_conv1/block1_conv1/kernel:0", "/", ""]), max_size=4)
    .map(lambda names: [n.encode() for n in names]))
DTYPES = st.sampled_from(["float16", "float64", "int8", "uint32", "bool", "complex64", "S2",
                          "vlen-str"])


def _array(draw, shape: tuple[int, ...]) -> np.ndarray | str:
    dtype = draw(DTYPES)
    if dtype == "vlen-str":
        return "text"
    return np.ones(shape, dtype) if dtype != "S2" else np.full(shape, b"ab")


def _replace_dataset(draw, f: h5py.File, name: str) -> None:
    shape = f[name].shape
    kind = draw(st.sampled_from(["shape", "dtype", "group"]))
    del f[name]
    if kind == "group":
        f.create_group(name)
    elif kind == "shape":
        new = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
        f.create_dataset(name, data=np.zeros(new, "float32"))
    else:
        f.create_dataset(name, data=_array(draw, shape))


def mutate_legacy(draw, f: h5py.File) -> None:
    groups, datasets = _members(f)
    op = draw(st.sampled_from(["drop", "rename", "attribute", "drop-attribute", "point",
                               "dataset", "add-layer"]))
    event(f"legacy: {op}")
    if op in ("drop", "rename") and groups + datasets:
        name = draw(st.sampled_from(groups + datasets))
        if op == "drop":
            del f[name]
        else:
            f.move(name, name + draw(st.sampled_from(["_x", "0", " "])))
    elif op in ("attribute", "drop-attribute", "point"):
        owner = f[draw(st.sampled_from(["/", *groups]))]
        key = draw(st.sampled_from(["layer_names", "weight_names", "layer_names0"]))
        if op == "drop-attribute":
            owner.attrs.pop(key, None)
        elif op == "attribute":
            owner.attrs[key] = draw(ATTRIBUTE_VALUES)
        elif "block1_conv2" in f and "weight_names" in f["block1_conv2"].attrs:
            owner.attrs["weight_names"] = f["block1_conv2"].attrs["weight_names"]
    elif op == "dataset" and datasets:
        _replace_dataset(draw, f, draw(st.sampled_from(datasets)))
    elif op == "add-layer":
        names = [n.encode() for n in f.attrs.get("layer_names", [])]
        f.attrs["layer_names"] = [*names, b"extra"]
        if draw(st.booleans()):
            f.require_group("extra").attrs["weight_names"] = [b"w:0"]


def mutate_keras3(draw, f: h5py.File) -> None:
    groups, datasets = _members(f)
    layers = sorted(f["layers"]) if isinstance(f.get("layers"), h5py.Group) else []
    op = draw(st.sampled_from(["rename-var", "add-layer", "drop", "rename-layer", "dataset",
                               "layers-dataset"]))
    event(f"keras3: {op}")
    var_groups = [g for g in groups if g.endswith("/vars") and len(f[g])]
    if op == "rename-var" and var_groups:
        group = f[draw(st.sampled_from(var_groups))]
        old = draw(st.sampled_from(sorted(group)))
        new = draw(st.sampled_from(["kernel", "-1", "01", " 0", "2", "7", "1.0", "x1"]))
        if new not in group:
            group.move(old, new)
    elif op == "add-layer" and isinstance(f.get("layers"), h5py.Group):
        key = draw(st.sampled_from(["conv2d_13", "conv2d", "dense", "dense_2", "conv2d_x",
                                    "batch_normalization_1", "lambda", "conv2d_99"]))
        vars_ = f.require_group(f"layers/{key}").require_group("vars")
        for i in range(draw(st.integers(0, 3))):
            if str(i) not in vars_:
                vars_.create_dataset(str(i), data=np.zeros(draw(st.integers(1, 3)), "float32"))
    elif op == "drop" and groups + datasets:
        del f[draw(st.sampled_from(groups + datasets))]
    elif op == "rename-layer" and layers:
        old = draw(st.sampled_from(layers))
        new = draw(st.sampled_from(["conv2d_50", "dense", "conv2d_", "conv2d_1x", "_1"]))
        if new not in f["layers"]:
            f["layers"].move(old, new)
    elif op == "dataset" and datasets:
        _replace_dataset(draw, f, draw(st.sampled_from(datasets)))
    elif op == "layers-dataset" and "layers" in f:
        del f["layers"]
        f.create_dataset("layers", data=np.arange(draw(st.integers(0, 5))))


def _fuzz_h5(data, model, seed: Path, path: Path, mutate) -> None:
    shutil.copy(seed, path)
    with h5py.File(path, "a") as f:
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            mutate(data.draw, f)
    _check(model, path)


@settings(FUZZ, max_examples=examples(100))
@given(data=st.data())
def test_fuzzed_legacy_files_load_or_are_refused_in_one_line(data, model, sources, scratch):
    _fuzz_h5(data, model, sources["legacy"], scratch / "fuzzed.h5", mutate_legacy)


@settings(FUZZ, max_examples=examples(100))
@given(data=st.data())
def test_fuzzed_keras3_files_load_or_are_refused_in_one_line(data, model, sources, scratch):
    _fuzz_h5(data, model, sources["keras3"], scratch / "fuzzed.weights.h5", mutate_keras3)


SIGNATURES = [b"", b"\x89HDF\r\n\x1a\n", b"PK\x03\x04", b"PK\x05\x06"]


@settings(FUZZ, max_examples=examples(80))
@given(head=st.sampled_from(SIGNATURES), body=st.binary(max_size=2048),
       name=st.sampled_from(["bytes.h5", "bytes.weights.h5", "bytes.keras", "bytes.bin"]))
def test_random_bytes_are_refused_in_one_line(head, body, name, model, scratch):
    path = scratch / name
    path.write_bytes(head + body)
    _check(model, path)


@settings(FUZZ, max_examples=examples(80))
@given(kind=st.sampled_from(["legacy", "keras3", "archive"]), data=st.data())
def test_truncated_files_are_refused_in_one_line(kind, data, model, sources, scratch):
    whole = sources[kind].read_bytes()
    cut = data.draw(st.integers(0, len(whole) - 1), label="cut")
    path = scratch / f"truncated-{sources[kind].name}"
    path.write_bytes(whole[:cut])
    _check(model, path)


def _config_variants(config: bytes) -> st.SearchStrategy[bytes]:
    parsed = json.loads(config)
    junk_json = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=8),
                             lambda inner: st.lists(inner, max_size=3)
                             | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                             max_leaves=8)
    dropped = st.sampled_from(sorted(parsed)).map(
        lambda key: json.dumps({k: v for k, v in parsed.items() if k != key}).encode())
    renamed = st.sampled_from(["Nothing", "Lambda", "Sequential", "Dense"]).map(
        lambda cls: json.dumps(parsed | {"class_name": cls}).encode())
    return st.one_of(st.just(config), dropped, renamed, junk_json.map(lambda v: json.dumps(v)
                                                                       .encode()),
                     st.binary(max_size=64))


@settings(FUZZ, max_examples=examples(80))
@given(data=st.data())
def test_zip_archives_with_random_members_are_refused_in_one_line(data, model, sources, scratch):
    with zipfile.ZipFile(sources["archive"]) as z:
        seed = {name: z.read(name) for name in z.namelist()}
    legacy, keras3 = sources["legacy"].read_bytes(), sources["keras3"].read_bytes()
    contents = {
        "config.json": _config_variants(seed["config.json"]),
        "model.weights.h5": st.sampled_from([seed["model.weights.h5"], keras3, legacy, b""])
        | st.binary(max_size=256),
        "metadata.json": st.sampled_from([seed["metadata.json"], b"{}", b"[", b""]),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, strategy in contents.items():  # each member kept as it is, changed or left out
            how = data.draw(st.sampled_from(["keep", "keep", "change", "leave out"]), label=name)
            if how != "leave out":
                z.writestr(name, seed[name] if how == "keep" else data.draw(strategy, label=name))
        for name in data.draw(st.lists(st.sampled_from(["other.bin", "config.json/x", "assets/"]),
                                       unique=True, max_size=2), label="extra members"):
            z.writestr(name, data.draw(st.binary(max_size=64), label=name))
    path = scratch / data.draw(st.sampled_from(["fuzzed.keras", "fuzzed.zip", "fuzzed.h5"]))
    path.write_bytes(buffer.getvalue())
    _check(model, path)
