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


VGG16_GROUPS = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]
"""VGG16's blocks as (convs, filters): configuration D of Simonyan & Zisserman 2014, Table 1."""


def test_your_own_groups_in_the_seed_idiom_rebuild_keras_vgg16():
    """stem + learner([(1, 64), (2, 128), (3, 256), (3, 512), (3, 512)]) is VGG16's conv base,
    and so is learner(VGG16's five blocks) on the input: Keras' own layer names, parameter count
    and output shapes (Keras' VGG16 is the reference)."""
    ref = keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3))
    inputs = keras.Input((224, 224, 3))
    after_stem = keras.Model(inputs, learner(stem(inputs), [(1, 64), *VGG16_GROUPS[1:]]))
    alone = keras.Model(inputs, learner(inputs, VGG16_GROUPS))
    for ours in (after_stem, alone):
        assert _shapes(ours) == _shapes(ref)
        assert ours.count_params() == ref.count_params() == 14_714_688
    mine = learner(keras.Input((64, 64, 3)), [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)])
    assert mine.shape[1:] == (2, 2, 512)  # five pools: 64 → 2, as VGG19's learner does


def test_a_learner_of_your_own_after_the_stem_continues_its_block():
    """The issue's case: the stem is block1_conv1, so group 1's two convs are conv2 and conv3."""
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, learner(stem(inputs), [(2, 64), (2, 128)]))
    assert _shapes(model) == [
        ("block1_conv1", (32, 32, 64)), ("block1_conv2", (32, 32, 64)),
        ("block1_conv3", (32, 32, 64)), ("block1_pool", (16, 16, 64)),
        ("block2_conv1", (16, 16, 128)), ("block2_conv2", (16, 16, 128)),
        ("block2_pool", (8, 8, 128))]
    assert model.count_params() == (3 * 9 + 1) * 64 + 2 * (64 * 9 + 1) * 64 \
        + (64 * 9 + 1) * 128 + (128 * 9 + 1) * 128
    deeper = keras.Model(inputs, learner(learner(stem(inputs), [(1, 64)]), [(1, 128)]))
    assert [layer.name for layer in deeper.layers[1:]] == [
        "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_pool"]


# Table 1 of the paper: each configuration's blocks, less the conv the stem takes from block 1.
PAPER_LEARNERS = {
    "vgg13": [(1, 64), (2, 128), (2, 256), (2, 512), (2, 512)],
    "vgg16": [(1, 64), (2, 128), (3, 256), (3, 512), (3, 512)],
    "vgg19": [(1, 64), (2, 128), (4, 256), (4, 512), (4, 512)],
}


@pytest.mark.parametrize("stem_design", list(STEMS))
@pytest.mark.parametrize("variant", list(PAPER_LEARNERS))
def test_stem_and_your_own_learner_equal_build_vgg(variant, stem_design):
    """Where they describe the same network, the builders and build_vgg agree layer by layer."""
    size = STEMS[stem_design].min_input
    inputs = keras.Input((size, size, 3))
    ours = keras.Model(inputs, learner(stem(inputs, variant, stem_design),
                                       PAPER_LEARNERS[variant]))
    ref = build_vgg(variant, stem=stem_design, include_top=False, input_shape=(size, size, 3))
    assert _shapes(ours) == _shapes(ref)
    assert ours.count_params() == ref.count_params()
    keras.backend.clear_session()


def _stemmed(size: int = 32):
    return stem(keras.Input((size, size, 3)))


REFUSED = {
    "no groups": (lambda: learner(_stemmed(), []), "at least one group, got an empty list"),
    "zero convs": (lambda: learner(_stemmed(), [(2, 64), (0, 128)]),
                   "group 2's number of convolutions must be at least 1, got 0"),
    "negative width": (lambda: learner(_stemmed(), [(2, -64)]),
                       "group 1's number of filters must be at least 1, got -64"),
    "zero width": (lambda: learner(_stemmed(), [(2, 0)]), "filters must be at least 1, got 0"),
    "fractional convs": (lambda: learner(_stemmed(), [(2.5, 64)]),
                         "convolutions must be a whole number, got 2.5"),
    "float width": (lambda: learner(_stemmed(), [(2, 64.0)]),
                    "filters must be a whole number, got 64.0"),
    "text width": (lambda: learner(_stemmed(), [(2, "64")]),
                   "filters must be a whole number, got '64'"),
    "bool convs": (lambda: learner(_stemmed(), [(True, 64)]), "a whole number, got True"),
    "not a pair": (lambda: learner(_stemmed(), [(2, 64, 3)]),
                   r"group 1 must be a pair \(n_layers, n_filters\), got \(2, 64, 3\)"),
    "a bare number": (lambda: learner(_stemmed(), [2, 64]), "group 1 must be a pair"),
    "not a list": (lambda: learner(_stemmed(), None), r"list of \(n_layers, n_filters\) pairs"),
    "unknown variant": (lambda: learner(_stemmed(), "vgg99"), "unknown variant 'vgg99'"),
    "too many pools": (lambda: learner(_stemmed(), [(1, 8)] * 6),
                       "block6_pool cannot pool maps of 1×1"),
    "groups=6": (lambda: learner(_stemmed(), "vgg16", 6), "5 groups, got groups=6"),
    "groups=-1": (lambda: learner(_stemmed(), "vgg16", -1), "groups must be at least 0"),
    "groups=2.5": (lambda: learner(_stemmed(), "vgg16", 2.5), "groups must be a whole number"),
    "the learner twice": (lambda: learner(learner(_stemmed(), "vgg16", 1), "vgg16", 1),
                          "already has a layer named block1_conv2, block1_pool"),
    "the stem twice": (lambda: stem(_stemmed()), "already has a layer named block1_conv1"),
    "a group twice": (lambda: group(group(_stemmed(), 1, 64, first=2), 1, 64, first=2),
                      "named block1_conv2, block1_pool; .* another block= or first="),
    "a group of no convs": (lambda: group(_stemmed(), 0, 64), "must be at least 1, got 0"),
    "classes=2.5": (lambda: classifier(_stemmed(), classes=2.5), "classes must be a whole"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_numbers_that_build_no_network_are_refused_in_words(case):
    build, words = REFUSED[case]
    with pytest.raises(ValueError, match=words) as info:
        build()
    message = str(info.value)
    assert len(message.splitlines()) == 1 and "\x1b" not in message, message  # not Keras' own


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
