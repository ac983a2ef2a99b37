"""The numpy stem: Keras' own numbers without importing TensorFlow for the first view."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import write_legacy_h5

from vggviz.by_hand import stem as numpy_stem
from vggviz.by_hand.glorot import glorot_uniform
from vggviz.network.features import FeatureExtractor
from vggviz.network.models import build_vgg
from vggviz.sources.images import load_image, preprocess, sample_images
from vggviz.sources.weight_files import WeightsMismatch


@pytest.fixture(scope="module")
def photo():
    return next(iter(sample_images().values()))


@pytest.mark.parametrize("k", [3, 5])
def test_conv_relu_equals_keras_conv2d(k):
    rng = np.random.default_rng(k)
    x = rng.normal(0, 50, (1, 37, 23, 3)).astype(np.float32)
    layer = keras.layers.Conv2D(8, k, padding="same", activation="relu")
    layer.build(x.shape)
    layer.set_weights([rng.normal(0, 0.2, (k, k, 3, 8)).astype(np.float32),
                       rng.normal(0, 1, 8).astype(np.float32)])
    want = np.asarray(layer(x))[0]
    kernel, bias = layer.get_weights()
    got = numpy_stem.conv_relu(x[0], kernel, bias)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


def test_the_stem_convolution_keeps_to_the_calling_thread():
    """No helper thread of the BLAS works on the stem's product: on a busy 2-core machine a
    product split over two threads waits for the slower one (a median 20 ms against 2 here).
    Counted as CPU ticks per thread of a fresh process (Linux /proc), where OpenBLAS may use 2."""
    code = ("import json, os, threading\n"
            "import numpy as np\n"
            "from vggviz.by_hand.stem import conv_relu\n"
            "def ticks():\n"
            "    out = {}\n"
            "    for t in os.listdir('/proc/self/task'):\n"
            "        with open(f'/proc/self/task/{t}/stat') as f:\n"
            "            fields = f.read().rsplit(')', 1)[1].split()\n"
            "        out[int(t)] = int(fields[11]) + int(fields[12])\n"
            "    return out\n"
            "rng = np.random.default_rng(0)\n"
            "x = rng.normal(0, 50, (224, 224, 3)).astype(np.float32)\n"
            "kernel = rng.normal(0, 0.2, (3, 3, 3, 64)).astype(np.float32)\n"
            "bias = np.zeros(64, np.float32)\n"
            "conv_relu(x, kernel, bias)\n"
            "before = ticks()\n"
            "for _ in range(150):\n"
            "    conv_relu(x, kernel, bias)\n"
            "after = ticks()\n"
            "me = threading.get_native_id()\n"
            "others = sum(after[t] - before.get(t, 0) for t in after if t != me)\n"
            "print(json.dumps({'caller': after[me] - before[me], 'others': others}))\n")
    env = {"OPENBLAS_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    ticks = json.loads(out.stdout.strip().splitlines()[-1])
    assert ticks["caller"] >= 5, ticks  # the product ran and was counted
    assert ticks["others"] <= ticks["caller"] // 10, ticks


def test_max_pool_equals_keras_on_odd_sizes():
    x = np.random.default_rng(0).normal(size=(1, 9, 6, 4)).astype(np.float32)
    want = np.asarray(keras.layers.MaxPooling2D(2)(x))[0]
    np.testing.assert_array_equal(numpy_stem.max_pool2(x[0]), want)


@pytest.mark.parametrize(("variant", "stem"), [("vgg16", "vgg"), ("vgg19", "pooled"),
                                               ("vgg11", "vgg")])
def test_random_stem_maps_equal_the_keras_models(variant, stem, photo):
    fx = FeatureExtractor(variant, weights="random", stem=stem, seed=7)
    assert fx.stem_in_numpy
    maps = fx.activations(photo, "stem")  # numpy: no model is built for it
    assert fx._base is None
    model = build_vgg(variant, stem=stem, include_top=False, upto="stem", seed=7)
    want = np.asarray(model(preprocess(load_image(photo))))[0]
    np.testing.assert_allclose(maps, want, rtol=1e-5, atol=1e-3)
    kernel, bias = fx.stem_weights()
    keras_kernel, keras_bias = model.get_layer("block1_conv1").get_weights()
    np.testing.assert_array_equal(kernel, keras_kernel)
    np.testing.assert_array_equal(bias, keras_bias)


def test_file_stem_maps_equal_keras_vgg16(keras_vgg16_notop_file):
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ref = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    ref.load_weights(keras_vgg16_notop_file)
    probe = keras.Model(ref.input, ref.get_layer("block1_conv1").output)
    want = np.asarray(probe(preprocess(image)))[0]
    fx = FeatureExtractor("vgg16", weights=keras_vgg16_notop_file, size=64)
    np.testing.assert_allclose(fx.activations(image, "stem"), want, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(fx.kernels(), ref.get_layer("block1_conv1").get_weights()[0])


def test_a_file_whose_stem_does_not_fit_is_refused_in_words(tmp_path):
    other = keras.Sequential([keras.Input((32, 32, 3)),
                              keras.layers.Conv2D(32, 3, padding="same", name="block1_conv1")])
    path = tmp_path / "narrow.h5"
    write_legacy_h5(other, path)
    fx = FeatureExtractor("vgg16", weights=path)
    with pytest.raises(WeightsMismatch, match="block1_conv1"):
        fx.stem_weights()


def test_stems_with_batch_norm_lrn_or_stride_still_go_through_keras(photo):
    assert not numpy_stem.supported("vgg16_bn", "vgg")
    assert not numpy_stem.supported("vgg16", "strided")
    fx = FeatureExtractor("vgg16_bn", weights="random")
    assert not fx.stem_in_numpy
    assert fx.activations(photo, "stem").shape == (224, 224, 64)
    with pytest.raises(ValueError, match="needs Keras"):
        numpy_stem.stem_maps(np.zeros((1, 64, 64, 3)), "vgg16", "strided", {})


def test_seeded_glorot_draw_has_keras_limits():
    """Same bounds as Keras' GlorotUniform for a conv and a dense kernel (a wide sample)."""
    for shape in [(3, 3, 64, 128), (4096, 1000)]:
        ours = glorot_uniform("x", shape, 0)
        theirs = np.asarray(keras.initializers.GlorotUniform(seed=0)(shape))
        assert ours.dtype == np.float32 and ours.shape == shape
        assert np.abs(ours).max() <= np.abs(theirs).max() * 1.001
        np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.02)
        assert not np.array_equal(glorot_uniform("x", shape, 0), glorot_uniform("x", shape, 1))
        np.testing.assert_array_equal(ours, glorot_uniform("x", shape, 0))


def test_the_stem_explorer_opens_without_tensorflow(tmp_path):
    """The first view (grid, kernels, costs) is drawn and TensorFlow was never imported."""
    code = ("import json, sys\n"
            "from vggviz.ui.dashboards.stem_explorer import StemExplorer\n"
            "app = StemExplorer()\n"
            "print(json.dumps({'tf': 'tensorflow' in sys.modules, 'keras': 'keras' in sys.modules,"
            " 'grid': len(app.map_grid.image.value), 'shape': list(app.maps.shape)}))\n")
    env = {"KERAS_HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg",
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"tf": False, "keras": False, "grid": seen["grid"], "shape": [224, 224, 64]}
    assert seen["grid"] > 1000
