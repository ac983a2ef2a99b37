"""The classifier's answer: top-5 equal to keras.applications' with the same weights file, the
shipped class names equal to Keras', why no answer in words, and the shared disk cache of the
head (re-extracted when damaged, written once when two processes ask at once)."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from vggviz.by_hand.classifier import SharedClassifier
from vggviz.cli import main
from vggviz.network.features import FeatureExtractor
from vggviz.network.predictions import classifier_problem, top_classes
from vggviz.sources.classifier_problems import NoClassifier
from vggviz.sources.imagenet_classes import (
    CLASS_INDEX_MD5,
    class_index_bytes,
    decode_predictions,
    imagenet_classes,
)
from vggviz.sources.images import load_image, preprocess, sample_images


@pytest.fixture(scope="module")
def photo():
    return next(iter(sample_images().values()))


@pytest.fixture
def photo_file(photo, tmp_path):
    path = tmp_path / "hopper.png"
    photo.save(path)
    return str(path)


def _keras_probabilities(app, path, photo):
    model = getattr(keras.applications, app)(weights=None)
    model.load_weights(path)
    return np.asarray(model(preprocess(load_image(photo)), training=False))[0]


@pytest.mark.slow
@pytest.mark.parametrize(("app", "variant", "fixture"), [
    ("VGG16", "vgg16", "keras_vgg16_top_file"), ("VGG19", "vgg19", "keras_vgg19_top_file")])
def test_top_five_equal_keras_applications_with_the_same_file(app, variant, fixture, photo,
                                                              request):
    path = request.getfixturevalue(fixture)
    want = _keras_probabilities(app, path, photo)
    fx = FeatureExtractor(variant, weights=path)
    assert classifier_problem(fx) is None
    got = top_classes(fx, photo, k=5)
    # the five most probable values (ties between near-equal random-weight scores may order
    # differently between BLAS and TensorFlow, so the ids are checked by their probabilities)
    np.testing.assert_allclose([c.probability for c in got], np.sort(want)[::-1][:5],
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose([want[c.index] for c in got], [c.probability for c in got],
                               rtol=1e-5, atol=1e-7)
    names = imagenet_classes()
    assert [(c.wnid, c.name) for c in got] == [(names[c.index].wnid, names[c.index].name)
                                                for c in got]
    head = SharedClassifier.for_extractor(fx)
    np.testing.assert_allclose(head.probabilities(fx.activations(photo, "group5")[None])[0],
                               want, rtol=1e-4, atol=1e-8)


def test_class_names_are_keras_file_and_decode_as_keras_does(monkeypatch):
    import hashlib

    from keras.src.applications import imagenet_utils

    assert hashlib.md5(class_index_bytes()).hexdigest() == CLASS_INDEX_MD5
    names = imagenet_classes()
    assert [(i, names[i].name) for i in (0, 1, 281, 285, 386)] == [
        (0, "tench"), (1, "goldfish"), (281, "tabby"), (285, "Egyptian_cat"),
        (386, "African_elephant")]
    assert names[285].words == "Egyptian cat"
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", json.loads(class_index_bytes()))
    preds = np.random.default_rng(0).dirichlet(np.ones(1000), size=3).astype("float32")
    theirs = imagenet_utils.decode_predictions(preds, top=5)
    assert [[(w, n, float(p)) for w, n, p in row] for row in theirs] == \
        decode_predictions(preds, top=5)


def test_keras_pins_the_shipped_files_md5():
    import inspect

    from keras.src.applications import imagenet_utils

    assert CLASS_INDEX_MD5 in inspect.getsource(imagenet_utils)


def test_classifier_problem_says_why_in_words(keras_vgg16_notop_file, offline):
    assert classifier_problem(FeatureExtractor(weights="random")) == \
        "the weights are random, never trained on any classes"
    no_top = classifier_problem(FeatureExtractor(weights=keras_vgg16_notop_file, size=64))
    assert "has no classifier: it was saved without the top" in no_top
    missing = classifier_problem(FeatureExtractor("vgg16", weights="imagenet"))
    assert "not downloaded yet (553 MB)" in missing and "vggviz fetch-weights vgg16 --top" \
        in missing
    assert "(575 MB)" in classifier_problem(FeatureExtractor("vgg19", weights="imagenet"))
    wrong = classifier_problem(FeatureExtractor("vgg16", weights="imagenet", size=320))
    assert "7×7×512" in wrong and "224–255 px" in wrong
    assert "Keras publishes ImageNet weights for vgg16 and vgg19" in classifier_problem(
        FeatureExtractor("vgg13", weights="imagenet"))
    with pytest.raises(NoClassifier, match="the weights are random, never trained"):
        top_classes(FeatureExtractor(weights="random"), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(NoClassifier, match="not downloaded yet"):
        SharedClassifier.for_extractor(FeatureExtractor("vgg16", weights="imagenet"))


@pytest.mark.slow
def test_a_top_file_at_another_size_is_refused_in_words(keras_vgg16_top_file):
    fx = FeatureExtractor("vgg16", weights=keras_vgg16_top_file, size=256)
    assert "takes 25,088 values" in classifier_problem(fx) and "8×8×512" in classifier_problem(fx)
    with pytest.raises(NoClassifier, match="8×8×512"):
        SharedClassifier.for_extractor(fx)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "scribble"])
def test_a_damaged_cache_entry_is_extracted_again(keras_vgg16_top_file, isolated_cache, damage):
    fx = FeatureExtractor("vgg16", weights=keras_vgg16_top_file)
    pooled = np.random.default_rng(1).uniform(0, 2, (1, 7, 7, 512)).astype("float32")
    first = SharedClassifier.for_extractor(fx)
    assert first.extracted and isinstance(first.arrays["fc1_kernel"], np.memmap)
    want = first.logits(pooled)
    assert not SharedClassifier.for_extractor(fx).extracted
    target = first.entry / "fc2_kernel.npy"
    del first
    if damage == "truncate":
        with open(target, "r+b") as fh:
            fh.truncate(target.stat().st_size // 2)
    else:
        with open(target, "r+b") as fh:
            fh.seek(1 << 20)
            fh.write(b"\xff" * 4096)
    again = SharedClassifier.for_extractor(fx)
    assert again.extracted
    np.testing.assert_array_equal(again.logits(pooled), want)


@pytest.mark.slow
def test_two_processes_share_one_cache_entry(keras_vgg16_top_file, isolated_cache):
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        from vggviz.by_hand.classifier import SharedClassifier
        from vggviz.network.features import FeatureExtractor
        fx = FeatureExtractor("vgg16", weights={str(keras_vgg16_top_file)!r})
        head = SharedClassifier.for_extractor(fx)
        x = np.random.default_rng(2).uniform(0, 2, (1, 7, 7, 512)).astype("float32")
        print(json.dumps({{"extracted": head.extracted, "logits": head.logits(x)[0].tolist(),
                          "tf": "tensorflow" in sys.modules}}))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(r["extracted"] for r in results) == [False, True]
    assert results[0]["logits"] == results[1]["logits"]
    assert not any(r["tf"] for r in results)  # the head needs no TensorFlow
    entries = [p for p in isolated_cache.joinpath("classifier").iterdir() if p.is_dir()]
    assert len(entries) == 1
    assert sorted(p.name for p in entries[0].iterdir()) == sorted(
        ["manifest.json"] + [f"{n}_{k}.npy" for n in ("fc1", "fc2", "predictions")
                             for k in ("kernel", "bias")])


@pytest.mark.slow
def test_cli_predict_prints_one_line_and_json(keras_vgg16_top_file, photo_file, capsys):
    image = photo_file
    assert main(["predict", image, "--weights", str(keras_vgg16_top_file), "--top", "3"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("VGG16: ") and line.count(" · ") == 2
    assert main(["predict", image, "--weights", str(keras_vgg16_top_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 5 and data[0]["probability"] >= data[-1]["probability"]
    assert data[0]["name"] in line.replace(" ", "_") or data[0]["name"].replace("_", " ") in line


def test_cli_predict_without_an_answer_says_why(capsys, photo_file):
    assert main(["predict", photo_file, "--weights", "random"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["vggviz: error: the weights are random, never trained on any classes"]


@pytest.mark.slow
def test_imagenet_files_answer_wherever_the_top_fits(keras_vgg16_top_file, photo, tmp_path,
                                                     monkeypatch, isolated_cache):
    """Keras' cache holding VGG16's two ImageNet files (here links to one random-weights file
    with the top): the 224-px VGG stem answers as that file does; the pooled stem at 448 px
    fits in shape and answers, with the note that it is not the trained network; sizes whose
    last pool is not 7×7 are refused in words."""
    from vggviz.sources.imagenet import imagenet_path
    from vggviz.sources.weights import foreign_stem_note

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for top in (False, True):
        imagenet_path("vgg16", top).parent.mkdir(parents=True, exist_ok=True)
        imagenet_path("vgg16", top).symlink_to(keras_vgg16_top_file)
    want = top_classes(FeatureExtractor("vgg16", weights=keras_vgg16_top_file), photo)
    fx = FeatureExtractor("vgg16", weights="imagenet")
    assert classifier_problem(fx) is None
    assert top_classes(fx, photo) == want
    pooled = FeatureExtractor("vgg16", weights="imagenet", stem="pooled", size=448)
    assert classifier_problem(pooled) is None
    got = top_classes(pooled, photo, k=3)
    assert len(got) == 3 and got[0].probability >= got[1].probability >= got[2].probability > 0
    assert "not trained with" in foreign_stem_note(pooled.weights, pooled.variant, pooled.stem)
    for stem, size, fits in [("pooled", 224, "448–511 px"), ("vgg", 320, "224–255 px")]:
        fx = FeatureExtractor("vgg16", weights="imagenet", stem=stem, size=size)
        assert fits in classifier_problem(fx)
        with pytest.raises(NoClassifier, match=f"7×7×512 .* use an input of {fits}"):
            top_classes(fx, photo)


@pytest.mark.slow
def test_a_gap_head_file_is_named_as_such(tmp_path):
    base = keras.applications.VGG16(weights=None, include_top=False, pooling="avg")
    model = keras.Model(base.input, keras.layers.Dense(1000, name="predictions")(base.output))
    path = tmp_path / "gap.weights.h5"
    model.save_weights(path)
    problem = classifier_problem(FeatureExtractor("vgg16", weights=path))
    assert "holds the GAP classifier" in problem


@pytest.mark.slow
def test_a_read_only_cache_listed_after_the_first_lends_its_classifier(keras_vgg16_top_file,
                                                                       tmp_path, monkeypatch):
    """The classifier a teacher extracted into a cache shared read-only: a student's server maps
    it from there and copies nothing into its own cache."""
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    fx = FeatureExtractor("vgg16", weights=keras_vgg16_top_file)
    monkeypatch.setenv("VGGVIZ_CACHE", str(teacher))
    first = SharedClassifier.for_extractor(fx)
    assert first.extracted
    monkeypatch.setenv("VGGVIZ_CACHE", os.pathsep.join([str(student), str(teacher)]))
    lent = SharedClassifier.for_extractor(FeatureExtractor("vgg16", weights=keras_vgg16_top_file))
    assert not lent.extracted and lent.entry.is_relative_to(teacher)
    assert not list(student.rglob("*.npy"))
