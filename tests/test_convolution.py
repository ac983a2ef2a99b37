"""The worked convolution against Keras: the hand-made sum, bias, (BN), ReLU and pool equal the
real model's maps, and the patch is the preprocessed input with "same" padding's zeros."""

from pathlib import Path

import numpy as np
import pytest
from conftest import write_legacy_h5

from vggviz.by_hand.convolution import INPUT_CHANNELS, map_size, same_padding, worked_output
from vggviz.network.features import FeatureExtractor
from vggviz.network.models import build_vgg
from vggviz.plan.architecture import stem_layers
from vggviz.sources.images import preprocess

SIZE = 224
DESIGNS = [("vgg16", "vgg"), ("vgg16", "pooled"), ("vgg16", "strided"),
           ("vgg16_bn", "vgg"), ("vgg19_bn", "pooled"), ("vgg11_bn", "strided")]


@pytest.fixture(scope="module")
def noise():
    """Random pixels: every position and channel matters, so a misplaced patch shows."""
    return np.random.default_rng(7).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def extractor(variant: str, stem: str, folder: Path) -> FeatureExtractor:
    """Random weights with a non-zero bias (and BN statistics that do something, negative
    scales included), saved to a weights file in Keras' layout that the extractor reads."""
    rng = np.random.default_rng(len(variant) * 10 + len(stem))
    model = build_vgg(variant, stem=stem, include_top=False, upto="stem", seed=3,
                      input_shape=(SIZE, SIZE, 3))
    for spec in stem_layers(variant, stem):
        layer = model.get_layer(spec.name)
        if spec.kind == "conv":
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0, 30, bias.shape).astype(np.float32)])
        elif spec.kind == "bn":
            n = layer.get_weights()[0].shape
            layer.set_weights([rng.choice([-1, 1], n) * rng.uniform(0.5, 2, n),
                               rng.normal(0, 10, n), rng.normal(0, 30, n),
                               rng.uniform(50, 500, n)])
    path = folder / f"{variant}_{stem}_stem.h5"
    write_legacy_h5(model, path)
    return FeatureExtractor(variant, weights=path, stem=stem, seed=3)


def keras_pre_activation(fx: FeatureExtractor, batch: np.ndarray) -> np.ndarray:
    """What enters the stem's ReLU, from Keras' own layers: the stem conv (copied without its
    fused ReLU, same weights) and, in the BN variants, the BatchNormalization after it."""
    model = fx.model("stem")
    specs = {spec.kind: spec.name for spec in stem_layers(fx.variant, fx.stem)}
    conv = model.get_layer(specs["conv"])
    linear = conv.__class__.from_config({**conv.get_config(), "activation": None,
                                         "name": "linear_copy"})
    linear.build(batch.shape)
    linear.set_weights(conv.get_weights())
    out = linear(batch)
    if "bn" in specs:
        out = model.get_layer(specs["bn"])(out, training=False)
    return np.asarray(out)[0]


def points(shape: tuple[int, int], rng: np.random.Generator, n: int = 12):
    """The corners, the middles of the edges and `n` random pixels of a map."""
    rows, cols = shape
    edges = [(0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1),
             (0, cols // 2), (rows - 1, cols // 2), (rows // 2, 0), (rows // 2, cols - 1)]
    return edges + [tuple(p) for p in rng.integers(0, (rows, cols), (n, 2))]


def assert_float32_equal(got: float, want: float, w) -> None:
    """Equal up to float32 rounding of a sum of `w.terms` products (and BN after it)."""
    scale, shift = w.normalization or (1.0, 0.0)
    magnitude = float((np.abs(w.products).sum() + abs(w.bias)) * abs(scale) + abs(shift))
    assert got == pytest.approx(want, abs=1e-5 * magnitude + 1e-6), (w.stem, w.at, w.channel)


@pytest.mark.parametrize(("variant", "stem"), DESIGNS, ids=[f"{v}-{s}" for v, s in DESIGNS])
def test_the_worked_sum_is_the_keras_map_value(variant, stem, noise, tmp_path):
    fx = extractor(variant, stem, tmp_path)
    maps = fx.activations(noise, "stem")
    pixels, _ = fx.fitted(noise)
    batch, _ = fx.prepare(noise)
    np.testing.assert_array_equal(pixels, noise)
    kernel, bias = fx.stem_weights()
    norm = fx.stem_batch_norm()
    assert (norm is None) == (not variant.endswith("_bn"))
    assert np.abs(bias).max() > 1  # the bias is part of what is checked
    pre = keras_pre_activation(fx, batch)
    network = batch[0]
    rng = np.random.default_rng(0)
    assert map_size((SIZE, SIZE), stem) == maps.shape[:2]
    passes = fx.forward_passes

    for y, x in points(maps.shape[:2], rng):
        channel = int(rng.integers(64))
        w = worked_output(pixels, kernel, bias, y, x, channel, stem=stem, batch_norm=norm)
        assert w.at == (y, x) and w.terms == kernel[..., 0].size
        # the value of the map, from the sum, the bias, BN and the ReLU (and the pool)
        assert_float32_equal(w.value, float(maps[y, x, channel]), w)
        assert w.output == max(w.pre_activation, 0)
        assert w.total == pytest.approx(w.products.sum(dtype=np.float64))
        scale, shift = w.normalization or (1.0, 0.0)
        assert w.pre_activation == pytest.approx((w.total + w.bias) * scale + shift)
        # the pre-activation Keras computed at the worked pixel, before ReLU and pool
        r, c = w.conv_at
        assert_float32_equal(w.pre_activation, float(pre[r, c, channel]), w)
        # the patch: the preprocessed input there, zeros where it lies in the padding
        kh, kw = kernel.shape[:2]
        padded = np.zeros((SIZE + 2 * kh, SIZE + 2 * kw, 3), np.float32)
        padded[kh:-kh, kw:-kw] = network
        top, left = w.origin[0] + kh, w.origin[1] + kw
        np.testing.assert_array_equal(w.patch, padded[top:top + kh, left:left + kw])
        np.testing.assert_array_equal(w.weights, kernel[..., channel])
        np.testing.assert_array_equal(w.products, w.patch * w.weights)
        assert (w.patch[~w.inside] == 0).all()
        np.testing.assert_array_equal(w.colours[w.inside], _rgb_slice(pixels, w)[w.inside])
        if stem == "vgg":
            assert w.pool is None and w.winner is None and w.conv_at == (y, x)
        else:  # the pool's window: Keras' conv outputs after ReLU, the winner is their max
            window = np.maximum(pre[..., channel], 0)
            for (i, j), got in np.ndenumerate(w.pool):
                if np.isnan(got):
                    continue
                row = r - w.winner[0] + i
                col = c - w.winner[1] + j
                assert_float32_equal(got, float(window[row, col]), w)
            assert w.pool[w.winner] == np.nanmax(w.pool) == w.value
    assert fx.forward_passes == passes  # pure numpy: no model ran


def _rgb_slice(pixels: np.ndarray, w) -> np.ndarray:
    """The RGB pixels under the patch (clipped at the border)."""
    kh, kw = w.inside.shape
    rows = np.clip(w.origin[0] + np.arange(kh), 0, pixels.shape[0] - 1)
    cols = np.clip(w.origin[1] + np.arange(kw), 0, pixels.shape[1] - 1)
    return pixels[np.ix_(rows, cols)]


def test_same_padding_is_tensorflows():
    assert same_padding(224, 3, 1) == (1, 1)
    assert same_padding(224, 7, 2) == (2, 3)  # the strided stem: the odd one after
    assert same_padding(112, 3, 2) == (0, 1)  # its pool
    assert same_padding(7, 3, 2) == (1, 1)
    assert map_size((224, 224), "vgg") == (224, 224)
    assert map_size((224, 160), "pooled") == (112, 80)
    assert map_size((224, 224), "strided") == (56, 56)


@pytest.fixture(scope="module")
def stem_kernel():
    rng = np.random.default_rng(1)
    return rng.normal(0, 0.2, (3, 3, 3, 64)).astype(np.float32), rng.normal(0, 5, 64)


def test_a_corner_patch_is_partly_padding(noise, stem_kernel):
    w = worked_output(noise, *stem_kernel, 0, 0, 5)
    assert w.origin == (-1, -1) and w.box == (0, 0, 1, 1)
    assert w.inside.tolist() == [[False, False, False], [False, True, True], [False, True, True]]
    assert (w.patch[0] == 0).all() and (w.patch[:, 0] == 0).all()
    assert (w.colours[0] == 0).all()
    np.testing.assert_array_equal(w.patch[1:, 1:], preprocess(noise)[0, :2, :2])
    assert INPUT_CHANNELS == ("B", "G", "R")
    assert w.patch[1, 1, 0] == pytest.approx(noise[0, 0, 2] - 103.939, abs=1e-4)  # B first
    assert not w.patch.flags.writeable and not w.weights.flags.writeable  # a record
    assert stem_kernel[0].flags.writeable  # the caller's kernel is left as it was


def test_the_network_batch_gives_the_same_worked_sum(noise, stem_kernel):
    batch = preprocess(noise)
    for y, x in [(0, 0), (55, 17), (55, 55)]:
        a = worked_output(noise, *stem_kernel, y, x, 9, stem="pooled")
        b = worked_output(batch, *stem_kernel, y, x, 9, stem="pooled")
        np.testing.assert_array_equal(a.patch, b.patch)
        np.testing.assert_array_equal(a.colours, b.colours)
        assert a.value == b.value and a.winner == b.winner


@pytest.mark.parametrize(("args", "message"), [
    ((224, 0, 0), "outside the 224×224 maps of the vgg stem"),
    ((0, -1, 0), "outside"),
    ((0, 0, 64), "channel must be 0–63"),
])
def test_bad_positions_are_refused_in_words(noise, stem_kernel, args, message):
    with pytest.raises(ValueError, match=message):
        worked_output(noise, *stem_kernel, *args)


def test_bad_inputs_are_refused_in_words(stem_kernel):
    with pytest.raises(ValueError, match="fitted RGB pixels"):
        worked_output(np.zeros((4, 4)), *stem_kernel, 0, 0, 0)
    with pytest.raises(ValueError, match="kernel must be"):
        worked_output(np.zeros((8, 8, 3), np.uint8), np.zeros((3, 3, 1, 4)), np.zeros(4), 0, 0, 0)
    with pytest.raises(ValueError, match="unknown stem"):
        worked_output(np.zeros((8, 8, 3), np.uint8), *stem_kernel, 0, 0, 0, stem="tiny")


@pytest.mark.parametrize(("value", "shown"), [
    (-20.94, "−21"), (87.3, "87"), (9.34, "9.3"), (-1.25, "−1.2"), (0.051, ".05"),
    (-0.049, "−.05"), (0.004, "0"), (-0.001, "0"), (9.96, "10"),
])
def test_the_7x7_card_s_numbers_keep_four_characters_at_most(value, shown):
    from vggviz.ui.panels.convolution_panel import compact

    assert compact(value) == shown and len(shown) <= 4
