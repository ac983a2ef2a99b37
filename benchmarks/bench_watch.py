"""What the "Watch it learn" dashboard costs to draw one recorded snapshot (target ≤ 50 ms).

A run of the default run's shape (32 snapshots of the stem's 64 3×3 kernels and of the probe's
64 stem maps at 32×32, 12 epochs) is written into a fresh cache with `sources.runs.write_run`
(random numbers: drawing does not depend on the values), then the dashboard opens it. Reported:
  * a slider move: the whole redraw of a snapshot (kernels now and at the start, the probe's
    64 maps, their words), as the page asks for it and as training draws each snapshot live;
  * opening a run from the list: read and checked, the curves chart drawn, the last snapshot.
Run: `.venv/bin/python benchmarks/bench_watch.py [--runs N]`. Reports, asserts nothing; figures
are the median and min–max over the runs.
"""

import os
import tempfile
import time

import numpy as np
from timing import parser, print_header, spread

RUNS = 5
SNAPSHOTS = 32


def _run_arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    steps = np.unique(np.round(np.geomspace(1, 1128, SNAPSHOTS - 1)).astype(np.int64))
    steps = np.concatenate([[0], steps])
    k = len(steps)
    return {"steps": steps,
            "kernels": rng.normal(size=(k, 3, 3, 3, 64)).astype(np.float32),
            "biases": rng.normal(size=(k, 64)).astype(np.float32),
            "probe_maps": rng.uniform(0, 4, size=(k, 32, 32, 64)).astype(np.float16),
            "probe_image": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
            "step_seconds": rng.uniform(0.05, 0.1, 1128).astype(np.float32)}


def main() -> None:
    args = parser(__doc__, RUNS).parse_args()
    os.environ["VGGVIZ_CACHE"] = tempfile.mkdtemp(prefix="bench-watch-")
    from vggviz.plan.training import TrainSettings
    from vggviz.sources.runs import write_run
    from vggviz.ui.dashboards.watch_it_learn import WatchItLearn

    rng = np.random.default_rng(0)
    epochs = [{"epoch": e, "loss": 2 / e, "val_loss": 2.1 / e, "accuracy": 1 - 0.7 / e,
               "val_accuracy": 1 - 0.75 / e} for e in range(1, 13)]
    run = write_run({"settings": TrainSettings().to_dict(), "class_names": list("abcdefghij"),
                     "epochs": epochs, "status": "finished",
                     "probe": {"set": "held-out", "index": 0, "label": 3}},
                    _run_arrays(rng), lambda path: path.write_bytes(b"weights"))
    print_header("bench_watch: drawing a recorded snapshot in the Watch it learn dashboard")
    app = WatchItLearn()
    moves, opens = [], []
    for _ in range(args.runs):
        for index in range(len(run)):
            t = time.perf_counter()
            app.slider.value = index
            moves.append((time.perf_counter() - t) * 1e3)
        t = time.perf_counter()
        app.list_runs(choose=run)
        app.runs.value = None
        app.runs.value = str(run.path)
        opens.append((time.perf_counter() - t) * 1e3)
    print(f"  a slider move (one snapshot redrawn, {len(run)} snapshots × {args.runs}): "
          f"{spread(moves)}")
    print(f"  opening a run (read and checked, curves drawn, last snapshot): {spread(opens)}")


if __name__ == "__main__":
    main()
