"""Grad-CAM: equal to the published algorithm computed with tf.GradientTape on
keras.applications' VGG16 with the same file; it finds evidence where a hand-set network puts
it; and the overlay is the picture under a bilinearly upsampled heat."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import write_legacy_h5
from PIL import Image

from vggviz.cli import main
from vggviz.network.class_heat import CAM_STAGES, GradCam, cam_layer
from vggviz.network.features import FeatureExtractor
from vggviz.network.models import build_vgg
from vggviz.render.heat import heat_overlay, heat_scale
from vggviz.sources.images import load_image, preprocess, sample_images


@pytest.fixture(scope="module")
def photo():
    return next(iter(sample_images().values()))


def reference_grad_cam(model, x, layer: str, class_index: int) -> np.ndarray:
    """Selvaraju et al.'s Grad-CAM, as Keras' example computes it: α_k = spatial mean of
    ∂y_c/∂A_k with y_c the pre-softmax score, heat = ReLU(Σ_k α_k A_k) over its max."""
    probe = keras.Model(model.input, [model.get_layer(layer).output,
                                      model.get_layer("fc2").output])
    kernel, bias = model.get_layer("predictions").get_weights()
    with tf.GradientTape() as tape:
        a, fc2 = probe(x, training=False)
        score = tf.linalg.matvec(fc2, kernel[:, class_index]) + bias[class_index]
    grads = tape.gradient(score, a)[0]
    alpha = tf.reduce_mean(grads, axis=(0, 1))
    cam = tf.nn.relu(tf.reduce_sum(a[0] * alpha, axis=-1)).numpy()
    return cam / cam.max() if cam.max() > 0 else cam


@pytest.mark.slow
def test_class_heat_equals_grad_cam_on_keras_vgg16(keras_vgg16_top_file, photo):
    reference = keras.applications.VGG16(weights=None)
    reference.load_weights(keras_vgg16_top_file)
    x = preprocess(load_image(photo))
    probs = np.asarray(reference(x, training=False))[0]
    fx = FeatureExtractor("vgg16", weights=keras_vgg16_top_file)
    top = GradCam(fx).attribute(photo, "group5")
    assert top.class_index == int(np.argmax(probs)) and top.layer == "block5_conv3"
    for stage, side in zip(CAM_STAGES, (56, 28, 14), strict=True):
        for c in (top.class_index, 281):
            got = GradCam(fx).attribute(photo, stage, c)
            want = reference_grad_cam(reference, x, cam_layer("vgg16", stage), c)
            assert got.heat.shape == (side, side) and got.stage == stage
            assert got.heat.dtype == np.float32 and 0 <= got.heat.min() <= got.heat.max() <= 1
            np.testing.assert_allclose(got.heat, want, atol=1e-4)
    assert GradCam(fx).attribute(photo, "group5", 281).class_name == "tabby"


def test_cam_layers_are_the_last_conv_of_each_group():
    assert [cam_layer("vgg16", s) for s in CAM_STAGES] == \
        ["block3_conv3", "block4_conv3", "block5_conv3"]
    assert cam_layer("vgg19", "group5") == "block5_conv4"
    assert cam_layer("vgg16_bn", "group5") == "block5_relu3"  # the conv after BN and ReLU
    assert cam_layer("vgg11", "group3", "strided") == "block3_conv2"
    with pytest.raises(ValueError, match="group3, group4, group5"):
        cam_layer("vgg16", "stem")


@pytest.fixture(scope="module")
def colour_network(tmp_path_factory):
    """VGG11 at 64 px built with the project's builder, hand-set so that every conv passes
    the B, G, R channels straight through (centre tap 1, biases 0): the last pool's 2×2 cells
    are the image's quadrants. The head reads channel 0 (blue) for class 0, channel 2 (red)
    for class 1 and nothing for the others."""
    model = build_vgg("vgg11", input_shape=(64, 64, 3))
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = (np.zeros_like(w) for w in layer.get_weights())
            k = kernel.shape[0] // 2
            for i in range(3):
                kernel[k, k, i, i] = 1
            layer.set_weights([kernel, bias])
    fc1, fc2, predictions = (model.get_layer(n) for n in ("fc1", "fc2", "predictions"))
    fc1.set_weights([np.eye(2048, 4096, dtype="float32"), np.zeros(4096, "float32")])
    fc2.set_weights([np.eye(4096, dtype="float32"), np.zeros(4096, "float32")])
    head = np.zeros((4096, 1000), "float32")
    head[np.arange(0, 2048, 512), 0] = 1  # channel 0 of each of the four cells
    head[np.arange(2, 2048, 512), 1] = 1
    predictions.set_weights([head, np.zeros(1000, "float32")])
    path = tmp_path_factory.mktemp("colour") / "vgg11_colour.h5"
    write_legacy_h5(model, path)
    return path


def test_class_heat_lies_where_the_class_evidence_is(colour_network):
    """A blue square in the top-left quadrant, a red one in the bottom-right: class 0 (blue)
    heats the top-left, class 1 (red) the bottom-right, with ≥ 90 % of the heat there, at
    every group; a class whose weights are all 0 has no evidence and an all-zero map."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[4:28, 4:28] = (0, 0, 255)
    image[36:60, 36:60] = (255, 0, 0)
    fx = FeatureExtractor("vgg11", weights=colour_network, size=64)
    for stage in CAM_STAGES:
        for class_index, quadrant in ((0, np.s_[:32, :32]), (1, np.s_[32:, 32:])):
            got = GradCam(fx).attribute(image, stage, class_index)
            heat = np.asarray(Image.fromarray(got.heat).resize((64, 64), Image.NEAREST))
            assert got.evidence and heat[quadrant].sum() >= 0.9 * heat.sum()
    nothing = GradCam(fx).attribute(image, "group5", 7)
    assert not nothing.evidence and not nothing.heat.any()
    assert "no evidence for this class here" in nothing.words


def test_heat_overlay_blends_a_bilinear_upsampling_over_the_picture():
    pixels = np.full((40, 60, 3), 200, np.uint8)
    heat = np.array([[0, 1], [0.5, 0]], np.float32)
    png = heat_overlay(pixels, heat, cmap="inferno", alpha=1.0)
    out = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert out.shape == (40, 60, 3)
    from matplotlib import colormaps

    big = np.asarray(Image.fromarray(heat).resize((60, 40), Image.BILINEAR))
    want = (colormaps["inferno"](np.round(np.clip(big, 0, 1) * 255) / 255)[..., :3] * 255)
    assert np.abs(out.astype(float) - want).max() <= 1.5
    clear = np.asarray(Image.open(io.BytesIO(heat_overlay(pixels, heat, alpha=0.0))))
    np.testing.assert_array_equal(clear, pixels)
    with pytest.raises(ValueError, match="uint8"):
        heat_overlay(pixels.astype(float), heat)
    assert heat_scale().startswith(b"\x89PNG")


@pytest.mark.slow
def test_cli_cam_writes_the_overlay_or_says_why_not(keras_vgg16_top_file, colour_network,
                                                    photo, tmp_path, capsys):
    source = tmp_path / "hopper.png"
    photo.save(source)
    out = tmp_path / "cam.png"
    args = ["cam", str(source), "--weights", str(keras_vgg16_top_file), "--class", "281",
            "--stage", "group4", "--out", str(out)]
    assert main(args) == 0
    assert "Grad-CAM of class 281 (tabby" in capsys.readouterr().out
    assert Image.open(out).size == (224, 224)
    args = ["cam", str(source), "--variant", "vgg11", "--weights", str(colour_network),
            "--out", str(tmp_path / "no.png")]
    assert main(args) == 1  # a classifier saved at 64 px does not fit the 224-px input
    assert "takes 2,048 values" in capsys.readouterr().err
    assert not (tmp_path / "no.png").exists()
