"""Load figures: 8 stem-explorer sessions at once against one Voilà server on 127.0.0.1.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_load.py [--sessions N] [--runs R]`).
Reports, asserts nothing. Voilà is started as `make dashboard` starts it (tests/servers.py:
voila.json on 127.0.0.1), each run on a fresh server whose preheated kernel is ready, as a
teacher's server is when the class arrives. Figures: time from page request to the first
feature-map grid in each page (measured in the page), RSS and USS per kernel process and in
total, and how long after the tabs close their kernels are gone. (tests/test_serving.py checks
the same behaviour; it times nothing.)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # servers.py
from servers import (  # noqa: E402
    CHROMIUM,
    DASHBOARD,
    chromium_missing,
    kernel_pids,
    launch_chromium,
    voila,
    wait_kernels_gone,
    wait_pool_quiet,
)
from timing import print_header, spread

SESSIONS, RUNS = 8, 3
# Only a hung server makes a benchmark wait this long; the figures say how long it took.
GRIDS_TIMEOUT_S, GONE_TIMEOUT_S = 15 * 60, 5 * 60
MB = 2**20

# Records in the page, against the page's own clock (0 = the navigation started), when the
# first feature-map grid (the stem explorer's img.vggviz-grid) has loaded.
RECORD_FIRST_GRID = """
(() => {
  const isGrid = (img) => img instanceof HTMLImageElement && img.complete &&
    img.naturalWidth > 0 && img.classList.contains("vggviz-grid");
  document.addEventListener("load", (event) => {
    if (window.__vggvizFirstGrid === undefined && isGrid(event.target)) {
      window.__vggvizFirstGrid = performance.now();
    }
  }, true);
})();
"""
# Polled by Playwright: true once a grid is shown (records the time if the listener missed it).
GRID_SHOWN = """() => {
  if (window.__vggvizFirstGrid === undefined) {
    const imgs = document.querySelectorAll(".vggviz-stem-explorer img.vggviz-grid");
    if (Array.from(imgs).some((i) => i.complete && i.naturalWidth > 0)) {
      window.__vggvizFirstGrid = performance.now();
    }
  }
  return window.__vggvizFirstGrid !== undefined;
}"""
KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


@dataclass
class Session:
    context: object
    page: object
    kernel_id: str = ""
    first_grid_s: float = float("nan")


@dataclass
class Figures:
    first_grid_s: list[float] = field(default_factory=list)
    all_ready_s: float = 0.0
    session_rss_mb: dict[str, float] = field(default_factory=dict)
    session_uss_mb: dict[str, float] = field(default_factory=dict)
    other_rss_mb: dict[str, float] = field(default_factory=dict)
    kernels_total_rss_mb: float = 0.0
    kernels_total_uss_mb: float = 0.0
    server_rss_mb: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    gone_after_s: float | None = None
    left_after_closing: dict[str, float] = field(default_factory=dict)
    total_rss_after_closing_mb: float = 0.0


def kernel_processes(server: psutil.Process | int) -> dict[str, psutil.Process]:
    """The server's kernel processes by kernel id (from their connection file's name)."""
    pid = server.pid if isinstance(server, psutil.Process) else server
    found = {}
    for kernel_id, kernel_pid in kernel_pids(pid).items():
        try:
            found[kernel_id] = psutil.Process(kernel_pid)
        except psutil.NoSuchProcess:
            continue
    return found


def memory_mb(process: psutil.Process, unique: bool = False) -> float:
    """RSS (or USS: the memory only this process holds) in MiB; 0 if it has gone."""
    try:
        info = process.memory_full_info() if unique else process.memory_info()
        return (info.uss if unique else info.rss) / MB
    except psutil.Error:
        return 0.0


def cpu_by_role(server_pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by every process that serves or shows the dashboards, by PID:
    the Voilà server itself, its kernels, and Chromium (whose pages run on this machine too)."""
    kernels = set(kernel_pids(server_pid).values())
    found = {}
    for process in psutil.process_iter(["pid", "cmdline", "cpu_times"]):
        times, args = process.info["cpu_times"], process.info["cmdline"] or [""]
        if times is None:
            continue
        if process.pid == server_pid:
            role = "Voilà server"
        elif process.pid in kernels:
            role = "kernels"
        elif Path(args[0]).name == CHROMIUM.name:  # the browser and its helper processes
            role = "Chromium"
        else:
            continue
        found[process.pid] = (role, times.user + times.system)
    return found


def cpu_spent(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
              ) -> dict[str, float]:
    """CPU seconds per role between two `cpu_by_role` snapshots (processes alive at the end)."""
    spent: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        spent[role] = spent.get(role, 0.0) + seconds - before.get(pid, (role, 0.0))[1]
    return spent


def open_sessions(browser, url: str, n: int, timeout_s: float = GRIDS_TIMEOUT_S
                  ) -> tuple[list[Session], float]:
    """Start n sessions at once (one browser context each) and wait for every first grid.

    Returns the sessions and the wall time until all grids were shown."""
    sessions = []
    for _ in range(n):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.add_init_script(RECORD_FIRST_GRID)
        sessions.append(Session(context, page))
    start = time.monotonic()
    for session in sessions:  # navigate all without waiting: the requests overlap
        session.page.evaluate("(url) => { setTimeout(() => { location.href = url; }, 0); }", url)
    for session in sessions:
        left_ms = max(1_000, (timeout_s - (time.monotonic() - start)) * 1e3)
        session.page.wait_for_function(GRID_SHOWN, timeout=left_ms, polling=100)
        session.first_grid_s = session.page.evaluate("window.__vggvizFirstGrid") / 1e3
        session.kernel_id = KERNEL_ID.search(session.page.content()).group(1)
    return sessions, time.monotonic() - start


def close_sessions(sessions: list[Session]) -> None:
    """Close the pages as a person closes tabs (Voilà's unload handler asks for a shutdown)."""
    for session in sessions:
        session.page.close(run_before_unload=True)


def refused_shutdowns(log: Path) -> int:
    """How often Voilà refused the shutdown a closing page asked for (voila#1458: no _xsrf)."""
    return log.read_text(errors="replace").count("403 POST /voila/api/shutdown")


def run(browser, url: str, server_pid: int, sessions: int = SESSIONS,
        gone_timeout_s: float = GONE_TIMEOUT_S, report=print) -> Figures:
    """Open `sessions` dashboards at once, measure, close them, wait for their kernels to go."""
    server = psutil.Process(server_pid)
    figures = Figures()
    before = cpu_by_role(server_pid)
    opened, figures.all_ready_s = open_sessions(browser, url, sessions)
    figures.cpu_s = cpu_spent(before, cpu_by_role(server_pid))
    figures.first_grid_s = [s.first_grid_s for s in opened]
    ids = {s.kernel_id for s in opened}
    kernels = kernel_processes(server)
    for kid, process in kernels.items():
        if kid in ids:
            figures.session_rss_mb[kid] = memory_mb(process)
            figures.session_uss_mb[kid] = memory_mb(process, unique=True)
        else:  # Voilà's preheated pool kernel, or one started by a page request of no browser
            figures.other_rss_mb[kid] = memory_mb(process)
    figures.kernels_total_rss_mb = sum(figures.session_rss_mb.values()) + sum(
        figures.other_rss_mb.values())
    figures.kernels_total_uss_mb = sum(memory_mb(p, unique=True) for p in kernels.values())
    figures.server_rss_mb = memory_mb(server)
    report_open(figures, sessions, report)

    close_sessions(opened)
    figures.gone_after_s = wait_kernels_gone(server_pid, ids, gone_timeout_s, poll=1.0)
    for session in opened:
        session.context.close()
    left = kernel_processes(server)
    figures.left_after_closing = {kid: memory_mb(p) for kid, p in left.items()}
    figures.total_rss_after_closing_mb = sum(figures.left_after_closing.values())
    report_closing(figures, gone_timeout_s, report)
    return figures


def report_open(f: Figures, sessions: int, report=print) -> None:
    grids = sorted(f.first_grid_s)
    report(f"{sessions} sessions at once: time from page request to first grid: "
           f"{spread(grids, 's')} "
           f"(each: {', '.join(f'{t:.1f}' for t in f.first_grid_s)} s); "
           f"all shown after {f.all_ready_s:.1f} s")
    report("CPU seconds until then: " + ", ".join(
        f"{role} {seconds:.1f} s ({seconds / sessions:.2f} s a session)"
        for role, seconds in sorted(f.cpu_s.items())))
    rss = list(f.session_rss_mb.values())
    report(f"session kernels: RSS per kernel median {statistics.median(rss):.0f} MB, "
           f"max {max(rss):.0f} MB (target <= 600 MB); USS per kernel median "
           f"{statistics.median(f.session_uss_mb.values()):.0f} MB")
    for kid in f.session_rss_mb:
        report(f"  kernel {kid[:8]}: RSS {f.session_rss_mb[kid]:.0f} MB, "
               f"USS {f.session_uss_mb[kid]:.0f} MB")
    for kid, mb in f.other_rss_mb.items():
        report(f"  other kernel {kid[:8]} (preheated pool or probe): RSS {mb:.0f} MB")
    report(f"all {len(f.session_rss_mb) + len(f.other_rss_mb)} kernels: RSS total "
           f"{f.kernels_total_rss_mb:.0f} MB, USS total {f.kernels_total_uss_mb:.0f} MB; "
           f"Voilà server RSS {f.server_rss_mb:.0f} MB")


def report_closing(f: Figures, timeout_s: float, report=print) -> None:
    if f.gone_after_s is None:
        report(f"after closing the tabs: session kernels NOT all gone within {timeout_s:.0f} s")
    else:
        report(f"after closing the tabs: session kernels gone within {f.gone_after_s:.1f} s")
    report(f"left: {len(f.left_after_closing)} kernel(s), RSS total "
           f"{f.total_rss_after_closing_mb:.0f} MB (was {f.kernels_total_rss_mb:.0f} MB)")


def summarize_runs(runs: list[Figures], report=print) -> None:
    """Median and max first grid per run, and their range over the runs."""
    medians = [statistics.median(f.first_grid_s) for f in runs]
    maxima = [max(f.first_grid_s) for f in runs]
    rss = [mb for f in runs for mb in f.session_rss_mb.values()]
    uss = [mb for f in runs for mb in f.session_uss_mb.values()]
    gone = [f.gone_after_s for f in runs if f.gone_after_s is not None]
    for role in sorted({role for f in runs for role in f.cpu_s}):
        per_session = [f.cpu_s.get(role, 0.0) / len(f.first_grid_s) for f in runs]
        report(f"CPU seconds a session, {role}: {spread(per_session, 's', digits=2)}")
    report(f"over {len(runs)} runs: each run's median first grid: {spread(medians, 's')}; "
           f"each run's slowest: {spread(maxima, 's')}")
    report(f"session kernel RSS {min(rss):.0f}–{max(rss):.0f} MB, "
           f"USS {min(uss):.0f}–{max(uss):.0f} MB")
    if gone:
        report(f"closed tabs' kernels all gone after: {spread(gone, 's')}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=SESSIONS, metavar="N",
                   help=f"dashboards opened at once (default {SESSIONS})")
    p.add_argument("--runs", type=int, default=RUNS, metavar="R",
                   help=f"runs, each on a fresh server (default {RUNS})")
    p.add_argument("--pool", type=int, default=None, metavar="K",
                   help="preheated kernels (as `make dashboard POOL=K`; default voila.json's 1)")
    p.add_argument("sessions_positional", nargs="?", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    sessions = args.sessions_positional or args.sessions
    print_header(f"bench_load: {sessions} stem-explorer sessions at once on one Voilà, "
                 f"{args.runs} run(s), preheated pool {args.pool or 'as voila.json'}")
    reason = chromium_missing()
    if reason:
        sys.exit(reason)
    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            for number in range(1, args.runs + 1):
                log = Path(tempfile.gettempdir()) / f"bench_load_voila_{os.getpid()}_{number}.log"
                print(f"-- run {number} (Voilà log: {log})")
                with voila(DASHBOARD, pool=args.pool or 1, log=log) as (url, proc):
                    # The class arrives at a server that is up: its preheated kernel idle.
                    waited = wait_pool_quiet(proc, log, Path(DASHBOARD).name,
                                             timeout=GRIDS_TIMEOUT_S)  # the whole pool
                    print(f"preheated pool kernel ready {waited:.0f} s after Voilà answered")
                    runs.append(run(browser, url, proc.pid, sessions))
                    print(f"shutdown requests of closing tabs refused by Voilà (403, "
                          f"voila#1458): {refused_shutdowns(log)}")
        finally:
            browser.close()
    summarize_runs(runs)


if __name__ == "__main__":
    main()
