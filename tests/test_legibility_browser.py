"""Legible at first sight and at 200 % zoom, named, in reading order, and heard (Chromium).

On the served explorer at 1280×800: no visible text under 12 px, no axe-core contrast or
control-name violation, every slider named, Tab going down the left column, then the grid's,
then the chosen map's; the status line a polite live region whose text changes. At 200 % zoom
(640×400 CSS px at device scale 2) the cost strip, the grid and the chosen map are whole
across and overlap nothing. Screenshots of both go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from browser import ARTIFACTS, LONG, chromium_session
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

EXPLORER = "voila/render/01_stem_explorer.ipynb"
SMALL_TEXT = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const el = walk.currentNode.parentElement;
    if (!walk.currentNode.textContent.trim() || !el || el.closest("script,style")) continue;
    const style = getComputedStyle(el);
    if (el.getClientRects().length === 0 || style.visibility === "hidden") continue;
    if (parseFloat(style.fontSize) < 12) out.push(walk.currentNode.textContent.trim());
  }
  return out;
}"""
# The focused element: which of the explorer's three columns holds it (the network's drawing
# heads the grid's), and where it is.
FOCUSED = """() => {
  const el = document.activeElement;
  const row = document.querySelector(".vggviz-stem-explorer .vggviz-columns");
  const column = [".vggviz-left-column", ".vggviz-network-glance, .vggviz-grid-column",
                  ".vggviz-focus-column"].findIndex((columns) => [...row.querySelectorAll(
                    columns)].some((c) => c.contains(el)));
  const box = el.getBoundingClientRect();  // its middle, from the row's top
  return {column, x: box.left, y: box.top + box.height / 2 - row.getBoundingClientRect().top,
          name: el.getAttribute("aria-label") || el.title || el.textContent.trim().slice(0, 30)};
}"""
NAME_RULES = ["color-contrast", "aria-input-field-name", "label-title-only", "label",
              "button-name", "select-name"]


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(dashboards_server):
    return dashboards_server


def open_explorer(browser, url: str, **context):
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(LONG)
    page.goto(url + EXPLORER, wait_until="commit")
    page.locator("img.vggviz-grid").wait_for()
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    return page


def test_text_names_order_and_live_status_at_1280(browser, server):
    from axe_playwright_python.sync_playwright import Axe

    page = open_explorer(browser, server, viewport={"width": 1280, "height": 800})
    page.screenshot(path=ARTIFACTS / "legibility_1280x800.png")
    assert page.evaluate(SMALL_TEXT) == []

    found = Axe().run(page, options={"runOnly": {"type": "rule", "values": NAME_RULES}})
    assert [(v["id"], [n["target"] for n in v["nodes"]])
            for v in found.response["violations"]] == []
    for name in ("Tile px", "Map"):  # the sliders' handles carry their descriptions
        expect(page.get_by_role("slider", name=name)).to_have_count(1)

    status = page.locator(".vggviz-status")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_attribute("aria-live", "polite")
    before = status.inner_text()
    page.get_by_role("button", name=re.compile(r"^group 1:")).click()
    expect(status).to_contain_text("group1")
    assert status.inner_text() != before

    page.locator(".vggviz-stem-explorer select").first.focus()  # the sample picker, top left
    stops = [page.evaluate(FOCUSED)]
    while True:
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        if stop["column"] < 0:  # out of the three columns: below them
            break
        stops.append(stop)
    columns = [s["column"] for s in stops]
    assert columns == sorted(columns) and set(columns) == {0, 1, 2}, stops
    # down each column; a row of buttons left to right
    for a, b in zip(stops, stops[1:], strict=False):
        if a["column"] == b["column"]:
            assert b["y"] > a["y"] - 8 and (b["y"] > a["y"] + 8 or b["x"] > a["x"]), (a, b)


def test_the_story_stays_readable_at_200_percent_zoom(browser, server):
    """1280 px at 200 %: a 640 px wide viewport with two device pixels to the CSS pixel."""
    page = open_explorer(browser, server, viewport={"width": 640, "height": 400},
                         device_scale_factor=2)
    strip, focus = page.locator(".vggviz-cost-strip"), page.locator("img.vggviz-focus")
    boxes = {}
    for name, part in {"strip": strip, "focus": focus,
                       "grid": page.locator("img.vggviz-grid")}.items():
        part.scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / f"legibility_zoom200_{name}.png")
        box = part.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 640, (name, box)  # nothing cut
        top = page.locator(".vggviz-stem-explorer").bounding_box()["y"]  # whatever scrolls
        boxes[name] = (box["x"], box["y"] - top, box["width"], box["height"])
    for a, b in (("strip", "grid"), ("strip", "focus"), ("grid", "focus")):
        (ax, ay, aw, ah), (bx, by, bw, bh) = boxes[a], boxes[b]
        assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)
    assert boxes["focus"][2] >= 250  # the chosen map keeps its size
    assert page.evaluate(SMALL_TEXT) == []
