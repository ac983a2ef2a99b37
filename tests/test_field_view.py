"""The stem explorer's receptive-field view, driven in Python: a click on the large map draws
the unit's box and gradient on "What the network sees", says it in words, and goes away when
what it belonged to changes; a failure keeps the last view and says why."""

import io

import numpy as np
import pytest
from PIL import Image

from vggviz.plan.receptive_field import stage_field
from vggviz.render import focus_scale
from vggviz.render.fields import BOX_RGB
from vggviz.ui import stem_explorer
from vggviz.ui.panels.field_view import CSS_CLASS


@pytest.fixture
def explorer(offline):
    app = stem_explorer().app
    assert app.downloads.join(120)
    return app


def click(app, row: int, col: int) -> None:
    """What the large map's picture sends for a click on it at unit (row, col)."""
    scale = focus_scale(app.maps.shape[:2])
    event = {"type": "click", "dataX": col * scale + scale // 2,
             "dataY": row * scale + scale // 2}
    app.chosen_map._on_hover(event)
    app.chosen_map._on_field_click(event)


def shown(app) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(app.picker.network_view.value)).convert("RGB"))


def test_a_click_on_a_group3_map_draws_its_field_on_the_input(explorer):
    explorer.stage.value = "group3"
    explorer.chosen_map.slider.value = channel = 7
    row, col = np.unravel_index(np.argmax(explorer.maps[:, :, channel]), (28, 28))
    before = explorer.picker.network_view.value
    assert CSS_CLASS not in explorer.picker.network_view._dom_classes
    click(explorer, row, col)
    unit = explorer.field.unit
    assert (unit.stage, unit.channel, unit.row, unit.col) == ("group3", channel, row, col)
    assert unit.box == stage_field("vgg16", "vgg", "group3", 224).box(row, col, (224, 224))
    assert unit.moving is not None  # the brightest point is alive: some pixels move it
    assert explorer.picker.network_view.value != before
    assert CSS_CLASS in explorer.picker.network_view._dom_classes
    picture = shown(explorer)
    top, left, bottom, right = unit.box
    assert (picture[max(top - 2, 0), left:right + 1] == BOX_RGB).all(axis=-1).any()
    assert f"unit at ({col}, {row}) of group3 map {channel} sees a 44×44 px box" in (
        explorer.field.caption.value)
    assert "|∂unit/∂input| summed over R, G, B" in explorer.field.caption.value
    assert explorer.field.legend.layout.display is None and explorer.field.legend.value
    assert "vggviz-error" not in explorer.status.text


def test_a_dead_unit_says_so_and_the_field_goes_with_its_map(explorer):
    explorer.stage.value = "group3"
    explorer.chosen_map.slider.value = 3
    row, col = (int(v) for v in np.argwhere(explorer.maps[:, :, 3] == 0)[0])
    click(explorer, row, col)
    assert explorer.field.unit.moving is None
    assert "This unit is 0 here" in explorer.field.caption.value
    explorer.chosen_map.slider.value = 4  # another map: the field belonged to map 3
    assert explorer.field.unit is None
    assert CSS_CLASS not in explorer.picker.network_view._dom_classes
    assert "Click a point of the large map" in explorer.field.caption.value


def test_at_the_stem_the_worked_patch_shares_the_picture_and_a_stage_switch_clears(explorer):
    plain = explorer.picker.network_view.value
    click(explorer, 100, 120)
    assert explorer.worked.worked is not None  # the hover's worked sum, patch outlined
    with_field = explorer.picker.network_view.value
    assert CSS_CLASS in explorer.picker.network_view._dom_classes
    explorer.chosen_map._on_hover({"type": "mousemove", "dataX": 50 * focus_scale((224, 224)),
                        "dataY": 60 * focus_scale((224, 224))})
    assert explorer.field.unit is not None  # pointing elsewhere moves only the yellow patch
    assert explorer.picker.network_view.value not in (plain, with_field)
    assert "(cyan)" in explorer.field.caption.value  # the box shows in its own colour again
    explorer.stage.value = "group1"
    assert explorer.field.unit is None
    assert CSS_CLASS not in explorer.picker.network_view._dom_classes


def test_at_the_stem_the_caption_names_the_colour_the_box_is_drawn_in(explorer):
    """The stem unit's field is the worked patch's 3×3 box, drawn yellow over the cyan one: the
    caption says yellow, and the picture is yellow just outside the box."""
    click(explorer, 100, 120)
    unit = explorer.field.unit
    assert unit.box == (99, 119, 101, 121)
    caption = explorer.field.caption.value
    assert "(yellow: the worked patch is this box)" in caption and "cyan" not in caption
    top, left, bottom, right = unit.box
    around = shown(explorer)[top - 4:bottom + 5, left - 4:right + 5]
    assert (around == (255, 230, 0)).all(axis=-1).any()
    assert not (around == BOX_RGB).all(axis=-1).any(), "cyan shows where the caption says yellow"


def test_a_failure_keeps_the_last_view_and_says_why(explorer, monkeypatch):
    explorer.stage.value = "group1"
    click(explorer, 5, 5)
    drawn, caption = explorer.picker.network_view.value, explorer.field.caption.value

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("vggviz.ui.panels.field_view.EffectiveField.attribute", broken)
    click(explorer, 9, 9)
    assert "receptive field could not be computed (out of memory)" in explorer.status.text
    assert explorer.picker.network_view.value == drawn
    assert explorer.field.caption.value == caption
