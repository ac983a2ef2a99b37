"""Page request → first grid in Chromium, load after load, and what the range depends on.

(Image bytes → PNG of the grid inside the kernel, against the tutorial way, is
`bench_render.py`'s figure.)

Run: `make bench` (or `.venv/bin/python benchmarks/bench_first_grid.py [--runs N]`). Reports,
asserts nothing. Voilà runs as `make dashboard` runs it (tests/servers.py: voila.json, so
`preheat_kernel: true, default_pool_size: 1`: one kernel waits with the notebook already run).
Each mode gets a fresh server and N loads in sequence (default 5), each in a fresh browser
context, timed in the page: performance.now() when the first grid (the explorer's img.vggviz-grid
inside .vggviz-stem-explorer) has loaded, 0 being the page request.

  refilled      before each load, wait until Voilà has refilled its pool and the new pool
                kernel has run the notebook (server and kernels quiet): a ready preheated kernel;
  back-to-back  request the next page as soon as the previous one shows its grid: the pool
                kernel may not have started yet (Voilà refills after 1 s), or still be importing
                TensorFlow and building the stem;
  cold          preheating off (--VoilaConfiguration.preheat_kernel=False), the server quiet
                before each load: each request starts a kernel.

Per load: the time since the previous request, what the pool kernel had done by the request (its
CPU seconds so far against a ready one's), whether Voilà handed the page that pooled kernel (its
log), and the first-grid time. Then the range per mode.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_load import GRID_SHOWN, KERNEL_ID, RECORD_FIRST_GRID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # servers.py
from servers import (  # noqa: E402
    DASHBOARD,
    chromium_missing,
    cpu_seconds,
    kernel_pids,
    launch_chromium,
    voila,
    wait_pool_quiet,
)
from timing import parser, print_header, spread

LOADS = 5
POOL = Path(DASHBOARD).name  # the pool's name in Voilà's log
WAIT_MS = 10 * 60_000  # only a hung server takes this long; the figures say how long it took
QUIET_TIMEOUT_S = 10 * 60
MODES = ("refilled", "back-to-back", "cold")


@dataclass
class Load:
    mode: str
    index: int
    since_previous_s: float | None
    pool_kernel: str  # what the pool kernel had done when the page was requested
    pool_cpu_s: float | None
    pool_ready: bool | None  # it had run the notebook (None: no pool, or nothing to compare)
    preheated: bool  # Voilà handed this page the pooled kernel
    first_grid_s: float


def _pool_kernel(server_pid: int, taken: set[str]) -> tuple[str | None, float | None]:
    """The kernel waiting in the pool (none taken by a page yet) and its CPU seconds so far."""
    waiting = {kid: pid for kid, pid in kernel_pids(server_pid).items() if kid not in taken}
    if not waiting:
        return None, None
    kid, pid = next(iter(waiting.items()))
    return kid, cpu_seconds(pid, tree=False)


def _describe(cpu: float | None, ready_cpu: float | None) -> tuple[str, bool | None]:
    """Words for the pool kernel's state, and whether it was ready (None: cannot tell)."""
    if cpu is None:
        return "no pool kernel running yet", False
    if ready_cpu:
        share = cpu / ready_cpu
        ready = share >= 0.9
        return (f"{'ready' if ready else 'still warming up'}: {cpu:.1f} CPU s of a ready "
                f"one's {ready_cpu:.1f} ({share:.0%})"), ready
    return f"{cpu:.1f} CPU s used", None


def run_mode(browser, mode: str, loads: int, ready_cpu: float | None,
             report=print) -> tuple[list[Load], float | None]:
    """N loads on a fresh server in this mode. Returns the loads and a ready pool kernel's CPU
    seconds (measured in the refilled mode)."""
    extra = ("--VoilaConfiguration.preheat_kernel=False",) if mode == "cold" else ()
    log = Path(tempfile.gettempdir()) / f"bench_first_grid_{mode}_{os.getpid()}.log"
    done: list[Load] = []
    with voila(DASHBOARD, *extra, log=log) as (url, proc):
        report(f"\n== {mode} ({'preheat off' if extra else 'voila.json: preheated pool of 1'}); "
               f"Voilà log: {log}")
        fills = 0 if mode == "cold" else 1
        waited = wait_pool_quiet(proc, log, POOL, fills=fills, timeout=QUIET_TIMEOUT_S)
        report(f"server ready and quiet {waited:.1f} s after Voilà answered")
        taken: set[str] = set()
        previous: float | None = None
        for i in range(loads):
            if i and mode == "refilled":  # the pool's next kernel has run the notebook
                wait_pool_quiet(proc, log, POOL, fills=i + 1, timeout=QUIET_TIMEOUT_S)
            elif i and mode == "cold":  # the previous page's kernel is done: all quiet
                wait_pool_quiet(proc, log, POOL, fills=0, timeout=QUIET_TIMEOUT_S)
            pool_id, pool_cpu = _pool_kernel(proc.pid, taken) if fills else (None, None)
            if mode == "refilled" and pool_cpu is not None and ready_cpu is None:
                ready_cpu = pool_cpu
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(RECORD_FIRST_GRID)
            page = context.new_page()
            requested = time.monotonic()
            page.goto(url, wait_until="commit", timeout=WAIT_MS)
            page.wait_for_function(GRID_SHOWN, timeout=WAIT_MS, polling=100)
            first_grid_s = page.evaluate("window.__vggvizFirstGrid") / 1e3
            kernel_id = KERNEL_ID.search(page.content()).group(1)
            context.close()  # Voilà refuses the page's shutdown (voila#1458): the kernel stays
            taken.add(kernel_id)
            used = re.search(rf"Using pre-heated kernel: {kernel_id}",
                             log.read_text(errors="replace")) is not None
            state, ready = (("preheating off: the request starts a kernel", None) if not fills
                            else _describe(pool_cpu, ready_cpu))
            if fills and pool_id is not None and pool_id != kernel_id:
                state += f"; but the page got kernel {kernel_id[:8]}, not {pool_id[:8]}"
            load = Load(mode, i + 1, None if previous is None else requested - previous, state,
                        pool_cpu, ready, used, first_grid_s)
            previous = requested
            done.append(load)
            since = ("first load" if load.since_previous_s is None
                     else f"{load.since_previous_s:5.1f} s after the previous request")
            report(f"load {load.index}: first grid {first_grid_s:5.2f} s; {since}; pool kernel "
                   f"at the request: {state}; "
                   f"{'got the preheated kernel' if used else 'no preheated kernel'}")
    return done, ready_cpu


def main() -> None:
    p = parser(__doc__, LOADS, "page loads per mode, in sequence")
    p.add_argument("--modes", default=",".join(MODES),
                   help=f"comma-separated, of {', '.join(MODES)} (default: all)")
    args = p.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        p.error(f"unknown mode(s) {sorted(unknown)}; choose from {', '.join(MODES)}")
    print_header("bench_first_grid: page request → first grid in Chromium")
    reason = chromium_missing()
    if reason:
        sys.exit(reason)
    from playwright.sync_api import sync_playwright

    results: dict[str, list[Load]] = {}
    ready_cpu = None
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            for mode in modes:
                results[mode], ready_cpu = run_mode(browser, mode, args.runs, ready_cpu)
        finally:
            browser.close()

    print("\n== summary: page request → first grid loaded")
    for mode, loads in results.items():
        times = [load.first_grid_s for load in loads]
        print(f"{mode:>12}: {spread(times, 's', digits=2)}")
        warming = [load.first_grid_s for load in loads if load.pool_ready is False]
        if warming:
            print(f"{'':>12}  loads whose pool kernel was not ready at the request: "
                  f"{len(warming)} of {len(loads)}, first grid {spread(warming, 's', digits=2)}")
    print("What the range depends on: whether the pool kernel had finished running the notebook "
          "(starting, importing its libraries, drawing) before the request came. A load "
          "right after another gets a kernel that is still warming up, or none yet (Voilà "
          "refills 1 s after handing one out), and waits for the rest of that work, while the "
          "next refill kernel starts beside it on the same cores, so it can take longer than a "
          "cold start; with preheating off every load waits for all of that work.")
    if results.get("refilled"):
        median = statistics.median(load.first_grid_s for load in results["refilled"])
        print(f"(a ready preheated kernel: median {median:.2f} s)")


if __name__ == "__main__":
    main()
