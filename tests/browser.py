"""Helpers for the real-browser tests: Chromium or a skip, page watching, timings, screenshots.

Servers, the Chromium binary and its launch flags come from `serving` (shared with the
benchmarks, which the tests never import).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from servers import CHROMIUM, chromium_missing, launch_chromium, project_root

ARTIFACTS = project_root() / "test-artifacts"
VIEWPORT = {"width": 1400, "height": 1000}
# ms: generous on purpose. A Playwright wait is for behaviour (a grid appears), not a speed
# target: a kernel importing TensorFlow on a busy 2-core machine can take a minute or more.
LONG = 180_000
# Playwright's `expect` has a 5 s default of its own, not the context's: the top-5 of a kernel
# that first maps VGG16's classifier took longer than that on a fresh CI machine. Every
# assertion in these tests waits for behaviour, so it gets the same generous bound.
expect.set_options(timeout=LONG)

# Console errors that are not ours: the FontAwesome stylesheet on a CDN (no network here) and
# a missing favicon. Matched against the message text plus the URL it is about.
HARMLESS = [
    re.compile(r"ERR_NAME_NOT_RESOLVED.*(fontawesome|jsdelivr|cdn)", re.I | re.S),
    re.compile(r"status of 404.*favicon", re.I | re.S),
    re.compile(r"Unsatisfied version"),
]

# Records, in the page itself, when each widget image finishes loading (performance.now() is
# counted from the page request), so timings do not include Playwright's round trips.
RECORD_IMAGE_LOADS = """
window.__vggviz = {loads: []};
document.addEventListener("load", (event) => {
  const img = event.target;
  if (!(img instanceof HTMLImageElement)) return;
  window.__vggviz.loads.push({
    t: performance.now(), src: img.src, width: img.naturalWidth,
    grid: img.classList.contains("vggviz-grid"),
  });
}, true);
"""

# The height of everything on the page, wherever it scrolls (Voilà scrolls an inner panel).
CONTENT_HEIGHT = """() => {
  let height = document.documentElement.scrollHeight;
  for (const el of document.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(style.overflowY)) {
      height = Math.max(height, el.getBoundingClientRect().top + window.scrollY
                                + el.scrollHeight);
    }
  }
  return Math.ceil(height);
}"""

IMAGE_DIGEST = """async (img) => {
  const data = await (await fetch(img.src)).arrayBuffer();
  const hash = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}"""


def chromium_or_skip() -> Path:
    """Debian's Chromium; missing it fails under CI (CI=true) and skips elsewhere."""
    reason = chromium_missing()
    if reason is None:
        return CHROMIUM
    message = f"{reason}: the browser tests need it"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def chromium_session() -> Iterator:
    """Debian's Chromium through a Playwright of the caller's own (a module fixture's): none is
    shared across modules, so no event loop outlives the module that started it."""
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        finally:
            browser.close()


class PageWatch:
    """Collects a page's uncaught exceptions and console errors, less the known harmless ones,
    and the size of every websocket message it sends (`sent`, in order)."""

    def __init__(self, page, name: str):
        self.name, self.problems, self.sent = name, [], []
        page.on("pageerror", lambda exc: self.problems.append(f"{name}: page error: {exc}"))
        page.on("console", self._console)
        page.on("websocket", lambda socket: socket.on(
            "framesent", lambda payload: self.sent.append(len(payload))))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        text = f"{message.text} {message.location.get('url', '')}"
        if not any(pattern.search(text) for pattern in HARMLESS):
            self.problems.append(f"{self.name}: console error: {text}")


class Timings:
    """Measured figures, printed as they come and kept in test-artifacts/browser_timings.txt.

    Recorded only, never asserted: a test's timing depends on the machine and what else runs on
    it. The figures worth quoting come from the benchmarks (benchmarks/bench_first_grid.py).
    """

    def __init__(self, path: Path):
        self.path, self.figures = path, {}

    def record(self, name: str, value: float, unit: str = "s") -> None:
        """Keep one figure: `value` in seconds, written in seconds or (`unit="ms"`)
        milliseconds; or (`unit="MB"`) a memory figure in MB."""
        figure = {"ms": f"{value * 1e3:6.1f} ms", "MB": f"{value:6.0f} MB"}.get(
            unit, f"{value:6.2f} s")
        self.figures[name] = figure
        print(f"\n[browser timing] {name}: {figure.strip()} (recorded, not asserted)", flush=True)
        self.path.parent.mkdir(exist_ok=True)
        self.path.write_text("".join(f"{k}: {v}\n" for k, v in self.figures.items()))


def image_digest(locator) -> str:
    """SHA-256 of the bytes an <img> shows (its blob: URL fetched in the page)."""
    return locator.evaluate(IMAGE_DIGEST)


def wait_new_picture(locator, old_src: str, timeout: float = LONG) -> str:
    """Wait until the <img> shows a new, fully loaded source; return it."""
    locator.page.wait_for_function(
        "([img, old]) => img.src !== old && img.complete && img.naturalWidth > 0",
        arg=[locator.element_handle(), old_src], timeout=timeout)
    return locator.get_attribute("src")


def full_page_screenshot(page, name: str) -> Path:
    """A screenshot of the whole dashboard, however tall, in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    size = page.viewport_size
    height = min(int(page.evaluate(CONTENT_HEIGHT)) + 20, 12_000)
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    try:
        page.wait_for_timeout(300)  # let the panel lay itself out at the new size
        page.screenshot(path=path, full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


# ------------------------------------------------------------------------------- JupyterLab


def dismiss_dialog(page, attempt: int) -> str:
    """Close a JupyterLab dialog in the way (Escape, else its default button), keeping a
    screenshot and its words in test-artifacts/ so a failure says what it was; '' if none."""
    dialog = page.locator(".jp-Dialog")
    if not dialog.count():
        return ""
    words = " ".join(dialog.first.inner_text().split())
    page.screenshot(path=ARTIFACTS / f"jupyterlab_dialog_{attempt}.png")
    with open(ARTIFACTS / "jupyterlab_dialogs.txt", "a") as seen:
        seen.write(f"attempt {attempt}: {words}\n")
    page.keyboard.press("Escape")
    try:
        dialog.first.wait_for(state="detached", timeout=10_000)
    except PlaywrightTimeoutError:  # Escape did not reach it: its own default button, as a
        dialog.first.locator(".jp-mod-accept").click()  # person would ("Select" Python 3)
        dialog.first.wait_for(state="detached", timeout=30_000)
    return words


def wait_kernel_connected(page, timeout_s: float = LONG / 1e3) -> None:
    """Wait until the server has an idle kernel that this page is connected to (the server's own
    sessions API, read with the page's login), or a dialog asks something first: JupyterLab's
    toolbar says "idle" before its kernel has started, and a Run All clicked then was lost (30 s
    a retry, in fresh clones)."""
    origin = re.match(r"https?://[^/]+", page.url).group(0)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not page.locator(".jp-Dialog").count():
        response = page.request.get(f"{origin}/api/sessions")
        kernels = [s.get("kernel") or {} for s in (response.json() if response.ok else [])]
        if any(k.get("execution_state") == "idle" and k.get("connections", 0) > 0
               for k in kernels):
            return
        page.wait_for_timeout(250)  # polls the condition above
    if not page.locator(".jp-Dialog").count():
        raise AssertionError(f"no idle, connected kernel on {origin} after {timeout_s:.0f} s")


def run_all_cells(page) -> None:
    """Run → Run All Cells, as a person would, once the notebook's kernel is up and connected;
    again if it did not start, after closing any dialog that came in the way (its words are
    kept, see dismiss_dialog)."""
    started = ("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
               ".some((e) => /\\[(\\*|\\d+)\\]/.test(e.textContent))")
    wait_kernel_connected(page)
    dialogs = []
    for attempt in range(3):
        dialogs.append(dismiss_dialog(page, attempt))
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
        try:
            page.wait_for_function(started, timeout=30_000)
            return
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
    pytest.fail(f"Run → Run All Cells did not start the notebook's cells; dialogs: {dialogs}")
