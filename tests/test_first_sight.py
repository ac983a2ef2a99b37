"""What a learner gets at first sight, in Chromium at 1280×800 (and screenshots at 1920×1080).

The stem explorer's first screen holds the grid, the cost strip with the chapter's point (×21,
and the pooled stem beside it) and the chosen map; a click lands the large view, its colour bar
and the outlined tile in view; an export link goes with the view it was made from; a stage
switch never shows another stage's maps. Every dashboard is saved as a screenshot at both sizes
under test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from browser import ARTIFACTS, LONG, Timings, chromium_session, image_digest, wait_new_picture
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (1920, 1080)]
DASHBOARDS = {"stem_explorer": "01_stem_explorer.ipynb", "vgg_family": "02_vgg_family.ipynb",
              "stem_designs": "03_stem_designs.ipynb", "landing": "index.ipynb"}
READY = {  # what each dashboard shows when it has drawn
    "stem_explorer": "img.vggviz-grid", "vgg_family": ".vggviz-family",
    "stem_designs": ".vggviz-stem-designs img", "landing": ".vggviz-landing img"}
FIRST_PICTURE = {  # the picture each dashboard is about, which the first screen must show
    "stem_explorer": "img.vggviz-grid", "vgg_family": "img.vggviz-size-chart",
    "stem_designs": ".vggviz-stem-designs img", "landing": ".vggviz-landing img"}
GRID, FOCUS = "img.vggviz-grid", "img.vggviz-focus"
TIMINGS = Timings(ARTIFACTS / "first_sight_timings.txt")  # recorded for the note, not asserted


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(dashboards_server):
    return dashboards_server


def open_dashboard(browser, url: str, name: str, size: tuple[int, int]):
    """A page on the dashboard, drawn; `page.opened_s` is request → drawn, in the page."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.set_default_timeout(LONG)
    page = context.new_page()
    page.goto(f"{url}voila/render/{DASHBOARDS[name]}", wait_until="commit")
    page.locator(READY[name]).first.wait_for()
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    page.opened_s = page.evaluate("performance.now()") / 1e3
    return page


def in_view(page, selector: str) -> bool:
    """Whether the element is wholly inside the viewport, without scrolling."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"]
            and box["y"] + box["height"] <= size["height"])


def status_matches(page, pattern: str) -> str:
    ok = page.locator(".vggviz-status .vggviz-ok")
    expect(ok).to_have_text(re.compile(pattern), timeout=LONG)
    return ok.inner_text()


def test_the_first_screen_tells_the_story_and_a_click_lands_in_view(browser, server):
    page = open_dashboard(browser, server, "stem_explorer", (1280, 800))
    try:
        status_matches(page, r"stem 224×224×64 · .* render \d+ ms")
        strip = page.locator(".vggviz-cost-strip")
        expect(strip).to_contain_text("3,211,264 values enter group 1 (×21)")
        expect(strip).to_contain_text("Pooled stem → 112×112×64: 802,816 values")
        for selector in (GRID, ".vggviz-cost-strip", FOCUS, "img.vggviz-network-view"):
            assert in_view(page, selector), f"{selector} is not in the first 1280×800 view"
        page.screenshot(path=ARTIFACTS / "first_sight_stem_explorer_1280x800.png")

        grid, focus = page.locator(GRID), page.locator(FOCUS)
        grid_src, grid_digest = grid.get_attribute("src"), image_digest(grid)
        focus_src = focus.get_attribute("src")
        box = grid.bounding_box()
        tile = box["width"] / 8  # 8 × 8 maps: click map 10 (row 2, column 3)
        started = page.evaluate("performance.now()")
        grid.click(position={"x": 2.5 * tile, "y": 1.5 * tile})
        wait_new_picture(focus, focus_src)
        landed = page.evaluate("performance.now()") - started
        TIMINGS.record("click on a map → its large view drawn (1280×800)", landed / 1e3)
        expect(page.get_by_text("stem map 10", exact=True)).to_be_visible()
        wait_new_picture(grid, grid_src)  # the chosen tile is now outlined in the grid
        assert image_digest(grid) != grid_digest
        for selector in (FOCUS, "img.vggviz-focus-scale", GRID):
            assert in_view(page, selector), f"{selector} is not in view after the click"
        page.screenshot(path=ARTIFACTS / "first_sight_stem_explorer_1280x800_clicked.png")
    finally:
        page.context.close()


@pytest.mark.parametrize(("size", "stem"), [(SIZES[0], "VGG"), (SIZES[1], "VGG"),
                                           (SIZES[0], "Strided")])
def test_the_worked_sum_shows_whole_beside_the_large_map(browser, server, size, stem):
    page = open_dashboard(browser, server, "stem_explorer", size)
    try:
        status_matches(page, r"stem 224×224×64 · .* render \d+ ms")
        if stem != "VGG":  # a 7×7 kernel: 147 products, the widest and tallest card
            page.get_by_role("button", name=stem, exact=True).click()
            status_matches(page, r"stem 56×56×64 · .* render \d+ ms")
            page.mouse.move(600, 400)
            page.mouse.wheel(0, -3000)  # back to the first screen
            page.wait_for_function("() => document.querySelector('img.vggviz-focus')"
                                   ".getBoundingClientRect().top > 0")
        focus = page.locator(FOCUS)
        assert in_view(page, FOCUS)
        box = focus.bounding_box()
        page.mouse.move(box["x"] + 0.4 * box["width"], box["y"] + 0.3 * box["height"])
        value = page.locator(".vggviz-worked .vggviz-worked-value")
        expect(value).to_be_visible()
        panel = ".vggviz-worked"
        assert in_view(page, panel), f"the worked sum is not in the {size} view while pointing"
        fits = page.locator(panel).evaluate("""(panel) => {
          const box = panel.getBoundingClientRect();
          const inside = [...panel.querySelectorAll('table, b, small')].every((part) => {
            const r = part.getBoundingClientRect();
            return r.left >= box.left - 0.5 && r.right <= box.right + 0.5;
          });
          const clips = [];  // no box around it cuts it off
          for (let up = panel.parentElement; up; up = up.parentElement) {
            const style = getComputedStyle(up), r = up.getBoundingClientRect();
            if (style.overflowX !== "visible" && up !== document.documentElement &&
                up !== document.body && (box.left < r.left - 0.5 || box.right > r.right + 0.5))
              clips.push(up.className);
          }
          return {scroll: panel.scrollWidth, client: panel.clientWidth, inside, clips};
        }""")
        assert fits["scroll"] <= fits["client"] and fits["inside"] and not fits["clips"], fits
        card = page.locator(panel).bounding_box()  # beside the map, not over it
        assert card["x"] + card["width"] <= box["x"] or card["x"] >= box["x"] + box["width"]
        assert page.locator(panel).inner_text().count("×") >= 3  # the three channels' rows
        page.screenshot(path=ARTIFACTS / f"first_sight_worked_{stem}_{size[0]}x{size[1]}.png")
        page.mouse.move(5, size[1] - 5)  # away from the map: the card goes, the grid is whole
        expect(value).to_be_hidden()
    finally:
        page.context.close()


def test_export_links_go_with_their_view_and_a_stage_switch_shows_no_other_stage(browser,
                                                                                 server):
    page = open_dashboard(browser, server, "stem_explorer", (1280, 800))
    try:
        status_matches(page, r"stem 224×224×64 · .* render \d+ ms")
        page.get_by_role("button", name=re.compile("Export")).click()
        links = page.locator("a.vggviz-download")
        expect(links).to_have_count(2)
        with page.expect_download() as saving:  # the maps, as the browser saves them
            links.filter(has_text="maps").click()
        saved = saving.value
        assert saved.suggested_filename == "stem_maps_float16.npz"
        data = Path(saved.path()).read_bytes()
        assert len(data) <= 5 * 10**6
        maps = np.load(io.BytesIO(data))["maps"]
        assert maps.shape == (224, 224, 64) and maps.dtype == np.float16 and maps.max() > 0

        grid = page.locator(GRID)
        old = grid.get_attribute("src")
        page.evaluate("""([old]) => {  // every picture the grid shows from now on, and when
          const img = document.querySelector("img.vggviz-grid");
          window.__shown = [];
          new MutationObserver(() => window.__shown.push(
              {src: img.src, visible: getComputedStyle(img).visibility !== "hidden"}))
            .observe(img, {attributes: true, attributeFilter: ["src", "style"]});
        }""", [old])
        page.get_by_role("button", name=re.compile(r"^group 5:")).click()
        status_matches(page, r"group5 7×7×512 · .* render \d+ ms")
        expect(links).to_have_count(0)  # the links belonged to the stem's view
        final = grid.get_attribute("src")
        shown = page.evaluate("() => window.__shown")
        visible_srcs = {event["src"] for event in shown if event["visible"]}
        assert visible_srcs <= {old, final}, "another picture showed during the switch"
        assert any(not event["visible"] for event in shown)  # the old maps were hidden
        assert final != old
    finally:
        page.context.close()


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_every_dashboard_at_both_sizes_is_saved_for_a_person_to_look_at(browser, server, name):
    page = open_dashboard(browser, server, name, SIZES[0])
    TIMINGS.record(f"{name}: page request → drawn (own kernel, no preheating)", page.opened_s)
    try:
        if name == "vgg_family":  # the slider's answer: the chart beside it, redrawn
            chart = page.locator("img.vggviz-size-chart")
            old = chart.get_attribute("src")
            handle = page.locator(".widget-slider .noUi-handle").first
            handle.focus()
            started = page.evaluate("performance.now()")
            handle.press("ArrowRight")
            wait_new_picture(chart, old)
            TIMINGS.record("family: input-size slider move → chart beside it redrawn",
                           (page.evaluate("performance.now()") - started) / 1e3)
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(500)  # let the layout settle at the new width
            path = ARTIFACTS / f"{name}_{width}x{height}.png"
            page.screenshot(path=path)
            picture = FIRST_PICTURE[name]
            assert in_view(page, picture), f"{picture} is not in the first {width}×{height} view"
            shown = np.asarray(Image.open(io.BytesIO(page.locator(picture).first.screenshot()))
                               .convert("RGB")).reshape(-1, 3)
            colours = len(np.unique(shown, axis=0))
            assert colours >= 64 and shown.std(axis=0).max() > 20, (
                f"{picture} at {width}×{height} looks blank: {colours} colours")
            if name == "stem_explorer":  # the chapter's numbers, at both sizes
                expect(page.locator(".vggviz-cost-strip")).to_contain_text(
                    "3,211,264 values enter group 1 (×21)")
        assert not page.locator(".vggviz-status .vggviz-error").count()
        assert "Traceback" not in page.content()
    finally:
        page.context.close()
