"""Activations of the stem and groups: equal to Keras, cached, only what is looked at built."""

import keras
import numpy as np
import pytest

import vggviz.network.features
from vggviz.network.features import FeatureExtractor
from vggviz.sources.imagenet import WeightsUnavailable, fetch_imagenet
from vggviz.sources.images import ImageError, load_image, preprocess, sample_images
from vggviz.sources.weights import RandomWeightsWarning, resolve_weights

KERAS_OUTPUTS = {"stem": "block1_conv1", "group1": "block1_pool", "group2": "block2_pool",
                 "group3": "block3_pool", "group4": "block4_pool", "group5": "block5_pool"}


@pytest.fixture(scope="module")
def photo():
    return next(iter(sample_images().values()))


def test_activations_equal_keras_intermediate_outputs(keras_vgg16_notop_file, photo):
    ref = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    ref.load_weights(keras_vgg16_notop_file)
    probe = keras.Model(ref.input, [ref.get_layer(n).output for n in KERAS_OUTPUTS.values()])
    expected = dict(zip(KERAS_OUTPUTS, probe(preprocess(load_image(photo))), strict=True))
    fx = FeatureExtractor("vgg16", weights=keras_vgg16_notop_file)
    stages = fx.all_stages(photo)
    for stage, want in expected.items():
        np.testing.assert_allclose(stages[stage], np.asarray(want[0]), rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(fx.activations(photo, stage), stages[stage])


def test_the_stem_view_builds_one_conv_layer_only(photo):
    fx = FeatureExtractor("vgg16", weights="random")
    maps = fx.activations(photo, "stem")
    assert maps.shape == (224, 224, 64) and maps.dtype == np.float32
    assert (maps >= 0).all() and maps.max() > 0  # after ReLU
    assert [layer.name for layer in fx.model().layers[1:]] == ["block1_conv1"]
    fx.activations(photo, "group2")
    assert fx.model("group2").layers[-1].name == "block2_pool"
    assert not any(layer.name.startswith("fc") for layer in fx.model("group2").layers)


def test_a_second_request_is_a_cache_hit(photo):
    fx = FeatureExtractor("vgg16", weights="random")
    first = fx.activations(photo, "group1")
    assert fx.forward_passes == 1
    again = fx.activations(load_image(photo), "group1")  # same pixels, another object
    stem = fx.activations(photo, "stem")  # computed by the same pass
    assert fx.forward_passes == 1
    assert again is first and stem.shape == (224, 224, 64)
    fx.activations(np.zeros((50, 80, 3), np.uint8))
    assert fx.forward_passes == 2


def test_cache_is_bounded_in_bytes(photo):
    fx = FeatureExtractor("vgg16", weights="random", cache_bytes=30 * 2**20)
    for i in range(5):
        fx.activations(np.full((224, 224, 3), i * 40, np.uint8))
    assert fx.cached_bytes <= 30 * 2**20


def test_random_weights_are_seeded(photo):
    a = FeatureExtractor(weights="random", seed=1).activations(photo)
    b = FeatureExtractor(weights="random", seed=1).activations(photo)
    c = FeatureExtractor(weights="random", seed=2).activations(photo)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("stem", ["pooled", "strided"])
def test_other_stems_give_their_output_size(stem, photo):
    fx = FeatureExtractor("vgg16", weights="random", stem=stem)
    assert fx.activations(photo).shape == {"pooled": (112, 112, 64),
                                           "strided": (56, 56, 64)}[stem]
    assert fx.kernels().shape == {"pooled": (3, 3, 3, 64), "strided": (7, 7, 3, 64)}[stem]


def test_imagenet_weights_come_from_keras_cache_by_name(fake_imagenet_cache, keras_vgg16_notop,
                                                        photo):
    """Keras' own loader accepts the fixture's file, and our stem loads it by name."""
    check = keras.applications.VGG16(weights=None, include_top=False)
    check.load_weights(fake_imagenet_cache)
    fx = FeatureExtractor("vgg16", weights="imagenet")
    np.testing.assert_array_equal(fx.kernels(),
                                  keras_vgg16_notop.get_layer("block1_conv1").get_weights()[0])
    assert resolve_weights("auto", "vgg16", download=False) == ("imagenet", None)
    assert fx.label == "ImageNet"


def test_offline_imagenet_fails_with_advice(offline):
    with pytest.raises(WeightsUnavailable, match=r"put it at .*vgg16_weights_tf_dim_ordering"):
        fetch_imagenet("vgg16")
    with pytest.raises(WeightsUnavailable):
        FeatureExtractor("vgg16", weights="imagenet").activations(np.zeros((64, 64, 3)))


def test_auto_weights_fall_back_to_random_and_say_so(offline):
    with pytest.warns(RandomWeightsWarning) as caught:
        fx = FeatureExtractor("vgg16", weights="auto")
    assert fx.weights == "random"
    assert "randomly initialised" in fx.notice
    assert len(caught) == 1 and caught[0].filename == __file__  # points at the caller's line
    assert str(caught[0].message) == f"FeatureExtractor('vgg16', weights='auto'): {fx.notice}"
    weights, notice = resolve_weights("auto", "vgg13")
    assert weights == "random" and "no ImageNet weights for vgg13" in notice


def test_unknown_stage_names_the_stages(photo):
    with pytest.raises(ValueError, match="stem, group1"):
        FeatureExtractor(weights="random").activations(photo, "group9")


def test_the_stem_runs_one_conv_even_after_a_visit_to_group5(photo):
    fx = FeatureExtractor("vgg16", weights="random")
    stem_before = fx.activations(photo, "stem")
    fx.activations(np.zeros((64, 64, 3), np.uint8), "group5")
    assert [layer.name for layer in fx.model("stem").layers[1:]] == ["block1_conv1"]
    assert fx.model("group2").layers[-1].name == "block2_pool"
    assert fx.model("group5").layers[-1].name == "block5_pool"
    fx.activations(np.full((64, 64, 3), 9, np.uint8), "stem")  # runs the one-conv view
    np.testing.assert_array_equal(fx.activations(photo, "stem"), stem_before)


def test_cached_activations_are_read_only(photo):
    fx = FeatureExtractor("vgg16", weights="random")
    first = fx.activations(photo, "stem")
    with pytest.raises(ValueError, match="read-only"):
        first[:] = -1
    stages = fx.all_stages(photo)
    with pytest.raises(ValueError, match="read-only"):
        stages["group2"][0, 0, 0] = 5
    assert (fx.activations(photo, "stem") >= 0).all()


def test_a_cached_source_is_not_decoded_again(monkeypatch, tmp_path):
    decoded = []
    real = vggviz.network.features.load_image

    def counting(image, **kwargs):
        decoded.append(type(image).__name__)
        return real(image, **kwargs)

    monkeypatch.setattr(vggviz.network.features, "load_image", counting)
    path = tmp_path / "photo.png"
    next(iter(sample_images().values())).save(path)
    data = path.read_bytes()
    array = np.asarray(load_image(path))
    fx = FeatureExtractor("vgg16", weights="random")
    for source in (data, path, str(path), array):
        for stage in ("stem", "group1", "stem", "group1"):
            fx.activations(source, stage)
    assert decoded == ["bytes", "PosixPath", "ndarray"]  # once per source (path = its str)
    assert fx.forward_passes == 2  # stem, then group1: all four sources are the same pixels
    path.write_bytes(data + b"\0")  # a changed file is decoded again
    fx.activations(path, "stem")
    assert len(decoded) == 4


def test_what_an_extractor_is_cannot_change_under_its_cache():
    fx = FeatureExtractor("vgg16", weights="random")
    for name, value in [("weights", "imagenet"), ("size", 448), ("fit", "pad"),
                        ("variant", "vgg19"), ("stem", "pooled"), ("seed", 3),
                        ("notice", "x")]:
        with pytest.raises(AttributeError):
            setattr(fx, name, value)
    with pytest.raises(ValueError, match="at least 64"):
        FeatureExtractor("vgg16", weights="random", stem="pooled", size=48)
    with pytest.raises(ValueError, match="fit must be one of"):
        FeatureExtractor("vgg16", weights="random", fit="zoom")


def test_bad_images_raise_image_error(photo):
    fx = FeatureExtractor("vgg16", weights="random")
    for bad in (b"not an image", np.zeros((0, 5, 3), np.uint8)):
        with pytest.raises(ImageError):
            fx.activations(bad)


def test_weights_that_are_what_was_asked_warn_nothing(photo, recwarn):
    FeatureExtractor("vgg16", weights="random").activations(photo, "stem")
    assert not [w for w in recwarn if issubclass(w.category, RandomWeightsWarning)]


def test_the_repr_says_variant_weights_stem_size_and_what_is_built(photo, keras_vgg16_notop_file,
                                                                 offline):
    fx = FeatureExtractor("vgg13", weights="random", seed=7, stem="pooled", size=96)
    assert repr(fx) == ("<FeatureExtractor vgg13, weights='random' seed=7, stem='pooled', "
                        "96×96, fit='crop', built: nothing yet>")
    fx.activations(photo, "group2")
    assert repr(fx).endswith("built: stem, group1, group2>")
    with pytest.warns(RandomWeightsWarning):
        auto = FeatureExtractor("vgg16", weights="auto")
    assert "weights='random' seed=0 (asked 'auto')" in repr(auto)
    from_file = FeatureExtractor("vgg16", weights=keras_vgg16_notop_file, size=64)
    assert f"weights={str(keras_vgg16_notop_file)!r}," in repr(from_file)
