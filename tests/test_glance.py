"""The network at a glance, as planned: each block's output shape is summarize's and Keras' own,
its drawn size follows the scale (height ∝ the maps' side, width a step per doubling of depth),
the pooled and strided stems draw a smaller stem, and VGG11's group 1 says it only pools."""

from __future__ import annotations

import math

import pytest

from vggviz.plan.accounting import summarize
from vggviz.plan.architecture import COMPONENTS, STEMS, VARIANTS
from vggviz.plan.glance import DEPTH_PX, FLOOR_PX, SIDE_PX, network_glance

ORDER = ("input", *COMPONENTS)


def test_vgg16s_blocks_hand_on_what_keras_vgg16s_layers_output():
    import keras

    model = keras.applications.VGG16(weights=None)
    ends = {"stem": "block1_conv1", **{f"group{i}": f"block{i}_pool" for i in range(1, 6)},
            "classifier": "predictions"}
    g = network_glance("vgg16")
    assert [b.name for b in g.blocks] == list(ORDER)
    assert g.block("input").output_shape == tuple(model.input.shape[1:])
    for name, layer in ends.items():
        assert g.block(name).output_shape == tuple(model.get_layer(layer).output.shape[1:]), name
    dense = [model.get_layer(n).output.shape[-1] for n in ("fc1", "fc2", "predictions")]
    assert g.block("classifier").shape_text == " → ".join(map(str, dense))  # 4096 → 4096 → 1000
    assert g.block("group5").accessible_name == "group 5: 7×7×512"


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("stem", list(STEMS))
@pytest.mark.parametrize("size", [128, 224, 512])
def test_every_block_hands_on_what_summarize_counts(variant, stem, size):
    g = network_glance(variant, stem, size)
    s = summarize(variant, stem=stem, input_shape=(size, size, 3))
    assert g.block("input").output_shape == (size, size, 3)
    for c in s.components:
        assert g.block(c.name).output_shape == c.output_shape


@pytest.mark.parametrize("size", [64, 224, 512])
def test_heights_follow_the_maps_side_and_widths_their_depth_in_doublings(size):
    g = network_glance("vgg16", size=size)
    assert g.block("input").height == SIDE_PX  # the input is as tall whatever its size
    for block in g.blocks[:-1]:
        side, _, depth = block.output_shape
        (box,) = block.boxes
        assert box.height == pytest.approx(max(FLOOR_PX, SIDE_PX * side / size), abs=0.01)
        assert box.floored == (SIDE_PX * side / size < FLOOR_PX)
        assert box.width == pytest.approx(DEPTH_PX * math.log2(depth), abs=0.01)
    steps = [g.block(f"group{i}").width - g.block(f"group{i - 1}").width for i in (3, 4)]
    assert steps == [DEPTH_PX, DEPTH_PX]  # 128 → 256 → 512: a doubling, one equal step
    groups = [g.block(f"group{i}").boxes[0] for i in range(1, 6)]
    for before, after in zip(groups, groups[1:], strict=False):
        if not after.floored:  # each group's pool halves the side: half as tall
            assert after.height == pytest.approx(before.height / 2, abs=0.01)


def test_the_classifier_is_one_thin_bar_per_dense_layer_as_wide_as_its_vector():
    fc, gap = network_glance("vgg16"), network_glance("vgg16", classifier="gap")
    assert [box.width for box in fc.block("classifier").boxes] == pytest.approx(
        [DEPTH_PX * math.log2(n) for n in (4096, 4096, 1000)], abs=0.01)
    assert all(box.height == FLOOR_PX and box.floored for box in fc.block("classifier").boxes)
    assert gap.block("classifier").shape_text == "1000"
    assert "averages each of the 512 maps" in gap.lines["classifier"]
    assert "25,088 values" in fc.lines["classifier"]  # 7 × 7 × 512 flattened
    with pytest.raises(ValueError, match="unknown classifier"):
        network_glance("vgg16", classifier="svm")


@pytest.mark.parametrize("stem,side,ratio", [("pooled", 112, 2), ("strided", 56, 4)])
def test_a_stem_that_reduces_draws_a_smaller_block(stem, side, ratio):
    vgg, other = network_glance("vgg16"), network_glance("vgg16", stem)
    assert other.block("stem").output_shape == (side, side, 64)
    assert other.block("stem").height == vgg.block("stem").height / ratio
    assert other.block("stem").width == vgg.block("stem").width  # the same 64 maps
    assert f"feature maps of {side}×{side}" in other.lines["stem"]
    assert other.block("group1").height < vgg.block("group1").height


@pytest.mark.parametrize("variant", ["vgg11", "vgg11_lrn", "vgg11_bn"])
@pytest.mark.parametrize("stem", list(STEMS))
def test_vgg11s_group_1_says_it_only_pools_after_the_stem(variant, stem):
    g = network_glance(variant, stem)
    assert summarize(variant, stem=stem).component("group1").params == 0  # the table's "0"
    group1 = g.block("group1")
    assert group1.tag == "pool only"
    assert "one convolution is the stem" in group1.note
    assert "group 1 has none: its one conv is the stem" in g.lines["group"]
    assert g.lines["group"].startswith("1–2 3×3 convolutions")
    assert all(not g.block(f"group{i}").tag for i in range(2, 6))


def test_vgg16s_groups_each_say_their_convolutions():
    g = network_glance("vgg16")
    assert not any(b.tag for b in g.blocks)
    assert g.block("group1").note.startswith("1 convolution of 64 filters")  # less the stem
    assert g.block("group3").note.startswith("3 convolutions of 256 filters")
    assert g.lines["group"] == ("1–3 3×3 convolutions with ReLU, then a 2×2 max-pool halves "
                               "the maps")
    assert g.lines["learner"] == ("groups 1–5: the maps shrink from 112×112 to 7×7 while they "
                                  "multiply from 64 to 512")
    assert "batch norm and ReLU" in network_glance("vgg16_bn").lines["group"]
    assert "(3×3 and 1×1)" in network_glance("vgg16_c").lines["group"]
