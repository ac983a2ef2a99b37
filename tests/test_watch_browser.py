""""Watch it learn" served by Voilà and driven in Chromium from the keyboard: a tiny run (64
images, one epoch, 32 px) trained to the end with the kernels, the maps and the curves
appearing, the slider replaying it; axe-core's bar (no critical or serious WCAG 2.1 A/AA
violation) before and after, no visible text under 12 px, and screenshots at 1280×800 and
1920×1080 under test-artifacts/."""

from __future__ import annotations

import re

import pytest
from accessibility import axe_report
from browser import ARTIFACTS, LONG, chromium_session
from playwright.sync_api import expect
from servers import voila
from test_legibility_browser import SMALL_TEXT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = "voila/render/04_watch_it_learn.ipynb"
APP = ".vggviz-watch-it-learn"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboards, with an empty cache of this module's own (no run in it yet)."""
    cache = tmp_path_factory.mktemp("watch-cache")
    ARTIFACTS.mkdir(exist_ok=True)
    with voila("notebooks", "--VoilaConfiguration.preheat_kernel=False",
               log=ARTIFACTS / "voila-watch.log", env={"VGGVIZ_CACHE": str(cache)}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


def _no_failing(page, state: str) -> None:
    page.wait_for_timeout(300)  # let the widgets' last messages land in the DOM
    report = axe_report(page, state)
    assert not report.failing(), report.message()


def _type(page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label)
    field.fill(value)
    field.press("Enter")


def test_a_tiny_run_trains_to_the_end_from_the_keyboard_and_replays(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(LONG)
    page = context.new_page()
    try:
        page.goto(server + NOTEBOOK, wait_until="commit")
        expect(page.get_by_role("button", name="Train")).to_be_visible()
        expect(page.get_by_role("combobox", name="Replay run")).to_contain_text("no run yet")
        _no_failing(page, "watch it learn: first view")
        assert page.evaluate(SMALL_TEXT) == []
        _type(page, "Epochs", "1")
        _type(page, "Images", "64")
        page.get_by_role("button", name="Train").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="Cancel")).to_be_visible()
        expect(page.get_by_role("progressbar", name="training progress")).to_be_visible()
        progress = page.locator(f"{APP} .vggviz-live").filter(has_text=re.compile("^finished in"))
        expect(progress).to_contain_text("held-out accuracy")
        for picture in ("kernels-now", "kernels-start", "probe-maps", "curves"):
            img = page.locator(f"img.vggviz-{picture}")
            expect(img).to_be_visible()
            expect(img).to_have_attribute("alt", re.compile(r"\w"))
        expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
        expect(page.get_by_role("combobox", name="Replay run")).to_contain_text(
            "vgg11 vgg stem · 1 epoch")
        page.wait_for_function("() => [...document.images].every((i) => i.complete)")
        _no_failing(page, "watch it learn: trained")
        assert page.evaluate(SMALL_TEXT) == []
        page.screenshot(path=ARTIFACTS / "watch_it_learn_1280x800.png", full_page=True)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.screenshot(path=ARTIFACTS / "watch_it_learn_1920x1080.png", full_page=True)
        said = page.locator(f"{APP} .vggviz-live").filter(has_text=re.compile(r"^step \d+ of"))
        before = said.inner_text()
        handle = page.locator(f"{APP} .noUi-handle")
        handle.focus()
        page.keyboard.press("Home")  # back to the start: the slider replays by keyboard
        expect(said).to_contain_text("step 0 of")
        assert said.inner_text() != before
        expect(handle).to_have_attribute("aria-label", "Step")
    finally:
        context.close()
