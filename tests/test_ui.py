"""The dashboards driven in Python: each control changes what it should, bad input is contained."""

import datetime
import io
import re

import ipywidgets
import numpy as np
import pytest
from PIL import Image

from vggviz import summarize
from vggviz.render import focus_scale
from vggviz.ui import stem_designs, stem_explorer, vgg_family


def upload(app, data: bytes, name: str = "photo.png") -> None:
    """What the browser's FileUpload sends to the kernel."""
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
    assert Image.open(io.BytesIO(explorer.grid_png)).size[0] == 8 * 112 + 7 * 2  # 8×8 tiles
    assert "stem 224×224×64" in explorer.status.text
    assert Image.open(io.BytesIO(explorer.kernels_image.value)).size[0] > 250  # 64 kernels
    assert explorer.fx.label == "random (seed 0)" and explorer.model.weights.value == "random"
    assert "could not be downloaded (cannot reach" in explorer.notice.value
    assert "randomly initialised" in explorer.notice.value


def test_upload_replaces_the_grid(explorer):
    before = explorer.grid_png
    upload(explorer, png(), "red.png")
    assert explorer.picker.name == "red.png"
    assert explorer.grid_png != before
    assert "red.png" in explorer.status.text and "vggviz-error" not in explorer.status.text
    assert explorer.picker.upload.value == ()  # ready for the next upload
    assert explorer.picker.sample.value is None  # the picker no longer claims a sample


def test_picking_a_sample_after_an_upload_shows_it(explorer):
    upload(explorer, png((20, 200, 20)), "green.png")
    explorer.picker.sample.value = "Checkerboard"
    assert explorer.picker.name == "Checkerboard" and "Checkerboard" in explorer.status.text


@pytest.mark.parametrize(("data", "name", "needle"), [
    (b"just some notes", "notes.png", "notes.png"),
    (png()[:200], "cut.png", "cut.png"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg", "SVG"),
])
def test_bad_upload_shows_an_error_and_keeps_the_last_grid(explorer, data, name, needle):
    before, shown = explorer.grid_png, explorer.picker.name
    upload(explorer, data, name)
    assert "vggviz-error" in explorer.status.text and needle in explorer.status.text
    assert explorer.grid_png == before and explorer.picker.name == shown


def test_oversized_upload_is_refused_unread(explorer):
    before = explorer.grid_png
    upload(explorer, b"\xff\xd8" + bytes(25 * 2**20 - 2), "huge.jpg")
    assert "huge.jpg is 25 MB; the limit is 20 MB" in explorer.status.text
    assert explorer.grid_png == before


def test_display_changes_do_not_run_the_model(explorer):
    passes = explorer.fx.forward_passes
    pictures = {explorer.grid_png}
    for control, value in [(explorer.cmap, "magma"), (explorer.normalize, "shared"),
                           (explorer.order, "mean"), (explorer.tile, 56)]:
        control.value = value
        assert explorer.grid_png not in pictures, control.description
        pictures.add(explorer.grid_png)
    assert explorer.fx.forward_passes == passes
    assert "cached" in explorer.status.text


def test_stages_pages_and_focus(explorer):
    explorer.stage.value = "group3"
    assert explorer.maps.shape == (28, 28, 256)
    assert [label for label, _ in explorer.page.options] == [
        "maps 0–63 of 256", "maps 64–127 of 256", "maps 128–191 of 256", "maps 192–255 of 256"]
    assert explorer.page.layout.display is None
    first = explorer.grid.channels
    explorer.page.value = 2
    assert explorer.grid.channels[0] == 128 and explorer.grid.channels != first
    assert explorer.focus.value in explorer.grid.channels
    explorer.stage.value = "stem"
    assert explorer.page.layout.display == "none" and explorer.kernel_image.value


def test_clicking_a_tile_focuses_its_map(explorer):
    layout = explorer.grid.layout
    x, y = layout.origin(10)
    explorer._on_grid_click({"dataX": x + 3, "dataY": y + 3})
    assert explorer.focus.value == explorer.grid.channels[10]
    assert f"map {explorer.focus.value}" in explorer.focus_info.value
    explorer._on_hover({"dataX": 20, "dataY": 30})
    assert "at (10, 15)" in explorer.hover.value


def read_out(html: str) -> str:
    """The value in the hover read-out or in the worked panel's last line."""
    return re.search(r"at \(\d+, \d+\): <b[^>]*>([^<]+)</b>", html).group(1)


def test_pointing_at_the_large_map_works_out_its_value(explorer):
    passes = explorer.fx.forward_passes
    plain = explorer.picker.network_view.value
    assert "point at (or click) the large map" in explorer.worked.widget.value
    explorer._on_hover({"event": "mousemove", "dataX": 181, "dataY": 100})  # map pixel (90, 50)
    worked = explorer.worked.worked
    assert worked.at == (50, 90) and worked.channel == explorer.focus.value == 0
    assert worked.value == pytest.approx(float(explorer.maps[50, 90, 0]), abs=1e-4)
    panel = explorer.worked.widget.value
    assert "How map 0's value at (90, 50) is made" in panel and "27 products" in panel
    assert read_out(panel) == read_out(explorer.hover.value)  # the same value as the read-out
    for label in ("input numbers", "weights", "products", "+ bias", "ReLU: max(0,"):
        assert label in panel
    assert explorer.picker.network_view.value != plain  # the patch is outlined
    assert explorer.fx.forward_passes == passes  # numpy on the cached input: no forward pass

    explorer.focus.value = 7  # another map: the same pixel, worked out with its filter
    assert explorer.worked.worked.channel == 7 and explorer.worked.worked.at == (50, 90)
    assert read_out(explorer.worked.widget.value) == f"{explorer.maps[50, 90, 7]:.4g}"

    explorer._on_hover({"event": "click", "dataX": 0, "dataY": 447})  # a click, at a corner
    worked = explorer.worked.worked
    assert worked.at == (223, 0) and not worked.inside.all()
    assert "padding" in explorer.worked.widget.value
    assert explorer.fx.forward_passes == passes


def test_the_worked_panel_explains_what_it_cannot_show(explorer):
    plain = explorer.picker.network_view.value
    explorer._on_hover({"dataX": 10, "dataY": 10})
    assert explorer.worked.show(explorer.fx, explorer.picker.image, "stem", 0,
                                at=(300, 5)) is None
    assert "outside the 224×224 maps" in explorer.worked.widget.value
    assert explorer.picker.network_view.value == plain  # no outline without a patch
    explorer.stage.value = "group2"
    assert "step back to Stem" in explorer.worked.widget.value
    explorer._on_hover({"dataX": 10, "dataY": 10})
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
    explorer._on_hover({"dataX": 5 * scale, "dataY": 7 * scale})
    worked = explorer.worked.worked
    assert worked.at == (7, 5) and worked.pool.shape == (window, window)
    assert worked.terms == terms and worked.pool[worked.winner] == worked.value
    panel = explorer.worked.widget.value
    assert f"{window}×{window} max-pool" in panel and f"{terms} products" in panel
    assert read_out(panel) == read_out(explorer.hover.value)
    if stem == "strided":
        assert "laid out the same way" in panel
    assert explorer.fx.forward_passes == passes


def test_a_bn_variant_shows_its_normalisation_before_the_relu(explorer):
    explorer.model.variant.value = "vgg16_bn"
    explorer._on_hover({"dataX": 60, "dataY": 80})
    panel, worked = explorer.worked.widget.value, explorer.worked.worked
    assert worked.normalization is not None and "batch norm" in panel
    assert read_out(panel) == read_out(explorer.hover.value)


def test_model_controls_change_the_maps(explorer):
    explorer.model.stem.value = "pooled"
    assert explorer.maps.shape == (112, 112, 64)
    explorer.model.seed.value = 5
    assert explorer.fx.label == "random (seed 5)"
    explorer.model.variant.value = "vgg11"
    assert explorer.fx.variant == "vgg11"
    total = summarize("vgg11", stem="pooled").total_params
    assert f"<td>total</td><td align=right>{total:,}</td>" in explorer.costs.value


def test_export_offers_the_grid_png_and_the_maps_as_float16_npz_under_5_mb(explorer):
    explorer.export()
    grid, maps = explorer.export_grid, explorer.export_maps
    assert grid.filename == "stem_grid.png" and grid.data == explorer.grid_png
    assert Image.open(io.BytesIO(grid.data)).format == "PNG"
    assert maps.filename == "stem_maps_float16.npz" and "float16" in maps.label
    saved = np.load(io.BytesIO(maps.data))["maps"]
    assert saved.dtype == np.float16 and saved.shape == explorer.maps.shape == (224, 224, 64)
    np.testing.assert_allclose(saved, explorer.maps, rtol=1e-3, atol=1e-3)
    assert len(maps.data) <= 5 * 10**6  # sent as a binary buffer: these bytes are the wire


@pytest.mark.parametrize("change", ["stage", "cmap", "focus", "upload"])
def test_export_links_vanish_with_the_view_they_were_made_from(explorer, change):
    explorer.export()
    assert explorer.export_grid.data and explorer.export_maps.data
    if change == "stage":
        explorer.stage.value = "group5"
    elif change == "cmap":
        explorer.cmap.value = "magma"
    elif change == "focus":
        explorer.focus.value = 9
    else:
        upload(explorer, png(), "new.png")
    assert explorer.export_grid.data == explorer.export_maps.data == b""


def test_a_stage_switch_never_shows_the_old_stages_maps(explorer):
    """From page 3 of group 3 to group 5: the old pictures are hidden at once, the next grid
    drawn is group 5's, and only then are the pictures shown again."""
    explorer.stage.value = "group3"
    explorer.page.value = 2
    events = []
    explorer.grid_image.observe(lambda c: events.append(("grid", explorer.maps.shape)), "value")
    explorer.grid_image.layout.observe(lambda c: events.append(("visibility", c["new"])),
                                       "visibility")
    explorer.stage.value = "group5"
    assert events[0] == ("visibility", "hidden")
    assert events[1:] == [("grid", (7, 7, 512)), ("visibility", None)]
    assert explorer.grid.channels == list(range(64))


def test_clicking_a_tile_outlines_it_and_explains_the_map(explorer):
    from vggviz.render import LABEL_INDEX

    layout = explorer.grid.layout
    x, y = layout.origin(19)
    explorer._on_grid_click({"dataX": x + 20, "dataY": y + 20})
    indices = np.asarray(Image.open(io.BytesIO(explorer.grid_png)))  # palette indices
    assert (indices[y, x:x + layout.tile_w] == LABEL_INDEX).all()  # the chosen tile, framed
    x0, y0 = layout.origin(0)
    assert not (indices[y0, x0:x0 + layout.tile_w] == LABEL_INDEX).all()  # not the others
    assert "stem map 19" in explorer.focus_info.value
    assert "27 weights (3×3×3) and a bias, slid over every pixel, then ReLU" in \
        explorer.focus_info.value
    for bar in (explorer.grid_bar, explorer.focus_bar, explorer.kernel_legend):
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
    before = explorer.grid_png
    explorer.model.variant.value = "vgg19"
    assert "VGG19 has the same stem as VGG16" in explorer.status.text
    assert explorer.grid_png == before
    explorer.model.variant.value = "vgg16_bn"  # batch norm: another stem
    assert "same stem" not in explorer.status.text


def test_vgg_family_redraws_with_the_input_size():
    app = vgg_family().app
    app.wait()
    assert "VGG19-BN" in app.table.value and "143,667,240" in app.table.value
    assert "<th title=" in app.table.value and "total params</th>" in app.table.value
    beside = next(box for box in app.widget.children if isinstance(box, ipywidgets.HBox))
    assert app.size_chart in beside.children  # the chart that answers the slider is beside it
    charts = [app.size_chart.value, app.params_chart.value, app.memory_chart.value]
    app.size.value = 64
    app.wait()
    assert "64×64×3" in app.status.text
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


def test_asking_for_imagenet_offline_falls_back_in_words(offline, monkeypatch):
    import socket

    app = opened(stem_explorer().app)
    assert app.model.weights.value == "random"
    tries, refuse = [], socket.create_connection
    monkeypatch.setattr(socket, "create_connection",
                        lambda *args, **kwargs: tries.append(args) or refuse(*args, **kwargs))
    app.model.weights.value = "imagenet"
    opened(app)
    assert len(tries) == 1  # the failure was not remembered: choosing ImageNet tried again
    assert app.model.weights.value == "random"
    assert "cannot reach storage.googleapis.com" in app.notice.value
    assert "randomly initialised" in app.notice.value and "put it at" in app.notice.value
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
    assert "vggviz-error" not in app.status.text


def test_the_landing_page_links_the_three_dashboards_with_a_thumbnail_each():
    import base64
    import json
    import re
    from pathlib import Path

    from vggviz.ui import landing

    page = landing().children[0].value
    links = re.findall(r"href='([^']+)'", page)
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    assert links == ["01_stem_explorer.ipynb", "02_vgg_family.ipynb", "03_stem_designs.ipynb"]
    assert all((notebooks / link).is_file() for link in links)
    thumbs = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(thumbs) == 3
    for data in thumbs:
        assert Image.open(io.BytesIO(base64.b64decode(data))).size[0] <= 150
    assert "make lab" in page and "00_tour.ipynb" in page
    config = json.loads((notebooks.parent / "voila.json").read_text())
    assert "00_tour.ipynb" in config["ContentsManager"]["hide_globs"]  # not in Voilà's tree
