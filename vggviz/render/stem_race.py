"""Curves of a comparison of stems by training: held-out accuracy against training steps and
against wall seconds, one line per stem (matplotlib, no pyplot, no TensorFlow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from vggviz.plan.stem_race import elapsed
from vggviz.render.charts import STEM_COLORS, TEXT_PT


def race_curves(manifests: Sequence[Mapping]) -> Figure:
    """Two panels: each run's held-out accuracy after every epoch against the steps trained so
    far (equal epochs) and against the wall seconds so far (equal time), one line per stem."""
    fig = Figure(figsize=(8.4, 3.6), layout="constrained")
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
    by_steps.set_ylim(0, 1)
    by_steps.set_ylabel("held-out accuracy", fontsize=TEXT_PT)
    for axes, x, title in ((by_steps, "training steps", "at equal steps"),
                           (by_seconds, "wall seconds", "at equal time")):
        axes.set_xlabel(x, fontsize=TEXT_PT)
        axes.set_title(title, fontsize=12)
        axes.tick_params(labelsize=TEXT_PT)
        axes.grid(color="#e6e6e6")
    by_steps.legend(loc="upper left", frameon=False, fontsize=TEXT_PT)
    return fig
