"""The effective receptive field: the gradient of one unit on the input is zero outside the box
the plan's arithmetic gives and not zero inside it; two stacked 3×3 convs see what one 5×5 sees."""

import keras
import numpy as np
import pytest

from vggviz.network.effective_field import EffectiveField, input_gradient
from vggviz.network.features import FeatureExtractor
from vggviz.network.models import make_layer
from vggviz.plan.architecture import layer_plan
from vggviz.plan.receptive_field import stage_field


def noise(size: int, seed: int = 0) -> np.ndarray:
    """A random RGB picture: most units of random filters are alive somewhere on it."""
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def nonzero_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def live_units(maps: np.ndarray, channel: int) -> list[tuple[int, int]]:
    """A live unit near a corner, one near the middle and one near the right edge."""
    h, w = maps.shape[:2]
    alive = np.argwhere(maps[:, :, channel] > 0)
    assert len(alive) >= 3, "pick another channel: this one is dead on the picture"
    targets = [(0, 0), (h // 2, w // 2), (h // 3, w - 1)]
    return [tuple(int(v) for v in alive[np.abs(alive - t).sum(1).argmin()]) for t in targets]


@pytest.mark.parametrize(("stem", "size"), [("vgg", 64), ("pooled", 96), ("strided", 128)])
def test_gradient_is_zero_outside_the_box_and_not_inside(stem, size):
    fx = FeatureExtractor("vgg16", weights="random", stem=stem, seed=3, size=size)
    image = noise(size)
    for stage in ("stem", "group1", "group3"):
        maps = fx.activations(image, stage)
        channel = int(np.argmax((maps > 0).mean(axis=(0, 1))))  # the liveliest map
        for row, col in live_units(maps, channel):
            unit = EffectiveField(fx).attribute(image, stage, (channel, row, col))
            assert unit.value == pytest.approx(float(maps[row, col, channel]), rel=1e-4)
            top, left, bottom, right = unit.box
            inside = np.zeros(unit.gradient.shape, bool)
            inside[top:bottom + 1, left:right + 1] = True
            assert not unit.gradient[~inside].any(), (stage, row, col)  # exactly zero outside
            assert unit.gradient[inside].any(), (stage, row, col)
            moving = unit.moving
            assert moving is not None
            assert top <= moving[0] and left <= moving[1]
            assert moving[2] <= bottom and moving[3] <= right
            if stage == "stem" and stem == "vgg":  # one 3×3 conv: every pixel of it counts
                assert moving == unit.box


def test_a_dead_unit_moves_no_pixel():
    fx = FeatureExtractor("vgg16", weights="random", seed=3, size=64)
    image = noise(64)
    maps = fx.activations(image, "group1")
    row, col, channel = (int(v) for v in np.argwhere(maps == 0)[0])
    unit = EffectiveField(fx).attribute(image, "group1", (channel, row, col))
    assert unit.value == 0 and unit.moving is None and not unit.gradient.any()


def test_a_unit_outside_the_maps_is_refused_in_words():
    fx = FeatureExtractor("vgg16", weights="random", seed=3, size=64)
    with pytest.raises(ValueError, match="outside the 32×32×64 maps"):
        EffectiveField(fx).attribute(noise(64), "group1", (0, 32, 0))


def positive_prefix(variant: str, stem: str, size: int, stage: str, seed: int = 0):
    """The plan up to `stage` built with average pools, positive weights and no bias: every
    ReLU passes and every pixel in reach moves the unit, so the gradient's support is the
    whole theoretical field: an independent check of the arithmetic, start included."""
    rng = np.random.default_rng(seed)
    x = inputs = keras.Input((size, size, 3))
    for spec in layer_plan(variant, stem=stem, include_top=False, upto=stage):
        if spec.kind == "pool":
            layer = keras.layers.AveragePooling2D(spec.kernel, spec.stride, spec.padding)
        else:
            layer = make_layer(spec)
        x = layer(x)
        if spec.kind == "conv":
            kernel, bias = layer.get_weights()
            layer.set_weights([rng.uniform(0.1, 1.0, kernel.shape).astype("float32"),
                               np.zeros_like(bias)])
    return keras.Model(inputs, x)


@pytest.mark.parametrize(("variant", "stem", "size"), [
    ("vgg16", "vgg", 64), ("vgg11_lrn", "vgg", 72), ("vgg16_c", "pooled", 96),
    ("vgg13_bn", "pooled", 99), ("vgg19", "strided", 128), ("vgg16", "strided", 131),
])
def test_the_plans_arithmetic_is_the_support_of_the_gradient(variant, stem, size):
    batch = np.random.default_rng(1).uniform(1, 2, (1, size, size, 3)).astype("float32")
    for stage in ("stem", "group1", "group2"):
        model = positive_prefix(variant, stem, size, stage)
        field = stage_field(variant, stem, stage, size)
        h, w = model.output_shape[1:3]
        for row, col in [(0, 0), (h // 2, w // 3), (h - 1, w - 1)]:
            _, gradient = input_gradient(model, batch, 0, row, col)
            assert nonzero_box(np.abs(gradient).sum(-1) > 0) == field.box(row, col, (size, size))


def conv_stack(kernels: list[int], seed: int = 0) -> keras.Model:
    """Convs of 8 filters with ReLU, "same" padding, weights in (0.1, 1): all ReLUs pass on a
    positive input, so the gradient is nonzero wherever an output depends on a pixel."""
    x = inputs = keras.Input((15, 15, 3))
    for i, k in enumerate(kernels):
        x = keras.layers.Conv2D(8, k, padding="same", activation="relu",
                                kernel_initializer=keras.initializers.RandomUniform(
                                    0.1, 1.0, seed=seed + i))(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize(("stacked", "single"), [(2, 5), (3, 7)])
def test_stacked_3x3_convs_see_what_one_large_kernel_sees(stacked, single):
    batch = np.random.default_rng(2).uniform(0.5, 1, (1, 15, 15, 3)).astype("float32")
    supports = []
    for model in (conv_stack([3] * stacked), conv_stack([single])):
        _, gradient = input_gradient(model, batch, 0, 7, 7)
        supports.append(np.abs(gradient).sum(-1) > 0)
    half = single // 2
    expected = np.zeros((15, 15), bool)
    expected[7 - half:8 + half, 7 - half:8 + half] = True
    assert np.array_equal(supports[0], expected) and np.array_equal(supports[1], expected)


def test_a_model_the_extractor_frees_is_released_though_its_gradient_was_taken():
    """The compiled gradient of a model lives as long as the model, not longer: when the
    extractor builds a deeper prefix and drops the shallower one, that one is really gone."""
    import gc
    import weakref

    fx = FeatureExtractor("vgg11", weights="random", seed=0, size=32)
    image = noise(32)
    EffectiveField(fx).attribute(image, "stem", (0, 3, 3))
    stem_model = weakref.ref(fx.model("stem"))
    EffectiveField(fx).attribute(image, "group1", (0, 3, 3))
    deeper = weakref.ref(fx.model("group1"))
    fx.model("group2")  # builds the deeper prefix and frees the shallower one
    gc.collect()
    assert stem_model() is None and deeper() is None
    assert EffectiveField(fx).attribute(image, "group2", (0, 1, 1)).gradient.shape == (32, 32)
