"""Stacked 3×3 convolutions against one large kernel, from the plan (the paper's section 2.3),
and the family dashboard's panel that shows them."""

import pytest

from vggviz import summarize
from vggviz.plan.kernel_stacks import stacks
from vggviz.ui import vgg_family
from vggviz.ui.panels.stack_panel import stack_panel


def by_place(variant="vgg16", stem="vgg"):
    return {s.components: s for s in stacks(variant, stem)}


def test_vgg16_group3_three_3x3_on_256_channels():
    g3 = by_place()[("group3",)]
    assert (g3.convs, g3.channels, g3.field, g3.extra_relus) == (3, 256, 7, 2)
    assert g3.stacked_weights == 27 * 256**2 == 1_769_472
    assert g3.single_weights == 49 * 256**2 == 3_211_264
    assert g3.saving == pytest.approx(1 - 27 / 49)


@pytest.mark.parametrize(("variant", "n", "stacked", "single"), [
    ("vgg13", 2, 18, 25), ("vgg16", 3, 27, 49), ("vgg19", 4, 36, 81)])
def test_the_papers_multiples_of_c_squared(variant, n, stacked, single):
    run = next(s for s in stacks(variant) if s.convs == n)
    c2 = run.channels ** 2
    assert (run.stacked_weights, run.single_weights) == (stacked * c2, single * c2)


def test_stacked_weights_are_the_weights_keras_counts_where_c_goes_in_and_out():
    """block3_conv2 and block3_conv3 both take 256 channels: their weights, less biases, as
    `summarize` counts them (checked against Keras' count_params elsewhere), are 2·9·256²."""
    layers = {r.name: r for r in summarize("vgg16").layers}
    counted = sum(layers[name].params - 256 for name in ("block3_conv2", "block3_conv3"))
    assert counted == 2 * 9 * 256**2


def test_runs_follow_the_plan_for_each_stem_and_variant():
    assert [s.components for s in stacks("vgg16")] == [
        ("stem", "group1"), ("group2",), ("group3",), ("group4",), ("group5",)]
    assert by_place()[("stem", "group1")].layers == ("block1_conv1", "block1_conv2")
    pooled = by_place("vgg16", "pooled")  # the stem's pool splits block 1
    assert pooled[("stem",)].convs == pooled[("group1",)].convs == 1
    assert ("stem",) not in by_place("vgg16", "strided")  # its 7×7 conv is no 3×3 stack
    assert by_place("vgg16_c")[("group3",)].convs == 2  # the 1×1 conv ends the run
    assert by_place("vgg19_bn")[("group4",)].convs == 4  # batch norm does not split a stack


def test_the_panel_shows_the_numbers_and_follows_the_variant(offline):
    panel = stack_panel("vgg16")
    assert "3·9·256² = 1,769,472" in panel and "49·256² = 3,211,264" in panel
    assert "3 against 1 (+2)" in panel and "7×7" in panel
    app = vgg_family().app
    assert "3·9·256² = 1,769,472" in app.stacks.value
    app.variant.value = "vgg19"
    assert "4·9·256² = 2,359,296" in app.stacks.value and "VGG19" in app.stacks.value
    app.stem.value = "pooled"
    assert "one 3×3" in app.stacks.value
    app.wait()
