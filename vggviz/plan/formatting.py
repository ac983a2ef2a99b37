"""Numbers in words and tables: megabytes, parameters, MACs, shapes, and the cost tables.

One place for how a figure reads, so the command line and the dashboards say the same thing.
Pure Python: no TensorFlow, numpy or widgets.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from vggviz.plan.accounting import BYTES_PER_VALUE, Summary
from vggviz.plan.architecture import COMPONENTS, VARIANTS
from vggviz.plan.receptive_field import ReceptiveField

COLUMN_NOTES = {
    "params": "parameters as Keras counts them: weights, biases and batch-norm statistics",
    "total params": "all parameters of the variant, as Keras counts them",
    "output": "shape of the feature maps the component hands to the next one",
    "output MB": "memory of those handed-on values for one image in float32 (4 bytes each)",
    "activations MB": ("memory of the outputs an inference graph keeps inside the component "
                       "(each conv with its batch norm and ReLU fused, each pool and dense "
                       "layer), one image, float32"),
    "GMACs": "billions of multiply-accumulates for one image",
    "fc1 params": ("parameters of the classifier's first dense layer (flatten → 4096), which "
                   "grow with the input size"),
    "stem MB": "memory of the values the stem hands to the learner, one image, float32",
    "receptive field": ("side of the input square one output unit depends on, in pixels, and "
                        "(jump) the pixels between neighbouring units' squares; the classifier "
                        "sees the whole input"),
}
"""What each column counts, for footnotes and tooltips."""

MB = 1e6
"""Decimal megabytes: 224×224×64 float32 values ≈ 12.8 MB."""


def megabytes(values: int) -> str:
    """Memory of `values` float32 numbers in decimal megabytes: 3,211,264 → "12.8 MB"."""
    return f"{values * BYTES_PER_VALUE / MB:,.1f} MB"


def count(n: int) -> str:
    """A whole number with thousands separators: 1792 → "1,792"."""
    return f"{n:,}"


def gmacs(macs: int) -> str:
    """Multiply-accumulates in billions: 15,470,264,320 → "15.47"."""
    return f"{macs / 1e9:,.2f}"


def shape(dims: Sequence[int]) -> str:
    """A shape as people write it: (224, 224, 64) → "224×224×64"."""
    return "×".join(map(str, dims))


def measure(value: float) -> str:
    """A measure already in its unit (MB, G): 3 significant-ish digits, readable at a glance."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percent(share: float) -> str:
    """0.894 → '89.4 %'; tiny shares do not pretend to be zero, nor large ones to be all."""
    value = 100 * share
    if value == 0:
        return "0 %"
    if 0 < value < 0.1:
        return "< 0.1 %"
    if 99.9 < value < 100:
        return "> 99.9 %"
    return f"{value:.1f} %"


def share_percent(share: float) -> str:
    """A share in whole percent ("37%"), with a decimal where rounding would say none or all
    ("0.4%", "99.6%"): "0%" and "100%" are said only when exact; "<0.1%", ">99.9%" beyond."""
    value = 100 * share
    if value in (0, 100):
        return f"{value:.0f}%"
    for said in (f"{value:.0f}", f"{value:.1f}"):
        if float(said) not in (0, 100):
            return f"{said}%"
    return "<0.1%" if value < 50 else ">99.9%"


def probability(p: float) -> str:
    """A probability as people read it: two decimals, or two digits where it is below 0.01
    (0.0017, not 0.00), so the command line and the explorer print the same number."""
    return f"{p:.2f}" if p >= 0.01 else f"{p:.2g}"


def fraction_words(ratio: float) -> str:
    """How much is left after dividing by `ratio`: 'half', 'a quarter', '1/16', '62 %'."""
    if math.isclose(ratio, 1):
        return "the same"
    if math.isclose(ratio, 2):
        return "half"
    if math.isclose(ratio, 4):
        return "a quarter"
    if ratio > 1 and math.isclose(ratio, round(ratio)):
        return f"1/{round(ratio)}"
    return f"{100 / ratio:.0f} %"


def component_table(s: Summary) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a variant's cost per component, then a total row."""
    headers = ["component", "params", "output", "output MB", "activations MB", "GMACs"]
    rows = [[c.name, count(c.params), shape(c.output_shape), megabytes(c.output_values),
             megabytes(c.activation_values), gmacs(c.macs)] for c in s.components]
    rows.append(["total", count(s.total_params), "", "", megabytes(s.activation_values),
                 gmacs(s.total_macs)])
    return headers, rows


def layer_table(s: Summary) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a variant's cost per layer."""
    headers = ["layer", "component", "output", "params", "values", "MACs", "receptive field"]
    fields = s.receptive_fields
    rows = [[r.name, r.component, shape(r.output_shape), count(r.params),
             count(r.activation_values), count(r.macs), field_text(fields[r.name])]
            for r in s.layers]
    return headers, rows


def field_text(field: ReceptiveField | None) -> str:
    """A receptive field in a table cell: "40 px (jump 4)", or "whole input"."""
    return "whole input" if field is None else f"{field.size} px (jump {field.jump})"


def variants_table(summaries: Sequence[Summary], *,
                   names: bool = False) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of every variant's parameters per component, memory and MACs; each row
    starts with the variant's title ("VGG16-BN"), or with its name ("vgg16_bn") if `names`."""
    headers = ["variant", *(f"{c} params" for c in COMPONENTS), "total params", "fc1 params",
               "stem MB", "activations MB", "GMACs"]
    rows = []
    for s in summaries:
        params = {c.name: c.params for c in s.components}
        fc1 = next((r.params for r in s.layers if r.name == "fc1"), 0)
        label = s.variant if names else VARIANTS[s.variant].title
        rows.append([label, *(count(params.get(c, 0)) for c in COMPONENTS),
                     count(s.total_params), count(fc1),
                     megabytes(s.component("stem").output_values),
                     megabytes(s.activation_values), gmacs(s.total_macs)])
    return headers, rows


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(c) for c in cells)
        return "  ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in
                                                     zip(rest, widths[1:], strict=True))])

    rule = "-" * len(line(headers))
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, css_class: str,
               highlight: str | None = None) -> str:
    """An HTML table; a header with a note in COLUMN_NOTES gets it as a tooltip, and the row
    whose first cell is `highlight` (and the total row) are bold."""
    head = "".join(
        f"<th title='{html.escape(COLUMN_NOTES[h])}'>{html.escape(h)}</th>" if h in COLUMN_NOTES
        else f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        style = (" style='background:#e8f0fe;font-weight:bold'" if row[0] == highlight else
                 " style='font-weight:bold'" if row[0] == "total" else "")
        cells = "".join(f"<td>{html.escape(str(row[0]))}</td>" if i == 0 else
                        f"<td align=right>{html.escape(str(cell))}</td>"
                        for i, cell in enumerate(row))
        body.append(f"<tr{style}>{cells}</tr>")
    return (f"<style>.{css_class} th, .{css_class} td {{padding: 2px 8px; line-height: 1.3;"
            f" white-space: nowrap}}</style>"
            f"<table class='{css_class}'><tr>{head}</tr>{''.join(body)}</table>")


MEASURED_NOTES = {
    "counted activations MB": ("activation memory of the batch as vggviz.plan.accounting counts it "
                               "(one output per conv, pool and dense layer, float32), not "
                               "measured"),
    "forward ms": "median time of a forward pass of the batch over the repeats (min–max)",
    "train step ms": ("median time of one SGD step (forward, backward, update) on the batch "
                      "over the repeats (min–max)"),
    "peak MB forward": ("peak memory of the forward passes above the built model, from "
                        "TensorFlow's allocator or the process's RSS as marked (see below)"),
    "peak MB train": ("peak memory of the SGD steps above the built model, from TensorFlow's "
                      "allocator or the process's RSS as marked (see below)"),
    "values entering learner": "values the stem hands to group 1, for the whole batch",
    "batch GMACs": "billions of multiply-accumulates of one forward pass of the batch",
    "RSS rise MB": ("how far the process's peak resident memory rose above its RSS once the "
                    "model was built, over the whole run"),
}
"""What each column of the measured stems table means, for footnotes and tooltips."""
COLUMN_NOTES.update(MEASURED_NOTES)  # html_table's tooltips cover the measured table too


def _ms(median: float, bounds: Sequence[float] | None) -> str:
    return f"{measure(median)} ({measure(bounds[0])}–{measure(bounds[1])})" if bounds else \
        measure(median)


def _peak(mb: float, source: str) -> str:
    """A peak figure in MB and its source: '281 (allocator)', '397 (RSS)'."""
    return f"{measure(mb)} ({'RSS' if source == 'rss' else source})"


def measured_table(m, *, counted: bool = True) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of `vggviz.network.measure.Measurement`: per stem, the counted
    parameters and activations (left out if not `counted`) beside the measured times (median and
    range) and peak memory, each peak marked with where it comes from (allocator or RSS)."""
    train = m.settings.train
    headers = ["stem", "params", "counted activations MB", "forward ms",
               *(["train step ms"] if train else []), "peak MB forward",
               *(["peak MB train"] if train else []), "RSS rise MB"]
    rows = []
    for s in m.stems:
        rows.append([s.stem, count(s.params), measure(s.activation_mb),
                     _ms(s.forward_ms, s.forward_ms_range),
                     *([_ms(s.train_ms, s.train_ms_range)] if train else []),
                     _peak(s.forward_peak_mb, s.forward_peak_source),
                     *([_peak(s.train_peak_mb, s.train_peak_source)] if train else []),
                     measure(s.rss_rise_mb)])
    if not counted:
        headers, rows = [headers[0], *headers[3:]], [[r[0], *r[3:]] for r in rows]
    return headers, rows


def counted_stems_table(summaries: Sequence[Summary],
                        batch: int = 1) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of what each stem's whole model costs by count, for a batch: the
    figures the measured table stands beside."""
    headers = ["stem", "params", "values entering learner", "counted activations MB",
               "batch GMACs"]
    rows = [[s.stem, count(s.total_params),
             count(s.values_entering_learner * batch), measure(s.activation_bytes * batch / MB),
             gmacs(s.total_macs * batch)] for s in summaries]
    return headers, rows


def measured_settings(m) -> str:
    """One line of what was measured: variant, head, batch, input, repeats, machine."""
    st = m.settings
    what = "a forward pass and one SGD step" if st.train else "a forward pass"
    return (f"{VARIANTS[st.variant].title} with its {st.classifier} classifier, {what} on a batch "
            f"of {st.batch} random {st.size}×{st.size}×3 images, each stem in a fresh process, "
            f"a warm-up then {st.repeats} timed repeats; {m.machine}")
