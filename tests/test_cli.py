"""The `vggviz` command line: summaries and errors (one line, exit codes, no traceback)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vggviz.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "vggviz.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_summary_json_has_the_documented_shape(capsys):
    assert main(["summary", "vgg16", "--json", "--no-top", "--input-size", "160"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["variant"] == "vgg16" and data["include_top"] is False
    assert data["input_shape"] == [160, 160, 3] and data["stem"] == "vgg"
    assert data["total_params"] == 14_714_688
    assert [c["name"] for c in data["components"]] == ["stem", "group1", "group2", "group3",
                                                       "group4", "group5"]
    assert data["components"][0]["output_shape"] == [160, 160, 64]
    assert data["layers"][0] == {"name": "block1_conv1", "component": "stem", "kind": "conv",
                                 "output_shape": [160, 160, 64], "params": 1792,
                                 "activation_values": 160 * 160 * 64,
                                 "macs": 160 * 160 * 64 * 27,
                                 "receptive_field": {"size": 3, "jump": 1, "start": [0, 0]}}


def test_summary_table_is_readable(capsys):
    assert main(["summary", "vgg19", "--stem", "pooled"]) == 0
    out = capsys.readouterr().out
    assert "block5_conv4" in out and "values entering the learner: 802,816" in out


def test_variants_lists_every_variant_quickly():
    out = run("variants")
    assert out.returncode == 0, out.stderr
    for name in ("vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19", "vgg19_bn"):
        assert f"\n{name} " in out.stdout
    assert "138,357,544" in out.stdout and "143,667,240" in out.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["summary", "vgg17"], "'vgg11', 'vgg11_lrn'"),
    (["summary", "vgg16", "--stem", "tiny"], "'vgg', 'pooled', 'strided'"),
    (["summary", "vgg16", "--input-size", "16"], "at least 32×32"),
    (["summary", "vgg16", "--stem", "strided", "--input-size", "100"], "at least 128×128"),
    (["summary", "vgg16", "--input-size", "big"], "whole number"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_are_one_line_with_exit_code_2(args, needle):
    out = run(*args)
    assert out.returncode == 2
    assert needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr


@pytest.fixture
def photo_file(tmp_path):
    from vggviz.sources.images import sample_image

    path = tmp_path / "hopper.jpg"
    sample_image("Grace Hopper (photo)").save(path)
    return path


def test_stem_writes_the_picture_and_the_array(tmp_path, photo_file):
    from PIL import Image

    out = run("stem", str(photo_file), "--weights", "random", "--out", str(tmp_path / "g.png"),
              "--npy", str(tmp_path / "m.npy"))
    assert out.returncode == 0, out.stderr
    assert Image.open(tmp_path / "g.png").size[0] > 800
    import numpy as np

    maps = np.load(tmp_path / "m.npy")
    assert maps.shape == (224, 224, 64) and maps.dtype == np.float32


def test_stem_with_auto_weights_says_when_it_falls_back(tmp_path, photo_file):
    out = run("stem", str(photo_file), "--npy", str(tmp_path / "m.npy"), "--variant", "vgg13")
    assert out.returncode == 0, out.stderr
    assert "randomly initialised" in out.stderr


def test_activations_skip_a_bad_file_and_write_the_rest(tmp_path, photo_file):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    out = run("activations", str(photo_file), str(bad), "--stage", "group2", "--weights",
              "random", "--out", str(tmp_path / "acts"))
    assert out.returncode == 1
    assert "skipped" in out.stderr and "notes.png" in out.stderr
    assert "Traceback" not in out.stderr
    import numpy as np

    assert np.load(tmp_path / "acts" / "hopper_group2.npy").shape == (56, 56, 128)
    assert not (tmp_path / "acts" / "notes_group2.npy").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["stem", "missing.png", "--weights", "random"], "missing.png"),
    (["stem", "{photo}", "--weights", "nowhere.weights.h5"], "nowhere.weights.h5"),
])
def test_bad_input_is_one_line_with_exit_code_1(args, needle, photo_file):
    out = run(*[a.format(photo=photo_file) for a in args])
    assert out.returncode == 1, out.stderr
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert [line for line in out.stderr.splitlines() if "error" in line.lower()
            and not line.startswith(("I0000", "W0000", "E0000"))] == [
        next(line for line in out.stderr.splitlines() if line.startswith("vggviz: error:"))]


def test_summary_commands_load_neither_tensorflow_nor_image_libraries():
    code = ("import sys; from vggviz.cli import main; main(['variants']); "
            "heavy = {'tensorflow', 'keras', 'PIL', 'h5py', 'matplotlib'} & set(sys.modules); "
            "assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_activations_of_same_named_images_never_overwrite_each_other(tmp_path):
    """a/photo.jpg, b/photo.jpg and a/photo.png: three arrays, each of its own image."""
    import numpy as np

    from vggviz.cli import output_names
    from vggviz.sources.images import sample_image

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    sources = {"a/photo.jpg": "Checkerboard", "b/photo.jpg": "Colour wheel",
               "a/photo.png": "Step edge", "c.png": "Grating 0°"}
    for name, sample in sources.items():
        sample_image(sample).save(tmp_path / name)
    paths = [str(tmp_path / name) for name in sources]
    names = output_names(paths, "stem")
    assert len(set(names.values())) == 4
    assert names[paths[-1]] == Path("c_stem.npy")  # a unique name stays short
    out = run("activations", *paths, "--weights", "random", "--out", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    assert "wrote 4 of 4" in out.stdout and "a/photo.jpg" in out.stdout
    arrays = [np.load(tmp_path / "d" / names[p]) for p in paths]
    for i, a in enumerate(arrays):  # different images: no array is another's copy
        assert all(not np.array_equal(a, b) for b in arrays[i + 1:])


def test_activations_say_when_they_replace_an_earlier_run(tmp_path, photo_file):
    args = ("activations", str(photo_file), "--weights", "random", "--out", str(tmp_path / "d"))
    assert "replacing" not in run(*args).stdout
    assert "replacing 1 from an earlier run" in run(*args).stdout


@pytest.mark.parametrize("option", ["--out", "--npy"])
def test_stem_refuses_an_unwritable_output_before_any_model_work(tmp_path, photo_file, option,
                                                                 monkeypatch, capsys):
    import vggviz.network.features

    def no_model(*args, **kwargs):
        raise AssertionError("the model was built before the output was checked")

    monkeypatch.setattr(vggviz.network.features.FeatureExtractor, "activations", no_model)
    for target, needle in [(tmp_path, "is a directory"),
                           (tmp_path / "missing" / "x.png", "does not exist")]:
        assert main(["stem", str(photo_file), "--weights", "random", option, str(target)]) == 1
        assert needle in capsys.readouterr().err
    assert main(["stem", str(photo_file), "--weights", "random", "--cmap", "nope"]) == 2
    assert "unknown colormap" in capsys.readouterr().err


def test_trained_weights_in_the_pooled_stem_say_they_were_not_trained_there(
        tmp_path, photo_file, fake_imagenet_cache):
    pooled = run("stem", str(photo_file), "--weights", "imagenet", "--stem", "pooled",
                 "--npy", str(tmp_path / "p.npy"))
    assert pooled.returncode == 0, pooled.stderr
    assert ("vggviz: note: VGG16's ImageNet weights were trained with the VGG stem; here they "
            "sit in the pooled stem") in pooled.stderr
    assert "which they were not trained with: trained filters" in pooled.stderr
    vgg = run("stem", str(photo_file), "--weights", "imagenet", "--npy", str(tmp_path / "v.npy"))
    assert vgg.returncode == 0, vgg.stderr
    assert "not trained with" not in vgg.stderr


def test_patterns_writes_a_png_per_map_and_a_grid_and_fills_the_cache(tmp_path, isolated_cache,
                                                                       capsys):
    from PIL import Image

    args = ["patterns", "--stage", "group1", "--channels", "0-2,9", "--weights", "random",
            "--steps", "5", "--out", str(tmp_path / "out")]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "0 from the cache, 4 computed" in first.out and "mean nothing" in first.out
    assert "group1 patterns" in first.err and "20/20" in first.err  # the progress bar
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["group1_000.png", "group1_001.png", "group1_002.png", "group1_009.png",
                     "group1_patterns.png"]
    assert Image.open(tmp_path / "out" / "group1_009.png").size == (6, 6)
    assert Image.open(tmp_path / "out" / "group1_patterns.png").mode == "RGB"
    assert main(args) == 0
    assert "4 from the cache, 0 computed" in capsys.readouterr().out


@pytest.mark.parametrize(("channels", "needle"), [("a-b", "numbers and ranges"),
                                                  ("0-64", "no map 64")])
def test_patterns_refuses_maps_it_has_not_in_one_line(tmp_path, channels, needle):
    out = run("patterns", "--stage", "stem", "--weights", "random", "--channels", channels,
              "--out", str(tmp_path))
    assert out.returncode == 2 and needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_value_error_from_the_work_itself_is_a_bug_not_a_usage_error(monkeypatch):
    """Only option values checked before the work are usage errors (exit 2): a ValueError the
    work raises is a bug, and surfaces as one instead of reading as a mistyped option."""
    import vggviz.cli

    def broken(args):
        raise ValueError("a bug deep in the work")

    monkeypatch.setattr(vggviz.cli, "cmd_summary", broken)
    with pytest.raises(ValueError, match="a bug deep in the work"):
        main(["summary", "vgg16"])


# --- what people see on the command line --------------------------------------------------------


def test_predict_prints_small_probabilities_as_the_explorer_does(monkeypatch, photo_file,
                                                                 capsys):
    """`vggviz predict` and the explorer's bars print a probability with one function: 0.0017,
    never 0.00."""
    import vggviz.cli
    import vggviz.network.predictions
    from vggviz.network.predictions import ClassScore
    from vggviz.plan.formatting import probability
    from vggviz.ui.panels import classifier_view

    scores = [ClassScore(281, "n02123045", "tabby", 0.62),
              ClassScore(285, "n02124075", "Egyptian_cat", 0.0017),
              ClassScore(1, "n01443537", "goldfish", 0.000042)]
    monkeypatch.setattr(vggviz.cli, "_extractor",
                        lambda args: type("Fx", (), {"variant": "vgg16"})())
    monkeypatch.setattr(vggviz.cli, "_answerable", lambda fx, download: None)
    monkeypatch.setattr(vggviz.network.predictions, "top_classes",
                        lambda fx, image, k, download: scores[:k])
    assert main(["predict", str(photo_file), "--top", "3"]) == 0
    assert capsys.readouterr().out.strip() == (
        "VGG16: tabby 0.62 · Egyptian cat 0.0017 · goldfish 4.2e-05")
    assert classifier_view.probability is probability


@pytest.mark.parametrize("command", [
    ["stem", "missing.jpg"],
    ["predict", "missing.jpg"],
    ["cam", "missing.jpg", "--out", "heat.png"],
    ["activations", "missing.jpg", "gone.png", "--out", "arrays"],
])
def test_a_missing_image_is_said_before_any_weights_are_fetched(command, offline, monkeypatch,
                                                                tmp_path, capsys):
    """With "auto" weights and an empty Keras cache the first thing a command would do is
    download ImageNet's weights; a missing input is said first, and nothing is fetched."""
    import vggviz.sources.weights

    fetched = []
    monkeypatch.setattr(vggviz.sources.weights, "fetch_imagenet",
                        lambda *a, **k: fetched.append(a) or pytest.fail("a download began"))
    monkeypatch.chdir(tmp_path)
    assert main(command) == 1
    err = capsys.readouterr().err.strip().splitlines()
    expected = ("vggviz: error: no such file: missing.jpg" if command[0] != "activations" else
                "vggviz: error: none of the 2 images can be read: no such file: missing.jpg; …")
    assert err == [expected]
    assert fetched == []
    assert not (tmp_path / "arrays").exists()


@pytest.mark.parametrize("line, level, shown", [
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     3, False),
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     0, True),
    ("I0000 00:00:1796387971.766768    1330 port.cc:153] oneDNN custom operations are on.", 3,
     False),
    ("I0000 00:00:1796387971.766768    1330 port.cc:153] oneDNN custom operations are on.", 1,
     False),
    ("I0000 00:00:1796387971.766768    1330 port.cc:153] oneDNN custom operations are on.", 0,
     True),
    ("W0000 00:00:1796387971.767053    1330 cudart_stub.cc:31] Could not find cuda drivers", 2,
     False),
    ("E0000 00:00:1796387971.767053    1330 cuda_dnn.cc:8] Unable to register", 2, True),
    ("F0000 00:00:1796387971.767053    1330 check.cc:8] Check failed", 3, True),
    ("vggviz: note: ImageNet weights could not be downloaded", 3, True),
    ("group1 activations: 100%|██████████| 1/1", 3, True),
])
def test_tensorflow_native_lines_obey_tf_cpp_min_log_level(line, level, shown):
    from vggviz.cli import native_line_shown

    assert native_line_shown(line + "\n", level) is shown


def test_a_native_line_inside_a_progress_bar_goes_and_the_bar_stays():
    """tqdm's bar ends with no newline; TensorFlow's import writes its lines into it, and the
    pipe may hand them over in any pieces."""
    from vggviz.cli import NativeLogFilter

    stream = (b"\rgroup1 activations:   0%|          | 0/1"
              b"WARNING: All log messages before absl::InitializeLog() is called are written to "
              b"STDERR\nI0000 00:00:1796387971.766768    1330 port.cc:153] oneDNN custom "
              b"operations are on.\nI0000 00:00:1796387971.767053    1330 cudart_stub.cc:31] "
              b"Could not find cuda drivers on your machine.\n\rgroup1 activations: 100%|"
              b"##########| 1/1\nI have a line of my own: 0.5\n")
    for size in (1, 7, 64, len(stream)):
        kept = NativeLogFilter(3)
        out = b"".join(kept.feed(stream[i:i + size]) for i in range(0, len(stream), size))
        out += kept.close()
        assert out == (b"\rgroup1 activations:   0%|          | 0/1\rgroup1 activations: 100%|"
                       b"##########| 1/1\nI have a line of my own: 0.5\n"), size


def test_the_filter_passes_what_it_keeps_in_order_at_the_descriptor(capfd, monkeypatch):
    """C code writes to file descriptor 2, under Python's sys.stderr: the filter sits there."""
    import os

    from vggviz.cli import native_stderr_filtered

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_filtered():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are "
                    b"written to STDERR\n")
        os.write(2, b"I0000 00:00:1796387971.766768    1330 port.cc:153] oneDNN custom "
                    b"operations are on.\n")
        os.write(2, b"first line of ours\n")
        os.write(2, b"E0000 00:00:1796387971.767053    1330 cuda_dnn.cc:8] a real error\n")
        os.write(2, b"last line of ours\n")
    assert capfd.readouterr().err.splitlines() == [
        "first line of ours",
        "E0000 00:00:1796387971.767053    1330 cuda_dnn.cc:8] a real error",
        "last line of ours"]


@pytest.mark.slow
def test_a_command_that_imports_tensorflow_prints_none_of_its_start_up_lines(tmp_path,
                                                                            photo_file):
    """TF_CPP_MIN_LOG_LEVEL=3 (the CLI's default): TensorFlow's import writes its absl preamble,
    oneDNN and CUDA lines twice, before it reads that variable; none of them reaches the
    person, and what the command itself says does."""
    out = run("activations", str(photo_file), "--stage", "group1", "--weights", "random",
              "--out", str(tmp_path / "arrays"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "arrays" / "hopper_group1.npy").is_file()
    for noise in ("absl::InitializeLog", "oneDNN", "cudart_stub", "cuda drivers"):
        assert noise not in out.stderr, out.stderr
    assert "group1 activations" in out.stderr  # the progress bar still shows
