"""The numbers the family and stem-design charts draw, as small tables a screen reader reads:
put visually hidden beside each chart, whose alt is the table's caption (`alt`), the picture
showing the same numbers. Each table reads the very series (`vggviz.plan.series`) its chart
draws, so the two cannot drift apart; no matplotlib."""

from __future__ import annotations

import html

from vggviz.plan import formatting as fmt
from vggviz.plan import series
from vggviz.plan.architecture import STEMS, VARIANTS

SR_ONLY = ("position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;"
           "clip:rect(0,0,0,0);white-space:nowrap;border:0")
"""Visually hidden, still read: the usual screen-reader-only rules, inline (no stylesheet)."""

Table = tuple[str, list[str], list[list[str]]]
"""A caption, the column headers and the rows (first cell: the row's name)."""

_METRICS = {  # what a by-variant chart stacks: the caption's words, and a count in the table
    "params": ("parameters", fmt.count),
    "memory": ("activation memory (MB)", lambda value: fmt.measure(value / fmt.MB)),
    "macs": ("compute (GMACs)", fmt.gmacs),
}


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


def by_variant(stack: series.Stack) -> Table:
    """Every variant's count in `stack` (parameters, activation memory or MACs) per component
    and in total: the numbers its by-variant chart stacks."""
    unit, cell = _METRICS[stack.metric.name]
    rows = [[label, *map(cell, values), cell(total)]
            for label, values, total in zip(stack.labels, stack.values, stack.totals,
                                            strict=True)]
    h, w, _ = stack.input_shape
    caption = (f"The chart's numbers: {unit} of every variant, by component, "
               f"{STEMS[stack.stem].title}, {h}×{w} input")
    return (caption, ["variant", *(n.replace("group", "group ") for n in stack.components),
                      "total"], rows)


def by_size(curves: series.Curves) -> Table:
    """Each curve's count at every input size, the size shown marked: the numbers of the
    input-size and classifier-head charts."""
    cells = {"parameters": fmt.count, "bytes": lambda value: fmt.measure(value / fmt.MB)}
    rows = [[f"{size} px (shown)" if size == curves.current else f"{size} px",
             *(cells[c.unit](c.values[i]) for c in curves.curves)]
            for i, size in enumerate(curves.sizes)]
    caption = (f"The chart's numbers: {VARIANTS[curves.variant].title}, "
               f"{STEMS[curves.stem].title}, {curves.what} by input size")
    return caption, ["input size", *(c.name for c in curves.curves)], rows


def stems(panels: series.StemPanels) -> Table:
    """The stem comparison's four panels: output size, values entering the learner, the
    learner's activation memory and the stem and learner's GMACs, per stem."""
    rows = [[STEMS[key].title, f"{h}×{w}", fmt.count(entering), fmt.measure(memory / fmt.MB),
             fmt.gmacs(macs)]
            for key, (h, w), entering, memory, macs in zip(
                panels.stems, panels.output_sizes, panels.entering, panels.learner_bytes,
                panels.learner_macs, strict=True)]
    caption = f"The chart's numbers: {VARIANTS[panels.variant].title}'s stem designs compared"
    return caption, ["stem", "output H×W", "values entering the learner",
                     "learner activation MB", "stem + learner GMACs"], rows
