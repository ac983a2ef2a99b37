"""Shared by the benchmarks: the median wall time of a call over several inputs."""

import statistics
import time
from collections.abc import Callable, Iterable


def median_ms(fn: Callable, items: Iterable) -> float:
    """Median milliseconds of `fn(item)` over `items` (each call timed on its own)."""
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3
