"""axe-core on every page and state a person reaches, served by Voilà as `make dashboards` serves
them, on a machine whose Keras cache holds VGG16's files with the classifier (so the top-5, the
class heat and the patterns appear). The bar is WCAG 2.1 AA's: no critical and no serious
violation in any state. Every state's counts by impact, its rules and the best-practice findings
(reported, not failed on) go to test-artifacts/axe_counts.txt, whether the bar is met or not."""

from __future__ import annotations

import re

import numpy as np
import pytest
from accessibility import AxeReport, axe_report
from browser import ARTIFACTS, LONG, chromium_session
from PIL import Image
from playwright.sync_api import expect
from servers import voila

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNTS = ARTIFACTS / "axe_counts.txt"
REPORTS: dict[str, AxeReport] = {}  # by state, in the order measured, for the counts file


@pytest.fixture(scope="module")
def server(imagenet_home_with_classifier, tmp_path_factory):
    """All the dashboards behind the landing page, with the stand-in ImageNet files."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KERAS_HOME", str(imagenet_home_with_classifier))
        mp.setenv("VGGVIZ_CACHE", str(tmp_path_factory.mktemp("axe-cache")))
        ARTIFACTS.mkdir(exist_ok=True)
        COUNTS.write_text("")
        with voila("notebooks", "--VoilaConfiguration.preheat_kernel=False",
                   log=ARTIFACTS / "voila-axe.log") as (url, _):
            yield url


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


@pytest.fixture
def open_page(browser, server):
    """A dashboard in a context of its own, at 1280×800."""
    contexts = []

    def open_(notebook: str):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(LONG)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server}voila/render/{notebook}", wait_until="commit")
        return page

    yield open_
    for context in contexts:
        context.close()


def check(page, state: str) -> AxeReport:
    """Run axe on the page now; record the state's counts (the file is rewritten each time)."""
    page.wait_for_timeout(300)  # let the widgets' last messages land in the DOM
    report = REPORTS[state] = axe_report(page, state)
    COUNTS.write_text("".join(f"{r.line()}\n" for r in REPORTS.values()))
    return report


def assert_bar(reports: list[AxeReport]) -> None:
    """Zero critical and zero serious WCAG 2.1 A/AA violations in every state."""
    failing = [r.message() for r in reports if r.failing()]
    assert not failing, "\n".join(failing)


def status(page, pattern: str) -> None:
    expect(page.locator(".vggviz-status .vggviz-ok")).to_have_text(re.compile(pattern))


def stage_button(page, label: str):
    """The stage's part in the network's drawing ("Group 2" → the button "group 2: 56×56×128";
    the class heat's "Heat at" buttons, further down, share the stages' names)."""
    return page.locator(".vggviz-glance").get_by_role(
        "button", name=re.compile(f"^{re.escape(label.lower())}:"))


def pictures_loaded(page, root: str, at_least: int = 1) -> None:
    """Wait until `at_least` pictures under `root` have loaded and none with a source is still
    loading (a picture not drawn yet has no source: it does not count)."""
    page.wait_for_function(
        "([root, n]) => { const imgs = [...document.querySelectorAll(root + ' img[src]')];"
        " return imgs.length >= n && imgs.every((i) => i.complete && i.naturalWidth > 0); }",
        arg=[root, at_least])


def test_landing(open_page):
    page = open_page("index.ipynb")
    pictures_loaded(page, ".vggviz-landing", 3)
    assert_bar([check(page, "landing")])


def test_stem_explorer_in_every_state(open_page, tmp_path):
    page = open_page("01_stem_explorer.ipynb")
    reports = []
    page.locator("img.vggviz-grid").wait_for()
    status(page, r"stem 224×224×64 · .* render \d+ ms")
    expect(page.locator("table.vggviz-top5 tr")).to_have_count(5)
    expect(page.locator("img.vggviz-heat")).to_be_visible()
    reports.append(check(page, "explorer: first view (with the top-5 and the class heat)"))

    focus = page.locator("img.vggviz-focus")
    focus.scroll_into_view_if_needed()
    box = focus.bounding_box()
    page.mouse.move(box["x"] + 0.4 * box["width"], box["y"] + 0.3 * box["height"])
    expect(page.locator(".vggviz-worked-panel")).to_contain_text("27 products")
    reports.append(check(page, "explorer: worked sum (pointer over the large map)"))

    for number in range(1, 6):
        stage_button(page, f"Group {number}").click()
        status(page, rf"group{number} \d+×\d+×\d+ · .* render \d+ ms")
        reports.append(check(page, f"explorer: group {number}"))
        if number == 3:
            box = focus.bounding_box()
            focus.click(position={"x": 0.5 * box["width"], "y": 0.5 * box["height"]})
            expect(page.locator(".vggviz-field-caption")).to_contain_text("sees a 44×44 px box")
            reports.append(check(page, "explorer: field view (a point of group 3's map)"))
    stage_button(page, "Stem").click()
    status(page, r"stem 224×224×64 · .* render \d+ ms")

    page.get_by_role("button", name="Find what it responds to").click()
    expect(page.locator("img.vggviz-pattern")).to_be_visible()
    reports.append(check(page, "explorer: a pattern"))
    page.get_by_role("button", name="Patterns of this page").click()
    expect(page.locator("img.vggviz-pattern-page")).to_be_visible()
    expect(page.locator(".vggviz-pattern-progress")).to_have_count(0)
    reports.append(check(page, "explorer: a page of patterns"))

    path = tmp_path / "stripes.png"
    stripes = np.tile((np.arange(300) // 20 % 2 * 255).astype(np.uint8), (200, 1))
    Image.fromarray(stripes).convert("RGB").save(path)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Upload")).click()
    chooser.value.set_files(path)
    status(page, r"stripes\.png · stem 224×224×64 · .* render \d+ ms")
    reports.append(check(page, "explorer: after an upload"))
    assert_bar(reports)


def test_vgg_family(open_page):
    page = open_page("02_vgg_family.ipynb")
    pictures_loaded(page, ".vggviz-vgg-family", 5)
    status(page, r"input 224×224×3")
    reports = [check(page, "VGG family: first view")]
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    status(page, r"input 256×256×3")
    pictures_loaded(page, ".vggviz-vgg-family", 5)
    reports.append(check(page, "VGG family: input size moved"))
    assert_bar(reports)


def test_tab_reaches_a_glossary_term_and_its_definition_shows(open_page):
    page = open_page("02_vgg_family.ipynb")
    pictures_loaded(page, ".vggviz-vgg-family", 5)
    definition = page.locator(".vggviz-term .vggviz-definition").first
    expect(definition).to_be_hidden()
    page.locator("body").focus()
    for _ in range(60):  # the controls and the table first, then the footnote's words
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.vggviz-term')"):
            break
    expect(page.locator(".vggviz-term:focus")).to_have_count(1)
    ident = page.evaluate("document.activeElement.getAttribute('aria-describedby')")
    shown = page.locator(f"[id='{ident}']")  # the definition the focused term is described by
    expect(shown).to_be_visible()
    assert shown.evaluate("(el) => el.closest('.vggviz-term') === document.activeElement")
    assert len(shown.text_content()) > 40
    shown.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "glossary_term_focused.png")
    page.keyboard.press("Tab")
    expect(shown).to_be_hidden()  # gone with the focus
    page.locator(".vggviz-term").first.hover()  # and a pointer shows it too
    expect(definition).to_be_visible()


def test_stem_designs(open_page):
    # VGG11 by the page's link: the measurement below (three processes) is its smallest
    page = open_page("03_stem_designs.ipynb?variant=vgg11")
    page.locator(".vggviz-stem-designs").wait_for()
    status(page, r"through 3 stems")
    pictures_loaded(page, ".vggviz-stem-designs", 2)
    reports = [check(page, "stem designs: first view")]
    # the smallest measurement: one image, no SGD step (a fresh process per stem)
    panel = page.locator(".vggviz-measure-panel")
    batch = panel.locator("input[type=number]")
    batch.fill("1")
    batch.press("Enter")
    page.get_by_role("checkbox", name="and one SGD step").uncheck()
    # the classifier head, by keyboard: Shift+Tab from the batch reaches its buttons, each
    # named by its text and described by its tooltip, beside the label "Classifier"
    expect(panel.locator(".widget-toggle-buttons .widget-label")).to_have_text("Classifier")
    batch.focus()
    page.keyboard.press("Shift+Tab")
    gap = page.get_by_role("button", name="GAP", exact=True)
    expect(gap).to_be_focused()
    expect(gap).to_have_attribute("title", re.compile("global average pooling"))
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="fc (VGG's)", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(panel.locator(".vggviz-counted-stems").locator("xpath=..")).to_contain_text(
        "GAP classifier")
    page.get_by_role("button", name="Measure on this machine").click()
    expect(page.locator("table.vggviz-measured-stems")).to_be_visible()
    expect(panel).to_contain_text("Measured on this machine, GAP classifier")
    expect(panel.locator(".vggviz-peak-note")).to_be_visible()
    panel.locator(".widget-toggle-buttons").scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "stem_designs_measured.png")
    reports.append(check(page, "stem designs: measured on this machine"))
    assert_bar(reports)
