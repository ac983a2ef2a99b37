"""The explorer's "Inside the learner and the classifier" section driven in Python: the top-5
and the class heat with a classifier file, one line saying why without one, and the patterns of
the chosen map and of its page, a page tile choosing its map as a grid tile does."""

import html
import io
import re

import numpy as np
import pytest
from PIL import Image
from test_ui import opened, png, upload

from vggviz.sources.imagenet_classes import imagenet_classes
from vggviz.ui import stem_explorer

pytestmark = pytest.mark.slow


def picture_of(widget) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(widget.value)).convert("RGB"))


def answered(app):
    app.classifier.wait(300)
    return app


def test_random_weights_give_one_line_saying_why_there_is_no_answer(offline):
    app = opened(stem_explorer().app)
    app.model.weights.value = "random"
    answered(app)
    assert "No answer from the classifier" in app.classifier.summary.value
    assert "random" in app.classifier.summary.value
    for said in (app.classifier.summary.value, app.classifier.answer.value):  # each thing once
        text = re.sub(r"<[^>]+>", " ", said).lower()
        assert text.count("no answer") == 1 and text.count("classifier") <= 2, said
        assert "untrained" not in text or "never trained" not in text, said
    assert re.sub(r"<[^>]+>", "", app.classifier.summary.value) == (
        "No answer from the classifier: the weights are random, never trained on any classes.")
    assert app.classifier.heat_box.layout.display == "none"
    assert app.classifier.fetch.layout.display == "none"  # nothing to fetch for random weights


def test_without_the_classifier_file_the_explorer_offers_to_fetch_it(fake_imagenet_cache):
    app = opened(stem_explorer().app)
    answered(app)
    assert app.fx.weights == "imagenet"
    assert "No answer from the classifier" in app.classifier.summary.value
    assert app.classifier.fetch.layout.display is None
    assert "VGG16" in app.classifier.fetch.description and "MB" in app.classifier.fetch.description


def test_the_top_five_and_the_heat_follow_the_image_the_class_and_the_stage(
        imagenet_classifier_cache):
    app = answered(opened(stem_explorer().app))
    table = app.classifier.answer.value
    assert table.count("<tr>") == 5
    names = {c.name.replace("_", " ") for c in imagenet_classes()}
    shown = [html.unescape(cell.split(">")[-1]) for cell in
             table.split("</th>")[:-1]]
    assert len(shown) == 5 and set(shown) <= names
    probabilities = [float(p) for p in
                     [seg.split("<")[0] for seg in table.split("padding-left:6px'>")[1:]]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert "VGG16:" in app.classifier.summary.value
    first_heat = picture_of(app.classifier.heat_image)
    assert first_heat.shape[:2] == (224, 224)
    assert "block5_conv3" in app.classifier.heat_caption.value

    app.classifier.heat_stage.value = "group3"
    answered(app)
    assert "block3_conv3" in app.classifier.heat_caption.value
    assert not np.array_equal(picture_of(app.classifier.heat_image), first_heat)

    name = imagenet_classes()[app.classifier.heat_class.value].name.replace("_", " ")
    assert app.classifier.heat_image.alt.startswith(  # from the heat: class, stage and peak
        f"Class heat for “{name}” at group3 over what the network sees: highest in the ")
    second = app.classifier.heat_class.options[1][1]
    app.classifier.heat_class.value = second
    answered(app)
    assert imagenet_classes()[second].name.replace("_", " ") in html.unescape(
        app.classifier.heat_caption.value)

    before = app.classifier.answer.value
    upload(app, png((20, 200, 40)))
    answered(app)
    assert app.classifier.answer.value != before  # the answer is the new image's


def test_the_chosen_maps_pattern_and_its_page_and_a_page_tile_chooses_its_map(offline,
                                                                            isolated_cache):
    app = opened(stem_explorer().app)
    view = app.patterns
    assert view.find.layout.display is None  # not found yet: a button offers it
    view._find_one()
    assert view.join(300)
    assert view.pattern_image.layout.display is None
    assert view.placeholder.layout.display == "none"
    assert picture_of(view.pattern_image).shape[:2] == (160, 160)
    assert view.find.layout.display == "none"
    assert view.pattern_image.alt == ("The input pattern that excites stem map 0 most, found by "
                                      "gradient ascent.")

    view._find_page()
    assert view.join(300)
    assert view.page_image.layout.display is None
    layout, order = app.map_grid.grid.layout, app.map_grid.grid.channels
    page = picture_of(view.page_image)
    assert view.page_image.alt == "Patterns of stem maps 0–63, laid out as the grid, map 0 chosen."
    assert page.shape[:2] == (layout.height, layout.width)  # laid out as the maps' grid
    x, y = layout.origin(5)
    view._on_page_click({"dataX": x + 3, "dataY": y + 3})
    assert app.chosen_map.slider.value == order[5]
    assert f"map {order[5]}" in view.title.value
    assert view.page_image.alt.endswith(f"map {order[5]} chosen.")
    view.on_key("ArrowRight")  # the page takes the grid's keys
    assert app.chosen_map.slider.value == order[6] and view.page_image.alt.endswith(
        f"map {order[6]} chosen.")
