"""The arithmetic layer alone: a fresh Python importing vggviz and counting every variant, stem
and input size (224 and 512) with `summarize_all`, as the VGG family dashboard and the CLI do.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_plan.py [--runs N]`). Reports, asserts
no timing (tests/test_architecture.py checks that this loads no TensorFlow, Keras or numpy).
Each run is a new interpreter, so the figure includes importing the package.
"""

from __future__ import annotations

import subprocess
import sys
import time

from timing import parser, print_header, spread

COUNT_ALL = ("import vggviz; from vggviz.plan.accounting import summarize_all; "
             "[summarize_all(stem=s, input_shape=(n, n, 3)) "
             "for s in vggviz.STEMS for n in (224, 512)]")
BARE = "pass"


def wall_ms(code: str) -> float:
    """Milliseconds for a fresh interpreter to run `code` and exit."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return (time.perf_counter() - t) * 1e3


def main() -> None:
    args = parser(__doc__, runs=10).parse_args()
    print_header("bench_plan: every variant counted, from a fresh interpreter")
    bare = [wall_ms(BARE) for _ in range(args.runs)]
    counted = [wall_ms(COUNT_ALL) for _ in range(args.runs)]
    print(f"python -c pass:                        {spread(bare)}")
    print(f"import vggviz + summarize_all × 6:     {spread(counted)}")


if __name__ == "__main__":
    main()
