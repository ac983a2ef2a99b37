"""The explorer's inside views in Chromium, served by Voilà as `make dashboard` serves it, on a
machine whose Keras cache holds VGG16's files with the classifier (random weights in Keras'
layout): the top-5 bars and the class heat appear for the sample image, a pattern and a page of
them appear when asked, a page tile chooses its map, and the first screen still tells the story
at 1280×800. Screenshots at 1280×800 and 1920×1080 go to test-artifacts/."""

from __future__ import annotations

import pytest
from browser import (
    ARTIFACTS,
    LONG,
    RECORD_IMAGE_LOADS,
    PageWatch,
    Timings,
    chromium_session,
    full_page_screenshot,
)
from playwright.sync_api import expect
from servers import voila

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = [(1280, 800), (1920, 1080)]
TIMINGS = Timings(ARTIFACTS / "inside_timings.txt")  # recorded for the note, not asserted


@pytest.fixture(scope="module")
def server(imagenet_home_with_classifier, tmp_path_factory):
    """Voilà whose kernels find the stand-in files in Keras' cache, with a vggviz cache of
    their own (what they extract is keyed as ImageNet's files are)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_HOME", str(imagenet_home_with_classifier))
        mp.setenv("VGGVIZ_CACHE", str(tmp_path_factory.mktemp("inside-cache")))
        ARTIFACTS.mkdir(exist_ok=True)
        with voila("notebooks/01_stem_explorer.ipynb", "--VoilaConfiguration.preheat_kernel=False",
                   log=ARTIFACTS / "voila-inside.log") as (url, _):
            yield url


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return (box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]
            and box["x"] + box["width"] <= size["width"])


def test_the_answer_the_heat_and_the_patterns_appear_and_the_first_screen_keeps_its_story(
        server):
    with chromium_session() as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(LONG)
        page = context.new_page()
        watch = PageWatch(page, "inside")
        page.goto(server)
        page.locator("img.vggviz-grid").wait_for()
        bars = page.locator("table.vggviz-top5 tr")
        expect(bars).to_have_count(5)
        expect(page.locator(".vggviz-answer-line")).to_contain_text("VGG16:")
        heat = page.locator("img.vggviz-heat")
        expect(heat).to_be_visible()
        page.wait_for_function("(img) => img.complete && img.naturalWidth === 224",
                               arg=heat.element_handle())
        for selector in ("img.vggviz-grid", ".vggviz-cost-strip", "img.vggviz-focus",
                         "img.vggviz-network-view"):
            assert in_view(page, selector), f"{selector} left the first 1280×800 view"
        page.screenshot(path=ARTIFACTS / "inside_first_screen_1280x800.png")

        page.get_by_role("button", name="Find what it responds to").click()
        expect(page.locator("img.vggviz-pattern")).to_be_visible()
        page.get_by_role("button", name="Patterns of this page").click()
        tiles = page.locator("img.vggviz-pattern-page")
        expect(tiles).to_be_visible()
        expect(page.locator(".vggviz-pattern-progress")).to_have_count(0)
        box = tiles.bounding_box()
        tiles.click(position={"x": box["width"] / 8 * 2.5, "y": box["height"] / 8 * 0.5})
        expect(page.get_by_text("stem map 2 (224×224)")).to_be_visible()
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.locator(".vggviz-inside").scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=ARTIFACTS / f"inside_{width}x{height}.png")
        full_page_screenshot(page, "inside_full_page_1280.png")
        assert "Traceback" not in page.content()
        assert not page.locator(".vggviz-status .vggviz-error").count()
        assert not watch.problems, watch.problems
        context.close()

        # A second student (a kernel of its own) finds the page's patterns in the shared cache:
        # the chosen map's at once, the page (64 tiles) when asked for, with no work to wait on.
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(LONG)
        context.add_init_script(RECORD_IMAGE_LOADS)
        page = context.new_page()
        page.goto(server)
        expect(page.locator("img.vggviz-pattern")).to_be_visible()  # map 0's, from the cache
        tiles = page.locator("img.vggviz-pattern-page")
        expect(tiles).to_be_hidden()
        asked = page.evaluate("performance.now()")
        page.get_by_role("button", name="Patterns of this page").click()
        expect(tiles).to_be_visible()
        expect(page.locator(".vggviz-pattern-progress")).to_have_count(0)
        page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                               arg=tiles.element_handle())
        src = tiles.get_attribute("src")
        shown = min(e["t"] for e in page.evaluate("window.__vggviz.loads") if e["src"] == src)
        TIMINGS.record("second kernel: asked → its page of patterns, from the cache",
                       (shown - asked) / 1e3)
        context.close()
