"""Curves of a comparison of stems by training: held-out accuracy against training steps and
against wall seconds, one line per stem (matplotlib, no pyplot, no TensorFlow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from vggviz.plan.stem_race import elapsed
from vggviz.render.charts import STEM_COLORS


def race_curves(manifests: Sequence[Mapping]) -> Figure:
    """Two panels: each run's held-out accuracy after every epoch against the steps trained so
    far (equal epochs) and against the wall seconds so far (equal time), one line per stem."""
    fig = Figure(figsize=(8.4, 3.4))
    by_steps, by_seconds = fig.subplots(1, 2, sharey=True)
    for m in manifests:
        stem = m["settings"]["stem"]
        accuracy = [float(e["val_accuracy"]) for e in m["epochs"]]
        steps, total = [], 0
        for e in m["epochs"]:
            total += int(e["steps"])
            steps.append(total)
        style = {"color": STEM_COLORS.get(stem), "marker": "o", "markersize": 3,
                 "label": f"{stem} stem"}
        by_steps.plot(steps, accuracy, **style)
        by_seconds.plot(elapsed(m["epochs"]), accuracy, **style)
    by_steps.set(xlabel="training steps", ylabel="held-out accuracy", ylim=(0, 1),
                 title="at equal steps")
    by_seconds.set(xlabel="wall seconds", title="at equal time")
    for axes in (by_steps, by_seconds):
        axes.grid(color="#e6e6e6")
    by_steps.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return fig
