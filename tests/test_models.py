"""The Keras builders: equal to the accounting, and to Keras' own VGG16/VGG19."""

import keras
import numpy as np
import pytest

from vggviz import STEMS, VARIANTS, build_vgg, summarize
from vggviz.network.models import classifier, group, learner, stem
from vggviz.sources.weight_files import WeightsMismatch


def _shapes(model):
    return [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers[1:]]


@pytest.mark.slow
@pytest.mark.parametrize("size", [224, 160])
@pytest.mark.parametrize("stem_design", list(STEMS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_accounting_equals_keras(variant, stem_design, size):
    """count_params() and every layer's output shape, with and without the top."""
    for top in (True, False):
        model = build_vgg(variant, stem=stem_design, include_top=top,
                          input_shape=(size, size, 3))
        s = summarize(variant, stem=stem_design, include_top=top, input_shape=(size, size, 3))
        assert model.count_params() == s.total_params
        assert _shapes(model) == [(r.name, r.output_shape) for r in s.layers]
        del model
        keras.backend.clear_session()


@pytest.mark.parametrize("upto", ["stem", "group1", "group3", "group5"])
def test_prefix_models_hold_only_their_layers(upto):
    model = build_vgg("vgg16", upto=upto)
    s = summarize("vgg16", include_top=False)
    names = [c.name for c in s.components]
    wanted = names[: names.index(upto) + 1]
    expected = [r.name for r in s.layers if r.component in wanted]
    assert [layer.name for layer in model.layers[1:]] == expected
    assert model.output.shape[1:] == s.component(upto).output_shape


def test_builders_compose_in_the_seed_idiom():
    inputs = keras.Input((64, 64, 3))
    model = keras.Model(inputs, classifier(learner(stem(inputs, "vgg11"), "vgg11"), classes=10))
    assert model.get_layer("block1_conv1").output.shape[1:] == (64, 64, 64)
    assert model.get_layer("block5_pool").output.shape[1:] == (2, 2, 512)
    assert model.output.shape[1:] == (10,)
    g2 = group(keras.Input((16, 16, 64)), 2, 128, block=2)
    assert g2.shape[1:] == (8, 8, 128)


def test_your_own_groups_in_the_seed_idiom_rebuild_keras_vgg16():
    """stem + learner([(1, 64), (2, 128), (3, 256), (3, 512), (3, 512)]) is VGG16's conv base:
    Keras' own layer names, parameter count and output shape (Keras' VGG16 is the reference)."""
    inputs = keras.Input((224, 224, 3))
    x = stem(inputs)
    x = group(x, 1, 64, block=1, first=2)  # the stem took block 1's first conv
    for block, (n_layers, n_filters) in enumerate([(2, 128), (3, 256), (3, 512), (3, 512)],
                                                  start=2):
        x = group(x, n_layers, n_filters, block=block)
    ours = keras.Model(inputs, x)
    ref = keras.applications.VGG16(weights=None, include_top=False)
    assert [layer.name for layer in ours.layers[1:]] == [layer.name for layer in ref.layers[1:]]
    assert ours.count_params() == ref.count_params() == 14_714_688
    mine = learner(keras.Input((64, 64, 3)), [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)])
    assert mine.shape[1:] == (2, 2, 512)  # five pools: 64 → 2, as VGG19's learner does


def test_seeded_random_weights_are_reproducible_and_shared_by_prefixes():
    a = build_vgg("vgg16", upto="stem", seed=7).get_layer("block1_conv1").get_weights()[0]
    b = build_vgg("vgg16", upto="group2", seed=7).get_layer("block1_conv1").get_weights()[0]
    c = build_vgg("vgg16", upto="stem", seed=8).get_layer("block1_conv1").get_weights()[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_keras_vgg16_weights_file_gives_identical_outputs(keras_vgg16_notop_file):
    ref = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    ref.load_weights(keras_vgg16_notop_file)
    ours = build_vgg("vgg16", include_top=False, input_shape=(64, 64, 3),
                     weights=keras_vgg16_notop_file)
    x = np.random.default_rng(0).uniform(-120, 150, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_array_equal(ref(x).numpy(), ours(x).numpy())


@pytest.mark.parametrize("app", ["VGG16", "VGG19"])
def test_keras_weights_with_top_load_by_name(tmp_path, app):
    ref = getattr(keras.applications, app)(weights=None, include_top=True, classes=10,
                                           input_shape=(32, 32, 3))
    path = tmp_path / f"{app}.weights.h5"
    ref.save_weights(path)
    ours = build_vgg(app.lower(), classes=10, input_shape=(32, 32, 3), weights=path)
    assert [layer.name for layer in ours.layers[1:]] == [layer.name for layer in ref.layers[1:]]
    x = np.random.default_rng(1).uniform(-120, 150, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(ref(x).numpy(), ours(x).numpy())


def test_a_file_for_another_variant_is_refused_naming_layers(keras_vgg16_notop_file):
    with pytest.raises(WeightsMismatch, match="13 conv layers; vgg19"):
        build_vgg("vgg19", include_top=False, input_shape=(64, 64, 3),
                  weights=keras_vgg16_notop_file)
    with pytest.raises(WeightsMismatch, match=r"stem_conv \(file \[\(3, 3, 3, 64\)"):
        build_vgg("vgg16", stem="strided", include_top=False, input_shape=(128, 128, 3),
                  weights=keras_vgg16_notop_file)


def test_lrn_and_batch_norm_variants_run():
    x = np.random.default_rng(2).normal(size=(1, 32, 32, 3)).astype("float32")
    for variant in ("vgg11_lrn", "vgg16_bn"):
        out = build_vgg(variant, include_top=False, input_shape=(32, 32, 3))(x).numpy()
        assert out.shape == (1, 1, 1, 512) and np.isfinite(out).all()
