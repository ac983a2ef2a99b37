"""The receptive-field view in Chromium: at 1280×800, a click on a point of a group-3 map draws
that point's field on "What the network sees", in view, with its caption; the time from click
to the drawn overlay is measured in the page and recorded (never asserted)."""

from __future__ import annotations

import re

import pytest
from browser import (
    ARTIFACTS,
    LONG,
    RECORD_IMAGE_LOADS,
    Timings,
    chromium_session,
    image_digest,
    wait_new_picture,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OVERLAY = "img.vggviz-network-view.vggviz-receptive-field"
FOCUS = "img.vggviz-focus"
TIMINGS = Timings(ARTIFACTS / "receptive_field_timings.txt")
# (row, col) of the 28×28 map to click: a middle, a corner, edges; the last is the brightest
# point of map 0 with the random weights of an offline machine, so the screenshot shows heat.
UNITS = [(14, 14), (1, 6), (6, 2), (20, 27), (21, 15)]
RECORD_CLICKS = ("document.addEventListener('click', () => { window.__clickAt = "
                 "performance.now(); }, true);")


@pytest.fixture(scope="module")
def page(dashboards_server):
    url = dashboards_server
    with chromium_session() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(LONG)
        context.add_init_script(RECORD_IMAGE_LOADS + RECORD_CLICKS)
        page = context.new_page()
        page.goto(f"{url}voila/render/01_stem_explorer.ipynb", wait_until="commit")
        page.locator("img.vggviz-grid").wait_for()
        yield page
        context.close()


def status(page, pattern: str) -> None:
    expect(page.locator(".vggviz-status .vggviz-ok")).to_have_text(re.compile(pattern),
                                                                   timeout=LONG)


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return (box is not None and box["y"] >= 0 and box["x"] >= 0
            and box["y"] + box["height"] <= size["height"]
            and box["x"] + box["width"] <= size["width"])


def test_a_click_on_a_group3_map_draws_its_field_on_the_input_in_view(page):
    status(page, r"stem 224×224×64 · .* render \d+ ms")
    view = page.locator("img.vggviz-network-view")
    expect(page.locator(OVERLAY)).to_have_count(0)
    page.get_by_role("button", name=re.compile(r"^group 3:")).click()
    status(page, r"group3 28×28×256 · .* render \d+ ms")
    # the brightest map (first in that order), so the clicks land on units that are not 0
    page.get_by_label("Order").select_option(label="Brightest first")
    grid = page.locator("img.vggviz-grid")
    grid_box = grid.bounding_box()
    grid.click(position={"x": grid_box["width"] / 16, "y": grid_box["height"] / 16})
    focus = page.locator(FOCUS)
    box = focus.bounding_box()
    seconds = []
    for i, (row, col) in enumerate(UNITS):
        old_src, old_digest = view.get_attribute("src"), image_digest(view)
        focus.click(position={"x": (col + 0.5) / 28 * box["width"],
                              "y": (row + 0.5) / 28 * box["height"]})
        new_src = wait_new_picture(view, old_src)
        expect(page.locator(OVERLAY)).to_have_count(1)
        assert image_digest(view) != old_digest
        caption = page.locator(".vggviz-field-caption")
        expect(caption).to_contain_text(re.compile(
            rf"unit at \({col}, {row}\) of group3 map \d+ sees a 44×44 px box of the input"))
        loaded = page.evaluate("""(src) => window.__vggviz.loads.filter(
            (l) => l.src === src && l.t >= window.__clickAt).map((l) => l.t)[0]
            - window.__clickAt""", new_src)
        seconds.append(loaded / 1e3)
        TIMINGS.record(f"click {i + 1} on a group-3 map point → its field drawn on the input",
                       loaded / 1e3, unit="ms")
        for selector in (OVERLAY, ".vggviz-field-caption", ".vggviz-field-view img"):
            assert in_view(page, selector), f"{selector} is not in the 1280×800 view"
    TIMINGS.record("click → field drawn, fastest of the clicks", min(seconds), unit="ms")
    TIMINGS.record("click → field drawn, slowest of the clicks", max(seconds), unit="ms")
    assert "vggviz-error" not in page.locator(".vggviz-status").inner_html()
    for width, height in [(1280, 800), (1920, 1080)]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        page.screenshot(path=ARTIFACTS / f"receptive_field_group3_{width}x{height}.png")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_another_stage_takes_the_field_away(page):
    page.get_by_role("button", name=re.compile(r"^group 1:")).click()
    status(page, r"group1 112×112×64 · .* render \d+ ms")
    expect(page.locator(OVERLAY)).to_have_count(0)
    expect(page.locator(".vggviz-field-view")).to_contain_text("Click a point of the large map")
