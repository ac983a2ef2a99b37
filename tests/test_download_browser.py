"""A first visit with the weights still to come, in Chromium: the explorer opens on random
filters with a progress bar under the banner, answers while the file arrives from a slow
loopback server, and switches to the trained filters (banner gone) when it is in.

Voilà runs as `make dashboard` runs it (voila.json: a preheated kernel) on a notebook of the
test's own, whose first cell puts the served file's md5 into vggviz's table (the file is not
Keras' real one) and whose second displays the explorer. Timings are recorded, never asserted;
screenshots at 1280×800 and 1920×1080, during and after, go to test-artifacts/.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from browser import (
    ARTIFACTS,
    LONG,
    RECORD_IMAGE_LOADS,
    PageWatch,
    Timings,
    chromium_session,
    full_page_screenshot,
    wait_new_picture,
)
from playwright.sync_api import expect
from servers import voila
from weights_server import Behaviour, FileServer, serving

from vggviz.sources.imagenet import _IMAGENET_FILES, WEIGHTS_URL_SETTING

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GRID = "img.vggviz-grid"
SIZES = [(1280, 800), (1920, 1080)]
FNAME = _IMAGENET_FILES[("vgg16", False)][0]
COLORMAPS = ["magma", "gray", "inferno", "cividis", "viridis"]


def explorer_notebook(path, md5: str) -> None:
    """The stem explorer, after telling vggviz the md5 of the test's file."""
    cells = [
        nbformat.v4.new_code_cell(
            "from vggviz.sources import imagenet\n\n"
            "name, _ = imagenet._IMAGENET_FILES[('vgg16', False)]\n"
            f"imagenet._IMAGENET_FILES[('vgg16', False)] = (name, {md5!r})"),
        nbformat.v4.new_code_cell("from vggviz.ui import stem_explorer\n\nstem_explorer()"),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


def screenshots(page, when: str, show=None) -> None:
    """The viewport at each size (scrolled to `show`, a locator, if given), and the whole page
    at the first."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # let the widgets lay themselves out at the new size
        if show is not None:
            show.scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / f"download_{when}_{width}x{height}.png")
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    full_page_screenshot(page, f"download_{when}_full.png")


def test_the_progress_bar_shows_while_the_weights_arrive_and_the_banner_goes_after(
        served_weights, tmp_path, monkeypatch):
    ARTIFACTS.mkdir(exist_ok=True)
    timings = Timings(ARTIFACTS / "download_timings.txt")
    size = len(served_weights.data)
    # ~4 MB/s, held at 80 %: the bar moves while bytes flow, then the hold keeps the download
    # under way for certain while the controls are tried (at 1 MB/s the flow took 47 s).
    behaviour = Behaviour(chunk=256 * 1024, delay=0.0625, hold_at=size * 4 // 5)
    notebook = tmp_path / "explorer.ipynb"
    explorer_notebook(notebook, served_weights.md5)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with serving(FileServer({FNAME: served_weights.data}, behaviour)) as server:
        monkeypatch.setenv(WEIGHTS_URL_SETTING, f"http://127.0.0.1:{server.port}/models")
        with chromium_session() as browser, \
                voila(str(notebook), log=ARTIFACTS / "voila-download.log") as (url, _):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(LONG)
            context.add_init_script(RECORD_IMAGE_LOADS)
            page = context.new_page()
            watch = PageWatch(page, "explorer during a download")
            page.goto(url, wait_until="commit")
            grid, notice = page.locator(GRID), page.locator(".vggviz-notice")
            status = page.locator(".vggviz-status .vggviz-ok")
            row = page.locator(".vggviz-download")
            page.wait_for_function("() => window.__vggviz.loads.some((l) => l.grid)")

            # During: random filters, the banner, a progress bar that moves.
            expect(notice).to_contain_text("Downloading the ImageNet", timeout=LONG)
            bar = row.locator(".widget-hprogress .progress-bar")
            expect(bar).to_be_visible(timeout=LONG)
            page.wait_for_function("(b) => parseFloat(b.style.width) > 0", arg=bar.element_handle())
            expect(row).to_contain_text(re.compile(r"MB · [\d.]+ MB/s · \d+ s left"), timeout=LONG)
            expect(status).to_contain_text("random (seed 0)", timeout=LONG)

            # The controls answer while it runs: each colormap change redraws the grid.
            flowing = []
            for cmap in COLORMAPS:
                old = grid.get_attribute("src")
                flowing.append(not behaviour.held.is_set())
                started = page.evaluate("performance.now()")
                page.get_by_label("Colormap").select_option(cmap)
                wait_new_picture(grid, old)
                loaded = page.evaluate(
                    "(t) => window.__vggviz.loads.find((l) => l.grid && l.t > t).t", started)
                timings.record(f"colormap {cmap} → new grid, download "
                               f"{'flowing' if flowing[-1] else 'held'}",
                               (loaded - started) / 1e3)
            expect(notice).to_contain_text("Downloading the ImageNet", timeout=LONG)
            assert behaviour.held.wait(LONG / 1e3), "the download reached the hold"
            screenshots(page, "during")

            # After: the trained filters, no banner, no bar.
            started = page.evaluate("performance.now()")
            old = grid.get_attribute("src")
            behaviour.release.set()
            expect(status).to_contain_text("ImageNet", timeout=LONG)
            wait_new_picture(grid, old)
            loaded = page.evaluate(
                "(t) => window.__vggviz.loads.find((l) => l.grid && l.t > t).t", started)
            timings.record("last 20 % of the file released → trained grid loaded",
                           (loaded - started) / 1e3)
            expect(notice).to_have_count(0, timeout=LONG)
            expect(row).to_have_count(0, timeout=LONG)
            expect(page.locator(".vggviz-credit").first).to_contain_text("arXiv:1409.1556")
            screenshots(page, "after")

            # Trained and random side by side, now that both are here.
            page.get_by_role("button", name=re.compile("Compare trained and random")).click()
            compare = page.locator(".vggviz-compare-weights")
            expect(compare).to_contain_text("Trained on ImageNet", timeout=LONG)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.vggviz-compare-weights img')]"
                ".filter((i) => i.complete && i.naturalWidth > 300).length === 2")
            expect(compare).to_contain_text("Random (seed 0), never trained")
            screenshots(page, "compare", show=compare)
            assert not watch.problems, "\n".join(watch.problems)
            context.close()
        assert server.count(FNAME) == 1  # the second, preheated, kernel waited for the first
    print(f"\n[download] colormap changes measured while bytes flowed: {sum(flowing)} of "
          f"{len(flowing)}", flush=True)
