"""The matplotlib charts: they draw for every variant and stem, show the accounting's own
numbers, encode to PNG, and never touch pyplot's global state."""

import io
import re
import subprocess
import sys

import matplotlib.pyplot as plt  # only to check that vggviz.render.charts registers nothing with it
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from vggviz.plan import series
from vggviz.plan.accounting import BYTES_PER_VALUE, summarize, summarize_all
from vggviz.plan.architecture import COMPONENTS, STEMS, VARIANTS
from vggviz.render import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# The smallest input every stem accepts, so each variant × stem pair is valid.
SIDE = 224


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    """Every test: nothing registered with pyplot, before or after."""
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == []


def _summary(variant="vgg16", stem="vgg", **kwargs):
    return summarize(variant, stem=stem, input_shape=(SIDE, SIDE, 3), **kwargs)


def _stems(variant="vgg16", **kwargs):
    return {name: _summary(variant, name, **kwargs) for name in STEMS}


def _all_charts():
    """One figure of every chart function, for the VGG16 / VGG stem defaults."""
    everyone = summarize_all()
    return {
        "params_per_component": charts.params_per_component(_summary()),
        "params_by_variant": charts.params_by_variant(series.by_variant(everyone, "params")),
        "params_by_variant_log": charts.params_by_variant(series.by_variant(everyone, "params"),
                                                          log=True),
        "activation_memory": charts.activation_memory(_summary()),
        "activation_memory_by_variant": charts.activation_memory_by_variant(
            series.by_variant(everyone, "memory")),
        "macs_by_variant": charts.macs_by_variant(series.by_variant(everyone, "macs")),
        "stem_comparison": charts.stem_comparison(series.stems(_stems())),
        "input_size_effect": charts.input_size_effect(
            series.input_sizes("vgg16", range(32, 513, 16), current=224)),
    }


def _texts(fig):
    """Every string drawn on the figure: titles, labels, tick labels, annotations."""
    found = [fig.get_suptitle()]
    for ax in fig.axes:
        found += [ax.get_title(loc) for loc in ("left", "center", "right")]
        found += [ax.get_xlabel(), ax.get_ylabel()]
        found += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        found += [t.get_text() for t in ax.texts]
    return found


# --------------------------------------------------------------------------- import hygiene


def test_import_pulls_in_neither_tensorflow_nor_pyplot():
    code = (
        "import sys, vggviz.render.charts; "
        "bad = [m for m in ('tensorflow', 'keras', 'matplotlib.pyplot') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_component_colours_one_per_component_and_distinct():
    assert tuple(charts.COMPONENT_COLORS) == COMPONENTS
    assert len({to_hex(c) for c in charts.COMPONENT_COLORS.values()}) == len(COMPONENTS)
    assert set(charts.STEM_COLORS) == set(STEMS)


# --------------------------------------------------------------------------- every variant, stem


@pytest.mark.parametrize("stem", list(STEMS))
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_single_variant_charts_draw_for_every_variant_and_stem(variant, stem):
    title = VARIANTS[variant].title
    for chart in (charts.params_per_component, charts.activation_memory):
        fig = chart(_summary(variant, stem))
        assert isinstance(fig, Figure)
        fig.draw_without_rendering()  # lays out every text: catches errors a PNG would
        assert title in fig.get_suptitle()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_stem_comparison_and_input_size_draw_for_every_variant(variant):
    title = VARIANTS[variant].title
    fig = charts.stem_comparison(series.stems(_stems(variant)))
    fig.draw_without_rendering()
    assert title in fig.get_suptitle()
    fig = charts.input_size_effect(series.input_sizes(variant, [32, 64, 128, 224, 512],
                                                      current=100))
    fig.draw_without_rendering()
    assert title in fig.get_suptitle()


@pytest.mark.parametrize("stem", list(STEMS))
def test_input_size_effect_draws_for_every_stem(stem):
    low = STEMS[stem].min_input
    fig = charts.input_size_effect(series.input_sizes("vgg16", range(low, 513, 8), stem=stem,
                                                      current=low))
    fig.draw_without_rendering()


@pytest.mark.parametrize("top", [True, False])
@pytest.mark.parametrize("stem", list(STEMS))
def test_variant_comparisons_draw_for_every_stem(stem, top):
    everyone = summarize_all(stem=stem, input_shape=(SIDE, SIDE, 3), include_top=top)
    titles = [v.title for v in VARIANTS.values()]
    for fig in (
        charts.params_by_variant(series.by_variant(everyone, "params")),
        charts.params_by_variant(series.by_variant(everyone, "params"), log=True),
        charts.activation_memory_by_variant(series.by_variant(everyone, "memory")),
        charts.macs_by_variant(series.by_variant(everyone, "macs")),
    ):
        fig.draw_without_rendering()
        (ax,) = fig.axes
        assert [t.get_text() for t in ax.get_yticklabels()] == titles


# --------------------------------------------------------------------------- PNG


def test_figure_png_of_every_chart_is_a_dashboard_sized_png():
    """At 100 px to the inch (the CSS px a page gives a chart's inch, or more) every chart is
    of a page's size; the PNG itself has 1.5 pixels to each of those."""
    for name, fig in _all_charts().items():
        png = charts.figure_png(fig, dpi=100)
        assert png.startswith(PNG_MAGIC), name
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            width, height = image.size
        assert 500 <= width <= 1400, (name, image.size)
        assert 250 <= height <= 900, (name, image.size)
        with Image.open(io.BytesIO(charts.figure_png(fig))) as sharp:
            assert sharp.size[0] == pytest.approx(1.5 * width, rel=0.05), name


def test_every_png_says_its_smallest_text_in_its_own_pixels():
    """The size written in the PNG is the smallest font drawn, × dpi / 72 (PIL reads the chunk
    as any PNG reader does), and no chart's text is under `TEXT_PT`."""
    for name, fig in [*_all_charts().items(),
                      ("head_vs_input_size", charts.head_vs_input_size(
                          series.head_sizes("vgg16", range(32, 513, 32), current=224)))]:
        for dpi in (100, 150):
            png = charts.figure_png(fig, dpi=dpi)
            with Image.open(io.BytesIO(png)) as image:
                written = float(image.text[charts.SMALLEST_TEXT])
            sizes = [t.get_fontsize() for t in fig.findobj(Text)
                     if t.get_visible() and t.get_text().strip()]
            assert written == charts.smallest_text_px(png) == pytest.approx(
                min(sizes) * dpi / 72, abs=0.01), name
            assert min(sizes) >= charts.TEXT_PT, name


def test_a_png_without_the_chunk_says_nothing():
    png = charts.figure_png(Figure())  # nothing written on it
    assert png.startswith(PNG_MAGIC) and charts.smallest_text_px(png) is None


def test_figure_png_dpi_scales_the_image():
    fig = charts.params_per_component(_summary())
    with Image.open(io.BytesIO(charts.figure_png(fig, dpi=100))) as image:
        full = image.size[0]
    with Image.open(io.BytesIO(charts.figure_png(fig, dpi=50))) as image:
        half = image.size[0]
    assert abs(half - full / 2) <= 0.05 * full


@pytest.mark.parametrize("bad", [0, -5, 5000, "100", None, True])
def test_figure_png_rejects_a_bad_dpi(bad):
    with pytest.raises(ValueError, match="dpi"):
        charts.figure_png(charts.params_per_component(_summary()), dpi=bad)


def test_figure_png_rejects_what_is_not_a_figure():
    with pytest.raises(ValueError, match="Figure"):
        charts.figure_png(b"not a figure")


# --------------------------------------------------------------------------- the numbers drawn


def test_params_per_component_bars_are_the_accounting():
    s = _summary("vgg16")
    fig = charts.params_per_component(s)
    (ax,) = fig.axes
    assert [p.get_width() for p in ax.patches] == [c.params for c in s.components]
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == [
        charts.COMPONENT_COLORS[c.name] for c in s.components
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        charts.COMPONENT_LABELS[c.name] for c in s.components
    ]
    assert fig.get_suptitle() == "The classifier holds 89 % of VGG16's parameters"
    texts = _texts(fig)
    assert any("123.6 M" in t and "89.4 %" in t for t in texts)
    assert any("138,357,544" in t for t in texts)


def test_params_per_component_without_top_names_the_largest_group():
    s = _summary("vgg16", include_top=False)
    fig = charts.params_per_component(s)
    assert [p.get_width() for p in fig.axes[0].patches] == [c.params for c in s.components]
    assert fig.get_suptitle().startswith("Group 5 holds")


def test_activation_memory_bars_are_megabytes_and_the_stem_shows_its_shape():
    s = _summary("vgg16")
    fig = charts.activation_memory(s)
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(
        [c.activation_values * BYTES_PER_VALUE / 1e6 for c in s.components]
    )
    assert heights[0] == pytest.approx(12.845056)  # 224×224×64 float32 values: 12.8 MB
    texts = _texts(fig)
    assert any(t.get_text().startswith("224×224×64 out") for t in ax.texts)
    assert "12.8 MB" in texts


def test_stacked_variant_charts_sum_to_each_variants_total():
    everyone = summarize_all()
    cases = [
        (charts.params_by_variant(series.by_variant(everyone, "params")),
         lambda s: s.total_params / 1e6),
        (charts.activation_memory_by_variant(series.by_variant(everyone, "memory")),
         lambda s: s.activation_bytes / 1e6),
        (charts.macs_by_variant(series.by_variant(everyone, "macs")), lambda s: s.total_macs / 1e9),
    ]
    for fig, total in cases:
        (ax,) = fig.axes
        assert ax.get_xscale() == "linear"
        sums = [0.0] * len(everyone)
        for patch in ax.patches:  # bars of one component across variants, component by component
            sums[round(patch.get_y() + patch.get_height() / 2)] += patch.get_width()
        assert sums == pytest.approx([total(s) for s in everyone])
        colours = {to_hex(p.get_facecolor()) for p in ax.patches}
        assert colours <= set(charts.COMPONENT_COLORS.values())


def test_params_by_variant_log_is_a_log_scale_dot_plot_of_each_component():
    everyone = summarize_all()
    fig = charts.params_by_variant(series.by_variant(everyone, "params"), log=True)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert not ax.patches  # no bars stacked on a log axis
    drawn = sorted(tuple(xy) for coll in ax.collections for xy in coll.get_offsets().tolist())
    expected = sorted(
        (float(c.params), float(y))
        for y, s in enumerate(everyone)
        for c in s.components
        if c.params > 0
    )
    assert drawn == expected
    assert fig.get_suptitle() == "The classifier holds 86–93 % of the parameters of every variant"


def test_stem_comparison_panels_show_each_stems_numbers():
    by_stem = _stems("vgg16")
    fig = charts.stem_comparison(series.stems(by_stem))
    size, entering, memory, macs = fig.axes
    stems = [by_stem[name] for name in STEMS]
    shapes = [s.component("stem").output_shape for s in stems]
    assert [p.get_height() for p in size.patches] == [h * w for h, w, _ in shapes]
    assert [p.get_height() for p in entering.patches] == [s.values_entering_learner for s in stems]
    assert [p.get_height() for p in entering.patches] == [
        224 * 224 * 64,
        112 * 112 * 64,
        56 * 56 * 64,
    ]
    learner_mb = [
        sum(s.component(f"group{i}").activation_bytes for i in range(1, 6)) / 1e6 for s in stems
    ]
    assert [p.get_height() for p in memory.patches] == pytest.approx(learner_mb)
    assert learner_mb[0] > 3.9 * learner_mb[1]  # pooling in the stem: a quarter of the memory
    assert [p.get_height() for p in macs.patches] == pytest.approx(
        [sum(c.macs for c in s.components if c.name != "classifier") / 1e9 for s in stems]
    )
    assert [to_hex(p.get_facecolor()) for p in size.patches] == [
        charts.STEM_COLORS[name] for name in STEMS
    ]
    assert [t.get_text() for t in size.texts] == ["224×224", "112×112", "56×56"]
    assert "(÷4)" in entering.texts[1].get_text()
    title = fig.get_suptitle()
    assert title.startswith("VGG16:") and "a quarter" in title and "1/16" in title


def test_stem_comparison_keeps_the_stems_order_whatever_the_dict_order():
    fig = charts.stem_comparison(series.stems({"strided": _summary(stem="strided"),
                                                "vgg": _summary()}))
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["VGG\nstem", "Strided\nstem"]


def test_input_size_effect_follows_fc1_and_the_stem_memory():
    sizes = [64, 128, 224, 320, 512]
    fig = charts.input_size_effect(series.input_sizes("vgg19", sizes, stem="pooled", current=224))
    fc1_ax, memory_ax = fig.axes
    expected_fc1, expected_mb = [], []
    for side in sizes:
        s = summarize("vgg19", stem="pooled", input_shape=(side, side, 3))
        expected_fc1.append(next(layer.params for layer in s.layers if layer.name == "fc1"))
        expected_mb.append(s.component("stem").activation_bytes / 1e6)
    line = fc1_ax.get_lines()[0]
    assert list(line.get_xdata()) == sizes
    assert list(line.get_ydata()) == expected_fc1
    assert list(memory_ax.get_lines()[0].get_ydata()) == pytest.approx(expected_mb)
    # fc1 at 224 px with the pooled stem: 3×3×512 values in, 4096 out
    assert expected_fc1[2] == 3 * 3 * 512 * 4096 + 4096
    for ax in fig.axes:  # the current size is marked: a vertical line at 224
        assert any(list(ln.get_xdata()) == [224, 224] for ln in ax.get_lines())
    assert "VGG19" in fig.get_suptitle() and "224" in fig.get_suptitle()


@pytest.mark.parametrize("current", [176, 184, 192, 200, 224, 512])
def test_input_size_effect_keeps_the_marks_label_inside_its_chart(current):
    """The label of the size shown stays between the y axis and the right edge: at 184 px the
    label up-left of the point reached past the y axis, over its tick labels."""
    sizes = range(32, 513, 32)  # the family page's
    fig = charts.input_size_effect(series.input_sizes("vgg16", sizes, current=current))
    fig.draw_without_rendering()
    for ax in fig.axes:
        (label,) = ax.texts
        assert label.get_text().startswith(f"{current} px: ")
        inside, drawn = ax.get_window_extent(), label.get_window_extent()
        assert inside.x0 <= drawn.x0 and drawn.x1 <= inside.x1, (label.get_text(), drawn, inside)


def test_input_size_effect_without_current_marks_nothing():
    fig = charts.input_size_effect(series.input_sizes("vgg16", [224, 32, 224, 100]))  # unsorted
    for ax in fig.axes:
        (line,) = ax.get_lines()
        assert list(line.get_xdata()) == [32, 100, 224]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: charts.params_per_component("vgg16"), "expected a vggviz.plan.accounting.Summary"),
        (lambda: charts.activation_memory(None), "expected a vggviz.plan.accounting.Summary"),
        (lambda: series.by_variant([], "params"), "no summaries to plot"),
        (lambda: series.by_variant(_summary(), "params"), "expected an iterable of Summary"),
        (lambda: series.by_variant([_summary(), _summary()], "params"),
         "each variant may appear once"),
        (
            lambda: series.by_variant([_summary("vgg16"), _summary("vgg19", "pooled")],
                                      "params"),
            "must share stem, input shape",
        ),
        (lambda: charts.params_by_variant(series.by_variant(summarize_all(), "params"),
                                         log="yes"), "log must be True or False"),
        (lambda: series.by_variant(["vgg16"], "macs"), "expected a vggviz.plan.accounting.Summary"),
        (lambda: series.by_variant(42, "memory"), "expected an iterable of Summary"),
        (lambda: series.stems({}), "non-empty dict of stem name"),
        (lambda: series.stems([_summary()]), "non-empty dict of stem name"),
        (lambda: series.stems({"fancy": _summary()}), "unknown stem 'fancy'"),
        (lambda: series.stems({"pooled": _summary()}), "is for the 'vgg' stem"),
        (
            lambda: series.stems(
                {"vgg": _summary("vgg16"), "pooled": _summary("vgg19", "pooled")}
            ),
            "compare stems of one variant",
        ),
        (
            lambda: series.stems(
                {
                    "vgg": summarize("vgg16"),
                    "pooled": summarize("vgg16", stem="pooled", input_shape=(256, 256, 3)),
                }
            ),
            "compare stems at one input shape",
        ),
        (lambda: series.input_sizes("vgg17", [224]), "unknown variant 'vgg17'"),
        (lambda: series.input_sizes("vgg16", [224], stem="fancy"), "unknown stem 'fancy'"),
        (lambda: series.input_sizes("vgg16", []), "sizes is empty"),
        (lambda: series.input_sizes("vgg16", 224), "sizes must be an iterable"),
        (lambda: series.input_sizes("vgg16", "224"), "sizes must be an iterable"),
        (
            lambda: series.input_sizes("vgg16", [224.0]),
            "positive whole number of pixels, got 224.0",
        ),
        (lambda: series.input_sizes("vgg16", [16, 224]), "at least 32×32"),
        (lambda: series.input_sizes("vgg16", [64, 224], stem="strided"), "at least 128×128"),
        (
            lambda: series.input_sizes("vgg16", [224], current=True),
            "current must be a positive whole number",
        ),
        (
            lambda: series.input_sizes("vgg16", [224], current=0),
            "current must be a positive whole number",
        ),
        (
            lambda: series.input_sizes("vgg16", [224], stem="strided", current=100),
            "at least 128×128",
        ),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_charts_of_every_input_size_share_their_axis_when_given_a_limit():
    """A slider of input sizes must not rescale the axis: 37.7 M at 32 px draws shorter
    than 138.4 M at 224 px."""
    from vggviz.plan.accounting import summarize_all

    small = summarize_all(input_shape=(32, 32, 3))
    large = summarize_all(input_shape=(224, 224, 3))
    limit = max(s.total_params for s in large)
    for chart in (lambda s: charts.params_by_variant(series.by_variant(s, "params"), limit=limit),
                  lambda s: charts.macs_by_variant(series.by_variant(s, "macs"), limit=20.0),
                  lambda s: charts.activation_memory_by_variant(series.by_variant(s, "memory"),
                                                                limit=100.0)):
        assert chart(small).axes[0].get_xlim() == chart(large).axes[0].get_xlim()


@pytest.mark.parametrize(("value", "ceiling"), [
    (143.67, 150), (150, 150), (116.4, 150), (560.4, 600), (0.37, 0.4), (1000, 1000),
    (1001, 1500), (8.1, 10), (2.2, 2.5),
])
def test_the_axis_ends_at_the_next_step_above_the_largest_bar(value, ceiling):
    assert charts.axis_ceiling(value) == pytest.approx(ceiling)


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "144"])
def test_an_axis_ceiling_needs_a_positive_number(value):
    with pytest.raises(ValueError, match="value must be a positive number"):
        charts.axis_ceiling(value)
