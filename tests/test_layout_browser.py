"""What the dashboards lay out, seen in Chromium at 1280×800: every column of the family table
within reach of the keyboard, a glossary definition whole and dismissed with Esc, the grid's
colour bar on the first screen at every stage, the original and the network's view apart, the
patterns' progress on one line beside a whole Cancel, a page of patterns only when asked for,
one way of writing points and channels on the explorer, the chosen map as on the first 1280×800
screen and larger at 1920×1080, a click on it pointing the pixel under it at both, a link opening
its view (the network's drawing on the first screen, Enter on a part going to that stage) and a
malformed link said in words. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import math
import re

import pytest
from browser import ARTIFACTS, LONG, chromium_session
from playwright.sync_api import expect
from servers import voila

from vggviz.ui.panels.chosen_map import FOCUS_PX

pytestmark = pytest.mark.browser

SIZE = {"width": 1280, "height": 800}
EXPLORER, FAMILY = "01_stem_explorer.ipynb", "02_vgg_family.ipynb"
# Whether the element's box, a few px inside each corner, is what the page shows there: a box
# clipped by an ancestor's overflow, or covered, is not.
WHOLE = """(el) => {
  const r = el.getBoundingClientRect();
  const points = [[r.left + 3, r.top + 3], [r.right - 3, r.top + 3],
                  [r.left + 3, r.bottom - 3], [r.right - 3, r.bottom - 3]];
  return r.width > 0 && points.every(([x, y]) => {
    const hit = document.elementFromPoint(x, y);
    return hit !== null && el.contains(hit);
  });
}"""

# How many lines the element's text takes on the screen.
LINES = """(el) => {
  const tops = new Set(), walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    if (!walk.currentNode.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(walk.currentNode);
    for (const box of range.getClientRects()) tops.add(Math.round(box.top));
  }
  return tops.size;
}"""


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    """The dashboards, their kernels with no ImageNet files (random filters) and a pattern cache
    of this module's own, shared by every page as a server's is."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("no-imagenet")))
        mp.setenv("VGGVIZ_CACHE", str(tmp_path_factory.mktemp("layout-cache")))
        ARTIFACTS.mkdir(exist_ok=True)
        with voila("notebooks", "--VoilaConfiguration.preheat_kernel=False",
                   log=ARTIFACTS / "voila-layout.log") as (url, _):
            yield url


def open_page(browser, url: str, notebook: str, ready: str, size: dict = SIZE):
    page = browser.new_context(viewport=size).new_page()
    page.set_default_timeout(LONG)
    page.goto(f"{url}voila/render/{notebook}", wait_until="commit")
    page.locator(ready).first.wait_for()
    return page


def open_explorer(browser, url: str):
    page = open_page(browser, url, EXPLORER, "img.vggviz-grid")
    status(page, r"stem 224×224×64 · .* render \d+ ms")
    return page


def status(page, pattern: str) -> None:
    expect(page.locator(".vggviz-status .vggviz-ok")).to_have_text(re.compile(pattern))


def tab_to(page, test: str, limit: int = 80) -> None:
    """Press Tab until `test(document.activeElement)` holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({test}); }}"):
            return
    raise AssertionError(f"{limit} Tab stops and no element where {test}")


@pytest.fixture(scope="module")
def family(browser, server):
    page = open_page(browser, server, FAMILY, "table.vggviz-family")
    yield page
    page.context.close()


def test_every_column_of_the_family_table_is_within_reach_of_the_keyboard(family):
    page = family
    region = page.get_by_role("region", name="Every variant, counted")
    last = page.locator("table.vggviz-family tr").first.locator("th").last
    expect(last).to_have_text("GMACs")
    page.locator("body").click(position={"x": 5, "y": 5})  # the keyboard from the page's top
    tab_to(page, "el.getAttribute('role') === 'region'")
    for _ in range(100):  # arrows scroll a focused region sideways, if it has to scroll
        box, seen = last.bounding_box(), region.bounding_box()
        if box["x"] + box["width"] <= min(seen["x"] + seen["width"], SIZE["width"]) + 1:
            break
        page.keyboard.press("ArrowRight")
    page.screenshot(path=ARTIFACTS / "layout_family_table_1280x800.png")
    box = last.bounding_box()
    assert box["x"] + box["width"] <= SIZE["width"], f"the last column stays out of reach: {box}"
    assert last.evaluate(WHOLE), "the last column's heading is hidden"


def test_a_definition_shown_on_focus_or_hover_goes_with_esc(family):
    page = family
    page.locator("body").click(position={"x": 5, "y": 5})
    tab_to(page, "el.getAttribute('role') === 'term'")
    term = page.locator(".vggviz-term:focus")
    definition = term.locator(".vggviz-definition")
    expect(definition).to_be_visible()
    page.keyboard.press("Escape")
    expect(definition).to_be_hidden()
    assert page.evaluate("() => document.activeElement.getAttribute('role')") == "term"
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")  # back on it: shown again
    expect(page.locator(".vggviz-term:focus .vggviz-definition")).to_be_visible()
    page.keyboard.press("Tab")  # leave it for another, then point at that
    other = page.locator(".vggviz-term").nth(1)
    page.locator("body").click(position={"x": 5, "y": 5})
    other.hover()
    expect(other.locator(".vggviz-definition")).to_be_visible()
    page.keyboard.press("Escape")
    expect(other.locator(".vggviz-definition")).to_be_hidden()
    page.mouse.move(5, 5)
    other.hover()
    expect(other.locator(".vggviz-definition")).to_be_visible()


@pytest.fixture(scope="module")
def explorer(browser, server):
    page = open_explorer(browser, server)
    yield page
    page.context.close()


def test_the_macs_definition_shows_whole_beside_the_left_column(explorer):
    term = explorer.locator(".vggviz-cost-strip .vggviz-term")
    term.focus()
    definition = term.locator(".vggviz-definition")
    expect(definition).to_be_visible()
    explorer.screenshot(path=ARTIFACTS / "layout_macs_definition_1280x800.png")
    assert definition.evaluate(WHOLE), "the definition is cut off"
    explorer.keyboard.press("Escape")
    expect(definition).to_be_hidden()


def test_the_original_and_the_network_view_are_two_pictures(explorer):
    original = explorer.locator("img[alt^='The original picture']").bounding_box()
    seen = explorer.locator("img.vggviz-network-view").bounding_box()
    assert seen["x"] - (original["x"] + original["width"]) >= 4, (original, seen)


def test_the_grid_and_its_colour_bar_stay_on_the_first_screen_at_every_stage(explorer):
    page = explorer
    for stage, pattern in (("group 2", r"group2 56×56×128"), ("group 3", r"group3 28×28×256"),
                           ("stem", r"stem 224×224×64")):
        page.get_by_role("button", name=re.compile(f"^{stage}:")).click()
        status(page, pattern + r" · .* render \d+ ms")
        page.screenshot(path=ARTIFACTS / f"layout_{stage.replace(' ', '').lower()}_1280x800.png")
        assert page.evaluate("() => document.scrollingElement.scrollTop") == 0
        bar = page.locator("img.vggviz-grid-scale").bounding_box()
        assert bar["y"] + bar["height"] <= SIZE["height"], (stage, bar)
        pager = page.get_by_role("combobox", name="Show")
        if stage == "stem":  # one page of maps
            expect(pager).to_be_hidden()
        else:  # on the first screen too
            expect(pager).to_be_visible()
            box = pager.bounding_box()
            assert box["y"] + box["height"] <= SIZE["height"], (stage, box)


def test_points_and_channels_are_written_one_way_and_it_says_which(explorer):
    page = explorer
    page.get_by_role("button", name=re.compile("^stem:")).click()  # whatever stage was left
    status(page, r"stem 224×224×64 · .* render \d+ ms")
    page.locator("body").click(position={"x": 5, "y": 5})
    tab_to(page, "el.matches('img.vggviz-focus')")
    page.keyboard.press("ArrowRight")  # the centre, one to the right: x 113, y 112
    expect(page.locator(".vggviz-worked-panel b").first).to_have_text(
        "How map 0's value at (113, 112) is made")
    page.keyboard.press("Enter")  # its receptive field
    expect(page.locator(".vggviz-field-caption")).to_contain_text("unit at (113, 112) of stem "
                                                                  "map 0 sees a 3×3 px box")
    page.screenshot(path=ARTIFACTS / "layout_points_and_channels_1280x800.png")
    text = page.locator(".vggviz-stem-explorer").inner_text()
    assert not re.search(r"\brow \d+\b|\bcol(umn)? \d+\b", text), "(row, col) beside (x, y)"
    worked = page.locator(".vggviz-worked-panel").inner_text()
    assert "Points are (x, y): x across, y down" in worked
    # the worked sum lists the channels as the kernel's tiles do, and says so
    channels = page.locator(".vggviz-conv td.ch").all_inner_texts()
    assert channels == ["R", "G", "B"], channels
    assert "listed R, G, B (it takes them as B, G, R)" in worked


def inside(start: float, size: float, near: int, pixels: int = 224) -> tuple[int, int]:
    """A map pixel from `near` on, of a map of `pixels` drawn from `start` over `size` CSS px,
    and a whole CSS px of the window (where a mouse event lands) well inside it: shown at about
    1 CSS px to the map's pixel, a pixel's middle may fall between two of the window's."""
    per = size / pixels
    for pixel in range(near, pixels):
        low, high = start + (pixel + 0.15) * per, start + (pixel + 0.85) * per
        if math.ceil(low) <= high:
            return pixel, math.ceil(low)
    raise AssertionError(f"no map pixel from {near} on has a whole window px well inside it")


def test_the_large_map_grows_with_the_window_and_a_click_points_the_pixel_under_it(browser,
                                                                                    server):
    page = open_explorer(browser, server)  # 1280×800
    focus, grid = page.locator("img.vggviz-focus"), page.locator("img.vggviz-grid")
    shown = {}
    try:
        # a pixel of the 224×224 map at each size, clicked where the map is drawn
        for (width, height), (x, y) in (((1280, 800), (150, 60)), ((1920, 1080), (37, 201))):
            page.set_viewport_size({"width": width, "height": height})
            box, natural = focus.bounding_box(), focus.evaluate("(i) => i.naturalWidth")
            shown[width] = (box["width"], grid.bounding_box()["width"])
            # the map, its colour ramp and values, its kernel and its key on the first screen
            for part in ("img.vggviz-focus", "img.vggviz-focus-scale", ".vggviz-scale-values",
                         "img[alt^='Kernel of map']", "img[alt^='Key of the kernel']",
                         "img.vggviz-grid", ".vggviz-glance"):
                edge = page.locator(part).first.bounding_box()
                assert edge["x"] >= 0 and edge["x"] + edge["width"] <= width, (width, part, edge)
                assert edge["y"] >= 0 and edge["y"] + edge["height"] <= height, (width, part,
                                                                                 edge)
            assert box["x"] >= grid.bounding_box()["x"] + shown[width][1], "not beside the grid"
            assert page.evaluate("() => document.scrollingElement.scrollWidth") <= width
            assert box["width"] <= natural, "drawn larger than its picture: not crisp"
            (x, at_x), (y, at_y) = (inside(box["x"], box["width"], x),
                                    inside(box["y"], box["height"], y))
            page.mouse.click(at_x, at_y)
            expect(page.locator(".vggviz-field-caption")).to_contain_text(
                f"unit at ({x}, {y}) of stem map 0 sees a 3×3 px box")
            expect(page.locator(".vggviz-worked-panel b").first).to_have_text(
                f"How map 0's value at ({x}, {y}) is made")
            page.screenshot(path=ARTIFACTS / f"layout_large_map_{width}x{height}.png")
        print(f"\n[large map] displayed width, grid width (px): {shown}")
        assert shown[1280][0] == FOCUS_PX, shown  # the first 1280×800 screen as it was
        assert shown[1920][0] >= 380 and shown[1920][1] > shown[1280][1], shown
    finally:
        page.context.close()


def test_the_patterns_progress_is_one_line_with_cancel_and_a_page_shows_only_when_asked(
        browser, server):
    first = open_explorer(browser, server)
    asked = first.get_by_role("button", name="Patterns of this page")
    asked.scroll_into_view_if_needed()
    asked.click()
    progress = first.locator(".vggviz-pattern-progress")
    cancel = progress.get_by_role("button")
    expect(cancel).to_have_text("Cancel")
    expect(cancel).to_have_accessible_name("Cancel")
    assert cancel.evaluate("(b) => b.scrollWidth <= b.clientWidth"), "Cancel is cut short"
    words = progress.locator(".vggviz-live")
    expect(words).to_contain_text(re.compile(r"\d+ %"))
    first.screenshot(path=ARTIFACTS / "layout_patterns_progress_1280x800.png")
    lines = words.evaluate(LINES)
    assert lines == 1, f"the progress runs over {lines} lines"
    expect(first.locator("img.vggviz-pattern-page")).to_be_visible()  # asked for: it fills
    expect(progress).to_have_count(0)
    first.context.close()

    # Another visitor on the same server: its page is in the shared cache, and not shown until
    # asked for; asked for, it shows at once.
    second = open_explorer(browser, server)
    expect(second.locator("img.vggviz-pattern")).to_be_visible()  # the chosen map's: there
    tiles = second.locator("img.vggviz-pattern-page")
    expect(tiles).to_be_hidden()
    second.get_by_role("button", name="Patterns of this page").click()
    expect(tiles).to_be_visible()
    expect(second.locator(".vggviz-pattern-progress")).to_have_count(0)
    second.context.close()


def in_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= SIZE["width"]
            and box["y"] + box["height"] <= SIZE["height"])


def test_a_link_opens_its_view_and_the_drawing_on_the_first_screen_changes_the_stage(
        browser, server):
    page = open_page(browser, server, EXPLORER + "?stage=group2&map=5&stem=pooled&zoom=3",
                     "img.vggviz-grid")
    try:
        status(page, r"group2 28×28×128 · .* render \d+ ms · Ignored in the link: “zoom” is not "
                     r"a setting of this page\. The rest of it is shown\.$")  # the pooled stem's
        expect(page.locator("img.vggviz-focus")).to_have_attribute("alt",
                                                                   re.compile(r"^group2 map 5,"))
        link = page.get_by_label("Link to this view")
        expect(link).to_have_value(re.compile(r"01_stem_explorer\.ipynb\?.*stem=pooled"
                                              r"&stage=group2&page=0&map=5$"))
        part = page.locator(".vggviz-glance button[data-part='group2']")
        expect(part).to_have_attribute("aria-pressed", "true")
        page.screenshot(path=ARTIFACTS / "layout_linked_view_1280x800.png")
        for selector in (".vggviz-glance", "img.vggviz-grid", "img.vggviz-grid-scale",
                         "img.vggviz-focus", ".vggviz-cost-strip", "img.vggviz-network-view"):
            assert in_first_screen(page, selector), f"{selector} is not on the first screen"
        assert page.evaluate("() => document.scrollingElement.scrollTop") == 0

        page.locator(".vggviz-glance button[data-part='group3']").focus()
        page.keyboard.press("Enter")
        status(page, r"group3 14×14×256 · .* render \d+ ms")
        expect(page.locator(".vggviz-glance button[aria-pressed='true']")).to_have_attribute(
            "data-part", "group3")
        expect(link).to_have_value(re.compile(r"stage=group3&page=0&map=0$"))
        page.get_by_role("button", name="Copy link").click()  # copied, or selected to copy
        expect(page.locator(".vggviz-view-link-said")).to_have_text(
            re.compile(r"^Copied\.$|press Ctrl\+C"))
        page.locator(".vggviz-glance button[data-part='classifier']").press("Enter")
        expect(page.locator(".vggviz-inside")).to_be_focused()  # scrolled to, the stage kept
        expect(link).to_have_value(re.compile(r"stage=group3&page=0&map=0$"))
        assert not page.locator(".vggviz-status .vggviz-error").count()
    finally:
        page.context.close()


def test_a_malformed_link_opens_the_page_and_says_what_it_ignored(browser, server):
    page = open_page(browser, server, FAMILY + "?variant=vgg19&size=100&colour=red",
                     "table.vggviz-family")
    try:
        said = page.locator(".vggviz-status .vggviz-ok")
        expect(said).to_contain_text("Ignored in the link: size=“100” is not one of 32, 64")
        expect(said).to_contain_text("“colour” is not a setting of this page")
        expect(page.get_by_label("Link to this view")).to_have_value(
            re.compile(r"02_vgg_family\.ipynb\?variant=vgg19&stem=vgg&size=224$"))
        assert "Traceback" not in page.content()
    finally:
        page.context.close()
