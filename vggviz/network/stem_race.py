"""Stems compared by training: each stem trained on the same data, seed, image order and budget,
each in a fresh Python process (so one stem's peak memory is not hidden in the allocations the
previous one left), kept as runs that carry one comparison id.

The settings differ only in the stem; the data, the weights' seed and the shuffle seed are the
settings' own, so every stem sees the same images in the same order (each run keeps a digest of
its batches' image indices: `batch_order_sha256`). The table and the curves are read from the runs
(`vggviz.plan.stem_race`, `vggviz.render.stem_race`), without TensorFlow.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from vggviz.network.measure import _worker_env, worker_failed
from vggviz.plan.training import TrainSettings
from vggviz.sources.runs import Run, cannot_keep, read_run


def comparison_id(settings: TrainSettings, stems: Sequence[str]) -> str:
    """A new comparison's id: when, and which stems at what size on what data."""
    when = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{when}_{'-vs-'.join(stems)}_{settings.size}px_{settings.data}"


def race(settings: TrainSettings, stems: Sequence[str], *,
         progress: Callable[[int, int, str], None] | None = None,
         cancel: threading.Event | None = None, where: dict | None = None) -> list[Run]:
    """Train `settings` once per stem of `stems`, each in a fresh process, and return the runs
    (one comparison id). `progress(done, total, what)` hears of every step; `cancel` stops the
    stem in training (what it did is kept) and trains no further stem; `where`, the device and
    precision every stem trains in (each worker's own `hardware()` when None)."""
    stems = list(dict.fromkeys(stems))
    if len(stems) < 2:
        raise ValueError(f"a comparison needs two stems or more, got {', '.join(stems) or 'none'}")
    checked = [replace(settings, stem=stem).check() for stem in stems]  # all refused up front
    problem = cannot_keep()
    if problem:
        raise PermissionError(problem)
    ident = comparison_id(settings, stems)
    per_stem = checked[0].epochs * checked[0].steps_per_epoch
    runs = []
    for index, stem_settings in enumerate(checked):
        if cancel is not None and cancel.is_set():
            break

        def told(done: int, note: str, index: int = index, stem: str = stem_settings.stem) -> None:
            if progress is not None:
                progress(index * per_stem + done, per_stem * len(checked),
                         f"{stem} stem {note}".strip())

        runs.append(_train_in_fresh_process(stem_settings, ident, told, cancel, where))
    return runs


def _train_in_fresh_process(settings: TrainSettings, ident: str,
                            told: Callable[[int, str], None],
                            cancel: threading.Event | None, where: dict | None) -> Run:
    """Run the worker for one stem; its run, read back from the cache."""
    request = json.dumps({"settings": settings.to_dict(), "comparison": ident, "where": where})
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen([sys.executable, "-m", "vggviz.network.stem_race", request],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                   text=True, env=_worker_env())
        path = None
        try:
            for line in process.stdout:
                if cancel is not None and cancel.is_set() and process.stdin and \
                        not process.stdin.closed:
                    process.stdin.write("cancel\n")  # the worker stops after its step
                    process.stdin.close()
                message = json.loads(line)
                if "run" in message:
                    path = message["run"]
                else:
                    told(message["done"], message["note"])
        finally:
            process.stdout.close()
            process.wait()
        if path is None or process.returncode:
            raise worker_failed(process, errors, f"training the {settings.stem} stem")
    return read_run(path)


def _work(request: dict) -> str:
    """In a fresh process: train one stem as asked, kept with the comparison id; its folder."""
    from vggviz.network.training import train

    fields = request["settings"] | {"widths": tuple(request["settings"]["widths"])}
    cancel = threading.Event()

    def listen() -> None:  # a line on stdin (or its end) from the parent cancels
        if sys.stdin.readline():
            cancel.set()

    threading.Thread(target=listen, daemon=True).start()
    last = [-1]

    def progress(done: int, total: int, note: str) -> None:
        if done != last[0]:
            last[0] = done
            print(json.dumps({"done": done, "note": note}), flush=True)

    trained = train(TrainSettings(**fields), cancel=cancel, progress=progress,
                    comparison=request["comparison"], where=request.get("where"))
    return str(trained.run.path)


if __name__ == "__main__":
    print(json.dumps({"run": _work(json.loads(sys.argv[1]))}), flush=True)
