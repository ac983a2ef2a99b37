"""The network-at-a-glance panel: a part pressed in the page calls `on_choose` with its stage and
is marked, `show` draws the variant and stem asked for and marks the part, its colours meet
WCAG AA; on the family page it follows the controls and marks the chosen part's column."""

from __future__ import annotations

import re

import pytest

from vggviz.plan.architecture import COMPONENTS
from vggviz.ui.panels.network_glance import COLOURS, INK, MUTED, PARTS, NetworkGlance


def press(panel: NetworkGlance, stage: str) -> None:
    """What the page sends when a part's button is clicked, or pressed with Enter or Space."""
    panel.widget._handle_custom_msg({"type": "choose", "stage": stage}, [])


def block(panel: NetworkGlance, name: str) -> dict:
    return next(b for b in panel.widget.blocks if b["name"] == name)


@pytest.mark.parametrize("stage", COMPONENTS)
def test_pressing_a_part_calls_on_choose_with_its_stage_and_marks_it(stage):
    chosen = []
    panel = NetworkGlance(chosen.append)
    press(panel, stage)
    assert chosen == [stage]
    assert panel.shown == stage


def test_the_input_and_anything_else_are_not_parts_to_go_to():
    chosen = []
    panel = NetworkGlance(chosen.append)
    for content in ({"type": "choose", "stage": "input"}, {"type": "choose", "stage": "fc1"},
                    {"type": "keydown", "stage": "stem"}, {"type": "choose"}, "stem"):
        panel.widget._handle_custom_msg(content, [])
    assert chosen == [] and panel.shown == ""


def test_show_draws_the_variant_and_stem_and_marks_the_part():
    panel = NetworkGlance()
    assert [b["name"] for b in panel.widget.blocks] == ["input", *COMPONENTS]
    assert block(panel, "stem")["name_said"] == "stem: 224×224×64"
    panel.show("vgg11", "pooled", "group1", size=256)
    assert panel.shown == "group1"
    assert block(panel, "input")["shape"] == "256×256×3"
    assert block(panel, "stem")["name_said"] == "stem: 128×128×64"
    assert block(panel, "group1")["tag"] == "pool only"
    assert block(panel, "group2")["tag"] == ""
    assert block(panel, "classifier")["name_said"] == "classifier: 4096 → 4096 → 1000"
    lines = dict((title, text) for title, text, _ in panel.widget.lines)
    assert lines["A group"].endswith("group 1 has none: its one conv is the stem")
    panel.show("vgg16", "vgg", "")
    assert panel.shown == "" and block(panel, "group1")["tag"] == ""
    with pytest.raises(ValueError, match="unknown part"):
        panel.show("vgg16", "vgg", "group6")


def test_reveal_asks_the_page_to_go_to_a_part_shown_elsewhere(monkeypatch):
    panel, sent = NetworkGlance(), []
    monkeypatch.setattr(panel.widget, "send", sent.append)
    panel.reveal(".vggviz-classifier-view")
    assert sent == [{"do": "reveal", "selector": ".vggviz-classifier-view"}]


def _contrast(a: str, b: str) -> float:
    """WCAG 2.1's contrast ratio of two #rrggbb colours."""
    def luminance(colour: str) -> float:
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_meet_wcag_aa():
    assert _contrast("#000000", "#ffffff") == pytest.approx(21)  # the formula, checked
    for fill in ("#ffffff", PARTS["hover"], PARTS["pressed"]):
        assert _contrast(INK, fill) >= 4.5  # text and box edges on a part: rest, pointer, pressed
    # a part's marks and the boxes' edges against what they sit on (1.4.11: 3:1)
    assert _contrast(PARTS["pressed edge"], "#ffffff") >= 3
    assert _contrast(PARTS["pressed edge"], PARTS["pressed"]) >= 3
    assert _contrast(PARTS["focus"], "#ffffff") >= 3
    assert _contrast(MUTED, "#ffffff") >= 4.5  # the arrows, at 14 px
    assert set(COLOURS) == {"input", *COMPONENTS}


def test_the_family_page_draws_its_variant_stem_and_size_and_marks_the_chosen_column():
    from vggviz.ui.dashboards.vgg_family import VGGFamily

    app = VGGFamily()
    panel = app.glance
    assert block(panel, "stem")["name_said"] == "stem: 224×224×64"
    app.variant.value = "vgg11"
    assert block(panel, "group1")["tag"] == "pool only"
    app.stem.value = "strided"
    assert block(panel, "stem")["name_said"] == "stem: 56×56×64"
    app.size.value = 256
    assert block(panel, "input")["shape"] == "256×256×3"
    assert "nth-child" not in app.table.value  # nothing chosen yet: no column marked
    press(panel, "group2")
    assert panel.shown == "group2"
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", app.table.value)
    assert headers[4 - 1] == "group2 params"  # CSS counts from 1
    assert "table.vggviz-family tr > :nth-child(4)" in app.table.value
    app.variant.value = "vgg16"  # the mark stays with the part across a recount
    assert panel.shown == "group2" and ":nth-child(4)" in app.table.value
    press(panel, "classifier")
    column = headers.index("classifier params") + 1
    assert f"table.vggviz-family tr > :nth-child({column})" in app.table.value
    app.wait(60)
