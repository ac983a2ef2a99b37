"""The VGG configurations as data, and the arithmetic of their cost (no TensorFlow)."""

import json
import subprocess
import sys

import pytest

from vggviz import STEMS, VARIANTS, summarize
from vggviz.plan.accounting import BYTES_PER_VALUE, summarize_all
from vggviz.plan.architecture import check_input_shape, group_layers, layer_plan, stem_layers

# Keras' own count_params() with the top (keras.applications.VGG16 and VGG19).
REFERENCE = {
    ("vgg11", True): 132_863_336,
    ("vgg13", True): 133_047_848,
    ("vgg16_c", True): 133_638_952,
    ("vgg16", True): 138_357_544,
    ("vgg19", True): 143_667_240,
    ("vgg16", False): 14_714_688,
    ("vgg19", False): 20_024_384,
}


@pytest.mark.parametrize(("variant", "top"), list(REFERENCE))
def test_total_params_match_keras_reference(variant, top):
    assert summarize(variant, include_top=top).total_params == REFERENCE[(variant, top)]


def test_paper_table_2_millions():
    """Simonyan & Zisserman, Table 2: 133, 133, 134, 138, 144 million parameters."""
    millions = [round(summarize(v).total_params / 1e6) for v in
                ("vgg11", "vgg11_lrn", "vgg13", "vgg16", "vgg19")]
    assert millions == [133, 133, 133, 138, 144]  # B is 133.05 M; the paper rounds it to 133
    assert round(summarize("vgg16_c").total_params / 1e6) == 134


def test_every_variant_and_stem_named():
    assert set(VARIANTS) == {"vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19",
                             "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"}
    assert list(STEMS) == ["vgg", "pooled", "strided"]
    assert VARIANTS["vgg16"].convs == (2, 2, 3, 3, 3)
    assert VARIANTS["vgg19"].convs == (2, 2, 4, 4, 4)
    assert VARIANTS["vgg11"].convs == (1, 1, 2, 2, 2)


def test_stem_is_the_first_conv_and_group1_the_rest_of_block1():
    assert [s.name for s in stem_layers("vgg16")] == ["block1_conv1"]
    assert [s.name for s in group_layers("vgg16", 1)] == ["block1_conv2", "block1_pool"]
    assert [s.name for s in group_layers("vgg11", 1)] == ["block1_pool"]
    assert [s.name for s in group_layers("vgg11_lrn", 1)] == ["block1_lrn", "block1_pool"]
    assert [s.name for s in stem_layers("vgg16", "pooled")] == ["block1_conv1", "stem_pool"]
    assert [(s.name, s.kernel, s.stride) for s in stem_layers("vgg16", "strided")] == [
        ("stem_conv", 7, 2), ("stem_pool", 3, 2)]
    assert [s.name for s in stem_layers("vgg16_bn")] == ["block1_conv1", "block1_bn1",
                                                         "block1_relu1"]


def test_config_c_ends_blocks_3_to_5_with_a_1x1_conv():
    plan = {s.name: s for s in layer_plan("vgg16_c")}
    assert [plan[f"block{b}_conv3"].kernel for b in (3, 4, 5)] == [1, 1, 1]
    assert plan["block3_conv2"].kernel == 3
    assert "block2_conv3" not in plan


def test_stem_output_and_values_entering_the_learner():
    vgg = summarize("vgg16")
    assert vgg.component("stem").output_shape == (224, 224, 64)
    assert vgg.values_entering_learner == 224 * 224 * 64 == 3_211_264
    assert vgg.values_entering_learner * BYTES_PER_VALUE == 12_845_056  # ≈ 12.8 MB
    pooled = summarize("vgg16", stem="pooled")
    assert pooled.component("stem").output_shape == (112, 112, 64)
    assert pooled.values_entering_learner * 4 == vgg.values_entering_learner
    assert summarize("vgg16", stem="strided").component("stem").output_shape == (56, 56, 64)


def test_components_add_up_and_macs_are_counted():
    s = summarize("vgg16")
    assert [c.name for c in s.components] == ["stem", "group1", "group2", "group3", "group4",
                                              "group5", "classifier"]
    assert sum(c.params for c in s.components) == sum(r.params for r in s.layers)
    assert s.component("stem").macs == 224 * 224 * 64 * 3 * 3 * 3
    assert s.component("classifier").params / s.total_params > 0.89
    assert s.total_macs == pytest.approx(15.47e9, rel=1e-3)
    assert "classifier" not in [c.name for c in summarize("vgg16", include_top=False).components]


def test_to_dict_has_exactly_the_documented_shape():
    d = summarize("vgg16", stem="pooled", input_shape=(160, 160, 3)).to_dict()
    assert list(d) == ["variant", "stem", "input_shape", "include_top", "classifier",
                       "total_params", "components", "layers"]
    assert d["input_shape"] == [160, 160, 3]
    assert set(d["components"][0]) == {"name", "params", "output_shape", "activation_values",
                                       "macs"}
    assert set(d["layers"][0]) == {"name", "component", "kind", "output_shape", "params",
                                   "activation_values", "macs", "receptive_field"}
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize(("stem", "smallest"), [("vgg", 32), ("pooled", 64), ("strided", 128)])
def test_inputs_below_the_stem_minimum_are_refused(stem, smallest):
    assert summarize("vgg16", stem=stem, input_shape=(smallest, smallest, 3)).layers[-1]
    with pytest.raises(ValueError, match=f"at least {smallest}×{smallest}"):
        summarize("vgg16", stem=stem, input_shape=(smallest - 1, smallest, 3))


def test_bad_options_name_the_choices():
    with pytest.raises(ValueError, match="vgg11, vgg11_lrn"):
        summarize("vgg17")
    with pytest.raises(ValueError, match="vgg, pooled, strided"):
        summarize("vgg16", stem="tiny")
    with pytest.raises(ValueError, match="1 or 3 channels"):
        check_input_shape((224, 224, 4))
    assert summarize("vgg16", input_shape=(224, 224, 1)).component("stem").params == 640


def test_summary_of_every_variant_is_arithmetic_alone():
    """Counting every variant, stem and size loads only vggviz.plan: no TensorFlow, Keras or
    numpy (benchmarks/bench_plan.py reports how long it takes)."""
    code = ("import sys, vggviz; from vggviz.plan.accounting import summarize_all; "
            "n = sum(len(summarize_all(stem=s, input_shape=(n, n, 3)))"
            " for s in vggviz.STEMS for n in (224, 512)); "
            "print(n, *sorted(m for m in sys.modules if m.split('.')[0] in "
            "('vggviz', 'tensorflow', 'keras', 'numpy', 'PIL', 'matplotlib', 'h5py')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    count, *loaded = out.stdout.split()
    assert int(count) == len(STEMS) * 2 * len(VARIANTS)
    assert "vggviz.plan.accounting" in loaded
    assert [m for m in loaded if m != "vggviz" and not m.startswith("vggviz.plan.")
            and m != "vggviz.plan"] == []


def test_summarize_all_lists_every_variant_in_order():
    assert [s.variant for s in summarize_all()] == list(VARIANTS)


# torchvision's published figures for its ImageNet VGGs (torchvision/models/vgg.py, each
# weight's meta "num_params" and "_ops" in GMACs): an outside reference for the counts.
TORCHVISION = {"vgg11": (132_863_336, 7.609), "vgg11_bn": (132_868_840, 7.609),
               "vgg13": (133_047_848, 11.308), "vgg13_bn": (133_053_736, 11.308),
               "vgg16": (138_357_544, 15.47), "vgg16_bn": (138_365_992, 15.47),
               "vgg19": (143_667_240, 19.632), "vgg19_bn": (143_678_248, 19.632)}


@pytest.mark.parametrize("variant", list(TORCHVISION))
def test_parameters_and_macs_equal_torchvision(variant):
    params, gmacs = TORCHVISION[variant]
    s = summarize(variant)
    assert s.trainable_params == params
    assert round(s.total_macs / 1e9, 3) == pytest.approx(gmacs, abs=6e-4)


def test_activation_memory_is_a_fused_inference_count_equal_for_plain_and_bn_twins():
    """By hand, VGG16 at 224: one output per conv (BN and ReLU folded in), pool and dense
    layer; flatten is a reshape and adds nothing."""
    conv = {224: 64, 112: 128, 56: 256, 28: 512, 14: 512}
    convs = {224: 2, 112: 2, 56: 3, 28: 3, 14: 3}
    by_hand = sum(n * side * side * conv[side] for side, n in convs.items())
    by_hand += sum((side // 2) ** 2 * conv[side] for side in conv)  # the five pools
    by_hand += 4096 + 4096 + 1000
    for name in ("vgg16", "vgg16_bn"):
        assert summarize(name).activation_values == by_hand
    assert summarize("vgg16").component("stem").activation_values == 224 * 224 * 64
    for plain in ("vgg11", "vgg13", "vgg19"):
        for stem in STEMS:
            a, b = summarize(plain, stem=stem), summarize(f"{plain}_bn", stem=stem)
            assert [c.activation_values for c in a.components] == \
                [c.activation_values for c in b.components]


@pytest.mark.parametrize("share, said", [
    (0, "0%"), (1, "100%"), (0.5, "50%"), (0.821, "82%"), (0.004, "0.4%"), (0.996, "99.6%"),
    (0.0004, "<0.1%"), (3135 / 3136, ">99.9%"), (0.9996, ">99.9%"), (0.9994, "99.9%"),
])
def test_a_share_says_none_or_all_only_when_it_is(share, said):
    """"zeros 100% of the map" for a map with a live unit was a rounded share said as all."""
    from vggviz.plan.formatting import percent, share_percent

    assert share_percent(share) == said
    assert percent(0.99995) == "> 99.9 %" and percent(0.00004) == "< 0.1 %"
    assert percent(1) == "100.0 %" and percent(0) == "0 %"
