"""Each cost chart and the table beside it read one series from `vggviz.plan.series`: the
table's numbers are the chart's, for every variant, stem and size, and a change to the series
shows in both."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from vggviz.plan import formatting as fmt
from vggviz.plan import series
from vggviz.plan.accounting import summarize, summarize_all
from vggviz.plan.architecture import STEMS
from vggviz.render import charts
from vggviz.ui.panels import chart_tables

PACKAGE = Path(__file__).resolve().parents[1] / "vggviz"
STACKED = {"params": charts.params_by_variant, "memory": charts.activation_memory_by_variant,
           "macs": charts.macs_by_variant}
CELL = {"params": fmt.count, "memory": lambda v: fmt.measure(v / fmt.MB), "macs": fmt.gmacs}


def _bars(fig) -> list[list[float]]:
    """The stacked chart's bar widths, one list per component (each a row per variant)."""
    (ax,) = fig.axes
    widths = [p.get_width() for p in ax.patches]
    rows = len(ax.get_yticklabels())
    return [widths[i:i + rows] for i in range(0, len(widths), rows)]


def _drawn_and_tabled(stack: series.Stack) -> tuple[list[list[float]], list[list[str]]]:
    """What the chart of `stack` draws (bar widths per component) and its table's cells."""
    _, _, rows = chart_tables.by_variant(stack)
    return _bars(STACKED[stack.metric.name](stack)), rows


@pytest.mark.parametrize("metric", list(series.METRICS))
@pytest.mark.parametrize("stem", list(STEMS))
def test_the_table_holds_the_numbers_the_chart_stacks_for_every_variant(metric, stem):
    stack = series.by_variant(summarize_all(stem=stem), metric)
    bars, rows = _drawn_and_tabled(stack)
    scale = stack.metric.scale
    for k, name in enumerate(stack.components):
        assert bars[k] == pytest.approx([v / scale for v in stack.column(name)]), name
    for row, label, values, total in zip(rows, stack.labels, stack.values, stack.totals,
                                         strict=True):
        assert row == [label, *map(CELL[metric], values), CELL[metric](total)]


def test_a_changed_series_shows_in_both_the_chart_and_the_table():
    stack = series.by_variant(summarize_all(), "params")
    k = stack.components.index("classifier")
    halved = tuple((*row[:k], row[k] // 2, *row[k + 1:]) for row in stack.values)
    changed = dataclasses.replace(stack, values=halved)
    bars, rows = _drawn_and_tabled(changed)
    assert bars[k] == pytest.approx([row[k] / 2 / 1e6 for row in stack.values])
    vgg16 = next(row for row in rows if row[0] == "VGG16")
    assert vgg16[1 + k] == "61,821,428"  # 123,642,856 / 2
    assert vgg16[-1] == fmt.count(138_357_544 - 61_821_428)


@pytest.mark.parametrize(("build", "draw", "lines"), [  # lines: each curve's, as drawn
    (series.input_sizes, charts.input_size_effect,
     lambda fig: [ax.get_lines()[0] for ax in fig.axes]),  # a panel per curve
    (series.head_sizes, charts.head_vs_input_size, lambda fig: fig.axes[0].get_lines()[:2]),
])
def test_the_size_tables_list_the_sizes_and_values_the_curves_draw(build, draw, lines):
    curves = build("vgg16", [224, 32, 224, 100, 448], current=224)  # unsorted, duplicated
    lines = lines(draw(curves))
    _, headers, rows = chart_tables.by_size(curves)
    assert [row[0] for row in rows] == ["32 px", "100 px", "224 px (shown)", "448 px"]
    assert headers[1:] == [c.name for c in curves.curves]
    for column, (curve, line) in enumerate(zip(curves.curves, lines, strict=True), start=1):
        assert list(line.get_xdata()) == [32, 100, 224, 448]
        drawn = [v / fmt.MB if curve.unit == "bytes" else v for v in curve.values]
        assert list(line.get_ydata()) == pytest.approx(drawn)
        cell = (lambda v: fmt.measure(v / fmt.MB)) if curve.unit == "bytes" else fmt.count
        assert [row[column] for row in rows] == [cell(v) for v in curve.values]


def test_a_changed_curve_shows_in_both_the_chart_and_the_table():
    curves = series.input_sizes("vgg16", [224, 448], current=448)
    fc1 = dataclasses.replace(curves.curves[0], values=(1_000, 2_000), marked=2_000)
    changed = dataclasses.replace(curves, curves=(fc1, curves.curves[1]))
    line = charts.input_size_effect(changed).axes[0].get_lines()[0]
    assert list(line.get_ydata()) == [1_000, 2_000]
    assert [row[1] for row in chart_tables.by_size(changed)[2]] == ["1,000", "2,000"]


def test_the_stems_table_keeps_the_charts_order_and_numbers_whatever_the_dict_order():
    panels = series.stems({k: summarize("vgg16", stem=k) for k in reversed(list(STEMS))})
    fig = charts.stem_comparison(panels)
    _, _, rows = chart_tables.stems(panels)
    assert [row[0] for row in rows] == [STEMS[k].title for k in STEMS]  # as the chart's bars
    size, entering, memory, macs = fig.axes
    assert [p.get_height() for p in entering.patches] == list(panels.entering)
    assert [row[2] for row in rows] == [fmt.count(v) for v in panels.entering]
    assert [row[1] for row in rows] == [t.get_text() for t in size.texts]
    assert [f"{row[3]} MB" for row in rows] == [t.get_text() for t in memory.texts]
    assert [p.get_height() for p in macs.patches] == pytest.approx(
        [v / 1e9 for v in panels.learner_macs])
    changed = dataclasses.replace(panels, entering=(10, 20, 30))
    assert [p.get_height() for p in charts.stem_comparison(changed).axes[1].patches] == \
        [10, 20, 30]
    assert [row[2] for row in chart_tables.stems(changed)[2]] == ["10", "20", "30"]


def test_a_chart_takes_only_its_own_series():
    stack = series.by_variant(summarize_all(), "memory")
    with pytest.raises(ValueError, match="expected a Stack of params, got one of memory"):
        charts.params_by_variant(stack)
    with pytest.raises(ValueError, match=re.escape("expected a vggviz.plan.series.Curves")):
        charts.input_size_effect(stack)
    with pytest.raises(ValueError, match="metric must be one of"):
        series.by_variant(summarize_all(), "bytes")


def test_no_module_reaches_around_the_summaries_cache():
    """The series use the cached `summarize`; nothing calls the function under the cache."""
    found = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
             if "__wrapped__" in p.read_text()]
    assert found == []
