"""The dashboards served for real and driven in headless Chromium, as a person would use them.

One Voilà serves every notebook (as `make dashboards` does, with the project's voila.json:
preheated kernels, Tornado's default 10 MiB websocket limit); a second, without preheating,
measures a cold start; JupyterLab runs the tour and serves the stem explorer through Voilà's
extension.
Timings are recorded, never asserted: printed (run with -s) and kept in
test-artifacts/browser_timings.txt (the figures to quote come from benchmarks/bench_first_grid.py);
every wait is for behaviour, with generous timeouts. Screenshots and server logs are in
test-artifacts/ too.
"""

from __future__ import annotations

import json
import re
import shutil
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from browser import (
    ARTIFACTS,
    LONG,
    RECORD_IMAGE_LOADS,
    VIEWPORT,
    PageWatch,
    Timings,
    chromium_session,
    full_page_screenshot,
    image_digest,
    run_all_cells,
    wait_new_picture,
)
from PIL import Image
from playwright.sync_api import expect
from servers import jupyterlab, project_root, voila, wait_pool_quiet

from vggviz.server.dashboards import config_dir
from vggviz.ui.parts.image_upload import CHUNK_BYTES

ROOT = project_root()

pytestmark = pytest.mark.browser

EXPLORER = "01_stem_explorer.ipynb"
GRID = "img.vggviz-grid"  # the feature-map grid (the app marks its pictures by class)
FOCUS = "img.vggviz-focus"  # the chosen map, large
FIRST_GRID = "() => window.__vggviz.loads.find((l) => l.grid && l.width > 300)"
NETWORK_VIEW = "img.vggviz-network-view"
# Times, in the page, a pointer move on the large map until the worked panel shows a new pixel
# and the next frame is drawn: from the mousemove's own timestamp, so Playwright's round trips
# do not count. Armed before the move; then window.__vggviz.worked holds the milliseconds.
ARM_WORKED_TIMER = """() => {
  const panel = document.querySelector('.vggviz-worked');
  const before = panel.textContent;
  let moved = null;
  window.__vggviz.worked = null;
  document.addEventListener('mousemove', (e) => { moved ??= e.timeStamp; },
                            {capture: true, once: true});
  const watch = new MutationObserver(() => {
    if (moved === null || panel.textContent === before ||
        !panel.querySelector('.vggviz-worked-value')) return;
    watch.disconnect();
    requestAnimationFrame(() => setTimeout(() => {
      window.__vggviz.worked = performance.now() - moved;
    }, 0));
  });
  watch.observe(panel, {subtree: true, childList: true, characterData: true});
}"""


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chromium_browser():
    with chromium_session() as browser:
        yield browser


@pytest.fixture(scope="module")
def timings():
    return Timings(ARTIFACTS / "browser_timings.txt")


@pytest.fixture(scope="module")
def watches():
    """Every dashboard page's PageWatch, for the console check."""
    return []


@pytest.fixture(scope="module")
def open_page(chromium_browser, watches):
    """Open a fresh page (own context) that records image loads and watches its console."""
    contexts = []

    def open_(name: str):
        context = chromium_browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(LONG)
        context.add_init_script(RECORD_IMAGE_LOADS)
        contexts.append(context)
        page = context.new_page()
        watches.append(PageWatch(page, name))
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="class")
def dashboards(chromium_browser):
    """Voilà on every notebook (`make dashboards`), once its preheated kernels are idle.
    Yields the base URL, the server process and its log. (Asks for the browser first, so that
    without Chromium the tests skip before a server starts.)"""
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "voila-dashboards.log"
    with voila("notebooks", log=log) as (url, proc):
        waited = wait_pool_quiet(proc, log, EXPLORER)
        print(f"\n[browser] preheated kernels idle {waited:.1f} s after Voilà answered",
              flush=True)
        yield SimpleNamespace(url=url, proc=proc, log=log)


@pytest.fixture(scope="class")
def explorer(dashboards, open_page, timings):
    """The stem explorer open in a page, timed from the request to the first grid."""
    page = open_page("stem explorer")
    page.goto(f"{dashboards.url}voila/render/{EXPLORER}", wait_until="commit")
    first = page.wait_for_function(FIRST_GRID, timeout=LONG).json_value()
    timings.record("first grid, preheated kernel (request → grid loaded)", first["t"] / 1e3)
    used = rf"Using pre-heated kernel: \S+ for {re.escape(EXPLORER)}"
    assert re.search(used, dashboards.log.read_text(errors="replace")), "no preheated kernel"
    return page


def _first_grid_seconds(page) -> float:
    return page.wait_for_function(FIRST_GRID, timeout=LONG).json_value()["t"] / 1e3


def _status(page, pattern: str, timeout: float = LONG):
    """Wait until the status line's ok text matches `pattern` (a regex)."""
    ok = page.locator(".vggviz-status .vggviz-ok")
    expect(ok).to_have_text(re.compile(pattern), timeout=timeout)
    return ok.inner_text()


def _slider(page, label: str):
    return page.locator(".widget-slider").filter(
        has=page.locator("label.widget-label", has_text=re.compile(rf"^{re.escape(label)}$")))


def _press_right(page, label: str) -> None:
    handle = _slider(page, label).locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")


# Records, in the page, every text the upload button and the status line show from now on
# (the button's text, accessible name and whether it is disabled), in window.__vggviz.texts.
RECORD_UPLOAD_TEXTS = """() => {
  const button = document.querySelector("button.vggviz-upload");
  const status = document.querySelector(".vggviz-status");
  const texts = window.__vggviz.texts = {button: [], status: []};
  new MutationObserver(() => texts.button.push(
    [button.textContent, button.getAttribute("aria-label"), button.disabled],
  )).observe(button, {childList: true, characterData: true, subtree: true, attributes: true});
  new MutationObserver(() => texts.status.push(status.innerText)).observe(
    status, {childList: true, characterData: true, subtree: true});
}"""


def _upload(page, path) -> float:
    """Choose `path` with the upload button as a person would; return the page's clock."""
    button = page.get_by_role("button", name=re.compile("Upload"))
    with page.expect_file_chooser() as chooser:
        button.click()
    started = page.evaluate("performance.now()")
    chooser.value.set_files(path)
    return started


# ---------------------------------------------------------------------------- cold start


def test_cold_first_grid(open_page, timings):
    """A server without preheated kernels: the page request starts the kernel (timed)."""
    log = ARTIFACTS / "voila-cold.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with voila(f"notebooks/{EXPLORER}", "--VoilaConfiguration.preheat_kernel=False",
               log=log) as (url, _):
        page = open_page("stem explorer (cold)")
        page.goto(url, wait_until="commit", timeout=LONG)
        seconds = _first_grid_seconds(page)
        timings.record("first grid, cold kernel (request → grid loaded)", seconds)
        assert "stem 224×224×64" in _status(page, r"stem 224×224×64")
        page.close()


# ---------------------------------------------------------------------------- dashboards


class TestDashboards:
    def test_sample_grid_shows_without_any_action(self, explorer):
        page = explorer
        grid = page.locator(GRID)
        assert grid.evaluate("img => img.complete && img.naturalWidth") > 300
        status = _status(page, r"Grace Hopper \(photo\) · stem 224×224×64 · .* render \d+ ms")
        if "random (seed 0)" in status:  # no ImageNet weights in Keras' cache (no network)
            expect(page.locator(".vggviz-notice")).to_contain_text(
                "showing randomly initialised filters")
        else:
            assert "ImageNet" in status
        assert page.locator(".vggviz-error").count() == 0
        full_page_screenshot(page, "stem_explorer.png")

    def test_pointing_at_the_large_map_shows_the_worked_sum(self, explorer, timings):
        page = explorer
        focus, network_view = page.locator(FOCUS), page.locator(NETWORK_VIEW)
        _status(page, r"· stem 224×224×64 · .* render \d+ ms")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=focus.element_handle())  # laid out at its full size
        plain = network_view.get_attribute("src")
        focus.scroll_into_view_if_needed()
        box = focus.bounding_box()
        waits = []
        # a corner first (its patch is partly padding), then across the map
        for fx, fy in [(0.002, 0.002), (0.4, 0.3), (0.55, 0.45), (0.7, 0.62), (0.25, 0.8),
                       (0.85, 0.15)]:
            page.wait_for_timeout(150)  # past the pointer's 40 ms throttle: this move is sent
            page.evaluate(ARM_WORKED_TIMER)
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            waits.append(page.wait_for_function("() => window.__vggviz.worked").json_value())
            assert focus.bounding_box() == box  # the map stays where it was, under the pointer
            panel = page.locator(".vggviz-worked-panel")
            title = panel.locator("b").first.inner_text()
            x, y = re.search(r"value at \((\d+), (\d+)\)", title).groups()
            hover = page.locator(".widget-html-content", has_text=re.compile(r"^at \(\d+, \d+\)"))
            expect(hover).to_have_text(re.compile(rf"^at \({x}, {y}\): "))
            value = hover.locator("b").inner_text()
            assert panel.locator(".vggviz-worked-value").inner_text() == value, (x, y)
            assert "27 products" in panel.inner_text()
            if (fx, fy) == (0.002, 0.002):  # the map is shown scaled: within a pixel of a corner
                assert int(x) <= 1 and int(y) <= 1 and "padding" in panel.inner_text()
        wait_new_picture(network_view, plain)  # the patch is outlined on the network's view
        timings.record("pointer → worked panel drawn, first", waits[0] / 1e3, unit="ms")
        timings.record("pointer → worked panel drawn, median of 5 more",
                       float(np.median(waits[1:])) / 1e3, unit="ms")
        full_page_screenshot(page, "stem_explorer_worked.png")

    def test_upload_replaces_the_grid(self, dashboards, explorer, tmp_path, timings):
        page = explorer
        # Opening the page took the pooled kernel; let its replacement finish warming up, so
        # the upload is timed on a quiet machine.
        wait_pool_quiet(dashboards.proc, dashboards.log, EXPLORER, fills=2)
        grid = page.locator(GRID)
        old_src, old_digest = grid.get_attribute("src"), image_digest(grid)
        path = tmp_path / "stripes-upload.png"
        rgb = np.zeros((300, 400, 3), np.uint8)
        rgb[:, ::20] = (255, 40, 0)
        rgb[::25, :] = (0, 90, 255)
        Image.fromarray(rgb).save(path)
        started = _upload(page, path)
        wait_new_picture(grid, old_src)
        loaded = page.evaluate(
            "(t) => window.__vggviz.loads.find((l) => l.grid && l.t > t).t", started)
        timings.record("upload → new grid loaded", (loaded - started) / 1e3)
        status = _status(page, r"stripes-upload\.png · stem 224×224×64 · .* render \d+ ms")
        assert "forward" in status
        assert image_digest(grid) != old_digest

    def test_stage_page_focus_and_colormap_change_the_picture(self, explorer):
        page = explorer
        grid, focus = page.locator(GRID), page.locator(FOCUS)

        def changed(locator, old_src, old_digest):
            wait_new_picture(locator, old_src)
            assert image_digest(locator) != old_digest
            return locator.get_attribute("src"), image_digest(locator)

        # The photo, whatever an earlier test uploaded: on a plain picture (stripes) whole
        # group-3 maps can be 0 for random filters, and two pages' maps would look the same.
        sample = page.locator("select", has=page.locator("option", has_text="Grace Hopper"))
        for index in (1, 0):
            sample.select_option(index=index)
            name = sample.locator("option").nth(index).inner_text().replace("\xa0", " ")
            _status(page, rf"^{re.escape(name)} · .* render \d+ ms")
        src, digest = grid.get_attribute("src"), image_digest(grid)
        pager = page.get_by_label("Show")
        assert not pager.is_visible()  # the stem has 64 maps: one page
        page.get_by_role("button", name=re.compile(r"^group 3:")).click()
        src, digest = changed(grid, src, digest)
        _status(page, r"· group3 28×28×256 · .* forward \d+ ms · render \d+ ms")
        expect(pager).to_be_visible()  # 256 maps: four pages, said in words
        labels = [t.replace("\xa0", " ") for t in pager.locator("option").all_inner_texts()]
        assert labels == ["maps 0–63 of 256", "maps 64–127 of 256", "maps 128–191 of 256",
                          "maps 192–255 of 256"]

        focus_src, focus_digest = focus.get_attribute("src"), image_digest(focus)
        pager.select_option(index=1)
        src, digest = changed(grid, src, digest)
        focus_src, focus_digest = changed(focus, focus_src, focus_digest)
        page.get_by_text("group3 map 64", exact=True).wait_for()  # the focus follows the page

        _press_right(page, "Map")
        focus_src, focus_digest = changed(focus, focus_src, focus_digest)
        page.get_by_text("group3 map 65", exact=True).wait_for()

        tile = grid.bounding_box()["width"] / 8  # 8 × 8 maps; click the third of row two
        grid.click(position={"x": 2.5 * tile, "y": 1.5 * tile})
        focus_src, focus_digest = changed(focus, focus_src, focus_digest)
        page.get_by_text("group3 map 74", exact=True).wait_for()

        page.get_by_label("Colormap").select_option("magma")
        src, digest = changed(grid, src, digest)
        changed(focus, focus_src, focus_digest)
        _status(page, r"· group3 28×28×256 · .* cached · render \d+ ms")
        full_page_screenshot(page, "stem_explorer_group3.png")

    @pytest.mark.parametrize("name, data", [
        ("not-a-picture.png", b"Dear diary, this is text with an image's name.\n" * 40),
        ("notes.txt", b"plain text\n"),
    ], ids=["text-named-png", "txt"])
    def test_non_image_upload_shows_a_readable_error(self, explorer, tmp_path, name, data):
        page = explorer
        grid = page.locator(GRID)
        src, digest = grid.get_attribute("src"), image_digest(grid)
        path = tmp_path / name
        path.write_bytes(data)
        _upload(page, path)
        error = page.locator(".vggviz-status .vggviz-error", has_text=name)
        error.wait_for()
        text = error.inner_text()
        assert name in text and "not a JPEG, PNG" in text and "The last image stays" in text
        assert "Traceback" not in text
        assert grid.get_attribute("src") == src and image_digest(grid) == digest

    def test_a_12_mb_upload_arrives_in_pieces_and_a_25_mb_one_is_never_sent(
            self, explorer, watches, tmp_path):
        """voila.json sets no websocket limit, so Voilà drops messages over Tornado's 10 MiB:
        a 12 MB picture arrives all the same, in pieces of CHUNK_BYTES (no message the page sends
        is larger), the button counting them. Then a 25 MB file is refused in words without a
        byte sent, and the 12 MB picture stays."""
        page = explorer
        voila_config = json.loads((config_dir() / "voila.json").read_text())
        assert "tornado_settings" not in voila_config["Voila"]
        sent = next(watch.sent for watch in watches if watch.name == "stem explorer")
        grid, network_view = page.locator(GRID), page.locator(NETWORK_VIEW)
        path = tmp_path / "noise-12mb.png"
        noise = np.random.default_rng(2).integers(0, 256, (2000, 2000, 3), dtype=np.uint8)
        Image.fromarray(noise).save(path, compress_level=0)
        size = path.stat().st_size
        assert 10.5 * 2**20 < size < 20 * 10**6
        page.evaluate(RECORD_UPLOAD_TEXTS)
        src, before = grid.get_attribute("src"), len(sent)
        _upload(page, path)
        src = wait_new_picture(grid, src)
        expect(page.locator(".vggviz-status .vggviz-ok")).to_contain_text(  # at any stage
            re.compile(r"noise-12mb\.png · \w+ \d+×\d+×\d+"))
        pieces = [n for n in sent[before:] if n > CHUNK_BYTES]  # every whole piece, with its header
        assert len(pieces) == size // CHUNK_BYTES and sum(sent[before:]) >= size, sent[before:]
        assert max(sent[before:]) <= CHUNK_BYTES + 2**12, "one message carried more than a piece"
        texts = page.evaluate("() => window.__vggviz.texts")
        sending = [(text, label) for text, label, disabled in texts["button"] if disabled]
        percents = [int(re.fullmatch(r"Sending (\d+) %", text)[1]) for text, _ in sending]
        assert percents[0] == 0 and percents == sorted(percents), texts["button"]
        assert len(set(percents)) >= 12, texts["button"]  # 0 %, then after each piece but the last
        assert all(label == f"Upload: sending {percent} %"
                   for (_, label), percent in zip(sending, percents, strict=True))
        assert texts["button"][-1] == ["⬆ Upload", None, False]
        assert "Receiving noise-12mb.png: 11.5 MB of 12 MB" in texts["status"], texts["status"]

        view = network_view.get_attribute("src")
        path = tmp_path / "big.png"
        path.write_bytes(np.random.default_rng(0).bytes(25 * 10**6))
        before = len(sent)
        _upload(page, path)
        error = page.locator(".vggviz-status .vggviz-error", has_text="big.png")
        error.wait_for(timeout=LONG)
        assert re.search(r"big\.png is 25 MB; the limit is 20 MB\. The last image stays",
                         error.inner_text())
        assert max(sent[before:], default=0) < 2**16, "the refused file's bytes were sent"
        assert grid.get_attribute("src") == src and network_view.get_attribute("src") == view
        assert page.locator("#vggviz-kernel-lost").count() == 0

    def test_an_upload_just_under_the_limit_arrives(self, explorer, watches, tmp_path):
        """Just under the app's own limit (20 MB) the pieces add up too: every whole piece
        arrives, none over CHUNK_BYTES and its header."""
        page = explorer
        sent = next(watch.sent for watch in watches if watch.name == "stem explorer")
        path = tmp_path / "noise-20mb.png"
        noise = np.random.default_rng(1).integers(0, 256, (2580, 2580, 3), dtype=np.uint8)
        Image.fromarray(noise).save(path, compress_level=0)
        assert 19 * 2**20 < path.stat().st_size <= 20 * 10**6
        before = len(sent)
        _upload(page, path)
        expect(page.locator(".vggviz-status .vggviz-ok")).to_contain_text(  # at any stage
            re.compile(r"noise-20mb\.png · \w+ \d+×\d+×\d+"), timeout=LONG)
        size = path.stat().st_size
        assert len([n for n in sent[before:] if n > CHUNK_BYTES]) == size // CHUNK_BYTES
        assert max(sent[before:]) <= CHUNK_BYTES + 2**12, "one message carried more than a piece"

    def test_family_and_stem_designs_render_their_charts(self, dashboards, open_page):
        page = open_page("VGG family")
        page.goto(f"{dashboards.url}voila/render/02_vgg_family.ipynb", wait_until="commit")
        root = page.locator(".vggviz-vgg-family")
        root.wait_for(timeout=LONG)
        charts = root.locator("img")
        page.wait_for_function(
            "(n) => [...document.querySelectorAll('.vggviz-vgg-family img')]"
            ".filter((i) => i.complete && i.naturalWidth > 300).length >= n", arg=5)
        assert charts.count() == 5  # the size chart, three per component, the head's
        table = root.locator("table.vggviz-family")
        assert "VGG16" in table.inner_text() and "138,357,544" in table.inner_text()
        _status(page, r"input 224×224×3")
        size_chart = root.locator("img.vggviz-size-chart")
        old_src, old_digest = size_chart.get_attribute("src"), image_digest(size_chart)
        _press_right(page, "Input px")
        wait_new_picture(size_chart, old_src)
        assert image_digest(size_chart) != old_digest
        _status(page, r"input 256×256×3")
        full_page_screenshot(page, "vgg_family.png")

        page = open_page("stem designs")
        page.goto(f"{dashboards.url}voila/render/03_stem_designs.ipynb", wait_until="commit")
        root = page.locator(".vggviz-stem-designs")
        root.wait_for(timeout=LONG)
        _status(page, r"through 3 stems")
        images = root.locator("img")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.vggviz-stem-designs img')]"
            ".every((i) => i.complete && i.naturalWidth > 0)")
        widths = images.evaluate_all("imgs => imgs.map((i) => i.naturalWidth)")
        assert sum(w > 300 for w in widths) >= 2, widths  # the VGG stem's maps and the chart
        text = root.inner_text()
        for caption in ("224×224×64", "112×112×64", "56×56×64"):
            assert caption in text
        full_page_screenshot(page, "stem_designs.png")

    def test_no_errors_in_the_console(self, explorer, watches):
        problems = [p for watch in watches for p in watch.problems]
        assert not problems, "\n".join(problems)
        # the kernel watch stays silent while the kernel lives (test_serving kills one)
        assert explorer.locator("#vggviz-kernel-lost").count() == 0


# ---------------------------------------------------------------------------- JupyterLab


@pytest.fixture
def quiet_lab(tmp_path, monkeypatch):
    """JupyterLab settings and workspaces of its own (no autosave, no news prompt), and the
    notebooks left exactly as they were: the tour must not be saved with outputs or metadata.
    """
    settings = {"docmanager-extension/plugin": {"autosave": False},
                "apputils-extension/notification": {"fetchNews": "false"}}
    for name, values in settings.items():
        path = tmp_path / "lab-settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path / "lab-settings"))
    monkeypatch.setenv("JUPYTERLAB_WORKSPACES_DIR", str(tmp_path / "lab-workspaces"))
    notebooks = ROOT / "notebooks"
    before = {path: path.read_bytes() for path in notebooks.glob("*.ipynb")}
    checkpoints = notebooks / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    yield
    if not had_checkpoints:
        shutil.rmtree(checkpoints, ignore_errors=True)  # JupyterLab makes one per opened file
    changed = [path.name for path, data in before.items() if path.read_bytes() != data]
    for path, data in before.items():
        if path.name in changed:
            path.write_bytes(data)
    assert not changed, f"JupyterLab wrote to {changed} (restored)"




@pytest.mark.timeout(600)  # JupyterLab starts, then runs every cell of the tour's notebook
def test_jupyterlab_runs_the_tour_and_serves_the_explorer(open_page, quiet_lab, timings,
                                                          watches):
    ARTIFACTS.mkdir(exist_ok=True)
    with jupyterlab(log=ARTIFACTS / "jupyterlab.log") as (url, token, _):
        page = open_page("JupyterLab")
        page.goto(f"{url}lab/tree/00_tour.ipynb?token={token}")
        page.locator(".jp-Notebook").wait_for(timeout=LONG)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
            timeout=LONG)
        run_all_cells(page)
        cells = page.locator(".jp-CodeCell")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
            ".every((e) => /\\[\\d+\\]/.test(e.textContent))", timeout=2 * LONG)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
        tour = nbformat.read(ROOT / "notebooks" / "00_tour.ipynb", as_version=4)
        assert cells.count() == sum(c.cell_type == "code" for c in tour.cells)
        stderr = page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        for text in stderr.all_inner_texts():
            assert "Traceback" not in text and "Error" not in text, text
        result = page.locator(".jp-OutputArea-output[data-mime-type='text/plain']",
                              has_text="138,357,544 parameters")
        assert result.count() == 1
        def cell_with(text: str):
            found = cells.filter(has_text=text)
            assert found.count() == 1, text
            return found

        cell_with("values entering the learner: 3,211,264")
        maps_cell = cell_with("render_grid(maps")
        assert "(224, 224, 64)" in maps_cell.inner_text()
        maps = maps_cell.locator(".jp-RenderedImage img")
        maps.wait_for()
        assert maps.evaluate("img => img.complete && img.naturalWidth") > 300
        cell_with("802,816 values enter the learner")
        assert page.locator(".jp-RenderedImage img").count() >= 3  # two charts and the maps
        full_page_screenshot(page, "jupyterlab_tour.png")

        page = open_page("stem explorer in JupyterLab")
        page.goto(f"{url}voila/render/{EXPLORER}?token={token}", wait_until="commit")
        timings.record("first grid, Voilà in JupyterLab (request → grid loaded)",
                       _first_grid_seconds(page))
        _status(page, r"Grace Hopper \(photo\) · stem 224×224×64")
        full_page_screenshot(page, "stem_explorer_in_jupyterlab.png")
    lab_pages = ("JupyterLab", "stem explorer in JupyterLab")
    problems = [p for watch in watches if watch.name in lab_pages for p in watch.problems]
    assert not problems, "\n".join(problems)
