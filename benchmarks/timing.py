"""Shared by the benchmarks (and only by them): timing calls, summarising runs, the header.

Every figure is reported as the median with the min–max over the runs; the benchmarks report,
they never assert a timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path


def times_ms(fn: Callable, items: Iterable) -> list[float]:
    """Milliseconds of `fn(item)` for each item (each call timed on its own)."""
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1e3)
    return times


def median_ms(fn: Callable, items: Iterable) -> float:
    """Median milliseconds of `fn(item)` over `items`."""
    return statistics.median(times_ms(fn, items))


def spread(values: Sequence[float], unit: str = "ms", digits: int = 1) -> str:
    """'median 12.3 ms (min–max 11.0–14.2 over 30 runs)'."""
    if not values:
        return "no runs"
    f = f"{{:.{digits}f}}"
    return (f"median {f.format(statistics.median(values))} {unit} (min–max "
            f"{f.format(min(values))}–{f.format(max(values))} over {len(values)} "
            f"run{'' if len(values) == 1 else 's'})")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """Cores this process may use, CPU model, memory, load average, Python."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        memory = "RAM unknown"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{usable} usable cores of {os.cpu_count()} ({_cpu_model()}), {memory}, "
            f"load average {load}; Python {platform.python_version()} on {platform.system()}")


def print_header(title: str) -> None:
    """The command that ran and the machine it ran on, before any figure."""
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    print(f"# {title}")
    print(f"# command: {command}")
    print(f"# machine: {machine()}")
    print("# figures: median (min–max) over the runs; reported, never asserted", flush=True)


def parser(doc: str | None, runs: int, help_runs: str = "timed runs per figure"
           ) -> argparse.ArgumentParser:
    """An argument parser with --runs N."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=runs, metavar="N",
                   help=f"{help_runs} (default {runs})")
    return p
