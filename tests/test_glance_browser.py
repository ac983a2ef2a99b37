"""The network at a glance on the family page, in Chromium served by Voilà: on the first screen
at 1280×800 and within about 900×170 px, each part reached with Tab and chosen with Enter (the
part marked, its column in the table too), no critical or serious axe-core violation.
Screenshots at 1280×800 and 1920×1080 go to test-artifacts/glance_*.png."""

from __future__ import annotations

import re

import pytest
from accessibility import axe_report
from browser import ARTIFACTS, LONG, chromium_session
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

FAMILY = "02_vgg_family.ipynb"
SIZES = {"1280x800": {"width": 1280, "height": 800}, "1920x1080": {"width": 1920, "height": 1080}}


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


def open_family(browser, url: str, size: dict):
    page = browser.new_context(viewport=size).new_page()
    page.set_default_timeout(LONG)
    page.goto(f"{url}voila/render/{FAMILY}", wait_until="commit")
    expect(page.locator(".vggviz-status .vggviz-ok")).to_have_text(re.compile("answered in"))
    return page


def test_the_drawing_is_on_the_first_screen_and_the_keyboard_chooses_a_part(browser,
                                                                            dashboards_server):
    page = open_family(browser, dashboards_server, SIZES["1280x800"])
    drawing = page.get_by_role("group", name=re.compile("The network at a glance"))
    expect(drawing).to_be_visible()
    box = drawing.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 800, f"below the first screen: {box}"
    assert box["width"] <= 900 and box["height"] <= 190, f"larger than about 900×170: {box}"
    for line in drawing.locator(".vggviz-glance-lines p").all():  # each says it in one line
        assert line.evaluate("(p) => p.getClientRects().length === 1 "
                             "&& p.getBoundingClientRect().height < 20"), line.text_content()
    parts = drawing.get_by_role("button")
    expect(parts).to_have_count(7)  # stem, groups 1–5, classifier; the input is no part
    expect(parts.nth(2)).to_have_accessible_name("group 2: 56×56×128")
    page.screenshot(path=ARTIFACTS / "glance_family_1280x800.png")

    page.locator("body").click(position={"x": 5, "y": 5})  # the keyboard from the page's top
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.vggviz-glance button')"):
            break
    expect(page.locator(".vggviz-glance button:focus")).to_have_accessible_name(
        "stem: 224×224×64")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.locator(".vggviz-glance button:focus")
    expect(focused).to_have_accessible_name("group 2: 56×56×128")
    expect(focused).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Enter")
    expect(focused).to_have_attribute("aria-pressed", "true")
    expect(drawing.locator("[aria-pressed=true]")).to_have_count(1)
    heading = page.locator("table.vggviz-family th", has_text="group2 params")
    expect(heading).to_have_css("background-color", "rgb(232, 240, 254)")  # its column marked
    page.keyboard.press("Tab")
    page.keyboard.press(" ")  # Space presses a part too, and the mark moves to it
    expect(focused).to_have_accessible_name("group 3: 28×28×256")
    expect(focused).to_have_attribute("aria-pressed", "true")
    expect(drawing.locator("[aria-pressed=true]")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "glance_family_chosen_1280x800.png")

    page.get_by_role("combobox", name="Variant").select_option(label="VGG11")
    group1 = drawing.get_by_role("button", name="group 1: 112×112×64")
    expect(group1).to_contain_text("pool only")
    expect(group1).to_have_attribute("aria-pressed", "false")
    page.get_by_role("button", name="Pooled stem").click()
    expect(drawing.get_by_role("button", name="stem: 112×112×64")).to_be_visible()
    drawing.screenshot(path=ARTIFACTS / "glance_vgg11_pooled.png")
    report = axe_report(page, "family page with the network at a glance")
    assert not report.failing(), report.message()
    page.context.close()


def test_the_drawing_at_1920x1080(browser, dashboards_server):
    page = open_family(browser, dashboards_server, SIZES["1920x1080"])
    drawing = page.locator(".vggviz-glance")
    expect(drawing).to_be_visible()
    box = drawing.bounding_box()
    assert box["y"] + box["height"] <= 1080 and box["width"] <= 900, box
    page.screenshot(path=ARTIFACTS / "glance_family_1920x1080.png")
    drawing.screenshot(path=ARTIFACTS / "glance_drawing_1920x1080.png")
    page.context.close()
