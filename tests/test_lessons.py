"""The guided lessons: each step is a link its page reads back, its answer's figures are the
counts' (and published figures where they exist), the pages show the step a link asks for and
say in words what they cannot, and the handout holds every step with a picture described."""

from __future__ import annotations

import base64
import io
import re
from html import unescape
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from PIL import Image

from vggviz.cli import main
from vggviz.network.handout import handout_html
from vggviz.plan.accounting import summarize
from vggviz.plan.formatting import count
from vggviz.plan.lessons import (
    DESIGNS,
    EXPLORER,
    FAMILY,
    LESSON_FIELDS,
    LESSONS,
    Step,
    lesson_step,
)
from vggviz.plan.view_link import parse
from vggviz.sources.images import sample_images
from vggviz.ui import stem_explorer
from vggviz.ui.dashboards import landing, stem_designs, vgg_family
from vggviz.ui.dashboards.stem_explorer import StemExplorer
from vggviz.ui.panels.lesson_path import step_html

POOLING, ONE_MAP = LESSONS["pooling-in-the-stem"], LESSONS["one-feature-map"]
STEPS = [(lesson, number) for lesson in LESSONS.values()
         for number in range(1, len(lesson.steps) + 1)]


def page_fields(page: str) -> dict:
    """The fields the page itself parses its address with (its own method or table)."""
    samples = SimpleNamespace(samples=sample_images())
    if page == EXPLORER:
        return StemExplorer._fields(SimpleNamespace(
            picker=samples, model=SimpleNamespace(seed=SimpleNamespace(max=2**31 - 1))))
    if page == FAMILY:
        return vgg_family.FIELDS | LESSON_FIELDS
    return stem_designs.StemDesigns._fields(SimpleNamespace(
        picker=samples, variant=SimpleNamespace(options=[("VGG16", "vgg16"), ("VGG19", "vgg19")])))


@pytest.mark.parametrize(("lesson", "number"), STEPS,
                         ids=[f"{lesson.name}-{number}" for lesson, number in STEPS])
def test_every_step_is_a_link_its_page_reads_back_to_its_state(lesson, number):
    step = lesson.step(number)
    state, problems = parse(lesson.query(number), page_fields(step.page) | LESSON_FIELDS)
    assert problems == []
    assert state == {**step.state, "lesson": lesson.name, "step": number}
    assert lesson_step(state, step.page) == (lesson, number)
    assert lesson.href(number).startswith(f"{step.page}?")


def test_the_answers_figures_are_the_counts_and_the_published_ones():
    vgg, pooled = summarize("vgg16"), summarize("vgg16", stem="pooled")
    answers = [step.answer for step in POOLING.steps]
    # 224×224×64 by hand; ×21 is 64/3 rounded, the chapter's point
    assert "3,211,264 values (224×224×64), ×21 the picture's 150,528" in answers[1]
    assert vgg.values_entering_learner == 224 * 224 * 64
    assert "112×112×64: 802,816 values, a quarter" in answers[2]
    assert f"Group 1 costs {vgg.component('group1').macs / 4e9:.2f} G" in answers[2]
    assert "The strided stem" in answers[3] and count(56 * 56 * 64) in answers[3]
    assert "15.47 GMACs" in answers[4]  # torchvision's published VGG16 GMACs
    assert f"{pooled.total_macs / 1e9:.2f} GMACs" in answers[5]
    fc1 = [count((side * side * 512 + 1) * 4096) for side in (3, 7)]  # weights and biases
    assert f"fc1 has {fc1[0]} parameters instead of {fc1[1]}" in answers[5]
    large = summarize("vgg16", stem="pooled", input_shape=(448, 448, 3))
    assert large.values_entering_learner == vgg.values_entering_learner  # 224 = 448 / 2
    assert "3,211,264, exactly what the VGG stem hands on at 224 px" in answers[6]
    assert f"{large.total_macs / 1e9:.2f} GMACs against 15.47" in answers[6]
    assert "83.1%" in answers[7] and "81.9%" in answers[7] and "±1.2 points" in answers[7]
    one = [step.answer for step in ONE_MAP.steps]
    assert one[0].startswith("27 weights") and "1,792 numbers" in one[0]
    assert "50,176 pixels" in one[1]  # 224 × 224
    # VGG16's published receptive field after pool2: 16 px, stride 4
    assert one[2].startswith("16×16 pixels, 4 pixels apart")


def test_a_step_the_page_cannot_show_is_said_in_words():
    state, problems = parse("lesson=one-feature-map&step=5", FAMILY_FIELDS)
    assert problems == []
    assert lesson_step(state, FAMILY) == "step=5 is past the 3 steps of “What one feature map is”"
    state, _ = parse("lesson=pooling-in-the-stem&step=1", FAMILY_FIELDS)
    assert "is on the Stem explorer page, not this one" in lesson_step(state, FAMILY)
    state, _ = parse("step=2", FAMILY_FIELDS)
    assert lesson_step(state, FAMILY) == ("a lesson needs both “lesson” and “step” (got only "
                                          "“step”)")
    _, problems = parse("lesson=nope&step=x", FAMILY_FIELDS)
    assert problems == ["lesson=“nope” is not one of pooling-in-the-stem, one-feature-map",
                        "step=“x” is not a whole number from 1 to 8"]
    assert lesson_step({}, FAMILY) is None
    with pytest.raises(ValueError, match="a step shows some of"):
        Step(FAMILY, {}, "t", "q", "a", "l", ("a chart",))


FAMILY_FIELDS = vgg_family.FIELDS | LESSON_FIELDS


def test_a_steps_card_hides_its_answer_and_links_its_neighbours():
    first = step_html(POOLING, 1)
    assert "Step 1 of 8 · The stem's 64 maps" in unescape(first)
    assert "aria-expanded='false'" in first and re.search(r"class='vggviz-lesson-answer' hidden",
                                                          first)
    assert "rel='prev'" not in first
    # step 2 is on the same page: the card applies it in place (data-here)
    assert f"href='{POOLING.href(2).replace('&', '&amp;')}' rel='next' data-here>" in first
    fourth = step_html(POOLING, 4)  # its neighbours are on other pages: they say which
    assert "Back: step 3 (on Stem explorer)" in fourth and "Next: step 5 (on The VGG family)" in (
        fourth)
    assert "data-here" not in fourth
    last = step_html(POOLING, 8)
    assert "rel='next'" not in last and "Last step." in last


class _Page(HTMLParser):
    """The handout read as a browser would: its tags balanced, its sections, images, text."""

    VOID = {"meta", "img", "br", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.open, self.sections, self.images, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append([])
        if tag == "img":
            self.images.append(attrs)
            if self.sections:
                self.sections[-1].append(attrs)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("lesson", list(LESSONS.values()), ids=list(LESSONS))
def test_the_handout_holds_every_step_with_a_described_picture(lesson, offline):
    page = _Page()
    page.feed(handout_html(lesson))
    page.close()
    assert page.open == []  # every element closed
    text = " ".join("".join(page.text).split())
    assert len(page.sections) == len(lesson.steps)
    for number, (step, images) in enumerate(zip(lesson.steps, page.sections, strict=True), 1):
        assert f"Step {number} of {len(lesson.steps)} · {step.title}" in text
        assert " ".join(step.question.split()) in text and " ".join(step.answer.split()) in text
        assert len(images) == len(step.shows)
        for image in images:
            assert len(image["alt"]) > 40
            data = image["src"].removeprefix("data:image/png;base64,")
            assert Image.open(io.BytesIO(base64.b64decode(data))).size[0] >= 300
    assert "drawn with random (seed 0) filters" in text  # offline: no ImageNet weights


def test_the_students_handout_leaves_the_answers_out_and_the_cli_writes_it(tmp_path, offline,
                                                                          capsys):
    out = tmp_path / "handout.html"
    assert main(["handout", "one-feature-map", "-o", str(out), "--without-answers"]) == 0
    written = unescape(out.read_text())
    assert ONE_MAP.steps[0].question in written and "Answer." not in written
    assert "3 steps written to" in capsys.readouterr().out
    assert main(["handout", "one-feature-map", "-o", str(tmp_path / "no" / "x.html")]) == 1


def test_the_pages_show_the_step_their_address_asks_for(offline):
    explorer = stem_explorer().app
    assert explorer.downloads.join(120)  # offline: ends at once
    explorer.open_link(POOLING.query(3))
    assert (explorer.model.stem.value, explorer.stage.value) == ("pooled", "stem")
    assert explorer.maps.shape == (112, 112, 64)
    assert "Step 3 of 8 · A stem that pools" in explorer.lesson.card.html
    assert explorer.lesson.widget.layout.display == "flex"
    assert "lesson" not in explorer.link.query  # the view's own link is the view's
    # Back to step 2 from the card, in place: the card's message asks the page for its query
    explorer.lesson.card._handle_custom_msg({"query": POOLING.query(2)}, [])
    assert "Step 2 of 8 · What enters group 1" in explorer.lesson.card.html
    assert explorer.model.stem.value == "vgg" and explorer.maps.shape == (224, 224, 64)
    explorer.lesson.card._handle_custom_msg({"query": 3}, [])  # not a query: nothing happens
    assert "Step 2 of 8" in explorer.lesson.card.html
    family = vgg_family.VGGFamily()
    family.open_link(POOLING.query(7))
    family.wait(120)
    assert family.size.value == 448 and family.stem.value == "pooled"
    assert family.lesson.widget.layout.display == "flex"
    assert "vggviz-lesson-on" in family.lesson.widget._dom_classes  # the page's intro gives way
    assert "Step 7 of 8 · Or twice the picture" in family.lesson.card.html
    family.open_link("lesson=pooling-in-the-stem&step=2")
    assert family.lesson.widget.layout.display == "none"
    assert "vggviz-lesson-on" not in family.lesson.widget._dom_classes
    family.wait(120)
    assert "step 2 of “Why later CNNs put pooling in the stem” is on the Stem explorer page" in (
        family.status.text)
    designs = stem_designs.StemDesigns()
    designs.open_link(POOLING.query(4) + "&zoom=2")
    assert "Step 4 of 8" in designs.lesson.card.html
    assert "Ignored in the link: “zoom” is not a setting of this page" in designs.status.text


def test_a_step_that_cannot_be_shown_in_place_is_said_beside_the_card():
    from vggviz.ui.panels.lesson_path import LessonPath

    def broken(query: str) -> None:
        raise RuntimeError(f"no view for {query}")

    path = LessonPath(broken)
    path.card._handle_custom_msg({"query": "lesson=x&step=1"}, [])
    assert "role='alert'" in path.said.value
    assert "That step could not be shown (RuntimeError: no view for lesson=x&amp;step=1)" in (
        path.said.value)


def test_the_landing_page_lists_the_lessons():
    html = landing.lessons()
    for lesson in LESSONS.values():
        assert f"href='{lesson.href(1).replace('&', '&amp;')}'" in html
        assert lesson.title in html
    assert DESIGNS in POOLING.href(4)
