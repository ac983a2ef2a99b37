"""The VGG family side by side: parameters, activation memory and MACs (no TensorFlow)."""

from __future__ import annotations

import ipywidgets as w

from vggviz import plots
from vggviz.accounting import BYTES_PER_VALUE, summarize_all
from vggviz.architecture import COMPONENTS, STEMS, VARIANTS
from vggviz.ui.parts import StatusLine, kernel_watch, picture

SIZES = range(32, 513, 32)


class VGGFamily:
    """Widget app: every variant's cost, and how the input size changes it."""

    def __init__(self):
        self.size = w.IntSlider(value=224, min=32, max=512, step=32, description="Input px",
                                continuous_update=False)
        self.stem = w.ToggleButtons(options=[(s.title, k) for k, s in STEMS.items()],
                                    value="vgg", description="Stem",
                                    style={"button_width": "95px"})
        self.variant = w.Dropdown(options=[(v.title, k) for k, v in VARIANTS.items()],
                                  value="vgg16", description="Variant")
        self.log = w.Checkbox(value=False, description="log scale")
        self.status = StatusLine()
        self.table = w.HTML()
        self.params_chart, self.memory_chart = picture(), picture()
        self.macs_chart, self.size_chart = picture(), picture()
        for control in (self.size, self.stem, self.variant, self.log):
            control.observe(lambda _: self.refresh(), "value")
        charts = w.VBox([
            w.HBox([self.log]), self.params_chart, self.memory_chart, self.macs_chart,
            w.HTML("<h3>What the input size does</h3>"), self.variant, self.size_chart,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget = w.VBox([
            w.HTML("<p>Every variant of Simonyan &amp; Zisserman (2014) "
                   "and its batch-norm twin, counted layer by layer.</p>"),
            kernel_watch(), w.HBox([self.size, self.stem]), self.status.widget, self.table,
            charts,
        ], layout=w.Layout(align_items="flex-start"))
        self.widget.add_class("vggviz-vgg-family")
        self.refresh()

    def refresh(self) -> None:
        """Recount every variant for the chosen stem and input size and redraw."""
        n, stem = self.size.value, self.stem.value
        minimum = STEMS[stem].min_input
        if n < minimum:
            self.status.error(f"the {STEMS[stem].title.lower()} needs an input of at least "
                              f"{minimum}×{minimum} px; showing {minimum}")
            n = minimum
        else:
            self.status.show(f"input {n}×{n}×3 · {STEMS[stem].title} · float32, batch 1")
        summaries = summarize_all(stem=stem, input_shape=(n, n, 3))
        self.table.value = _table(summaries)
        self.params_chart.value = plots.figure_png(plots.params_by_variant(summaries,
                                                                           log=self.log.value))
        self.memory_chart.value = plots.figure_png(plots.activation_memory_by_variant(summaries))
        self.macs_chart.value = plots.figure_png(plots.macs_by_variant(summaries))
        self.size_chart.value = plots.figure_png(plots.input_size_effect(
            self.variant.value, [s for s in SIZES if s >= minimum], stem=stem, current=n))


def _table(summaries) -> str:
    head = "".join(f"<th>{c}</th>" for c in COMPONENTS)
    rows = []
    for s in summaries:
        params = {c.name: c.params for c in s.components}
        fc1 = next(r.params for r in s.layers if r.name == "fc1")
        cells = "".join(f"<td align=right>{params.get(c, 0):,}</td>" for c in COMPONENTS)
        rows.append(
            f"<tr><td>{VARIANTS[s.variant].title}</td>{cells}"
            f"<td align=right><b>{s.total_params:,}</b></td><td align=right>{fc1:,}</td>"
            f"<td align=right>{s.component('stem').activation_values * BYTES_PER_VALUE / 1e6:.1f}"
            f"</td><td align=right>{s.activation_bytes / 1e6:.1f}</td>"
            f"<td align=right>{s.total_macs / 1e9:.2f}</td></tr>")
    return ("<style>.vggviz-family th, .vggviz-family td {padding: 2px 8px}</style>"
            "<table class='vggviz-family'><tr><th>variant</th>" + head
            + "<th>total</th><th>fc1</th><th>stem MB</th><th>activations MB</th><th>GMACs</th>"
            "</tr>" + "".join(rows) + "</table>")


def vgg_family() -> w.Widget:
    """The VGG family dashboard as a widget (the app object is at `.app`)."""
    app = VGGFamily()
    app.widget.app = app
    return app.widget



