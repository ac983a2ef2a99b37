"""Helpers for the real-browser tests: Chromium, page watching, timings and screenshots."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from servers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
LONG = 90_000  # ms: a kernel that imports TensorFlow on a busy 2-core machine

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
  const before = img.previousElementSibling;
  window.__vggviz.loads.push({
    t: performance.now(), src: img.src, width: img.naturalWidth,
    grid: !!before && before.textContent.includes("Feature maps"),
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
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: apt-get install chromium (the browser tests need it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class PageWatch:
    """Collects a page's uncaught exceptions and console errors, less the known harmless ones."""

    def __init__(self, page, name: str):
        self.name, self.problems = name, []
        page.on("pageerror", lambda exc: self.problems.append(f"{name}: page error: {exc}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        text = f"{message.text} {message.location.get('url', '')}"
        if not any(pattern.search(text) for pattern in HARMLESS):
            self.problems.append(f"{self.name}: console error: {text}")


class Timings:
    """Measured figures, printed as they come and kept in test-artifacts/browser_timings.txt."""

    def __init__(self, path: Path):
        self.path, self.figures = path, {}

    def record(self, name: str, seconds: float, target: float | None = None) -> None:
        note = "" if target is None else f" (target ≤ {target:g} s)"
        self.figures[name] = f"{seconds:6.2f} s{note}"
        print(f"\n[browser timing] {name}: {seconds:.2f} s{note}", flush=True)
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


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def _cpu_seconds(root: int) -> float:
    """CPU time used so far by `root` and every process below it."""
    tree, todo, total = _children(), [root], 0.0
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_until_quiet(proc: subprocess.Popen, log: Path, notebook: str, fills: int = 1,
                     window: float = 2.0, timeout: float = 180) -> float:
    """Wait until Voilà has filled the kernel pool of `notebook` `fills` times and its kernels
    have finished executing (the server and its kernels use under 5 % of a core); return the
    seconds waited.
    """
    start = deadline = time.monotonic()
    deadline += timeout
    filled = f"Kernel pool of {notebook} is filled"
    while log.read_text(errors="replace").count(filled) < fills:
        if time.monotonic() > deadline:
            raise TimeoutError(f"Voilà did not fill the kernel pool of {notebook}")
        time.sleep(0.25)
    before = _cpu_seconds(proc.pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = _cpu_seconds(proc.pid)
        if now - before < 0.05 * window:
            return time.monotonic() - start
        before = now
    raise TimeoutError(f"Voilà's kernels were still busy after {timeout} s")
