"""The table of a comparison of stems by training, from its runs' manifests (plain data, no
TensorFlow): what each stem hands the learner, held-out accuracy at equal epochs and at equal
wall time, time per epoch, peak memory and accuracy reached per minute."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vggviz.plan.training import TrainSettings


@dataclass(frozen=True)
class StemRow:
    """One stem's figures in a comparison."""

    stem: str
    values_in: int          # values per image entering the learner (the stem's output, H'×W'×64)
    best: float             # best held-out accuracy over the epochs
    final: float            # held-out accuracy after the last epoch (equal epochs)
    at_equal_time: float    # best held-out accuracy reached within the shortest stem's time
    epoch_seconds: float    # median wall time of an epoch (training and held-out evaluation)
    peak_mb: float          # peak memory during training, see `peak_source`
    peak_source: str        # "allocator" or "rss", as `measure-stems` says
    per_minute: float       # best held-out accuracy over the minutes taken to reach it
    same_order: bool        # saw the same images in the same order as the first stem


@dataclass(frozen=True)
class RaceTable:
    """A comparison's rows, the wall time at which 'equal time' is read, and what it was
    measured on, in words."""

    comparison: str
    rows: tuple[StemRow, ...]
    equal_seconds: float
    measured_on: str
    memory: str


def elapsed(epochs: Sequence[Mapping]) -> list[float]:
    """Wall seconds from the start of training to the end of each epoch."""
    total, out = 0.0, []
    for epoch in epochs:
        total += float(epoch["seconds"])
        out.append(total)
    return out


def measured_on(manifest: Mapping) -> str:
    """The data and budget a run was trained on, in words."""
    s = manifest["settings"]
    widths = ",".join(str(w) for w in s["widths"])
    return (f"{s['data']} data ({s['train_images']} training, {s['test_images']} held-out "
            f"images of {len(manifest['class_names'])} classes) at {s['size']}×{s['size']} px; "
            f"{s['variant']} with learner widths {widths}; {s['epochs']} epoch"
            f"{'' if s['epochs'] == 1 else 's'} of batch "
            f"{s['batch']}, {optimiser_words(s)}, seed {s['seed']}"
            + (f"; {manifest['precision']} on {manifest['device']}"
               if "precision" in manifest else ""))


def optimiser_words(settings: Mapping) -> str:
    """A run's optimiser in words, from its manifest's settings (runs kept before schedules and
    clipping were settings trained with neither)."""
    fields = {k: v for k, v in settings.items() if k in TrainSettings.__dataclass_fields__}
    return TrainSettings(**({"clip_norm": 0.0} | fields)).optimiser_words


def race_table(manifests: Sequence[Mapping], values_in: Sequence[int]) -> RaceTable:
    """The table of one comparison's runs (`manifests`, first stem first), `values_in` being
    each stem's values per image entering the learner; a ValueError when the runs do not make
    a fair comparison (other settings than the stem, or no finished epoch)."""
    if len(manifests) < 2:
        raise ValueError("a comparison needs two runs or more")
    first = manifests[0]
    for m in manifests[1:]:
        differ = sorted(k for k in set(first["settings"]) | set(m["settings"])
                        if k != "stem" and first["settings"].get(k) != m["settings"].get(k))
        differ += [k for k in ("precision",) if m.get(k) != first.get(k)]
        if differ:
            raise ValueError(f"the {m['settings']['stem']} stem's run differs from the "
                             f"{first['settings']['stem']} stem's in {', '.join(differ)}")
    for m in manifests:
        if not m["epochs"]:
            raise ValueError(f"the {m['settings']['stem']} stem's run has no finished epoch")
    equal = min(elapsed(m["epochs"])[-1] for m in manifests)
    rows = []
    for m, values in zip(manifests, values_in, strict=True):
        epochs, times = m["epochs"], elapsed(m["epochs"])
        accuracies = [float(e["val_accuracy"]) for e in epochs]
        best_at = max(range(len(accuracies)), key=accuracies.__getitem__)
        within = [a for a, t in zip(accuracies, times, strict=True) if t <= equal + 1e-9]
        rows.append(StemRow(
            stem=m["settings"]["stem"], values_in=int(values), best=accuracies[best_at],
            final=accuracies[-1], at_equal_time=max(within) if within else float("nan"),
            epoch_seconds=statistics.median(float(e["seconds"]) for e in epochs),
            peak_mb=float(m["peak_memory"]["mb"]), peak_source=m["peak_memory"]["source"],
            per_minute=accuracies[best_at] / (times[best_at] / 60),
            same_order=m.get("batch_order_sha256") == first.get("batch_order_sha256")))
    memory = "; ".join(dict.fromkeys(m["peak_memory"]["says"] for m in manifests))
    return RaceTable(first.get("comparison", ""), tuple(rows), equal, measured_on(first), memory)


HEADERS = ("stem", "values in/image", "best acc", "final acc (equal epochs)",
           "acc at equal time", "s/epoch", "peak MB", "acc/min", "same images, order")


def table_cells(table: RaceTable) -> list[list[str]]:
    """The table's rows as text, in the order of `HEADERS`."""
    return [[r.stem, f"{r.values_in:,}", f"{r.best:.1%}", f"{r.final:.1%}",
             "no epoch by then" if math.isnan(r.at_equal_time) else f"{r.at_equal_time:.1%}",
             f"{r.epoch_seconds:.1f}",
             f"{r.peak_mb:,.0f} ({'RSS' if r.peak_source == 'rss' else 'allocator'})",
             f"{r.per_minute:.1%}", "yes" if r.same_order else "NO"] for r in table.rows]


def format_table(table: RaceTable) -> str:
    """The table as fixed-width text, with what and how it was measured."""
    cells = [list(HEADERS), *table_cells(table)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([
        f"comparison {table.comparison}: {table.measured_on}", *lines,
        f"equal time = {table.equal_seconds:.0f} s, the shortest stem's whole training; "
        f"acc/min = best held-out accuracy over the minutes taken to reach it; accuracy is "
        f"on held-out images",
        f"peak memory: {table.memory}"])
