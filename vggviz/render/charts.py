"""Matplotlib charts of what a VGG variant costs: parameters, activation memory, MACs.

Every chart is drawn on a `matplotlib.figure.Figure` built directly (never through pyplot),
so nothing is registered in pyplot's global figure list: charts are thread-safe and are freed
with their last reference in a long-lived kernel. `figure_png` turns a figure into PNG bytes
for an `ipywidgets.Image`. Pure matplotlib on `vggviz.plan.accounting` (no TensorFlow).

One colour per component across every chart (`COMPONENT_COLORS`): the stem and the five
groups in a sequential palette (deeper is darker), the classifier in a contrasting orange.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from io import BytesIO
from numbers import Integral, Real

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

from vggviz.plan.accounting import Summary, summarize
from vggviz.plan.architecture import COMPONENTS, STEMS, get_stem, get_variant
from vggviz.plan.formatting import MB, fraction_words, measure, percent, shape

__all__ = [
    "COMPONENT_COLORS",
    "COMPONENT_LABELS",
    "STEM_COLORS",
    "activation_memory",
    "activation_memory_by_variant",
    "axis_ceiling",
    "figure_png",
    "head_vs_input_size",
    "input_size_effect",
    "macs_by_variant",
    "params_by_variant",
    "params_per_component",
    "stem_comparison",
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

_WIDTH = 8.4  # inches: 840 px at dpi 100, before bbox_inches="tight" trims the margins
_TITLE = {"fontsize": 13, "fontweight": "bold", "x": 0.01, "ha": "left"}
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
    conditions = {(s.stem, s.input_shape, s.include_top) for s in items}
    if len(conditions) > 1:
        raise ValueError(
            "summaries to compare must share stem, input shape and include_top, got "
            + ", ".join(f"{s.variant}: {s.stem} stem, {s.input_shape}, top={s.include_top}"
                        for s in items)
        )
    return items


def _check_size(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{what} must be a positive whole number of pixels, got {value!r}")
    return int(value)


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
    ax.tick_params(length=3)


def _title(summary: Summary) -> str:
    return get_variant(summary.variant).title


def _context(summary: Summary) -> str:
    """The conditions a chart holds for: 'VGG stem · 224×224×3 input · with classifier'."""
    h, w, c = summary.input_shape
    top = "with classifier" if summary.include_top else "without classifier"
    return f"{get_stem(summary.stem).title} · {h}×{w}×{c} input · {top}"


def _suptitle(fig: Figure, text: str) -> None:
    """The chart's point, bold, left-aligned, wrapped at draw time to the figure's width."""
    fig.suptitle(text, wrap=True, **_TITLE)


def _subtitle(ax: Axes, text: str) -> None:
    ax.set_title(text, loc="left", fontsize=9.5, color=_MUTED, pad=8)


def _legend(fig: Figure, names: Iterable[str]) -> None:
    """A legend of components below the axes, in one row."""
    names = list(names)
    handles = [Patch(facecolor=COMPONENT_COLORS[n], label=COMPONENT_LABELS[n]) for n in names]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False,
               fontsize=9, handlelength=1.2, columnspacing=1.2)


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


def _stacked_by_variant(summaries: object, *, metric: str, scale: float, unit: str,
                        title: str, xlabel: str, total_format=measure,
                        limit: float | None = None) -> Figure:
    """Horizontal bars, one per variant, stacked by component; the total at each bar's end.

    Bars are `getattr(component, metric) / scale` (e.g. activation_bytes / 1e6 → MB).
    `title` may use {lo}, {lo_name}, {hi}, {hi_name} (the smallest and largest totals).
    `limit` fixes the axis (in the bars' unit), so charts of several input sizes compare.
    """
    items = _check_summaries(summaries)
    present = [n for n in COMPONENTS if any(c.name == n for s in items for c in s.components)]
    labels = [_title(s) for s in items]
    fig = _figure(0.9 + 0.36 * len(items))
    ax = fig.add_subplot()
    left = [0.0] * len(items)
    for name in present:
        widths = []
        for s in items:
            comp = next((c for c in s.components if c.name == name), None)
            widths.append(getattr(comp, metric) / scale if comp is not None else 0.0)
        ax.barh(labels, widths, left=left, color=COMPONENT_COLORS[name], height=0.68,
                label=COMPONENT_LABELS[name], edgecolor="white", linewidth=0.4)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    totals = left
    for y, total in enumerate(totals):
        ax.text(total, y, f"  {total_format(total)} {unit}", va="center", ha="left",
                fontsize=9)
    ax.set_xlim(0, max(limit or 0, max(totals)) * 1.16 or 1)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", length=0)
    _style(ax, "x")
    lo = min(range(len(items)), key=totals.__getitem__)
    hi = max(range(len(items)), key=totals.__getitem__)
    _suptitle(fig, title.format(lo=measure(totals[lo]), lo_name=labels[lo], hi=measure(totals[hi]),
                                hi_name=labels[hi], unit=unit))
    _subtitle(ax, _context(items[0]))
    _legend(fig, present)
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
                fontsize=9)
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


def params_by_variant(summaries: Iterable[Summary], *, log: bool = False,
                      limit: float | None = None) -> Figure:
    """Parameters of every variant: stacked by component (linear), or a log-scale dot plot.

    Stacked bars on a log axis would make the bottom segment look huge, so `log=True`
    draws one dot per component on each variant's row (x on a log scale) and writes the
    total at the end of the row. `limit` (parameters) fixes the axis.
    """
    if not isinstance(log, bool):
        raise ValueError(f"log must be True or False, got {log!r}")
    items = _check_summaries(summaries)
    with_top = [s for s in items if s.include_top]
    if with_top:
        shares = [s.component("classifier").params / s.total_params for s in with_top]
        lo, hi = round(100 * min(shares)), round(100 * max(shares))
        span = f"{lo} %" if lo == hi else f"{lo}–{hi} %"
        title = f"The classifier holds {span} of the parameters of every variant"
    else:
        shares = [(s.component("group4").params + s.component("group5").params) / s.total_params
                  for s in items]
        title = (f"Without the classifier, groups 4–5 hold {round(100 * min(shares))}–"
                 f"{round(100 * max(shares))} % of the parameters")
    if not log:
        return _stacked_by_variant(items, metric="params", scale=1e6, unit="M", title=title,
                                   xlabel="parameters (millions)",
                                   total_format=lambda v: f"{v:.1f}",
                                   limit=limit / 1e6 if limit else None)

    present = [n for n in COMPONENTS if any(c.name == n for s in items for c in s.components)]
    labels = [_title(s) for s in items]
    fig = _figure(0.9 + 0.36 * len(items))
    ax = fig.add_subplot()
    for name in present:
        ys, xs = [], []
        for y, s in enumerate(items):
            comp = next((c for c in s.components if c.name == name), None)
            if comp is not None and comp.params > 0:
                ys.append(y)
                xs.append(comp.params)
        ax.scatter(xs, ys, s=58, color=COMPONENT_COLORS[name], edgecolor="white",
                   linewidth=0.8, zorder=3, label=COMPONENT_LABELS[name])
    for y, s in enumerate(items):
        ax.text(1.01, y, f"{_si(s.total_params)}", transform=ax.get_yaxis_transform(),
                va="center", ha="left", fontsize=9)
    ax.text(1.01, -0.75, "total", transform=ax.get_yaxis_transform(), va="center", ha="left",
            fontsize=9, color=_MUTED)
    ax.set_xscale("log")
    drawn = [c.params for s in items for c in s.components if c.params > 0]
    ax.set_xlim(min(drawn) / 2, max(limit or 0, max(drawn)) * 2)
    ax.xaxis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(_eng_ticks())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(items)), labels)
    ax.set_ylim(len(items) - 0.5, -0.5)
    ax.set_xlabel("parameters per component (log scale)")
    ax.tick_params(axis="y", length=0)
    _style(ax, "x")
    ax.grid(axis="y", color=_GRID, linewidth=0.6)
    _suptitle(fig, title)
    missing = any(c.params == 0 for s in items for c in s.components)
    _subtitle(ax, _context(items[0]) + (" · no dot: 0 parameters" if missing else ""))
    _legend(fig, present)
    return fig


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
    ax.set_xticks(range(len(comps)), ticks, fontsize=9)
    for x, value in enumerate(values):
        ax.annotate(f"{measure(value)} MB", (x, value), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=9)
    stem = s.component("stem")
    stem_mb = stem.activation_bytes / MB
    if stem_mb >= 0.5 * max(values):  # room inside the bar
        ax.annotate(f"{shape(stem.output_shape)} out\n= {_si(stem.output_values)} values\n"
                    "enter the learner", (0, stem_mb / 2), ha="center", va="center",
                    fontsize=8.5, color="#1b3b2b")
    else:  # above the bar's value label
        ax.annotate(f"{shape(stem.output_shape)} out = {_si(stem.output_values)} values",
                    (0, stem_mb), xytext=(0, 16), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8.5, color="#1b3b2b")
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


def activation_memory_by_variant(summaries: Iterable[Summary], *,
                                 limit: float | None = None) -> Figure:
    """Activation memory per image of every variant (MB, float32), stacked by component;
    `limit` (MB) fixes the axis."""
    return _stacked_by_variant(
        summaries, metric="activation_bytes", scale=MB, unit="MB", limit=limit,
        title="Activation memory per image: {lo} MB ({lo_name}) to {hi} MB ({hi_name})",
        xlabel="activation memory, MB (conv with BN and ReLU fused, pool and dense outputs; "
               "float32, batch 1)",
    )


def macs_by_variant(summaries: Iterable[Summary], *, limit: float | None = None) -> Figure:
    """Multiply-accumulates per image of every variant (G), stacked by component; `limit`
    (GMACs) fixes the axis."""
    return _stacked_by_variant(
        summaries, metric="macs", scale=1e9, unit="G", limit=limit,
        title="Compute per image: {lo} GMACs ({lo_name}) to {hi} GMACs ({hi_name})",
        xlabel="multiply-accumulates per image (GMACs)",
    )


def stem_comparison(summaries_by_stem: Mapping[str, Summary]) -> Figure:
    """Stem designs side by side for one variant: output size, values entering the learner,
    stem activation memory and stem + learner MACs (2×2 small multiples, a bar per stem)."""
    if not isinstance(summaries_by_stem, Mapping) or not summaries_by_stem:
        raise ValueError("expected a non-empty dict of stem name → Summary, e.g. "
                         "{name: summarize('vgg16', stem=name) for name in STEMS}")
    for key, s in summaries_by_stem.items():
        get_stem(key)
        _check_summary(s)
        if s.stem != key:
            raise ValueError(f"the summary under {key!r} is for the {s.stem!r} stem")
    items = [(k, summaries_by_stem[k]) for k in STEMS if k in summaries_by_stem]
    variants = {s.variant for _, s in items}
    if len(variants) > 1:
        raise ValueError(f"compare stems of one variant, got {sorted(variants)}")
    if len({s.input_shape for _, s in items}) > 1:
        raise ValueError("compare stems at one input shape, got "
                         + ", ".join(f"{k}: {s.input_shape}" for k, s in items))
    first = items[0][1]
    names = [k for k, _ in items]
    labels = [get_stem(k).title.replace(" stem", "\nstem") for k in names]
    colors = [STEM_COLORS[k] for k in names]

    def learner_macs(s: Summary) -> int:
        return sum(c.macs for c in s.components if c.name != "classifier")

    stems = [s.component("stem") for _, s in items]
    entering = [s.values_entering_learner for _, s in items]
    base = summaries_by_stem["vgg"].values_entering_learner if "vgg" in names else None

    def entering_text(name: str, value: int) -> str:
        if base is None or name == "vgg" or not value or base / value < 1.5:
            return _si(value)
        return f"{_si(value)}  (÷{base / value:.0f})"

    memory = [sum(c.activation_bytes for c in s.components if c.name.startswith("group")) / MB
              for _, s in items]
    macs = [learner_macs(s) / 1e9 for _, s in items]
    panels = [  # heading, bar heights, the text on each bar, y tick formatter
        ("Output size (H×W per map)", [c.output_shape[0] * c.output_shape[1] for c in stems],
         [f"{c.output_shape[0]}×{c.output_shape[1]}" for c in stems], _eng_ticks),
        ("Values entering the learner (H×W×C)", entering,
         [entering_text(k, v) for k, v in zip(names, entering, strict=True)], _eng_ticks),
        ("Learner activation memory (MB, groups 1–5)", memory,
         [f"{measure(v)} MB" for v in memory], None),
        ("Stem + learner MACs (G)", macs, [f"{measure(v)} G" for v in macs], None),
    ]
    fig = _figure(5.6)
    axes = fig.subplots(2, 2)
    for ax, (heading, values, texts, formatter) in zip(axes.flat, panels, strict=True):
        ax.bar(range(len(values)), values, color=colors, width=0.62)
        ax.set_xticks(range(len(values)), labels, fontsize=9)
        for x, (value, text) in enumerate(zip(values, texts, strict=True)):
            ax.annotate(text, (x, value), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=9)
        ax.set_ylim(0, max(values) * 1.2 or 1)
        if formatter is not None:
            ax.yaxis.set_major_formatter(formatter())
        ax.set_title(heading, loc="left", fontsize=10.5)
        ax.tick_params(axis="x", length=0)
        _style(ax, "y")
    title = _title(first)
    if "vgg" in summaries_by_stem and len(names) > 1:
        cuts = [(k, fraction_words(base / s.values_entering_learner))
                for k, s in items if k != "vgg"]
        text = f"{title}: a {cuts[0][0]} stem cuts the values entering the learner to {cuts[0][1]}"
        text += "".join(f",\na {k} stem to {words}" for k, words in cuts[1:])
        _suptitle(fig, text)
    else:
        _suptitle(fig, f"{title}: stem designs compared")
    h, w, c = first.input_shape
    fig.supxlabel(f"{title} · {h}×{w}×{c} input · float32, batch 1", fontsize=8.5,
                  color=_MUTED)
    return fig


def input_size_effect(variant: str, sizes: Iterable[int], *, stem: str = "vgg",
                      current: int | None = None) -> Figure:
    """How fc1's parameters (flatten → 4096) and the stem's activation memory grow with the
    (square) input size; `current` marks the slider's position."""
    v = get_variant(variant)
    design = get_stem(stem)
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise ValueError(f"sizes must be an iterable of input sizes in px, got {sizes!r}")
    points = sorted({_check_size(size, "every input size") for size in sizes})
    if not points:
        raise ValueError("sizes is empty: give at least one input size")
    if current is not None:
        current = _check_size(current, "current")
    # Uncached: a slider's few hundred sizes must not evict the app's cached summaries.
    compute = getattr(summarize, "__wrapped__", summarize)

    def costs(size: int) -> tuple[int, float]:
        s = compute(v.name, stem=design.name, input_shape=(size, size, 3), include_top=True)
        fc1 = next(layer.params for layer in s.layers if layer.name == "fc1")
        return fc1, s.component("stem").activation_bytes / MB

    fc1, memory = zip(*(costs(size) for size in points), strict=True)
    fig = _figure(3.7)
    axes = fig.subplots(1, 2)
    panels = [
        (axes[0], fc1, "fc1 parameters (flatten → 4096)", COMPONENT_COLORS["classifier"],
         _si),
        (axes[1], memory, "Stem activation memory (MB)", COMPONENT_COLORS["stem"],
         lambda mb: f"{measure(mb)} MB"),
    ]
    marked = costs(current) if current is not None else None
    lo, hi = min(points[0], current or points[0]), max(points[-1], current or points[-1])
    for i, (ax, values, heading, color, fmt) in enumerate(panels):
        style = {"marker": "o", "markersize": 3.5} if len(points) <= 40 else {}
        ax.plot(points, values, color=color, linewidth=2, **style)
        ax.set_title(heading, loc="left", fontsize=10.5)
        ax.set_xlabel("input size (px, square)")
        ax.set_xlim(lo - 0.03 * (hi - lo or 1), hi + 0.03 * (hi - lo or 1))
        top = max(max(values), marked[i] if marked else 0)
        ax.set_ylim(0, top * 1.15 or 1)
        if i == 0:
            ax.yaxis.set_major_formatter(_eng_ticks())
        _style(ax, "y")
        ax.grid(axis="x", color=_GRID, linewidth=0.8)
        if marked is not None:
            value = marked[i]
            ax.axvline(current, color=_MUTED, linestyle="--", linewidth=1)
            ax.plot([current], [value], "o", color=color, markersize=7, markeredgecolor="black",
                    zorder=4)
            # Both curves rise to the right: the label goes up-left of the point, where the
            # curve is not, unless the point is too near the left edge for the text.
            left = current > lo + 0.3 * (hi - lo)
            ax.annotate(f"{current} px: {fmt(value)}", (current, value),
                        xytext=(-8 if left else 8, 8), textcoords="offset points",
                        ha="right" if left else "left", va="bottom", fontsize=9,
                        fontweight="bold",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                              "alpha": 0.85})
    if marked is not None:
        _suptitle(fig, f"{v.title} at {current}×{current}: fc1 holds {_si(marked[0])} "
                       f"parameters, the stem needs {measure(marked[1])} MB")
    else:
        _suptitle(fig, f"{v.title}: fc1 and the stem's memory grow with the square of the "
                       "input size")
    fig.supxlabel(f"{v.title} · {design.title} · 3 channels · float32, batch 1",
                  fontsize=8.5, color=_MUTED)
    return fig


# --------------------------------------------------------------------------- encoding


def figure_png(fig: Figure, dpi: float = 100) -> bytes:
    """PNG bytes of `fig` (tight bounding box) for an `ipywidgets.Image`."""
    if not isinstance(fig, Figure):
        raise ValueError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    if isinstance(dpi, bool) or not isinstance(dpi, Real) or not 10 <= dpi <= 600:
        raise ValueError(f"dpi must be a number from 10 to 600, got {dpi!r}")
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


# --------------------------------------------------------------------------- the classifier head


def head_vs_input_size(variant: str, sizes: Iterable[int], *, stem: str = "vgg",
                       current: int | None = None) -> Figure:
    """Parameters of fc1 alone (flatten → 4096) and of the whole GAP head (global average
    pooling, then the 1000-way dense layer) at each (square) input size, on a log scale:
    fc1 grows with the area of the last pool, the GAP head does not. `current` is marked."""
    v, design = get_variant(variant), get_stem(stem)
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise ValueError(f"sizes must be an iterable of input sizes in px, got {sizes!r}")
    points = sorted({_check_size(size, "every input size") for size in sizes})
    if not points:
        raise ValueError("sizes is empty: give at least one input size")
    compute = getattr(summarize, "__wrapped__", summarize)  # uncached, as input_size_effect

    def heads(size: int) -> tuple[int, int]:
        fc = compute(v.name, stem=design.name, input_shape=(size, size, 3))
        gap = compute(v.name, stem=design.name, input_shape=(size, size, 3), classifier="gap")
        return (next(r.params for r in fc.layers if r.name == "fc1"),
                gap.component("classifier").params)

    fc1, gap = zip(*(heads(size) for size in points), strict=True)
    fig = _figure(3.0, 5.6)
    ax = fig.add_subplot()
    ax.plot(points, fc1, color=COMPONENT_COLORS["classifier"], linewidth=2, marker="o",
            markersize=3.5, label="fc1 alone (flatten → 4096)")
    ax.plot(points, gap, color=COMPONENT_COLORS["group5"], linewidth=2, marker="o",
            markersize=3.5, label="whole GAP head (avg pool → 1000)")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_major_formatter(_eng_ticks())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(min(gap) / 3, max(fc1) * 4)
    ax.set_xlabel("input size (px, square)")
    ax.set_ylabel("parameters (log scale)")
    _style(ax, "y")
    if current is not None:
        current = _check_size(current, "current")
        now_fc1, now_gap = heads(current)
        ax.axvline(current, color=_MUTED, linestyle="--", linewidth=1)
        for value, color in ((now_fc1, COMPONENT_COLORS["classifier"]),
                             (now_gap, COMPONENT_COLORS["group5"])):
            ax.plot([current], [value], "o", color=color, markersize=7,
                    markeredgecolor="black", zorder=4)
            right = current > points[0] + 0.75 * (points[-1] - points[0])  # label goes left
            ax.annotate(_si(value), (current, value), xytext=(-6 if right else 6, 5),
                        textcoords="offset points", ha="right" if right else "left",
                        fontsize=9, fontweight="bold",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                              "alpha": 0.85})
    ax.legend(loc="center right", frameon=False, fontsize=9)  # between the two lines
    _suptitle(fig, "fc1 grows with the input's area; GAP does not")
    fig.supxlabel(f"{v.title} · {design.title} · 1000 classes · parameters as Keras counts "
                  "them", fontsize=8.5, color=_MUTED)
    return fig
