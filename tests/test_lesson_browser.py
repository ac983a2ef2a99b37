"""Both guided lessons walked with the keyboard only, in Chromium served by Voilà: from the landing
page's link, each step's card says where it is and the view below is the step's (the stage, the
stem, the map, the input size), Enter on "Show the answer" reveals it, Enter on Next (or Back)
goes there (in place, the page not reloaded, where the step is on the same page; the browser's
Back too), axe-core finds no critical or serious violation in the lesson's card, and the handout
the page makes opens with every step and its pictures. Screenshots of every step at 1280×800 and
1920×1080 go to test-artifacts/lesson_*.png."""

from __future__ import annotations

import re
import time

import pytest
from accessibility import OPTIONS, WCAG_TAGS
from axe_playwright_python.sync_playwright import Axe
from browser import ARTIFACTS, LONG, PageWatch, Timings, chromium_session
from playwright.sync_api import expect

from vggviz.plan.architecture import STEMS
from vggviz.plan.lessons import DESIGNS, EXPLORER, LESSONS

pytestmark = pytest.mark.browser

SMALL, LARGE = {"width": 1280, "height": 800}, {"width": 1920, "height": 1080}
TAB_LIMIT = 60


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def timings():
    return Timings(ARTIFACTS / "lesson_timings.txt")


def tab_to(page, test: str) -> None:
    """Press Tab until `test(document.activeElement)` holds (a CSS selector it matches)."""
    for _ in range(TAB_LIMIT):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", test):
            return
    raise AssertionError(f"{TAB_LIMIT} Tab stops and no element matching {test}")


def check_view(page, step) -> None:
    """The view below the card is the step's state, as the page shows it."""
    state, status = step.state, page.locator(".vggviz-status .vggviz-ok")
    if step.page == EXPLORER:
        stage = state["stage"]
        side = {"stem": 224 // STEMS[state["stem"]].reduction, "group2": 56}[stage]
        expect(status).to_have_text(re.compile(rf"^{re.escape(state['sample'])} · {stage} "
                                               rf"{side}×{side}×"))
        expect(page.locator(".vggviz-glance button[aria-pressed='true']")).to_have_attribute(
            "data-part", stage)
        if "map" in state:
            expect(page.locator("img.vggviz-focus")).to_have_attribute(
                "alt", re.compile(rf"^{stage} map {state['map']},"))
    elif step.page == DESIGNS:
        expect(status).to_have_text(re.compile(rf"^{re.escape(state['sample'])} through 3 "
                                               rf"stems in"))
    else:
        size, stem = state["size"], STEMS[state["stem"]].title
        expect(status).to_have_text(re.compile(rf"^input {size}×{size}×3 · {stem} · "
                                               rf"float32, batch 1 · answered in"))
        expect(page.get_by_role("button", name=stem)).to_have_class(re.compile("mod-active"))


def no_serious_violation(page, state: str) -> None:
    """axe-core on the lesson's card only: no critical or serious WCAG 2.1 A/AA violation."""
    found = Axe().run(page, context=".vggviz-lesson-path", options=OPTIONS).response
    failing = [f"{v['id']} ({v['impact']}): {v['help']}" for v in found["violations"]
               if v["impact"] in ("critical", "serious")
               and any(tag in WCAG_TAGS for tag in v["tags"])]
    assert not failing, f"{state}: {failing}"


def walk(page, lesson, number: int, watch: PageWatch) -> None:
    """Step `number` is shown: its card, its view; screenshots; its answer by the keyboard."""
    step, total = lesson.step(number), len(lesson.steps)
    card = page.locator(".vggviz-lesson")
    expect(card.get_by_role("heading")).to_have_text(
        re.compile(rf"Step {number} of {total} · {re.escape(step.title)}$"))
    check_view(page, step)
    answer = card.locator(".vggviz-lesson-answer")
    expect(answer).to_be_hidden()
    shot = f"lesson_{lesson.name}_{number}"
    page.screenshot(path=ARTIFACTS / f"{shot}_1280x800.png")
    box = card.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= SMALL["height"], box
    if step.page == EXPLORER:  # the card, and under it all 64 maps, on the first screen
        grid = page.locator(".vggviz-stem-explorer img.vggviz-grid").bounding_box()
        assert grid["y"] >= box["y"] + box["height"], (grid, box)
        assert grid["y"] + grid["height"] <= SMALL["height"], grid
    page.set_viewport_size(LARGE)
    page.screenshot(path=ARTIFACTS / f"{shot}_1920x1080.png")
    page.set_viewport_size(SMALL)
    page.locator("body").click(position={"x": 2, "y": 2})  # the keyboard from the page's top
    tab_to(page, "button.vggviz-lesson-reveal")
    reveal = card.get_by_role("button", name="Show the answer")
    expect(reveal).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(card.get_by_role("button", name="Hide the answer")).to_have_attribute(
        "aria-expanded", "true")
    expect(answer).to_be_visible()
    expect(answer).to_contain_text(step.answer[:60])
    assert watch.problems == [], watch.problems


def follow(page, lesson, number: int, rel: str) -> None:
    """Enter on the card's Next or Back (`rel`) from step `number`: a step on the same page is
    applied in place (the page is not loaded again), one on another page loads it."""
    there = number + (1 if rel == "next" else -1)
    same = lesson.step(there).page == lesson.step(number).page
    page.evaluate("() => { window.vggvizSamePage = true; }")
    tab_to(page, f"a[rel='{rel}']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"[?&]step={there}(&|$)"))
    expect(page.locator(".vggviz-lesson").get_by_role("heading")).to_have_text(
        re.compile(rf"Step {there} of "))
    assert page.evaluate("() => window.vggvizSamePage === true") == same, (there, same)


def test_both_lessons_walked_by_keyboard(browser, dashboards_server, timings, tmp_path):
    page = browser.new_context(viewport=SMALL, accept_downloads=True).new_page()
    page.set_default_timeout(LONG)
    watch = PageWatch(page, "lessons")
    t0 = time.perf_counter()
    page.goto(f"{dashboards_server}voila/render/index.ipynb", wait_until="commit")
    pooling, one_map = LESSONS["pooling-in-the-stem"], LESSONS["one-feature-map"]
    start = page.get_by_role("link", name=pooling.title)
    expect(start).to_be_visible()
    page.locator("body").click(position={"x": 2, "y": 2})
    tab_to(page, f"a[href='{pooling.href(1)}']")
    page.keyboard.press("Enter")
    for number in range(1, len(pooling.steps) + 1):
        walk(page, pooling, number, watch)
        if number in (1, 4, 5):  # one step of each page
            no_serious_violation(page, f"{pooling.name} step {number}, its answer shown")
        if number < len(pooling.steps):
            follow(page, pooling, number, "next")
    timings.record("pooling lesson walked (4 pages, 4 steps in place)", time.perf_counter() - t0)

    # The last step: its handout, made by the keyboard, saved, and opened
    tab_to(page, ".vggviz-lesson-handout button")
    page.keyboard.press("Enter")
    link = page.locator(".vggviz-lesson-handout a.vggviz-download")
    expect(link).to_contain_text("Save the handout")
    with page.expect_download() as download:
        link.click()
    handout = tmp_path / "handout.html"
    download.value.save_as(handout)
    opened = page.context.new_page()
    opened.goto(handout.as_uri())
    expect(opened.locator("section.step")).to_have_count(len(pooling.steps))
    for number, step in enumerate(pooling.steps, 1):
        section = opened.locator(f"section.step:nth-of-type({number})")
        expect(section.get_by_role("heading")).to_have_text(re.compile(rf"^Step {number} of"))
        images = section.get_by_role("img")
        expect(images).to_have_count(len(step.shows))
        for image in images.all():
            assert image.evaluate("(img) => img.complete && img.naturalWidth > 0")
            assert len(image.get_attribute("alt")) > 40
    opened.close()

    t1 = time.perf_counter()
    page.goto(f"{dashboards_server}voila/render/{one_map.href(1)}", wait_until="commit")
    for number in range(1, len(one_map.steps) + 1):
        walk(page, one_map, number, watch)
        if number < len(one_map.steps):
            follow(page, one_map, number, "next")
    no_serious_violation(page, f"{one_map.name} step 3 (group 2), its answer shown")
    follow(page, one_map, 3, "prev")  # and back: the step before, as it was
    check_view(page, one_map.step(2))
    page.go_back()  # the browser's Back: step 3 again, in place
    expect(page).to_have_url(re.compile(r"[?&]step=3(&|$)"))
    expect(page.locator(".vggviz-lesson").get_by_role("heading")).to_have_text(
        re.compile(r"Step 3 of 3"))
    check_view(page, one_map.step(3))
    assert page.evaluate("() => window.vggvizSamePage === true")
    timings.record("one-feature-map lesson walked (1 page, 4 steps in place)",
                   time.perf_counter() - t1)
    assert "Traceback" not in page.content()
    assert watch.problems == [], watch.problems
    page.context.close()
