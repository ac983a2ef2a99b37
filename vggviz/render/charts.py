"""Matplotlib charts of what a VGG variant costs: parameters, activation memory, MACs.

Every chart is drawn on a `matplotlib.figure.Figure` built directly (never through pyplot),
so nothing is registered in pyplot's global figure list: charts are thread-safe and are freed
with their last reference in a long-lived kernel. `figure_png` turns a figure into PNG bytes
for an `ipywidgets.Image`. Pure matplotlib (no TensorFlow): a single variant's charts draw a
`Summary`; the charts that compare draw a series from `vggviz.plan.series`, the very data the
table beside them (`vggviz.ui.panels.chart_tables`) reads.

One colour per component across every chart (`COMPONENT_COLORS`): the stem and the five
groups in a sequential palette (deeper is darker), the classifier in a contrasting orange.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from io import BytesIO
from numbers import Real
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Annotation, Text
from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

from vggviz.plan.accounting import Summary
from vggviz.plan.architecture import get_stem, get_variant
from vggviz.plan.formatting import MB, fraction_words, measure, percent, shape
from vggviz.plan.series import Curve, Curves, Stack, StemPanels

__all__ = [
    "COMPONENT_COLORS",
    "COMPONENT_LABELS",
    "STEM_COLORS",
    "activation_memory",
    "activation_memory_by_variant",
    "axis_ceiling",
    "figure_png",
    "smallest_text_px",
    "SMALLEST_TEXT",
    "TEXT_PT",
    "head_vs_input_size",
    "input_size_effect",
    "macs_by_variant",
    "params_by_variant",
    "params_per_component",
    "stem_comparison",
    "training_curves",
]

COMPONENT_COLORS: dict[str, str] = {
    # matplotlib's YlGnBu at 0.38, 0.50, 0.62, 0.74, 0.86, 0.98: deeper is darker, and even
    # the stem's colour is dark enough for a line on white.
    "stem": "#7cccbb",
    "group1": "#40b5c4",
    "group2": "#1f93c0",
    "group3": "#2262aa",
    "group4": "#253896",
    "group5": "#0d2161",
    "classifier": "#e8743b",
}
"""One colour per component, the same in every chart."""

COMPONENT_LABELS: dict[str, str] = {
    "stem": "stem",
    **{f"group{i}": f"group {i}" for i in range(1, 6)},
    "classifier": "classifier",
}
"""How a component is named on an axis or in a legend."""

STEM_COLORS: dict[str, str] = {"vgg": "#8c8c8c", "pooled": "#2a9d8f", "strided": "#6a4c93"}
"""One colour per stem design (`stem_comparison`): the VGG stem, the baseline, in grey."""

_WIDTH = 9.0  # inches: 900 px at dpi 100, before bbox_inches="tight" trims the margins
TEXT_PT = 10.5
"""The smallest text of every chart, in points: 14.6 px at 100 px to the inch. The pages show a
chart at about its width in inches × 100 CSS px, or wider (`figure_png`), so no text of it is
under 14 px at 1920 px wide, nor under 12 px at 1280."""
_HEADING = 12  # a panel's heading
_STRIP_WIDTH = 13.8  # inches: a row of small multiples across the page
_HEAD_WIDTH = 7.6  # inches: the classifier head's chart, beside its table
_TITLE = {"fontsize": 14, "fontweight": "bold", "x": 0.01, "ha": "left"}
_MUTED = "#555555"
_GRID = "#e6e6e6"


# --------------------------------------------------------------------------- formatting


_ENG = EngFormatter(places=1, sep=" ")


def _eng_ticks() -> EngFormatter:
    """Axis ticks in SI units ('20 M', '1.5 M'); a new formatter per axis, as matplotlib wants."""
    return EngFormatter(sep=" ")


def _si(value: float) -> str:
    """123_642_856 → '123.6 M', 1792 → '1.8 k', 999_960 → '1.0 M', 640 → '640'."""
    if abs(value) < 1000 and float(value).is_integer():
        return f"{value:.0f}"
    return _ENG(value)


# --------------------------------------------------------------------------- validation


def _check_summary(summary: object) -> Summary:
    if not isinstance(summary, Summary):
        raise ValueError(
            f"expected a vggviz.plan.accounting.Summary (from summarize()), "
            f"got {type(summary).__name__}"
        )
    return summary


def _check_series(data: object, kind: type, metric: str | None = None) -> Any:
    """`data` if it is a `kind` from `vggviz.plan.series` (a Stack of `metric`, if given)."""
    if not isinstance(data, kind):
        raise ValueError(f"expected a vggviz.plan.series.{kind.__name__}, "
                         f"got {type(data).__name__}")
    if metric is not None and data.metric.name != metric:
        raise ValueError(f"expected a Stack of {metric}, got one of {data.metric.name}")
    return data


# --------------------------------------------------------------------------- drawing helpers


def _figure(height: float, width: float = _WIDTH) -> Figure:
    """A new figure outside pyplot (no global registry, no GUI backend)."""
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _style(ax: Axes, value_axis: str = "x") -> None:
    """Light frame: no top/right spines, a faint grid along the value axis only."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=value_axis, color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(length=3, labelsize=TEXT_PT)
    for label in (ax.xaxis.label, ax.yaxis.label):
        label.set_fontsize(TEXT_PT)


def _title(summary: Summary) -> str:
    return get_variant(summary.variant).title


def _context(counted: Summary | Stack) -> str:
    """The conditions a chart holds for: 'VGG stem · 224×224×3 input · with classifier'."""
    h, w, c = counted.input_shape
    top = "with classifier" if counted.include_top else "without classifier"
    return f"{get_stem(counted.stem).title} · {h}×{w}×{c} input · {top}"


def _suptitle(fig: Figure, text: str) -> None:
    """The chart's point, bold, left-aligned, wrapped at draw time to the figure's width."""
    fig.suptitle(text, wrap=True, **_TITLE)


def _subtitle(ax: Axes, text: str) -> None:
    ax.set_title(text, loc="left", fontsize=TEXT_PT, color=_MUTED, pad=8)


def _legend(fig: Figure, names: Iterable[str]) -> None:
    """A legend of components below the axes, in one row."""
    names = list(names)
    handles = [Patch(facecolor=COMPONENT_COLORS[n], label=COMPONENT_LABELS[n]) for n in names]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False,
               fontsize=TEXT_PT, handlelength=1.2, columnspacing=1.2)


AXIS_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
"""The steps of `axis_ceiling` within each power of ten."""


def axis_ceiling(value: float) -> float:
    """The first of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten at or above `value`.

    As a chart's `limit` it ends the axis just above the largest bar (which fills at least
    three quarters of it, less the room for the totals), and the axis stays put while that
    bar moves within one step, so charts of neighbouring settings compare at a glance.
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < math.inf:
        raise ValueError(f"value must be a positive number, got {value!r}")
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in AXIS_STEPS if step * power >= value * (1 - 1e-12))


def _stacked_by_variant(stack: Stack, *, title: str, xlabel: str,
                        total_format: Callable[[float], str] = measure,
                        limit: float | None = None) -> Figure:
    """Horizontal bars, one per variant, stacked by component; the total at each bar's end.

    Bars are the stack's counts in its metric's unit (e.g. activation bytes / 1e6 → MB).
    `title` may use {lo}, {lo_name}, {hi}, {hi_name} (the smallest and largest totals).
    `limit` fixes the axis (in the bars' unit), so charts of several input sizes compare.
    """
    labels, unit = list(stack.labels), stack.metric.unit
    fig = _figure(1.3 + 0.36 * len(labels))
    ax = fig.add_subplot()
    left = [0.0] * len(labels)
    for name in stack.components:
        widths = [value / stack.metric.scale for value in stack.column(name)]
        ax.barh(labels, widths, left=left, color=COMPONENT_COLORS[name], height=0.68,
                label=COMPONENT_LABELS[name], edgecolor="white", linewidth=0.4)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    totals = left
    for y, total in enumerate(totals):
        ax.text(total, y, f"  {total_format(total)} {unit}", va="center", ha="left",
                fontsize=TEXT_PT)
    ax.set_xlim(0, max(limit or 0, max(totals)) * 1.16 or 1)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", length=0)
    _style(ax, "x")
    lo = min(range(len(labels)), key=totals.__getitem__)
    hi = max(range(len(labels)), key=totals.__getitem__)
    _suptitle(fig, title.format(lo=measure(totals[lo]), lo_name=labels[lo], hi=measure(totals[hi]),
                                hi_name=labels[hi], unit=unit))
    _subtitle(ax, _context(stack))
    _legend(fig, stack.components)
    return fig


# --------------------------------------------------------------------------- charts


def params_per_component(summary: Summary) -> Figure:
    """Horizontal bars: the parameters of each component of one variant, with % share."""
    s = _check_summary(summary)
    comps = list(s.components)
    total = s.total_params
    fig = _figure(3.6)
    ax = fig.add_subplot()
    names = [COMPONENT_LABELS[c.name] for c in comps]
    values = [c.params for c in comps]
    ax.barh(names, values, color=[COMPONENT_COLORS[c.name] for c in comps], height=0.66)
    for y, value in enumerate(values):
        share = value / total if total else 0.0
        ax.text(value, y, f"  {_si(value)}  ({percent(share)})", va="center", ha="left",
                fontsize=TEXT_PT)
    ax.set_xlim(0, max(values) * 1.3 or 1)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(_eng_ticks())
    ax.set_xlabel(f"parameters (total {_si(total)} = {total:,})")
    ax.tick_params(axis="y", length=0)
    _style(ax, "x")
    top = max(comps, key=lambda c: c.params)
    share = 100 * top.params / total if total else 0.0
    what = "The classifier" if top.name == "classifier" else COMPONENT_LABELS[top.name].capitalize()
    _suptitle(fig, f"{what} holds {share:.0f} % of {_title(s)}'s parameters")
    _subtitle(ax, _context(s))
    return fig


def params_by_variant(stack: Stack, *, log: bool = False,
                      limit: float | None = None) -> Figure:
    """Parameters of every variant (`series.by_variant(summaries, "params")`): stacked by
    component (linear), or a log-scale dot plot.

    Stacked bars on a log axis would make the bottom segment look huge, so `log=True`
    draws one dot per component on each variant's row (x on a log scale) and writes the
    total at the end of the row. `limit` (parameters) fixes the axis.
    """
    if not isinstance(log, bool):
        raise ValueError(f"log must be True or False, got {log!r}")
    stack = _check_series(stack, Stack, "params")
    if log:
        return _params_dots(stack, _params_headline(stack), limit)
    return _stacked_by_variant(stack, title=_params_headline(stack),
                               xlabel="parameters (millions)",
                               total_format=lambda v: f"{v:.1f}",
                               limit=limit / 1e6 if limit else None)


def _params_headline(stack: Stack) -> str:
    """The parameters chart's point: the classifier's share of every variant or, without
    it, that of groups 4 and 5."""
    totals = stack.totals
    if stack.include_top:
        shares = [c / t for c, t in zip(stack.column("classifier"), totals, strict=True)]
        lo, hi = round(100 * min(shares)), round(100 * max(shares))
        span = f"{lo} %" if lo == hi else f"{lo}–{hi} %"
        return f"The classifier holds {span} of the parameters of every variant"
    shares = [(g4 + g5) / t for g4, g5, t in zip(stack.column("group4"), stack.column("group5"),
                                                  totals, strict=True)]
    return (f"Without the classifier, groups 4–5 hold {round(100 * min(shares))}–"
            f"{round(100 * max(shares))} % of the parameters")


def _params_dots(stack: Stack, title: str, limit: float | None) -> Figure:
    """One dot per component on each variant's row, x on a log scale; totals at the right."""
    labels = list(stack.labels)
    fig = _figure(1.3 + 0.36 * len(labels))
    ax = fig.add_subplot()
    _dots(ax, stack)
    ax.set_xscale("log")
    drawn = [value for row in stack.values for value in row if value > 0]
    ax.set_xlim(min(drawn) / 2, max(limit or 0, max(drawn)) * 2)
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(_eng_ticks())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel("parameters per component (log scale)")
    ax.tick_params(axis="y", length=0)
    _style(ax, "x")
    ax.grid(axis="y", color=_GRID, linewidth=0.6)
    _suptitle(fig, title)
    missing = any(value == 0 for row in stack.values for value in row)
    _subtitle(ax, _context(stack) + (" · no dot: 0 parameters" if missing else ""))
    _legend(fig, stack.components)
    return fig


def _dots(ax: Axes, stack: Stack) -> None:
    """A dot per component with parameters on each variant's row, each row's total after it."""
    for name in stack.components:
        dots = [(y, value) for y, value in enumerate(stack.column(name)) if value > 0]
        ax.scatter([x for _, x in dots], [y for y, _ in dots], s=58,
                   color=COMPONENT_COLORS[name], edgecolor="white", linewidth=0.8, zorder=3,
                   label=COMPONENT_LABELS[name])
    for y, total in enumerate(stack.totals):
        ax.text(1.01, y, f"{_si(total)}", transform=ax.get_yaxis_transform(),
                va="center", ha="left", fontsize=TEXT_PT)
    ax.text(1.01, -0.75, "total", transform=ax.get_yaxis_transform(), va="center", ha="left",
            fontsize=TEXT_PT, color=_MUTED)


def activation_memory(summary: Summary) -> Figure:
    """Activation memory per component (MB, float32, batch 1); the stem's output shape marked."""
    s = _check_summary(summary)
    comps = list(s.components)
    values = [c.activation_bytes / MB for c in comps]
    total = s.activation_bytes / MB
    fig = _figure(3.9)
    ax = fig.add_subplot()
    ticks = [f"{COMPONENT_LABELS[c.name]}\n{shape(c.output_shape)}" for c in comps]
    ax.bar(range(len(comps)), values, color=[COMPONENT_COLORS[c.name] for c in comps],
           width=0.66)
    ax.set_xticks(range(len(comps)), ticks, fontsize=TEXT_PT)
    for x, value in enumerate(values):
        ax.annotate(f"{measure(value)} MB", (x, value), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=TEXT_PT)
    stem = s.component("stem")
    stem_mb = stem.activation_bytes / MB
    if stem_mb >= 0.5 * max(values):  # room inside the bar
        ax.annotate(f"{shape(stem.output_shape)} out\n= {_si(stem.output_values)} values\n"
                    "enter the learner", (0, stem_mb / 2), ha="center", va="center",
                    fontsize=TEXT_PT, color="#1b3b2b")
    else:  # above the bar's value label
        ax.annotate(f"{shape(stem.output_shape)} out = {_si(stem.output_values)} values",
                    (0, stem_mb), xytext=(0, 16), textcoords="offset points", ha="center",
                    va="bottom", fontsize=TEXT_PT, color="#1b3b2b")
    ax.set_ylim(0, max(values) * 1.14 or 1)
    ax.set_ylabel("MB (float32, batch 1)")
    ax.tick_params(axis="x", length=0)
    _style(ax, "y")
    early = sum(c.activation_bytes for c in comps if c.name in ("stem", "group1")) / MB
    share = 100 * early / total if total else 0.0
    _suptitle(fig, f"The stem and group 1 hold {share:.0f} % of {_title(s)}'s "
                   f"{measure(total)} MB of activations")
    _subtitle(ax, _context(s) + " · conv (BN, ReLU fused), pool and dense outputs, one image, "
                                "float32")
    return fig


def activation_memory_by_variant(stack: Stack, *, limit: float | None = None) -> Figure:
    """Activation memory per image of every variant (`series.by_variant(summaries, "memory")`,
    MB, float32), stacked by component; `limit` (MB) fixes the axis."""
    return _stacked_by_variant(
        _check_series(stack, Stack, "memory"), limit=limit,
        title="Activation memory per image: {lo} MB ({lo_name}) to {hi} MB ({hi_name})",
        xlabel="activation memory, MB (conv with BN and ReLU fused, pool and dense outputs; "
               "float32, batch 1)",
    )


def macs_by_variant(stack: Stack, *, limit: float | None = None) -> Figure:
    """Multiply-accumulates per image of every variant (`series.by_variant(summaries,
    "macs")`, G), stacked by component; `limit` (GMACs) fixes the axis."""
    return _stacked_by_variant(
        _check_series(stack, Stack, "macs"), limit=limit,
        title="Compute per image: {lo} GMACs ({lo_name}) to {hi} GMACs ({hi_name})",
        xlabel="multiply-accumulates per image (GMACs)",
    )


def stem_comparison(panels: StemPanels) -> Figure:
    """Stem designs side by side for one variant (`series.stems`): output size, values
    entering the learner, learner activation memory and stem + learner MACs (four small
    multiples in a row, as wide as the page, a bar per stem)."""
    panels = _check_series(panels, StemPanels)
    labels = [get_stem(k).title.replace(" stem", "\nstem") for k in panels.stems]
    colors = [STEM_COLORS[k] for k in panels.stems]
    fig = _figure(3.9, _STRIP_WIDTH)
    for ax, bars in zip(fig.subplots(1, 4).flat, _stem_bars(panels), strict=True):
        _bar_panel(ax, *bars, labels=labels, colors=colors)
    title = get_variant(panels.variant).title
    _suptitle(fig, _stem_headline(title, panels))
    h, w, c = panels.input_shape
    fig.supxlabel(f"{title} · {h}×{w}×{c} input · float32, batch 1", fontsize=TEXT_PT,
                  color=_MUTED)
    return fig


def _stem_bars(panels: StemPanels) -> list[tuple[str, list[float], list[str], Callable | None]]:
    """The four panels of `stem_comparison`: heading, bar heights, the text on each bar and
    the y ticks' formatter (None: matplotlib's own)."""
    memory = [value / MB for value in panels.learner_bytes]
    macs = [value / 1e9 for value in panels.learner_macs]
    return [
        ("Output size\n(H×W per map)", [h * w for h, w in panels.output_sizes],
         [f"{h}×{w}" for h, w in panels.output_sizes], _eng_ticks),
        ("Values entering the learner\n(H×W×C)", list(panels.entering),
         [_entering_text(value, cut)
          for value, cut in zip(panels.entering, panels.cuts, strict=True)], _eng_ticks),
        ("Learner activation memory\n(MB, groups 1–5)", memory,
         [f"{measure(v)} MB" for v in memory], None),
        ("Stem + learner MACs\n(G)", macs, [f"{measure(v)} G" for v in macs], None),
    ]


def _entering_text(value: int, cut: float | None) -> str:
    """'802.8 k  (÷4)': the values a stem hands on, and how many times fewer than the VGG
    stem's where that is a cut worth saying (1.5× or more)."""
    if cut is None or cut < 1.5:
        return _si(value)
    return f"{_si(value)}  (÷{cut:.0f})"


def _bar_panel(ax: Axes, heading: str, values: list[float], texts: list[str],
               formatter: Callable | None, *, labels: list[str], colors: list[str]) -> None:
    """One small multiple: a bar per stem, its text above it, the heading on top."""
    ax.bar(range(len(values)), values, color=colors, width=0.62)
    ax.set_xticks(range(len(values)), labels, fontsize=TEXT_PT)
    for x, (value, text) in enumerate(zip(values, texts, strict=True)):
        ax.annotate(text, (x, value), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=TEXT_PT)
    ax.set_ylim(0, max(values) * 1.2 or 1)
    if formatter is not None:
        ax.yaxis.set_major_formatter(formatter())
    ax.set_title(heading, loc="left", fontsize=_HEADING)
    ax.tick_params(axis="x", length=0)
    _style(ax, "y")


def _stem_headline(title: str, panels: StemPanels) -> str:
    """The stem chart's point: what each stem cuts the values entering the learner to."""
    if "vgg" not in panels.stems or len(panels.stems) < 2:
        return f"{title}: stem designs compared"
    cuts = [(key, fraction_words(cut))
            for key, cut in zip(panels.stems, panels.cuts, strict=True) if key != "vgg"]
    text = f"{title}: a {cuts[0][0]} stem cuts the values entering the learner to {cuts[0][1]}"
    return text + "".join(f",\na {key} stem to {words}" for key, words in cuts[1:])


def _in_unit(curve: Curve, value: int) -> float:
    """A curve's count as drawn: parameters as they are, bytes in MB."""
    return value / MB if curve.unit == "bytes" else value


def _label(curve: Curve, value: float) -> str:
    """A drawn value in words: '102.8 M' parameters, '12.8 MB'."""
    return f"{measure(value)} MB" if curve.unit == "bytes" else _si(value)


def input_size_effect(curves: Curves) -> Figure:
    """How fc1's parameters (flatten → 4096) and the stem's activation memory grow with the
    (square) input size (`series.input_sizes`); the size shown, if any, is marked."""
    curves = _check_series(curves, Curves)
    v, design = get_variant(curves.variant), get_stem(curves.stem)
    points, current = list(curves.sizes), curves.current
    fig = _figure(4.0)
    span = (min(points[0], current or points[0]), max(points[-1], current or points[-1]))
    labels = [_size_panel(ax, curve, points, current, span)
              for ax, curve in zip(fig.subplots(1, 2), curves.curves, strict=True)]
    if current is not None:
        fc1, memory = (_in_unit(c, c.marked) for c in curves.curves)
        _suptitle(fig, f"{v.title} at {current}×{current}: fc1 holds {_si(fc1)} "
                       f"parameters, the stem needs {measure(memory)} MB")
    else:
        _suptitle(fig, f"{v.title}: fc1 and the stem's memory grow with the square of the "
                       "input size")
    fig.supxlabel(f"{v.title} · {design.title} · 3 channels · float32, batch 1",
                  fontsize=TEXT_PT, color=_MUTED)
    if current is not None:  # laid out: a label up-left that crosses the y axis goes right
        fig.draw_without_rendering()
        for ax, label in zip(fig.axes, labels, strict=True):
            if label.get_window_extent().x0 < ax.get_window_extent().x0:
                label.xyann = (8, label.xyann[1])
                label.set_horizontalalignment("left")
    return fig


def _size_panel(ax: Axes, curve: Curve, points: list[int], current: int | None,
                span: tuple[int, int]) -> Annotation | None:
    """One curve of `input_size_effect` over the sizes, the size shown marked on it (its
    label returned)."""
    values = [_in_unit(curve, value) for value in curve.values]
    color = COMPONENT_COLORS[curve.component]
    style = {"marker": "o", "markersize": 3.5} if len(points) <= 40 else {}
    ax.plot(points, values, color=color, linewidth=2, **style)
    ax.set_title(curve.heading, loc="left", fontsize=_HEADING)
    ax.set_xlabel("input size (px, square)")
    lo, hi = span
    ax.set_xlim(lo - 0.03 * (hi - lo or 1), hi + 0.03 * (hi - lo or 1))
    marked = _in_unit(curve, curve.marked) if current is not None else None
    ax.set_ylim(0, max(max(values), marked or 0) * 1.15 or 1)
    if curve.unit == "parameters":
        ax.yaxis.set_major_formatter(_eng_ticks())
    _style(ax, "y")
    ax.grid(axis="x", color=_GRID, linewidth=0.8)
    if current is not None:
        # Both curves rise to the right: the label goes up-left of the point, where the curve
        # is not, unless the point is too near the left edge for the text.
        ax.axvline(current, color=_MUTED, linestyle="--", linewidth=1)
        return _mark(ax, current, marked, color, f"{current} px: {_label(curve, marked)}",
                     left=current > lo + 0.3 * (hi - lo), offset=(8, 8), va="bottom")
    return None


# --------------------------------------------------------------------------- encoding


SMALLEST_TEXT = "vggviz:smallest-text-px"
"""The PNG text chunk (tEXt) in which `figure_png` writes the height, in the PNG's own pixels,
of the smallest text drawn on it: a page shows it at that × displayed width / natural width."""


def figure_png(fig: Figure, dpi: float = 150) -> bytes:
    """PNG bytes of `fig` (tight bounding box) for an `ipywidgets.Image`, with the size of its
    smallest text in pixels (`SMALLEST_TEXT`, read back by `smallest_text_px`).

    At dpi 150 a chart has 1.5 pixels for each CSS pixel the pages give it (about its width in
    inches × 100): it stays sharp when a wide window shows it larger.
    """
    if not isinstance(fig, Figure):
        raise ValueError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    if isinstance(dpi, bool) or not isinstance(dpi, Real) or not 10 <= dpi <= 600:
        raise ValueError(f"dpi must be a number from 10 to 600, got {dpi!r}")
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    # Read off the figure as just drawn: every text with something in it, tick labels included.
    drawn = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip()]
    if not drawn:
        return buffer.getvalue()
    return _with_text_chunk(buffer.getvalue(), SMALLEST_TEXT, f"{min(drawn) * dpi / 72:.2f}")


def _with_text_chunk(png: bytes, key: str, value: str) -> bytes:
    """`png` with a tEXt chunk `key`: `value` just before its IEND chunk (the last 12 bytes)."""
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = (struct.pack(">I", len(data)) + b"tEXt" + data
             + struct.pack(">I", zlib.crc32(b"tEXt" + data)))
    return png[:-12] + chunk + png[-12:]


def smallest_text_px(png: bytes) -> float | None:
    """The smallest text's height in the PNG's pixels, as `figure_png` wrote it; None if the
    PNG does not say."""
    at = 8  # after the signature: length, type, data, CRC, chunk after chunk
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"tEXt":
            key, _, value = png[at + 8:at + 8 + length].partition(b"\0")
            if key == SMALLEST_TEXT.encode("latin-1"):
                return float(value)
        at += 12 + length
    return None


# --------------------------------------------------------------------------- the classifier head


def head_vs_input_size(curves: Curves) -> Figure:
    """Parameters of fc1 alone (flatten → 4096) and of the whole GAP head (global average
    pooling, then the 1000-way dense layer) at each (square) input size
    (`series.head_sizes`), on a log scale: fc1 grows with the area of the last pool, the GAP
    head does not. The size shown, if any, is marked."""
    curves = _check_series(curves, Curves)
    v, design = get_variant(curves.variant), get_stem(curves.stem)
    points, current = list(curves.sizes), curves.current
    fc1, gap = curves.curves
    fig = _figure(3.6, _HEAD_WIDTH)
    ax = fig.add_subplot()
    for curve in curves.curves:
        ax.plot(points, curve.values, color=COMPONENT_COLORS[curve.component], linewidth=2,
                marker="o", markersize=3.5, label=curve.heading)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_major_formatter(_eng_ticks())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(min(gap.values) / 3, max(fc1.values) * 4)
    ax.set_xlabel("input size (px, square)")
    ax.set_ylabel("parameters (log scale)")
    _style(ax, "y")
    if current is not None:
        ax.axvline(current, color=_MUTED, linestyle="--", linewidth=1)
        right = current > points[0] + 0.75 * (points[-1] - points[0])  # label goes left
        for curve in curves.curves:
            # fc1 rises to the right: its label goes below it on the right, above on the left
            below = curve is fc1 and not right
            _mark(ax, current, curve.marked, COMPONENT_COLORS[curve.component],
                  _si(curve.marked), left=right, offset=(6, -5 if below else 5),
                  va="top" if below else "bottom")
    ax.legend(loc="upper left", frameon=False, fontsize=TEXT_PT)  # where fc1 has not risen yet
    _suptitle(fig, "fc1 grows with the input's area; GAP does not")
    fig.supxlabel(f"{v.title} · {design.title} · 1000 classes · parameters as Keras counts "
                  "them", fontsize=TEXT_PT, color=_MUTED)
    return fig


def _mark(ax: Axes, current: int, value: float, color: str, text: str, *, left: bool,
          offset: tuple[int, int], **align: str) -> Annotation:
    """The point at the size shown and `text` beside it, bold on white, offset by `offset`
    points up and to the left (if `left`) or right."""
    ax.plot([current], [value], "o", color=color, markersize=7, markeredgecolor="black",
            zorder=4)
    return ax.annotate(
        text, (current, value), xytext=(-offset[0] if left else offset[0], offset[1]),
        textcoords="offset points", ha="right" if left else "left", **align,
        fontsize=TEXT_PT, fontweight="bold",
        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85})


# --------------------------------------------------------------------------- training


def training_curves(epochs: Mapping[str, Sequence[Mapping[str, float]]]) -> Figure:
    """Loss and accuracy per epoch of runs being watched, one line per stem (`epochs` maps a
    stem design to its run's epochs as `vggviz.sources.runs` records them): held-out solid,
    training dashed, in each stem's colour."""
    fig = _figure(2.6, 7.4)
    loss_ax, accuracy_ax = fig.subplots(1, 2)
    most = 1
    for stem, rows in epochs.items():
        color = STEM_COLORS.get(stem, _MUTED)
        name = get_stem(stem).title
        x = [row["epoch"] for row in rows]
        most = max([most, *x])
        for ax, key in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
            for prefix, style, words in (("val_", "-", "held-out"), ("", "--", "training")):
                values = [row.get(prefix + key, math.nan) for row in rows]
                ax.plot(x, values, style, color=color, marker="o", markersize=3,
                        linewidth=1.8 if prefix else 1.1, label=f"{name}, {words}")
    for ax, heading in ((loss_ax, "Loss (cross-entropy)"), (accuracy_ax, "Accuracy")):
        _style(ax, "y")
        _subtitle(ax, heading)
        ax.set_xlabel("epoch", fontsize=10)
        ax.set_xlim(0.8, most + 0.2)
        ax.set_xticks(range(1, most + 1, math.ceil(most / 12)))  # whole epochs, ≤ 12 ticks
        ax.tick_params(labelsize=10)
    accuracy_ax.set_ylim(0, 1.02)
    accuracy_ax.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    if epochs:
        accuracy_ax.legend(fontsize=9, loc="lower right", frameon=False)
    return fig
