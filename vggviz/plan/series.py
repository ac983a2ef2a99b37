"""The numbers each cost chart draws and the table beside it reads, counted once from the plan.

A series is plain data: labels, values (counts as the plan counts them: parameters, bytes,
multiply-accumulates), their units and the words that say what they are. The chart
(`vggviz.render.charts`) and its table (`vggviz.ui.panels.chart_tables`) both take the same series,
so a picture and its numbers cannot drift apart. Each builder checks what it is given, so a
mistake reads as one `ValueError` whichever of the two is drawn first. No matplotlib, no
TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral

from vggviz.plan.accounting import Summary, summarize
from vggviz.plan.architecture import COMPONENTS, STEMS, VARIANTS, get_stem, get_variant
from vggviz.plan.formatting import MB

__all__ = ["METRICS", "Curve", "Curves", "Metric", "Stack", "StemPanels", "by_variant",
           "head_sizes", "input_sizes", "stems"]


@dataclass(frozen=True)
class Metric:
    """What a by-variant chart stacks: a component's count of it, and the chart's unit."""

    name: str  # "params", "memory" or "macs"
    attribute: str  # the ComponentCost field counted
    scale: float  # counts per unit on the chart's axis
    unit: str  # the axis unit: "M", "MB", "G"


METRICS: dict[str, Metric] = {
    "params": Metric("params", "params", 1e6, "M"),
    "memory": Metric("memory", "activation_bytes", MB, "MB"),
    "macs": Metric("macs", "macs", 1e9, "G"),
}
"""The metrics a by-variant series can hold."""


@dataclass(frozen=True)
class Stack:
    """One metric of several variants, split by component (a row per variant)."""

    metric: Metric
    labels: tuple[str, ...]  # each variant's title
    components: tuple[str, ...]  # the components any variant has, in COMPONENTS order
    values: tuple[tuple[int, ...], ...]  # values[row][k]: components[k] of that row, 0 if none
    stem: str
    input_shape: tuple[int, int, int]
    include_top: bool

    @property
    def totals(self) -> tuple[int, ...]:
        """Each row's total: the sum of its components."""
        return tuple(sum(row) for row in self.values)

    def column(self, component: str) -> tuple[int, ...]:
        """One component's value in every row (0 where a variant has none)."""
        k = self.components.index(component) if component in self.components else None
        return tuple(0 if k is None else row[k] for row in self.values)


@dataclass(frozen=True)
class StemPanels:
    """Stem designs of one variant side by side, in `STEMS` order."""

    variant: str
    input_shape: tuple[int, int, int]
    stems: tuple[str, ...]  # stem keys
    output_sizes: tuple[tuple[int, int], ...]  # each stem's output H, W
    entering: tuple[int, ...]  # values entering the learner (H×W×C)
    learner_bytes: tuple[int, ...]  # activation memory of groups 1–5
    learner_macs: tuple[int, ...]  # multiply-accumulates of the stem and groups 1–5

    @property
    def cuts(self) -> tuple[float | None, ...]:
        """How many times fewer values each stem hands the learner than the VGG stem; None
        for the VGG stem itself, or for every stem when it is not among them."""
        if "vgg" not in self.stems:
            return (None,) * len(self.stems)
        base = self.entering[self.stems.index("vgg")]
        return tuple(None if key == "vgg" or not value else base / value
                     for key, value in zip(self.stems, self.entering, strict=True))


@dataclass(frozen=True)
class Curve:
    """One count at every input size of a `Curves`, and at the size shown."""

    name: str  # a table's column header: "fc1 parameters"
    heading: str  # the chart's words for it: "fc1 parameters (flatten → 4096)"
    component: str  # whose colour it is drawn in
    unit: str  # "parameters" or "bytes"
    values: tuple[int, ...]  # one per size
    marked: int | None  # at the size shown, if one is


@dataclass(frozen=True)
class Curves:
    """Counts of one variant over a range of square input sizes."""

    variant: str
    stem: str
    what: str  # what the curves count, in words, for a caption
    sizes: tuple[int, ...]  # sorted, each once
    current: int | None  # the size shown (the slider's), marked on the curves
    curves: tuple[Curve, ...]


# --------------------------------------------------------------------------- checks


def _check_summary(summary: object) -> Summary:
    if not isinstance(summary, Summary):
        raise ValueError(f"expected a vggviz.plan.accounting.Summary (from summarize()), "
                         f"got {type(summary).__name__}")
    return summary


def _check_summaries(summaries: object) -> list[Summary]:
    """A non-empty list of summaries of distinct variants, under the same conditions."""
    if isinstance(summaries, Summary) or not isinstance(summaries, Iterable):
        raise ValueError("expected an iterable of Summary objects, e.g. summarize_all()")
    items = [_check_summary(s) for s in summaries]
    if not items:
        raise ValueError("no summaries to plot")
    names = [s.variant for s in items]
    if len(set(names)) != len(names):
        raise ValueError(f"each variant may appear once, got {names}")
    if len({(s.stem, s.input_shape, s.include_top) for s in items}) > 1:
        raise ValueError(
            "summaries to compare must share stem, input shape and include_top, got "
            + ", ".join(f"{s.variant}: {s.stem} stem, {s.input_shape}, top={s.include_top}"
                        for s in items))
    return items


def _check_stems(summaries_by_stem: object) -> list[tuple[str, Summary]]:
    """(stem, summary) pairs in `STEMS` order, all of one variant at one input shape."""
    if not isinstance(summaries_by_stem, Mapping) or not summaries_by_stem:
        raise ValueError("expected a non-empty dict of stem name → Summary, e.g. "
                         "{name: summarize('vgg16', stem=name) for name in STEMS}")
    for key, s in summaries_by_stem.items():
        get_stem(key)
        if _check_summary(s).stem != key:
            raise ValueError(f"the summary under {key!r} is for the {s.stem!r} stem")
    items = [(k, summaries_by_stem[k]) for k in STEMS if k in summaries_by_stem]
    variants = {s.variant for _, s in items}
    if len(variants) > 1:
        raise ValueError(f"compare stems of one variant, got {sorted(variants)}")
    if len({s.input_shape for _, s in items}) > 1:
        raise ValueError("compare stems at one input shape, got "
                         + ", ".join(f"{k}: {s.input_shape}" for k, s in items))
    return items


def _check_size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{what} must be a positive whole number of pixels, got {value!r}")
    return int(value)


def _check_sizes(sizes: object) -> tuple[int, ...]:
    """The input sizes asked for, sorted, each once."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise ValueError(f"sizes must be an iterable of input sizes in px, got {sizes!r}")
    points = tuple(sorted({_check_size(size, "every input size") for size in sizes}))
    if not points:
        raise ValueError("sizes is empty: give at least one input size")
    return points


# --------------------------------------------------------------------------- builders


def by_variant(summaries: Iterable[Summary], metric: str) -> Stack:
    """Every variant's `metric` ("params", "memory" or "macs") per component."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    measure = METRICS[metric]
    items = _check_summaries(summaries)
    present = tuple(n for n in COMPONENTS
                    if any(c.name == n for s in items for c in s.components))
    values = []
    for s in items:
        counts = {c.name: getattr(c, measure.attribute) for c in s.components}
        values.append(tuple(counts.get(n, 0) for n in present))
    first = items[0]
    return Stack(measure, tuple(VARIANTS[s.variant].title for s in items), present,
                 tuple(values), first.stem, first.input_shape, first.include_top)


def stems(summaries_by_stem: Mapping[str, Summary]) -> StemPanels:
    """One variant's stem designs: output size, values entering the learner, the learner's
    activation memory and the stem and learner's multiply-accumulates."""
    items = _check_stems(summaries_by_stem)
    sizes, entering, memory, macs = zip(*(_stem_counts(s) for _, s in items), strict=True)
    first = items[0][1]
    return StemPanels(first.variant, first.input_shape, tuple(k for k, _ in items), sizes,
                      entering, memory, macs)


def _stem_counts(s: Summary) -> tuple[tuple[int, int], int, int, int]:
    """A stem's output H, W; the values it hands on; groups 1–5's activation bytes; and the
    multiply-accumulates of everything but the classifier."""
    learner = [c for c in s.components if c.name != "classifier"]
    return (s.component("stem").output_shape[:2], s.values_entering_learner,
            sum(c.activation_bytes for c in learner if c.name.startswith("group")),
            sum(c.macs for c in learner))


def _count_over_sizes(variant: str, stem: str, sizes: Iterable[int], current: int | None,
                      count: Callable[[int], tuple[int, ...]],
                      ) -> tuple[tuple[int, ...], int | None, list[tuple[int, ...]], tuple]:
    """The sizes (sorted, each once) and `current`, both checked; `count(size)` at every size,
    as one tuple per curve; and `count(current)` (Nones without a current size)."""
    get_variant(variant)
    get_stem(stem)
    points = _check_sizes(sizes)
    if current is not None:
        current = _check_size(current, "current")
    columns = list(zip(*(count(size) for size in points), strict=True))
    marked = count(current) if current is not None else (None,) * len(columns)
    return points, current, columns, marked


def _summary_at(variant: str, stem: str, size: int, classifier: str = "fc") -> Summary:
    """The cached summary with the classifier at a square input size, asked for as
    `summarize_all` asks, so the family's table and these curves share cache entries."""
    return summarize(variant, stem=stem, input_shape=(size, size, 3), include_top=True,
                     classifier=classifier)


def input_sizes(variant: str, sizes: Iterable[int], *, stem: str = "vgg",
                current: int | None = None) -> Curves:
    """fc1's parameters (flatten → 4096) and the stem's activation memory at each size."""

    def count(size: int) -> tuple[int, int]:
        s = _summary_at(variant, stem, size)
        return (next(layer.params for layer in s.layers if layer.name == "fc1"),
                s.component("stem").activation_bytes)

    points, current, (fc1, memory), marked = _count_over_sizes(variant, stem, sizes, current,
                                                                 count)
    return Curves(variant, stem, "fc1 parameters and stem activation memory", points, current, (
        Curve("fc1 parameters", "fc1 parameters (flatten → 4096)", "classifier", "parameters",
              fc1, marked[0]),
        Curve("stem MB", "Stem activation memory (MB)", "stem", "bytes", memory, marked[1]),
    ))


def head_sizes(variant: str, sizes: Iterable[int], *, stem: str = "vgg",
               current: int | None = None) -> Curves:
    """fc1 alone against the whole GAP head (average pool, then the 1000-way dense layer), in
    parameters, at each size: fc1 grows with the area of the last pool, the GAP head does not."""

    def count(size: int) -> tuple[int, int]:
        fc = _summary_at(variant, stem, size)
        gap = _summary_at(variant, stem, size, "gap")
        return (next(r.params for r in fc.layers if r.name == "fc1"),
                gap.component("classifier").params)

    points, current, (fc1, gap), marked = _count_over_sizes(variant, stem, sizes, current, count)
    return Curves(variant, stem, "parameters of fc1 alone and of the whole GAP head", points,
                  current, (
                      Curve("fc1 alone", "fc1 alone (flatten → 4096)", "classifier",
                            "parameters", fc1, marked[0]),
                      Curve("whole GAP head", "whole GAP head (avg pool → 1000)", "group5",
                            "parameters", gap, marked[1]),
                  ))
