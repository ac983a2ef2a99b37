"""The dashboards driven in Python: each control changes what it should, bad input is contained."""

import datetime
import html
import io
import re
import threading

import ipywidgets
import numpy as np
import pytest
from PIL import Image

import vggviz.ui.dashboards.vgg_family
import vggviz.ui.panels.chosen_map
import vggviz.ui.panels.map_grid
from vggviz import summarize
from vggviz.render import focus_scale
from vggviz.server.dashboards import config_dir
from vggviz.ui import stem_designs, stem_explorer, vgg_family


def upload(app, data: bytes, name: str = "photo.png") -> None:
    """What the upload button hands the kernel once the page has sent the file."""
    app.picker.upload.value = ({"name": name, "type": "image/png", "size": len(data),
                                "content": memoryview(data),
                                "last_modified": datetime.datetime.now()},)


def png(colour=(200, 30, 30), size=(300, 200)) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(sum(colour))
    pixels = np.clip(rng.normal(colour, 40, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def opened(app):
    """`app` once the download it started on opening has ended (offline: at once)."""
    assert app.downloads.join(120)
    return app


@pytest.fixture
def explorer(offline):
    """A fresh stem explorer on a machine without ImageNet weights (each test its own)."""
    return opened(stem_explorer().app)


def test_opens_on_the_sample_with_a_grid_and_an_honest_notice(explorer):
    assert explorer.picker.name == "Grace Hopper (photo)"
    assert explorer.maps.shape == (224, 224, 64)
    assert Image.open(io.BytesIO(explorer.map_grid.png)).size[0] == 8 * 112 + 7 * 2  # 8×8 tiles
    assert "stem 224×224×64" in explorer.status.text
    assert Image.open(io.BytesIO(explorer.kernels_image.value)).size[0] > 250  # 64 kernels
    assert explorer.fx.label == "random (seed 0)" and explorer.model.weights.value == "random"
    assert "could not be downloaded: showing randomly initialised filters." in (
        explorer.notice.value) and "Cannot reach storage.googleapis.com" in explorer.notice.value
    assert "randomly initialised" in explorer.notice.value


def test_upload_replaces_the_grid(explorer):
    before = explorer.map_grid.png
    upload(explorer, png(), "red.png")
    assert explorer.picker.name == "red.png"
    assert explorer.map_grid.png != before
    assert "red.png" in explorer.status.text and "vggviz-error" not in explorer.status.text
    assert explorer.picker.upload.value == ()  # ready for the next upload
    assert explorer.picker.sample.value == "red.png (your upload)"  # the list says what is shown


def test_picking_a_sample_after_an_upload_shows_it_and_the_upload_comes_back(explorer):
    upload(explorer, png((20, 200, 20)), "green.png")
    uploaded = explorer.map_grid.png
    explorer.picker.sample.value = "Checkerboard"
    assert explorer.picker.name == "Checkerboard" and "Checkerboard" in explorer.status.text
    assert explorer.picker.sample.options[-1] == "green.png (your upload)"
    explorer.picker.sample.value = "green.png (your upload)"
    assert explorer.picker.name == "green.png" and "green.png" in explorer.status.text
    assert explorer.map_grid.png == uploaded


def test_a_new_upload_replaces_the_last_in_the_list(explorer):
    upload(explorer, png((20, 200, 20)), "green.png")
    upload(explorer, png((20, 20, 200)), "blue.png")
    options = explorer.picker.sample.options
    assert options[-1] == "blue.png (your upload)" and "green.png (your upload)" not in options
    assert len(options) == len(explorer.picker.samples) + 1


@pytest.mark.parametrize(("data", "name", "needle"), [
    (b"just some notes", "notes.png", "notes.png"),
    (png()[:200], "cut.png", "cut.png"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg", "SVG"),
])
def test_bad_upload_shows_an_error_and_keeps_the_last_grid(explorer, data, name, needle):
    before, shown = explorer.map_grid.png, explorer.picker.name
    upload(explorer, data, name)
    assert "vggviz-error" in explorer.status.text and needle in explorer.status.text
    assert explorer.map_grid.png == before and explorer.picker.name == shown


def test_oversized_upload_is_refused_unread(explorer):
    before = explorer.map_grid.png
    upload(explorer, b"\xff\xd8" + bytes(25 * 10**6 - 2), "huge.jpg")
    assert "huge.jpg is 25 MB; the limit is 20 MB" in explorer.status.text
    assert explorer.map_grid.png == before


def test_display_changes_do_not_run_the_model(explorer):
    passes = explorer.fx.forward_passes
    pictures = {explorer.map_grid.png}
    grid = explorer.map_grid
    for control, value in [(grid.cmap, "magma"), (grid.normalize, "shared"),
                           (grid.order, "mean"), (grid.tile, 56)]:
        control.value = value
        assert explorer.map_grid.png not in pictures, control.description
        pictures.add(explorer.map_grid.png)
    assert explorer.fx.forward_passes == passes
    assert "cached" in explorer.status.text


def test_stages_pages_and_focus(explorer):
    explorer.stage.value = "group3"
    assert explorer.maps.shape == (28, 28, 256)
    assert [label for label, _ in explorer.map_grid.page.options] == [
        "maps 0–63 of 256", "maps 64–127 of 256", "maps 128–191 of 256", "maps 192–255 of 256"]
    assert explorer.map_grid.page.layout.display is None
    first = explorer.map_grid.grid.channels
    explorer.map_grid.page.value = 2
    assert explorer.map_grid.grid.channels[0] == 128 and explorer.map_grid.grid.channels != first
    assert explorer.chosen_map.slider.value in explorer.map_grid.grid.channels
    explorer.stage.value = "stem"
    assert explorer.map_grid.page.layout.display == "none" and \
        explorer.chosen_map.kernel_image.value


def test_clicking_a_tile_focuses_its_map(explorer):
    layout = explorer.map_grid.grid.layout
    x, y = layout.origin(10)
    explorer.map_grid._on_click({"dataX": x + 3, "dataY": y + 3})
    assert explorer.chosen_map.slider.value == explorer.map_grid.grid.channels[10]
    assert f"map {explorer.chosen_map.slider.value}" in explorer.chosen_map.info.value
    explorer.chosen_map._on_hover({"dataX": 20, "dataY": 30})
    assert "at (10, 15)" in explorer.chosen_map.hover.value


def read_out(html: str) -> str:
    """The value in the hover read-out or in the worked panel's last line."""
    return re.search(r"at \(\d+, \d+\): <b[^>]*>([^<]+)</b>", html).group(1)


def test_pointing_at_the_large_map_works_out_its_value(explorer):
    passes = explorer.fx.forward_passes
    plain = explorer.picker.network_view.value
    assert "point at (or click) the large map" in explorer.worked.widget.value
    explorer.chosen_map._on_hover({"event": "mousemove", "dataX": 181, "dataY": 100})  # (90, 50)
    worked = explorer.worked.worked
    assert worked.at == (50, 90) and worked.channel == explorer.chosen_map.slider.value == 0
    assert worked.value == pytest.approx(float(explorer.maps[50, 90, 0]), abs=1e-4)
    panel = explorer.worked.widget.value
    assert "How map 0's value at (90, 50) is made" in panel and "27 products" in panel
    assert read_out(panel) == read_out(explorer.chosen_map.hover.value)  # the read-out's value
    for label in ("input numbers", "weights", "products", "+ bias", "ReLU: max(0,"):
        assert label in panel
    assert explorer.picker.network_view.value != plain  # the patch is outlined
    assert explorer.fx.forward_passes == passes  # numpy on the cached input: no forward pass

    explorer.chosen_map.slider.value = 7  # another map: the same pixel, worked out with its filter
    assert explorer.worked.worked.channel == 7 and explorer.worked.worked.at == (50, 90)
    assert read_out(explorer.worked.widget.value) == f"{explorer.maps[50, 90, 7]:.4g}"

    explorer.chosen_map._on_hover({"event": "click", "dataX": 0, "dataY": 447})  # at a corner
    worked = explorer.worked.worked
    assert worked.at == (223, 0) and not worked.inside.all()
    assert "padding" in explorer.worked.widget.value
    assert explorer.fx.forward_passes == passes


def test_the_worked_panel_explains_what_it_cannot_show(explorer):
    plain = explorer.picker.network_view.value
    explorer.chosen_map._on_hover({"dataX": 10, "dataY": 10})
    assert explorer.worked.show(explorer.fx, explorer.picker.image, "stem", 0,
                                at=(300, 5)) is None
    assert "outside the 224×224 maps" in explorer.worked.widget.value
    assert explorer.picker.network_view.value == plain  # no outline without a patch
    explorer.stage.value = "group2"
    assert "step back to Stem" in explorer.worked.widget.value
    explorer.chosen_map._on_hover({"dataX": 10, "dataY": 10})
    assert "Group 2" in explorer.worked.widget.value and explorer.worked.worked is None
    assert explorer.picker.network_view.value == plain
    explorer.picker.sample.value = "Checkerboard"  # a new picture: nothing pointed at yet
    explorer.stage.value = "stem"
    assert "point at (or click)" in explorer.worked.widget.value


@pytest.mark.parametrize(("stem", "window", "terms"), [("pooled", 2, 27), ("strided", 3, 147)])
def test_the_pooled_stems_show_the_pool_and_its_winner(explorer, stem, window, terms):
    explorer.model.stem.value = stem
    passes = explorer.fx.forward_passes
    scale = focus_scale(explorer.maps.shape[:2])  # screen pixels per map pixel
    explorer.chosen_map._on_hover({"dataX": 5 * scale, "dataY": 7 * scale})
    worked = explorer.worked.worked
    assert worked.at == (7, 5) and worked.pool.shape == (window, window)
    assert worked.terms == terms and worked.pool[worked.winner] == worked.value
    panel = explorer.worked.widget.value
    assert f"{window}×{window} max-pool" in panel and f"{terms} products" in panel
    assert read_out(panel) == read_out(explorer.chosen_map.hover.value)
    if stem == "strided":
        assert "laid out the same way" in panel
    assert explorer.fx.forward_passes == passes


def test_a_bn_variant_shows_its_normalisation_before_the_relu(explorer):
    explorer.model.variant.value = "vgg16_bn"
    explorer.chosen_map._on_hover({"dataX": 60, "dataY": 80})
    panel, worked = explorer.worked.widget.value, explorer.worked.worked
    assert worked.normalization is not None and "batch norm" in panel
    assert read_out(panel) == read_out(explorer.chosen_map.hover.value)


@pytest.mark.parametrize("change", ["upload", "stage", "stage and back", "variant", "seed",
                                    "stem", "weights"])
def test_nothing_pointed_at_outlives_the_maps_it_was_read_from(explorer, change):
    explorer.chosen_map._on_hover({"event": "mousemove", "dataX": 181, "dataY": 100})  # (90, 50)
    assert read_out(explorer.chosen_map.hover.value) == f"{explorer.maps[50, 90, 0]:.4g}"
    if change == "upload":
        upload(explorer, png((20, 60, 220)), "blue.png")
    elif change.startswith("stage"):
        explorer.stage.value = "group2"
        if change == "stage and back":
            explorer.stage.value = "stem"
    elif change == "variant":
        explorer.model.variant.value = "vgg11"  # its own random stem
    elif change == "seed":
        explorer.model.seed.value = 4
    elif change == "stem":
        explorer.model.stem.value = "pooled"
    else:
        explorer.model.weights.value = "imagenet"  # offline: back to random, said why
        opened(explorer)
    shown = explorer.chosen_map.hover.value
    worked = explorer.worked.worked
    if shown:  # recomputed: the new maps' value there, worked out from them
        y, x = worked.at
        assert re.match(rf"at \({x}, {y}\):", shown)
        assert read_out(shown) == f"{explorer.maps[y, x, explorer.chosen_map.slider.value]:.4g}"
        assert read_out(explorer.worked.widget.value) == read_out(shown)
    else:  # cleared: nor does the worked panel show an old sum
        assert worked is None and "vggviz-worked-value" not in explorer.worked.widget.value


def test_model_controls_change_the_maps(explorer):
    explorer.model.stem.value = "pooled"
    assert explorer.maps.shape == (112, 112, 64)
    explorer.model.seed.value = 5
    assert explorer.fx.label == "random (seed 5)"
    explorer.model.variant.value = "vgg11"
    assert explorer.fx.variant == "vgg11"
    total = summarize("vgg11", stem="pooled").total_params
    assert f"<td>total</td><td align=right>{total:,}</td>" in explorer.component_costs.widget.value


def test_export_offers_the_grid_png_and_the_maps_as_float16_npz_under_5_mb(explorer):
    explorer.map_export.export()
    grid, maps = explorer.map_export.grid_link, explorer.map_export.maps_link
    assert grid.filename == "stem_grid.png" and grid.data == explorer.map_grid.png
    assert Image.open(io.BytesIO(grid.data)).format == "PNG"
    assert maps.filename == "stem_maps_float16.npz" and "float16" in maps.label
    saved = np.load(io.BytesIO(maps.data))["maps"]
    assert saved.dtype == np.float16 and saved.shape == explorer.maps.shape == (224, 224, 64)
    np.testing.assert_allclose(saved, explorer.maps, rtol=1e-3, atol=1e-3)
    assert len(maps.data) <= 5 * 10**6  # sent as a binary buffer: these bytes are the wire


@pytest.mark.parametrize("change", ["stage", "cmap", "focus", "upload"])
def test_export_links_vanish_with_the_view_they_were_made_from(explorer, change):
    explorer.map_export.export()
    assert explorer.map_export.grid_link.data and explorer.map_export.maps_link.data
    if change == "stage":
        explorer.stage.value = "group5"
    elif change == "cmap":
        explorer.map_grid.cmap.value = "magma"
    elif change == "focus":
        explorer.chosen_map.slider.value = 9
    else:
        upload(explorer, png(), "new.png")
    assert explorer.map_export.grid_link.data == explorer.map_export.maps_link.data == b""


def test_a_stage_switch_never_shows_the_old_stages_maps(explorer):
    """From page 3 of group 3 to group 5: the old pictures are hidden at once, the next grid
    drawn is group 5's, and only then are the pictures shown again."""
    explorer.stage.value = "group3"
    explorer.map_grid.page.value = 2
    events = []
    explorer.map_grid.image.observe(lambda c: events.append(("grid", explorer.maps.shape)), "value")
    explorer.map_grid.image.layout.observe(lambda c: events.append(("visibility", c["new"])),
                                       "visibility")
    explorer.stage.value = "group5"
    assert events[0] == ("visibility", "hidden")
    assert events[1:] == [("grid", (7, 7, 512)), ("visibility", None)]
    assert explorer.map_grid.grid.channels == list(range(64))


def test_clicking_a_tile_outlines_it_and_explains_the_map(explorer):
    from vggviz.render import LABEL_INDEX

    layout = explorer.map_grid.grid.layout
    x, y = layout.origin(19)
    explorer.map_grid._on_click({"dataX": x + 20, "dataY": y + 20})
    indices = np.asarray(Image.open(io.BytesIO(explorer.map_grid.png)))  # palette indices
    assert (indices[y, x:x + layout.tile_w] == LABEL_INDEX).all()  # the chosen tile, framed
    x0, y0 = layout.origin(0)
    assert not (indices[y0, x0:x0 + layout.tile_w] == LABEL_INDEX).all()  # not the others
    assert "stem map 19" in explorer.chosen_map.info.value
    assert "27 weights (3×3×3) and a bias, slid over every pixel, then ReLU" in \
        explorer.chosen_map.info.value
    for bar in (explorer.map_grid.bar, explorer.chosen_map.bar, explorer.chosen_map.kernel_legend):
        assert bar.value[:4] == b"\x89PNG"  # every picture of values has its scale


def test_the_cost_strip_states_the_chapters_point(explorer):
    strip = explorer.strip.value
    assert "<b>150,528</b> values" in strip and "<b>3,211,264</b> values enter group 1 (×21)" \
        in strip
    assert "<b>802,816</b> values enter group 1 (×5.3)" in strip  # the pooled stem beside it
    assert "group 1 runs at 224×224: <b>1.85 G</b> MACs" in strip
    assert "group 1 runs at 112×112: <b>462.4 M</b> MACs" in strip
    explorer.model.stem.value = "pooled"
    assert explorer.strip.value.index("Pooled stem") < explorer.strip.value.index("VGG stem")


def test_a_variant_with_the_same_stem_says_the_maps_do_not_change(explorer):
    before = explorer.map_grid.png
    explorer.model.variant.value = "vgg19"
    assert "VGG19 has the same stem as VGG16" in explorer.status.text
    assert explorer.map_grid.png == before
    explorer.model.variant.value = "vgg16_bn"  # batch norm: another stem
    assert "same stem" not in explorer.status.text


def test_vgg_family_redraws_with_the_input_size():
    app = vgg_family().app
    app.wait()
    assert "VGG19-BN" in app.table.value and "143,667,240" in app.table.value
    assert "<th title=" in app.table.value and "total params</th>" in app.table.value
    beside = next(box for box in app.widget.children if isinstance(box, ipywidgets.HBox))
    assert app.frames["size"] in beside.children  # the chart answering the slider is beside it
    # the chart, and its numbers as a table a screen reader reads (visually hidden)
    assert app.frames["size"].children == (app.size_chart, app.tables["size"])
    assert "<th scope='row'>224 px (shown)</th><td>102,764,544</td>" in app.tables["size"].value
    charts = [app.size_chart.value, app.params_chart.value, app.memory_chart.value]
    app.size.value = 64
    app.wait()
    assert "64×64×3" in app.status.text
    assert "<th scope='row'>64 px (shown)</th>" in app.tables["size"].value
    assert "<th scope='row'>VGG16</th>" in app.tables["params"].value
    assert all(a != b for a, b in zip(charts, [app.size_chart.value, app.params_chart.value,
                                               app.memory_chart.value], strict=True))
    app.size.value = 224  # back: drawn from the cache, the very same pictures
    app.wait()
    assert [app.size_chart.value, app.params_chart.value, app.memory_chart.value] == charts
    app.size.value = 64
    app.stem.value = "strided"  # needs 128 px: the slider moves up, and says why
    assert app.size.value == 128 and app.size.min == 128
    assert "at least 128×128" in app.status.text
    app.stem.value = "vgg"
    assert app.size.min == 32 and app.size.value == 128


family = vggviz.ui.dashboards.vgg_family  # the module (vggviz.ui.dashboards.vgg_family is the app)


def drawn_figures(monkeypatch) -> list:
    """Every figure the family app turns into a PNG from now on, in order. An earlier test's
    family app may still be drawing in its thread (on a busy machine): it is let finish first,
    so none of its figures is counted here."""
    from vggviz.render import charts

    for thread in threading.enumerate():
        if thread.name == "vggviz-family":
            thread.join(300)
    figures, real = [], charts.figure_png
    monkeypatch.setattr(charts, "figure_png", lambda fig: figures.append(fig) or real(fig))
    return figures


def figure_text(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))


def test_a_burst_of_moves_answers_the_last_one_and_nothing_shows_an_earlier_one(monkeypatch):
    """Five quick moves: what is on screen is for the last one, and only it is drawn."""
    from vggviz.plan import formatting as fmt
    from vggviz.plan import series
    from vggviz.plan.accounting import summarize_all
    from vggviz.render import charts

    app = vgg_family().app
    app.wait(300)
    figures = drawn_figures(monkeypatch)
    with family._DRAWING:  # the background thread is still drawing while the person moves on
        for n in (256, 288, 320, 352):
            app.size.value = n
        app.stem.value = "pooled"
        assert "input 352×352×3 · Pooled stem" in app.status.text and "drawing" in app.status.text
        assert all(family.STALE in frame._dom_classes for frame in app.frames.values())
    app.wait(300)
    assert len(figures) == 5 and all("Pooled stem" in figure_text(fig) for fig in figures)
    assert all("352" in figure_text(fig) for fig in figures[:4])  # the head chart marks it
    assert "input 352×352×3 · Pooled stem" in app.status.text and "answered in" in app.status.text
    assert fmt.html_table(  # in a region of its own that scrolls sideways, a Tab stop
        *fmt.variants_table(summarize_all(stem="pooled", input_shape=(352, 352, 3))),
        css_class="vggviz-family") in app.table.value
    assert "VGG16 at 352×352 (Pooled stem)" in app.head.sentence.value
    sizes = [s for s in family.SIZES if s >= 64]
    assert app.size_chart.value == charts.figure_png(charts.input_size_effect(
        series.input_sizes("vgg16", sizes, stem="pooled", current=352)))
    assert app.head.chart.value == charts.figure_png(charts.head_vs_input_size(
        series.head_sizes("vgg16", sizes, stem="pooled", current=352)))
    assert not any(family.STALE in frame._dom_classes for frame in app.frames.values())


def test_a_chart_that_fails_says_so_in_words_and_the_rest_still_draws(monkeypatch):
    from vggviz.render import charts

    app = vgg_family().app
    app.wait(300)

    def fail(*args, **kwargs):
        raise RuntimeError("no room for the labels")

    monkeypatch.setattr(charts, "macs_by_variant", fail)
    app.size.value = 160
    app.wait(300)
    status = app.status.text
    assert "vggviz-error" in status and "Traceback" not in status
    assert "the MACs chart could not be drawn (RuntimeError: no room for the labels)" in status
    assert "the rest is for input 160×160" in status
    stale = {name for name, frame in app.frames.items() if family.STALE in frame._dom_classes}
    assert stale == {"macs"}


def test_the_parameter_axis_ends_just_above_the_largest_bar(monkeypatch):
    """Not at the largest bar of 512 px (650 M) when the largest shown is 144 M; and two
    neighbouring sizes whose largest bars fall in one step share the axis."""
    from vggviz.plan.accounting import summarize_all

    figures = drawn_figures(monkeypatch)
    app = vgg_family().app
    app.wait(300)
    ends = {}
    for n in (224, 192, 512):
        app.size.value = n
        app.wait(300)
        params = [f for f in figures if f.axes[0].get_xlabel() == "parameters (millions)"]
        ends[n] = params[-1].axes[0].get_xlim()[1]
        largest = max(s.total_params for s in summarize_all(input_shape=(n, n, 3))) / 1e6
        # at most the widest step of the ladder (4/3) and the room for the totals (1.16)
        assert largest < ends[n] <= 1.16 * 4 / 3 * largest, (n, largest, ends[n])
    assert ends[224] == ends[192]


def test_family_apps_leave_no_thread_behind_and_keep_few_charts(monkeypatch):
    import threading


    monkeypatch.setattr(family, "CHARTS_KEPT", 6)
    apps = [vgg_family().app for _ in range(2)]
    for app in apps:
        app.size.value = 64
        app.wait(300)
        assert len(app._charts) <= 6
    for thread in threading.enumerate():
        if thread.name.startswith("vggviz-family"):
            thread.join(10)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("vggviz-family")]


def test_stem_designs_say_imagenet_filters_in_the_pooled_stem_were_not_trained_there(
        fake_imagenet_cache):
    app = stem_designs().app
    assert "ImageNet filters." in app.details["vgg"].value
    assert "not trained with" not in app.details["vgg"].value
    pooled = app.details["pooled"].value
    assert ("ImageNet filters. VGG16&#x27;s ImageNet weights were trained with the VGG stem; "
            "here they sit in the pooled stem") in pooled
    assert "which they were not trained with: trained filters, but" in pooled
    assert "random filters (seed 0): no trained weights exist" in app.details["strided"].value


def test_stem_designs_show_three_stems_at_relative_size(offline):
    app = stem_designs().app
    widths = {k: Image.open(io.BytesIO(g.value)).size[0] for k, g in app.grids.items()}
    assert widths["vgg"] > widths["pooled"] > widths["strided"]
    assert "<b>3,211,264</b> values" in app.captions["vgg"].value
    assert "150,528 input values become 3,211,264 (×21)" in app.details["vgg"].value
    assert "<b>802,816</b> values" in app.captions["pooled"].value
    assert "a quarter" in app.details["pooled"].value
    assert "1/16" in app.details["strided"].value and "ends at 1×1×512" in \
        app.details["strided"].value
    assert "choose" not in app.status.text.lower()  # no control it lacks
    assert all("Choose ImageNet" not in c.value for c in app.details.values())
    assert "no trained weights exist" in app.details["strided"].value
    assert app.chart.value[:4] == b"\x89PNG"


def test_opens_with_imagenet_weights_when_keras_has_them_cached(fake_imagenet_cache):
    app = stem_explorer().app
    assert app.model.weights.value == "imagenet" and app.fx.label == "ImageNet"
    assert "vggviz-notice" not in app.notice.value  # no banner: a credit to the authors
    assert "Simonyan" in app.notice.value and "arXiv:1409.1556" in app.notice.value
    assert not app.downloads.running("vgg16") and not app.downloads.widget.children
    assert "vggviz-caution" not in app.notice.value
    app.model.stem.value = "pooled"  # the same trained filters, in a stem they never saw
    assert app.fx.label == "ImageNet" and "vggviz-caution" in app.notice.value
    assert "here they sit in the pooled stem" in app.notice.value
    assert "Simonyan" in app.notice.value


def test_asking_for_imagenet_offline_falls_back_in_words(offline, monkeypatch):
    import socket

    app = opened(stem_explorer().app)
    assert app.model.weights.value == "random"
    tries, refuse = [], socket.getaddrinfo  # the offline fixture's: no name resolves
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *args, **kwargs: tries.append(args) or refuse(*args, **kwargs))
    app.model.weights.value = "imagenet"
    opened(app)
    assert len(tries) == 1  # the failure was not remembered: choosing ImageNet tried again
    assert app.model.weights.value == "random"
    assert "Cannot reach storage.googleapis.com" in app.notice.value
    assert "randomly initialised" in app.notice.value and "put it at" in app.notice.value
    assert said_once(re.sub(r"<summary.*?</summary>|<[^>]+>", "", app.notice.value))
    assert app.maps is not None and "vggviz-error" not in app.status.text


def test_a_damaged_file_in_keras_cache_opens_on_random_filters_and_says_what_to_do(
        fake_imagenet_cache):
    import h5py

    with h5py.File(fake_imagenet_cache, "r+") as f:  # weight_names that point nowhere
        f["block1_conv1"].attrs["weight_names"] = [b"block1_conv1/nowhere:0"]
    app = stem_explorer().app
    assert app.maps is not None and app.fx.label == "random (seed 0)"
    assert app.model.weights.value == "random"
    assert fake_imagenet_cache.name in app.notice.value
    assert "damaged" in app.notice.value and "delete" in app.notice.value
    assert said_once(re.sub(r"<summary.*?</summary>|<[^>]+>", "", app.notice.value))
    assert "vggviz-error" not in app.status.text


def test_the_landing_page_links_the_four_dashboards_with_a_thumbnail_each():
    import base64
    import json
    import re
    from pathlib import Path

    from vggviz.ui import landing

    page = landing().children[0].value
    links = re.findall(r"href='([^']+)'", page)
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    assert links[:4] == ["01_stem_explorer.ipynb", "02_vgg_family.ipynb",
                         "03_stem_designs.ipynb", "04_watch_it_learn.ipynb"]
    # then the guided lessons' first steps, each on one of those pages
    from vggviz.plan.lessons import LESSONS

    assert links[4:] == [html.escape(lesson.href(1)) for lesson in LESSONS.values()]
    assert all((notebooks / link.split("?")[0]).is_file() for link in links)
    thumbs = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(thumbs) == 4
    assert "images of the built-in training set, of 10 classes" in page  # drawn from the data
    for data in thumbs:
        assert Image.open(io.BytesIO(base64.b64decode(data))).size[0] <= 150
    assert "make lab" in page and "00_tour.ipynb" in page
    config = json.loads((config_dir() / "voila.json").read_text())
    assert "00_tour.ipynb" in config["ContentsManager"]["hide_globs"]  # not in Voilà's tree


# ---------------------------------------------------------------------------- colour bars

def stated_ranges(app, monkeypatch) -> list:
    """Record what every colour bar the explorer draws from now on states: (lo, hi, texts)."""
    from vggviz.render import colorbar
    from vggviz.ui.panels.chosen_map import scale_values

    stated = []

    def spy(lo, hi, **kwargs):
        stated.append((lo, hi, kwargs.get("low_text"), kwargs.get("high_text")))
        return colorbar(lo, hi, **kwargs)

    def spy_values(lo, hi):  # the large map's ramp, its values written under it by the page
        stated.append((lo, hi, None, None))
        return scale_values(lo, hi)

    monkeypatch.setattr(vggviz.ui.panels.map_grid, "colorbar", spy)  # the two bars
    monkeypatch.setattr(vggviz.ui.panels.chosen_map, "scale_values", spy_values)
    return stated


def colour_levels(png_bytes: bytes, cmap: str) -> tuple[np.ndarray, np.ndarray]:
    """The palette levels each pixel's RGB colour can stand for, as (first, last) arrays (a few
    neighbouring levels share a colour); -1 where a pixel is no colormap colour (gaps, labels,
    the chosen tile's outline)."""
    from vggviz.render import LEVELS, palette

    rgb = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB")).astype(np.int64)
    lut = palette(cmap)[:LEVELS].astype(np.int64)
    keys = (lut[:, 0] << 16) | (lut[:, 1] << 8) | lut[:, 2]
    first, last = {}, {}
    for level, key in enumerate(keys.tolist()):
        first.setdefault(key, level)
        last[key] = level
    pixels = ((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).ravel().tolist()
    shape = rgb.shape[:2]
    return (np.array([first.get(p, -1) for p in pixels]).reshape(shape),
            np.array([last.get(p, -1) for p in pixels]).reshape(shape))


def reads_as(png_bytes: bytes, cmap: str, lo, hi, expected: np.ndarray) -> float:
    """The share of a picture's colormap pixels whose colour, read on a bar from `lo` to `hi`
    (numbers, or one per pixel), covers the `expected` value there (each level stands for
    1/LEVELS of the bar)."""
    from vggviz.render import LEVELS

    first, last = colour_levels(png_bytes, cmap)
    step, slack = (hi - lo) / LEVELS, 1e-5 * np.maximum(np.maximum(abs(lo), abs(hi)), 1)
    shows = first >= 0
    assert shows.mean() > 0.8  # the picture is mostly colormap colours
    inside = ((lo + first * step - slack <= expected)
              & (expected <= lo + (last + 1) * step + slack))
    return float(inside[shows].mean())


def as_tile(m: np.ndarray, th: int, tw: int) -> np.ndarray:
    """A map as its grid tile shows it: area means down, nearest-neighbour up (whole factors)."""
    h, w = m.shape
    if th <= h:
        return m.reshape(th, h // th, tw, w // tw).mean(axis=(1, 3))
    return np.repeat(np.repeat(m, th // h, axis=0), tw // w, axis=1)


@pytest.mark.parametrize("stage", ["stem", "group3"])
@pytest.mark.parametrize("scaling", ["per_map", "shared"])
def test_every_colour_bar_states_the_range_its_colours_span(explorer, monkeypatch, stage,
                                                            scaling):
    explorer.stage.value = stage
    if stage != "stem":  # a later page, without the stage's largest value: its own range
        tops = explorer.maps.reshape(-1, 4, 64).max(axis=(0, 2))
        page = next(p for p in range(1, 4) if tops[p] < tops.max())
        explorer.map_grid.page.value = page
    page = explorer.map_grid.page.value
    explorer.map_grid.normalize.value = "shared" if scaling == "per_map" else "per_map"
    stated = stated_ranges(explorer, monkeypatch)
    explorer.map_grid.normalize.value = scaling  # draws the grid's bar, then the large map's
    explorer.chosen_map.slider.value = explorer.map_grid.grid.channels[5]  # the large map's again
    grid_bar, focus_bar = stated[0], stated[-1]
    maps, cmap = explorer.maps, explorer.map_grid.cmap.value
    first = page * 64
    shown = maps[:, :, first:first + 64]
    if scaling == "shared":  # one range, stated in numbers, the same on both bars
        assert grid_bar[:2] == focus_bar[:2]
        assert grid_bar[:2] == pytest.approx((float(shown.min()), float(shown.max())))
    else:  # each map from its own min to its max, as the map's line states them
        assert grid_bar[2:] == ("each map's min", "its max")

    layout = explorer.map_grid.grid.layout
    expected = np.full(colour_levels(explorer.map_grid.png, cmap)[0].shape, np.nan)
    lows, highs = np.zeros_like(expected), np.ones_like(expected)
    for position, channel in enumerate(explorer.map_grid.grid.channels):
        m = maps[:, :, channel].astype(np.float64)
        x, y = layout.origin(position)
        tile = np.s_[y:y + layout.tile_h, x:x + layout.tile_w]
        expected[tile] = as_tile(m, layout.tile_h, layout.tile_w)
        lows[tile], highs[tile] = grid_bar[:2] if scaling == "shared" else (m.min(), m.max())
    assert reads_as(explorer.map_grid.png, cmap, lows, highs, expected) == 1.0

    channel = explorer.chosen_map.slider.value
    m = maps[:, :, channel].astype(np.float64)
    if scaling == "per_map":
        assert focus_bar[:2] == pytest.approx((m.min(), m.max()))
    scale = focus_scale(m.shape)
    big = np.repeat(np.repeat(m, scale, axis=0), scale, axis=1)
    assert reads_as(explorer.chosen_map.image.value, cmap, *focus_bar[:2], big) == 1.0


# ---------------------------------------------------------------------------- notices

def banner_text(notice: str) -> str:
    """What a person reads in a notice banner, the folded part included."""
    from vggviz.ui.parts.notices import notice_html

    text = re.sub(r"<summary.*?</summary>", "", notice_html(notice))
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", text))).strip()


def said_once(text: str) -> bool:
    """Whether no clause of `text` is said twice, and that random filters show is said once."""
    parts = re.split(r"[;:()]|\.(?:\s|$)|, ", text.lower())  # not the dots of a file name
    clauses = [c.strip() for c in parts if len(c.strip()) > 3]
    return len(clauses) == len(set(clauses)) and text.lower().count(
        "randomly initialised filters") == 1


def every_notice(monkeypatch, tmp_path) -> dict[str, str]:
    """Each notice the explorer can show, made by the code that makes it (offline)."""
    import threading

    from vggviz.sources import weights
    from vggviz.sources.imagenet import WEIGHTS_URL_SETTING, fetch_imagenet, imagenet_path
    from vggviz.ui.panels.weights_download import WeightsDownloads

    def fallback(fetch) -> str:
        return weights.with_fallback(lambda w: None if w == "random" else fetch(), "imagenet")[1]

    cancelled = threading.Event()
    cancelled.set()
    downloads = WeightsDownloads(lambda variant, error: None)
    downloads.start("vgg16")
    assert downloads.join(60)
    notices = {
        "unsupported": weights.weights_notice("random", "vgg11"),
        "not downloaded": weights.weights_notice("random", "vgg16"),
        "failed download": downloads.reason("vgg16"),
        "fallback offline": fallback(lambda: fetch_imagenet("vgg16", progress=lambda *a: None)),
        "fallback no such weights": fallback(lambda: fetch_imagenet("vgg11")),
    }
    mirror = tmp_path / "mirror"  # a folder holding the file: a download to cancel
    mirror.mkdir()
    (mirror / imagenet_path("vgg16").name).write_bytes(bytes(2**20))
    monkeypatch.setenv(WEIGHTS_URL_SETTING, str(mirror))
    notices["fallback cancelled"] = fallback(lambda: fetch_imagenet(
        "vgg16", cancel=cancelled, progress=lambda *a: None))
    downloads._jobs["vgg16"] = None  # one running
    notices["downloading"] = downloads.reason("vgg16")
    notices["downloading, random chosen"] = downloads.reason("vgg16", wanted=False)
    monkeypatch.setattr(weights, "imagenet_cached", lambda variant: True)
    notices["random chosen"] = weights.weights_notice("random", "vgg16", seed=3)
    return notices


def test_every_notice_says_each_thing_once(offline, monkeypatch, tmp_path):
    notices = every_notice(monkeypatch, tmp_path)
    read = {name: banner_text(text) for name, text in notices.items()}
    for name, text in read.items():
        assert said_once(text), (name, text)
        assert text.startswith("ℹ ") and len(text.split(". ")[0]) <= 160, (name, text)
    assert read["random chosen"] == (
        "ℹ Showing randomly initialised filters (seed 3); ImageNet has trained ones.")
    assert read["unsupported"] == (
        "ℹ Keras publishes ImageNet weights for VGG16 and VGG19 with the VGG or pooled stem "
        "only: showing randomly initialised filters (seed 0).")
    assert read["failed download"].startswith(
        "ℹ ImageNet weights could not be downloaded: showing randomly initialised filters. "
        "Cannot reach storage.googleapis.com")
    assert read["failed download"].endswith("; choose ImageNet to try again.")
    assert "cancelled" in read["fallback cancelled"]


def test_choosing_random_with_imagenet_cached_says_so_once(fake_imagenet_cache):
    app = stem_explorer().app
    app.model.weights.value = "random"
    text = re.sub(r"<[^>]+>", "", html.unescape(app.notice.value)).strip()
    assert text == "ℹ Showing randomly initialised filters (seed 0); ImageNet has trained ones."


def test_the_large_maps_share_of_zeros_is_not_rounded_to_all(explorer, monkeypatch):
    """"max 1.9 · zeros 100% of the map" for a map with live units: a share rounded to all."""
    module = vggviz.ui.panels.chosen_map
    real = module.map_stats

    def one_live_unit_in_3136(maps):
        stats = real(maps)
        stats["zeros"] = np.array([3135 / 3136])
        return stats

    monkeypatch.setattr(module, "map_stats", one_live_unit_in_3136)
    explorer.draw_focus()
    text = explorer.chosen_map.info.value
    assert "zeros >99.9% of the map" in text and "100%" not in text


def test_no_toggle_button_says_null_on_hover(explorer):
    """ipywidgets' ToggleButton writes its tooltip into the title as it is: None reads "null"
    ("Compare trained and random filters" did)."""
    seen, toggles = [explorer.widget], []
    while seen:
        widget = seen.pop()
        if isinstance(widget, ipywidgets.ToggleButton):
            toggles.append(widget)
        seen += [c for c in getattr(widget, "children", ()) if isinstance(c, ipywidgets.Widget)]
    assert any(t.description == "Compare trained and random filters" for t in toggles)
    assert [t.description for t in toggles if not t.tooltip] == []


def test_the_large_maps_scale_writes_the_values_at_its_ends():
    from vggviz.ui.panels.chosen_map import scale_values

    ends = re.findall(r"<span style='([^']*)'>([^<]*)</span>", scale_values(0, 59.71))
    assert ends == [("left:0", "0"), ("right:0", "59.7")]
