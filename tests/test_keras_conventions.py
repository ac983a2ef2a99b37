"""build_vgg takes keras.applications.VGG16's arguments with their meaning: keras.io's snippets
give the same outputs with either model from the same weights file, and what Keras refuses is
refused here too (a ValueError). vggviz.preprocess_input and decode_predictions stand beside it."""

import json

import keras
import numpy as np
import pytest

import vggviz
from vggviz.sources.imagenet_classes import class_index_bytes
from vggviz.sources.images import sample_images


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "sample.png"
    next(iter(sample_images().values())).save(path)
    return str(path)


@pytest.fixture
def keras_class_index(monkeypatch):
    """Keras' decode_predictions without its download (offline here): its class index in memory,
    from the shipped file, whose md5 is the one Keras pins (tests/test_predictions.py)."""
    from keras.src.applications import imagenet_utils

    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX", json.loads(class_index_bytes()))


def predict_as_keras_docs_do(model, path, preprocess_input, size=224):
    """keras.io's "Extract features with VGG16" and "Classify ImageNet classes", as written."""
    img = keras.utils.load_img(path, target_size=(size, size))
    x = keras.utils.img_to_array(img)
    x = np.expand_dims(x, axis=0)
    x = preprocess_input(x)
    return model.predict(x, verbose=0)


def both(path, size=224, tensor=None, **kwargs):
    """Each model's answer to the snippet, its layers (class, name) and parameter count: Keras'
    VGG16 with Keras' preprocess_input, then build_vgg with vggviz's, each from `kwargs`, and
    `tensor()` (a fresh Keras tensor for each) as the input_tensor if given."""
    answers = []
    for build, preprocess in ((keras.applications.VGG16,
                               keras.applications.vgg16.preprocess_input),
                              (lambda **kw: vggviz.build_vgg("vgg16", **kw),
                               vggviz.preprocess_input)):
        extra = {"input_tensor": tensor()} if tensor else {}
        model = build(**kwargs, **extra)
        answers.append((predict_as_keras_docs_do(model, path, preprocess, size),
                        [(type(layer).__name__, layer.name) for layer in model.layers[1:]],
                        model.count_params(), model.name))
        del model
        keras.backend.clear_session()
    return answers


def test_the_keras_names_stand_beside_build_vgg():
    assert vggviz.preprocess_input is keras.applications.vgg16.preprocess_input
    assert {"build_vgg", "preprocess_input", "decode_predictions"} <= set(dir(vggviz))


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["softmax", None])
def test_classify_imagenet_classes_gives_keras_answer(keras_vgg16_top_file, photo_file,
                                                      keras_class_index, activation):
    """With the top: the same probabilities (or logits, with classifier_activation=None) and
    the same top 3 from Keras' decode_predictions and vggviz's (offline)."""
    from keras.applications.vgg16 import decode_predictions

    (theirs, their_layers, their_count, their_name), (ours, layers, count, name) = both(
        photo_file, weights=str(keras_vgg16_top_file), classifier_activation=activation)
    assert ours.shape == theirs.shape == (1, 1000)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    assert (layers, count, name) == (their_layers, their_count, their_name) == (
        their_layers, 138_357_544, "vgg16")
    if activation is None:  # logits, of both signs, where a softmax gives none below 0
        assert (ours < 0).any() and (ours > 0).any()
        return
    want = decode_predictions(theirs, top=3)
    got = vggviz.decode_predictions(ours, top=3)
    assert [[(wnid, name) for wnid, name, _ in row] for row in got] == \
        [[(wnid, name) for wnid, name, _ in row] for row in want]
    np.testing.assert_allclose([p for _, _, p in got[0]], [p for _, _, p in want[0]],
                               rtol=1e-6)


@pytest.mark.parametrize("pooling", [None, "avg", "max"])
def test_extract_features_gives_keras_features(keras_vgg16_notop_file, photo_file, pooling):
    """include_top=False with each pooling: input of any size (None × None), the same
    features from the same file, the same layers (Keras leaves its pooling layer unnamed)."""
    (theirs, their_layers, their_count, _), (ours, layers, count, name) = both(
        photo_file, weights=str(keras_vgg16_notop_file), include_top=False, pooling=pooling)
    assert ours.shape == theirs.shape == ((1, 7, 7, 512) if pooling is None else (1, 512))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert count == their_count == 14_714_688
    if pooling is not None:
        assert layers[-1] == (their_layers[-1][0], f"{pooling}_pool")
        layers, their_layers = layers[:-1], their_layers[:-1]
    assert layers == their_layers


def test_input_shape_without_the_top(keras_vgg16_notop_file, photo_file):
    (theirs, their_layers, _, _), (ours, layers, _, _) = both(
        photo_file, 160, weights=str(keras_vgg16_notop_file), include_top=False,
        input_shape=(160, 160, 3))
    assert ours.shape == theirs.shape == (1, 5, 5, 512)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert layers == their_layers


def test_input_tensor_keeps_what_comes_before_it(keras_vgg16_notop_file, photo_file):
    """A layer before the network (here a resize to 96×96) is part of the model, whose input
    is that layer's input, as Keras' get_source_inputs finds it."""
    made = []

    def tensor():
        made.append(keras.Input((None, None, 3)))
        return keras.layers.Resizing(96, 96)(made[-1])

    (theirs, their_layers, _, _), (ours, layers, _, _) = both(
        photo_file, weights=str(keras_vgg16_notop_file), include_top=False, pooling="avg",
        tensor=tensor)
    assert ours.shape == theirs.shape == (1, 512)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert layers[:-1] == their_layers[:-1] and layers[0] == ("Resizing", "resizing")
    model = vggviz.build_vgg(include_top=False, input_tensor=tensor())
    assert len(model.inputs) == 1 and model.inputs[0] is made[-1]


def test_random_weights_for_other_classes_build_keras_model():
    """classes=10, weights=None: Keras has no seed to draw the same numbers with, so the model
    itself is compared: layers, their configurations, shapes and parameter count."""
    theirs = keras.applications.VGG16(weights=None, classes=10, input_shape=(64, 64, 3))
    ours = vggviz.build_vgg("vgg16", weights=None, classes=10, input_shape=(64, 64, 3))
    assert ours.name == theirs.name == "vgg16"
    assert ours.count_params() == theirs.count_params()
    assert ours.output.shape == theirs.output.shape == (None, 10)
    assert [layer.get_config() for layer in ours.layers[1:]] == \
        [layer.get_config() for layer in theirs.layers[1:]]


REFUSED = {  # what keras.applications.VGG16 refuses, and the words build_vgg says it in
    "imagenet classifier, other classes": (
        dict(weights="imagenet", classes=10), r"needs classes=1000"),
    "weights neither None, imagenet nor a file": (
        dict(weights="no/such/file.weights.h5"), r"no weights file at no/such/file"),
    "imagenet classifier, other size": (
        dict(weights="imagenet", input_shape=(160, 160, 3)), r"needs input_shape=\(224, 224, 3\)"),
    "imagenet weights, one channel": (
        dict(weights="imagenet", include_top=False, input_shape=(64, 64, 1)), r"3 channels"),
    "below 32 px": (
        dict(weights=None, include_top=False, input_shape=(16, 31, 3)), r"at least 32×32"),
    "not (height, width, channels)": (
        dict(weights=None, include_top=False, input_shape=(224, 224)),
        r"\(height, width, channels\)"),
    "a top on a free size": (
        dict(weights=None, input_shape=(None, None, 3)), r"needs a fixed size"),
    "trained weights, another activation": (
        dict(weights="FILE", input_shape=(32, 32, 3), classifier_activation="relu"),
        r"'softmax' .* or None \(logits\); got 'relu'"),
    "input_tensor not a Keras tensor": (
        dict(weights=None, include_top=False, input_tensor=np.zeros((1, 64, 64, 3), "float32")),
        r"must be a Keras tensor"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_keras_refuses_is_refused_in_words(case, keras_vgg16_notop_file, offline):
    kwargs, words = REFUSED[case]
    if kwargs.get("weights") == "FILE":
        kwargs = {**kwargs, "weights": str(keras_vgg16_notop_file)}
    with pytest.raises(ValueError):
        keras.applications.VGG16(**kwargs)
    with pytest.raises(ValueError, match=words) as info:
        vggviz.build_vgg("vgg16", **kwargs)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize("kwargs", [
    dict(weights=None, input_shape=(32, 32, 3), classifier_activation="relu"),
    dict(weights="FILE", include_top=False, input_shape=(48, 48, 3), classifier_activation="relu"),
    dict(weights=None, include_top=False, input_shape=(32, None, 1)),
    dict(weights=None, include_top=False, input_shape=(40, 40, 3), classes=7, pooling="max"),
])
def test_what_keras_takes_is_taken(kwargs, keras_vgg16_notop_file):
    """The refusals' edges: Keras and build_vgg both build these, with the same output."""
    if kwargs.get("weights") == "FILE":  # no top: its activation is not asked about
        kwargs = {**kwargs, "weights": str(keras_vgg16_notop_file)}
    theirs = keras.applications.VGG16(**kwargs)
    ours = vggviz.build_vgg("vgg16", **kwargs)
    assert ours.output.shape == theirs.output.shape
    assert ours.count_params() == theirs.count_params()


def test_pooling_keras_would_ignore_is_refused_in_words():
    """Keras takes any `pooling` and quietly pools not at all; build_vgg names the choices."""
    with pytest.raises(ValueError, match=r"pooling must be None, 'avg' or 'max', got 'sum'"):
        vggviz.build_vgg("vgg16", include_top=False, pooling="sum")


def test_decode_predictions_refuses_what_keras_refuses():
    for preds in (np.zeros((1, 10)), np.zeros(1000)):
        with pytest.raises(ValueError):
            keras.applications.vgg16.decode_predictions(preds)
        with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
            vggviz.decode_predictions(preds)
