"""The VGG family side by side: parameters, activation memory and MACs (no TensorFlow)."""

from __future__ import annotations

import ipywidgets as w

from vggviz import formatting as fmt
from vggviz import plots
from vggviz.accounting import summarize_all
from vggviz.architecture import STEMS, VARIANTS
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
        self.table.value = fmt.html_table(*fmt.variants_table(summaries),
                                          css_class="vggviz-family")
        self.params_chart.value = plots.figure_png(plots.params_by_variant(summaries,
                                                                           log=self.log.value))
        self.memory_chart.value = plots.figure_png(plots.activation_memory_by_variant(summaries))
        self.macs_chart.value = plots.figure_png(plots.macs_by_variant(summaries))
        self.size_chart.value = plots.figure_png(plots.input_size_effect(
            self.variant.value, [s for s in SIZES if s >= minimum], stem=stem, current=n))


def vgg_family() -> w.Widget:
    """The VGG family dashboard as a widget (the app object is at `.app`)."""
    app = VGGFamily()
    app.widget.app = app
    return app.widget



