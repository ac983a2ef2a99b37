"""The numbers the family and stem-design charts draw, as small tables a screen reader reads:
put visually hidden beside each chart, whose alt is the table's caption (`alt`), the picture
showing the same numbers. Counted from the same summaries as the charts; no matplotlib."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

from vggviz.plan import formatting as fmt
from vggviz.plan.accounting import Summary, summarize
from vggviz.plan.architecture import COMPONENTS, STEMS, VARIANTS

SR_ONLY = ("position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;"
           "clip:rect(0,0,0,0);white-space:nowrap;border:0")
"""Visually hidden, still read: the usual screen-reader-only rules, inline (no stylesheet)."""

Table = tuple[str, list[str], list[list[str]]]
"""A caption, the column headers and the rows (first cell: the row's name)."""

_METRICS = {  # what a by-variant chart stacks: unit, and a component's value in it
    "params": ("parameters", lambda c: fmt.count(c.params)),
    "memory": ("activation memory (MB)", lambda c: fmt.measure(c.activation_bytes / fmt.MB)),
    "macs": ("compute (GMACs)", lambda c: fmt.gmacs(c.macs)),
}
_TOTALS = {"params": lambda s: fmt.count(s.total_params),
           "memory": lambda s: fmt.measure(s.activation_bytes / fmt.MB),
           "macs": lambda s: fmt.gmacs(s.total_macs)}


def alt(table: Table) -> str:
    """The alt text of the chart `table` goes with: its caption, and where its numbers are."""
    return f"Chart: {table[0]}. Its numbers are in the table that follows."


def hidden_table(table: Table) -> str:
    """`table` as an HTML table with a caption and header cells, visually hidden."""
    caption, headers, rows = table
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr><th scope='row'>{html.escape(row[0])}</th>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in row[1:]) + "</tr>"
        for row in rows)
    return (f"<div class='vggviz-chart-table' style='{SR_ONLY}'><table>"
            f"<caption>{html.escape(caption)}</caption><tr>{head}</tr>{body}</table></div>")


def by_variant(summaries: Sequence[Summary], metric: str) -> Table:
    """Every variant's `metric` ("params", "memory" or "macs") per component and in total."""
    unit, value = _METRICS[metric]
    present = [n for n in COMPONENTS if any(c.name == n for s in summaries for c in s.components)]
    rows = []
    for s in summaries:
        parts = {c.name: value(c) for c in s.components}
        rows.append([VARIANTS[s.variant].title, *(parts.get(n, "0") for n in present),
                     _TOTALS[metric](s)])
    h, w, _ = summaries[0].input_shape
    caption = (f"The chart's numbers: {unit} of every variant, by component, "
               f"{STEMS[summaries[0].stem].title}, {h}×{w} input")
    return caption, ["variant", *(n.replace("group", "group ") for n in present), "total"], rows


def _marked(size: int, current: int | None) -> str:
    return f"{size} px (shown)" if size == current else f"{size} px"


def input_sizes(variant: str, sizes: Iterable[int], *, stem: str = "vgg",
                current: int | None = None) -> Table:
    """fc1's parameters and the stem's activation memory at each input size."""
    compute = getattr(summarize, "__wrapped__", summarize)  # uncached, as the chart
    rows = []
    for size in sizes:
        s = compute(variant, stem=stem, input_shape=(size, size, 3), include_top=True)
        fc1 = next(layer.params for layer in s.layers if layer.name == "fc1")
        rows.append([_marked(size, current), fmt.count(fc1),
                     fmt.measure(s.component("stem").activation_bytes / fmt.MB)])
    caption = (f"The chart's numbers: {VARIANTS[variant].title}, {STEMS[stem].title}, "
               f"fc1 parameters and stem activation memory by input size")
    return caption, ["input size", "fc1 parameters", "stem MB"], rows


def head_sizes(variant: str, sizes: Iterable[int], *, stem: str = "vgg",
               current: int | None = None) -> Table:
    """fc1 alone against the whole GAP head, in parameters, at each input size."""
    compute = getattr(summarize, "__wrapped__", summarize)
    rows = []
    for size in sizes:
        fc = compute(variant, stem=stem, input_shape=(size, size, 3))
        gap = compute(variant, stem=stem, input_shape=(size, size, 3), classifier="gap")
        rows.append([_marked(size, current),
                     fmt.count(next(r.params for r in fc.layers if r.name == "fc1")),
                     fmt.count(gap.component("classifier").params)])
    caption = (f"The chart's numbers: {VARIANTS[variant].title}, {STEMS[stem].title}, "
               f"parameters of fc1 alone and of the whole GAP head by input size")
    return caption, ["input size", "fc1 alone", "whole GAP head"], rows


def stems(summaries_by_stem: Mapping[str, Summary]) -> Table:
    """The stem comparison's four panels: output size, values entering the learner, the
    learner's activation memory and the stem and learner's GMACs, per stem."""
    rows = []
    for key, s in summaries_by_stem.items():
        h, w, _ = s.component("stem").output_shape
        memory = sum(c.activation_bytes for c in s.components if c.name.startswith("group"))
        macs = sum(c.macs for c in s.components if c.name != "classifier")
        rows.append([STEMS[key].title, f"{h}×{w}", fmt.count(s.values_entering_learner),
                     fmt.measure(memory / fmt.MB), fmt.gmacs(macs)])
    first = next(iter(summaries_by_stem.values()))
    caption = f"The chart's numbers: {VARIANTS[first.variant].title}'s stem designs compared"
    return caption, ["stem", "output H×W", "values entering the learner",
                     "learner activation MB", "stem + learner GMACs"], rows
