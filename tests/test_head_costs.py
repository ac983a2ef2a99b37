"""The classifier's cost and the head that replaced it: the paper's fc head against global
average pooling, counted from the plan and checked against Keras' own models."""

import json

import keras
import numpy as np
import pytest
from conftest import write_legacy_h5

from vggviz import STEMS, VARIANTS, build_vgg, summarize
from vggviz.cli import main
from vggviz.plan.architecture import layer_plan


def keras_gap_model(app: str) -> keras.Model:
    """Keras' own VGG16/VGG19 conv base with `pooling="avg"` and a Dense(1000) softmax on top:
    the later design's head, as one would build it from `keras.applications`."""
    base = getattr(keras.applications, app)(weights=None, include_top=False, pooling="avg")
    outputs = keras.layers.Dense(1000, activation="softmax", name="predictions")(base.output)
    return keras.Model(base.input, outputs)


@pytest.mark.slow
@pytest.mark.parametrize("stem_design", list(STEMS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gap_head_counts_equal_keras_for_every_variant_and_stem(variant, stem_design):
    """count_params() and each layer's output shape of the built model equal the plan's."""
    model = build_vgg(variant, stem=stem_design, classifier="gap")
    s = summarize(variant, stem=stem_design, classifier="gap")
    assert model.count_params() == s.total_params
    assert [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers[1:]] == \
        [(r.name, r.output_shape) for r in s.layers]
    assert s.component("classifier").params == 512 * 1000 + 1000


@pytest.mark.slow
@pytest.mark.parametrize(("app", "variant", "conv_base"), [
    ("VGG16", "vgg16", 14_714_688), ("VGG19", "vgg19", 20_024_384)])
def test_gap_head_equals_keras_applications_with_pooling_avg(app, variant, conv_base):
    reference = keras_gap_model(app)
    s = summarize(variant, classifier="gap")
    assert reference.count_params() == s.total_params == conv_base + 513_000
    ours = build_vgg(variant, classifier="gap")
    weighted = [layer.name for layer in reference.layers if layer.weights]
    assert weighted == [layer.name for layer in ours.layers if layer.weights]


@pytest.mark.parametrize("layout", ["keras3", "legacy"])
def test_a_keras_gap_model_loads_and_gives_the_same_outputs(tmp_path, layout):
    """Keras 3's .weights.h5 (layers keyed by class) and the Keras 2 layout (by name)."""
    reference = keras_gap_model("VGG16")
    if layout == "keras3":
        path = tmp_path / "vgg16_gap.weights.h5"
        reference.save_weights(path)
    else:
        path = tmp_path / "vgg16_gap.h5"
        write_legacy_h5(reference, path)
    ours = build_vgg("vgg16", classifier="gap", weights=str(path))
    x = np.random.default_rng(0).uniform(-100, 100, (1, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(ours(x), reference(x), rtol=1e-5, atol=1e-7)


def test_the_fc_head_stays_the_default_and_the_papers():
    assert summarize("vgg16").total_params == summarize("vgg16", classifier="fc").total_params \
        == 138_357_544
    assert [spec.name for spec in layer_plan("vgg16") if spec.component == "classifier"] == \
        ["flatten", "fc1", "fc2", "predictions"]


def test_gap_head_is_counted_like_the_rest():
    """VGG16 at 224 px: 138.4 M → 15.2 M parameters; the head's MACs are one dense layer's and
    its activations the 512 channel means plus the 1000 outputs."""
    fc, gap = summarize("vgg16"), summarize("vgg16", classifier="gap")
    assert round(fc.total_params / 1e6, 1) == 138.4 and round(gap.total_params / 1e6, 1) == 15.2
    head = gap.component("classifier")
    assert head.macs == 512 * 1000
    assert head.activation_values == 512 + 1000
    assert gap.total_macs == fc.total_macs - fc.component("classifier").macs + 512 * 1000
    assert [(r.name, r.kind, r.output_shape) for r in gap.layers[-2:]] == \
        [("avg_pool", "gap", (512,)), ("predictions", "dense", (1000,))]


@pytest.mark.parametrize("size", [64, 224, 512])
def test_fc1_grows_with_the_input_size_and_the_gap_head_does_not(size):
    fc1 = next(r.params for r in summarize("vgg16", input_shape=(size, size, 3)).layers
               if r.name == "fc1")
    assert fc1 == (size // 32) ** 2 * 512 * 4096 + 4096
    gap = summarize("vgg16", input_shape=(size, size, 3), classifier="gap")
    assert gap.component("classifier").params == 513_000


def test_an_unknown_head_is_refused_in_words():
    with pytest.raises(ValueError, match="unknown classifier 'mlp'; choose from fc, gap"):
        summarize("vgg16", classifier="mlp")
    with pytest.raises(ValueError, match="choose from fc, gap"):
        build_vgg("vgg11", classifier="mlp", input_shape=(32, 32, 3))


def test_cli_summary_and_variants_take_the_head(capsys):
    assert main(["summary", "vgg16", "--classifier", "gap", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classifier"] == "gap" and data["total_params"] == 15_227_688
    assert [r["name"] for r in data["layers"][-2:]] == ["avg_pool", "predictions"]
    assert main(["summary", "vgg16", "--classifier", "gap"]) == 0
    assert "gap classifier" in capsys.readouterr().out
    assert main(["variants", "--classifier", "gap"]) == 0
    out = capsys.readouterr().out
    assert "gap classifier" in out and "15,227,688" in out and "138,357,544" not in out


def test_head_chart_draws_fc1_and_the_gap_head_from_the_plan():
    from vggviz.plan import series
    from vggviz.render import charts

    sizes = list(range(32, 513, 32))
    fig = charts.head_vs_input_size(series.head_sizes("vgg16", sizes, current=224))
    fc1, gap = fig.axes[0].get_lines()[:2]
    assert list(fc1.get_xdata()) == sizes
    assert list(fc1.get_ydata()) == [(s // 32) ** 2 * 512 * 4096 + 4096 for s in sizes]
    assert set(gap.get_ydata()) == {513_000}
    assert fig.axes[0].get_yscale() == "log"
    assert "parameters as Keras counts them" in fig._supxlabel.get_text()
    with pytest.raises(ValueError, match="sizes is empty"):
        series.head_sizes("vgg16", [])


def test_family_dashboard_shows_what_the_head_does_to_the_total():
    from vggviz.ui import vgg_family

    app = vgg_family().app
    app.wait()
    text = app.head.sentence.value + app.head.text.value
    assert "138.4 M → 15.2 M" in text and "89.4 %" in text
    assert "138,357,544" in text and "15,227,688" in text and "513,000" in text
    assert bytes(app.head.chart.value[:4]) == b"\x89PNG"
    app.variant.value = "vgg19"
    app.wait()
    assert "143.7 M → 20.5 M" in app.head.sentence.value
    app.size.value = 448  # fc1 grows fourfold; the GAP head stays at 513,000
    app.wait()
    fc_total, gap_total = (summarize("vgg19", input_shape=(448, 448, 3), classifier=head)
                           for head in ("fc", "gap"))
    assert table_totals(app) == [f"{fc_total.total_params:,}", f"{gap_total.total_params:,}"]
    assert gap_total.component("classifier").params == 513_000
    assert "VGG19 at 448×448" in app.head.sentence.value


def table_totals(app) -> list[str]:
    """The 'total params' cell of each row of the panel's table."""
    import re

    rows = re.findall(r"<tr>(<td>.*?)</tr>", app.head.text.value)
    return [re.findall(r"<td align=right>([\d,.]+)</td>", row)[1] for row in rows]


def test_the_imagenet_classifier_in_the_pooled_stem_is_said_to_be_untrained_there():
    """It fits in shape at 448–511 px, but it is VGG16's weights in a stem they never saw."""
    from vggviz.ui import vgg_family
    from vggviz.ui.panels.head_costs import imagenet_head_line

    line = imagenet_head_line("vgg16", "pooled", 448)
    assert line.startswith("At 448×448 the last pool gives 7×7×512, so Keras' trained ImageNet "
                           "classifier fits in shape.")
    assert "which they were not trained with: trained filters, but" in line
    assert line.endswith("its predictions here are not those of the trained VGG16.")
    assert imagenet_head_line("vgg16", "pooled", 224) is None  # does not fit: nothing to say
    assert imagenet_head_line("vgg16", "vgg", 224) is None  # the network it was trained in
    assert imagenet_head_line("vgg13", "pooled", 448) is None  # no trained weights at all
    app = vgg_family().app
    app.stem.value = "pooled"
    app.size.value = 480
    assert "not those of the trained VGG16" in app.head.sentence.value
    app.stem.value = "vgg"
    assert "not trained with" not in app.head.sentence.value
    app.wait(300)
