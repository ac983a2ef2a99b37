"""Receptive fields from the plan (no TensorFlow): the published VGG16 figures, hand-derived
fields of the other stems, and the field as `vggviz summary` prints it."""

import json

import pytest

from vggviz import summarize
from vggviz.cli import main
from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.plan.receptive_field import ReceptiveField, receptive_fields, stage_field

# VGG16's receptive fields, in input pixels, by the standard arithmetic (as published in the
# receptive-field tables for VGG16, e.g. Araujo et al., Distill 2019).
VGG16 = {"block1_conv1": 3, "block1_conv2": 5, "block1_pool": 6, "block2_conv2": 14,
         "block3_conv3": 40, "block4_conv3": 92, "block5_conv3": 196, "block5_pool": 212}


@pytest.mark.parametrize(("layer", "size"), list(VGG16.items()))
def test_vgg16_matches_the_published_figures(layer, size):
    assert receptive_fields("vgg16")[layer].size == size
    assert summarize("vgg16").receptive_fields[layer].size == size


def test_vgg_stem_jumps_and_centres_by_hand():
    fields = receptive_fields("vgg16", input_shape=(224, 224, 3))
    # a 2×2 pool doubles the jump and moves unit 0's centre half a jump down and right
    assert fields["block1_conv2"] == ReceptiveField(5, 1, (0.0, 0.0))
    assert fields["block1_pool"] == ReceptiveField(6, 2, (0.5, 0.5))
    assert fields["block2_pool"] == ReceptiveField(16, 4, (1.5, 1.5))
    assert fields["block5_pool"] == ReceptiveField(212, 32, (15.5, 15.5))
    # unit (0, 0) of block1_pool takes conv outputs 0–1, which see pixels −2..2 and −1..3
    assert fields["block1_pool"].box(0, 0) == (-2, -2, 3, 3)
    assert fields["block1_pool"].box(0, 0, (224, 224)) == (0, 0, 3, 3)
    assert fields["block1_pool"].box(5, 7) == (8, 12, 13, 17)


def test_pooled_stem_by_hand():
    fields = receptive_fields("vgg16", stem="pooled", input_shape=(128, 128, 3))
    assert fields["stem_pool"] == ReceptiveField(4, 2, (0.5, 0.5))  # 3 + 1
    assert fields["block1_conv2"] == ReceptiveField(8, 2, (0.5, 0.5))  # 4 + 2·2
    assert fields["block1_pool"] == ReceptiveField(10, 4, (1.5, 1.5))  # 8 + 1·2


@pytest.mark.parametrize(("size", "conv_start", "pool_start"), [(224, 1.0, 3.0), (131, 0.0, 2.0)])
def test_strided_stem_by_hand_for_even_and_odd_inputs(size, conv_start, pool_start):
    """Keras' "same" padding puts the odd pixel after: for an even side the 7×7/2 conv pads 2
    before (unit 0 sees −2..4, centre 1), for an odd side 3 (−3..3, centre 0); the 3×3/2 pool
    then pads 0 before, so its unit 0 takes conv units 0–2 (11 px, centre 2 px further on)."""
    fields = receptive_fields("vgg16", stem="strided", input_shape=(size, size, 3))
    assert fields["stem_conv"] == ReceptiveField(7, 2, (conv_start, conv_start))
    assert fields["stem_pool"] == ReceptiveField(11, 4, (pool_start, pool_start))
    assert fields["block1_conv2"].size == 11 + 2 * 4


def test_one_by_one_convs_lrn_and_batch_norm_leave_the_field_as_it_is():
    c = receptive_fields("vgg16_c")
    assert c["block3_conv3"] == c["block3_conv2"] and c["block3_conv3"].size == 32
    lrn = receptive_fields("vgg11_lrn")
    assert lrn["block1_lrn"] == lrn["block1_conv1"]
    bn = receptive_fields("vgg16_bn")
    assert bn["block1_bn1"] == bn["block1_relu1"] == bn["block1_conv1"]
    assert bn["block5_pool"] == receptive_fields("vgg16")["block5_pool"]


def test_deeper_variants_see_further_and_every_stem_and_size_has_a_field():
    last = {name: receptive_fields(name)["block5_pool"].size for name in VARIANTS}
    assert last["vgg11"] == 150 and last["vgg13"] == 156 and last["vgg19"] == 268
    for stem, design in STEMS.items():
        for size in (design.min_input, design.min_input + 1, 224):
            field = stage_field("vgg16", stem, "group5", size)
            assert field.jump == 32 * design.reduction


def test_summary_json_and_table_carry_the_field(capsys):
    assert main(["summary", "vgg16", "--json"]) == 0
    layers = {row["name"]: row for row in json.loads(capsys.readouterr().out)["layers"]}
    assert layers["block3_conv3"]["receptive_field"] == {"size": 40, "jump": 4,
                                                          "start": [1.5, 1.5]}
    assert layers["block5_pool"]["receptive_field"]["size"] == 212
    assert layers["fc1"]["receptive_field"] is None  # a dense layer sees the whole input
    assert main(["summary", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "receptive field" in out.splitlines()[1]
    row = next(line for line in out.splitlines() if line.startswith("block4_conv3"))
    assert row.endswith("92 px (jump 8)")
    assert next(line for line in out.splitlines() if line.startswith("fc2")).endswith(
        "whole input")
