"""Pages that lose their kernel say so in words, with the right reason, in a real Chromium.

The server's side of it is `vggviz.server.kernel_manager` (a kernel's automatic restarts in its REST
model), the page's is the kernel watch (`vggviz.ui.parts.kernel_watch`), whose banner carries its
reason in `data-reason`. Three ways a teacher meets it: a kernel that died before its page
connected and came back empty; a kernel killed while it works (its progress and Cancel must go
with it); and the Voilà server killed and started again on the same port under open pages.
Waits are on conditions; the bounds on the notices are what "within a few seconds" allows on a
busy 2-core machine, and the times taken are printed.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from browser import chromium_session
from servers import free_port, kernel_pids, voila

DASHBOARD = "notebooks/01_stem_explorer.ipynb"
KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')
GRID_SHOWN = """() => Array.from(document.querySelectorAll(".vggviz-stem-explorer img.vggviz-grid"))
    .some((img) => img.complete && img.naturalWidth > 300)"""
REASON = "(reason) => document.getElementById('vggviz-kernel-lost')?.dataset.reason === reason"
# ms: a page's first grid (a kernel starting on a busy machine); a notice once its cause is there.
LONG_MS = 180_000
SAY_WITHIN_MS = 20_000


def _cache(tmp_path: Path) -> dict[str, str]:
    """A pattern cache of the test's own, so patterns are worked out, never found done."""
    return {"VGGVIZ_CACHE": str(tmp_path / "cache")}


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium (skips or, under CI, fails if /usr/bin/chromium is missing)."""
    with chromium_session() as browser:
        yield browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Voilà serving the stem explorer as `make dashboard` does. Yields (base_url, process)."""
    where = tmp_path_factory.mktemp("voila")
    with voila(DASHBOARD, log=where / "voila.log", env=_cache(where)) as (url, proc):
        yield url, proc


def _fetched_page(url: str) -> tuple[str, str]:
    """A page fetched as a browser would, but not opened: its HTML and kernel id."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url, timeout=LONG_MS / 1e3) as response:
        html = response.read().decode("utf-8", "replace")
    return html, KERNEL_ID.search(html).group(1)


def _wait_restarted(server_pid: int, kernel_id: str, old_pid: int, timeout: float = 120) -> int:
    """The PID of the process the server restarted `kernel_id` in, once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = kernel_pids(server_pid).get(kernel_id)
        if pid is not None and pid != old_pid:
            return pid
        time.sleep(0.25)
    raise TimeoutError(f"the server did not restart kernel {kernel_id} in {timeout} s")


def _banner(page) -> str:
    return page.locator("#vggviz-kernel-lost").inner_text()


@pytest.mark.browser
def test_a_kernel_restarted_empty_before_its_page_connected_is_said_with_a_reload(chromium,
                                                                                   server):
    """The page's kernel is killed between the page's fetch and its first connection; the
    server restarts it under the same id, empty. The page connects to it and could only show
    "Loading widget…": it says instead that the kernel died before it could connect."""
    url, proc = server
    html, kernel_id = _fetched_page(url)
    old = kernel_pids(proc.pid)[kernel_id]
    os.kill(old, signal.SIGKILL)
    _wait_restarted(proc.pid, kernel_id, old)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.route(url, lambda route: route.fulfill(status=200, content_type="text/html",
                                                    body=html), times=1)
        page.goto(url, timeout=LONG_MS)
        page.wait_for_selector("#vggviz-kernel-lost", timeout=LONG_MS)
        banner = _banner(page)
        drawn = page.evaluate(GRID_SHOWN)
    finally:
        context.close()
    assert not drawn
    assert "before this page could connect" in banner and "empty one" in banner, banner
    assert "Reload the page" in banner


@pytest.mark.browser
def test_a_kernel_killed_mid_work_takes_its_progress_and_cancel_with_it(chromium, server):
    """Patterns of a page are being worked out (a progress row with Cancel) when the kernel is
    killed: the page says the kernel stopped, and the progress row and Cancel are gone."""
    url, proc = server
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(url, timeout=LONG_MS)
        page.wait_for_function(GRID_SHOWN, timeout=LONG_MS, polling=200)
        kernel_id = KERNEL_ID.search(page.content()).group(1)
        page.get_by_role("button", name="Patterns of this page").click()
        row = page.locator(".vggviz-pattern-progress")
        row.wait_for(state="visible", timeout=LONG_MS)
        cancel = page.get_by_role("button", name="Cancel")
        assert cancel.count() > 0 and row.is_visible()  # the control: work is under way
        os.kill(kernel_pids(proc.pid)[kernel_id], signal.SIGKILL)
        page.wait_for_selector("#vggviz-kernel-lost", timeout=SAY_WITHIN_MS)
        banner = _banner(page)
        row_shown = row.count() > 0 and row.first.is_visible()
        cancels_shown = [c.is_visible() for c in cancel.all()]
    finally:
        context.close()
    assert "kernel stopped" in banner and "Reload the page" in banner, banner
    assert not row_shown, "the progress of work the dead kernel was doing is still shown"
    assert not any(cancels_shown), "a Cancel for work the dead kernel was doing is still shown"


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(900)
def test_open_pages_say_the_server_stopped_then_that_it_was_restarted(chromium, tmp_path):
    """As a teacher did: 3 tabs open on the dashboard, the Voilà server killed (by PID) and
    started again on the same port. Every tab says, within seconds, that the server is not
    answering, then that it was restarted and lost the page's kernel; none says the kernel
    stopped before the page could connect."""
    port = free_port()
    contexts = [chromium.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3)]
    pages = [context.new_page() for context in contexts]
    said, seconds = {}, {}
    try:
        with voila(DASHBOARD, port=port, log=tmp_path / "first.log",
                   env=_cache(tmp_path)) as (url, proc):
            for page in pages:
                page.goto(url, timeout=LONG_MS)
            for page in pages:
                page.wait_for_function(GRID_SHOWN, timeout=LONG_MS, polling=200)
            orphans = list(kernel_pids(proc.pid).values())
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        try:
            start = time.monotonic()
            for page in pages:
                page.wait_for_function(REASON, arg="silent", timeout=SAY_WITHIN_MS, polling=200)
            seconds["stopped"] = time.monotonic() - start
            said["stopped"] = [_banner(page) for page in pages]
        finally:  # a killed server leaves its kernels running in sessions of their own
            for pid in orphans:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        with voila(DASHBOARD, pool=0, port=port, log=tmp_path / "second.log",
                   env=_cache(tmp_path)):
            start = time.monotonic()
            for page in pages:
                page.wait_for_function(REASON, arg="restarted", timeout=SAY_WITHIN_MS,
                                       polling=200)
            seconds["restarted"] = time.monotonic() - start
            said["restarted"] = [_banner(page) for page in pages]
    finally:
        for context in contexts:
            context.close()
    print(f"\nserver killed: all 3 tabs said so within {seconds['stopped']:.1f} s; started "
          f"again: all said it was restarted within {seconds['restarted']:.1f} s of its port "
          f"opening (recorded, not asserted)")
    for words in said["stopped"]:
        assert "server is not answering" in words and "Reload the page" in words, words
    for words in said["restarted"]:
        assert "server was restarted" in words and "kernel was lost" in words, words
        assert "Reload the page" in words and "before this page could connect" not in words
