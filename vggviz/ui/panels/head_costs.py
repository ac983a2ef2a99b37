"""What the classifier head does to a variant's cost: the paper's fc head against global
average pooling and one dense layer, for the family dashboard (counted, no TensorFlow)."""

from __future__ import annotations

import html

import ipywidgets as w

from vggviz.plan import formatting as fmt
from vggviz.plan.accounting import summarize
from vggviz.plan.architecture import CLASSIFIERS, STEMS, VARIANTS
from vggviz.sources.weights import foreign_stem_note, imagenet_top_problem
from vggviz.ui.parts.controls import framed, picture

NOTES = {
    "head": "the classifier on top of group 5",
    "head params": "parameters of the head alone, as Keras counts them",
    "total params": "parameters of the whole model with that head",
    "GMACs": "billions of multiply-accumulates for one image, whole model",
    "activations MB": "activation memory of one image, whole model, float32 (as in the table "
                      "above)",
}
HEADS = {"fc": "fc (the paper's)", "gap": "GAP"}
LAYERS = "fc: flatten, fc1, fc2, predictions; GAP: avg_pool, predictions"


def head_rows(variant: str, stem: str, size: int) -> tuple[list[str], list[list[str]]]:
    """Headers and one row per head (fc, gap) of the variant's cost at this stem and size."""
    headers = list(NOTES)
    rows = []
    for head in CLASSIFIERS:
        s = summarize(variant, stem=stem, input_shape=(size, size, 3), classifier=head)
        rows.append([HEADS[head], fmt.count(s.component("classifier").params),
                     fmt.count(s.total_params), fmt.gmacs(s.total_macs),
                     fmt.megabytes(s.activation_values)])
    return headers, rows


def imagenet_head_line(variant: str, stem: str, size: int) -> str | None:
    """Where Keras' trained ImageNet classifier fits a stem it was not trained with, that its
    predictions there are not the trained network's, in words; else None."""
    foreign = foreign_stem_note("imagenet", variant, stem)
    if foreign is None or imagenet_top_problem(variant, stem, size) is not None:
        return None
    return (f"At {size}×{size} the last pool gives 7×7×512, so Keras' trained ImageNet "
            f"classifier fits in shape. {foreign}; its predictions here are not those of the "
            f"trained {VARIANTS[variant].title}.")


def head_sentence(variant: str, stem: str, size: int) -> str:
    """The point in one sentence: total parameters with the paper's head → with GAP."""
    fc = summarize(variant, stem=stem, input_shape=(size, size, 3))
    gap = summarize(variant, stem=stem, input_shape=(size, size, 3), classifier="gap")
    share = fc.component("classifier").params / fc.total_params
    return (f"{VARIANTS[variant].title} at {size}×{size} ({STEMS[stem].title}): "
            f"<b>{fc.total_params / 1e6:.1f} M → {gap.total_params / 1e6:.1f} M</b> parameters "
            f"when global average pooling replaces flatten, fc1 and fc2; the paper's head holds "
            f"{fmt.percent(share)} of them.")


class ClassifierHead:
    """The panel: a sentence, the two heads' costs side by side, and (drawn by the family
    app's worker into `chart`) fc1 against the GAP head over the input sizes offered."""

    def __init__(self):
        self.sentence = w.HTML()
        self.text = w.HTML(layout=w.Layout(flex="0 1 auto", margin="0 16px 0 0"))
        self.chart = picture("100%")
        self.chart.add_class("vggviz-head-chart")
        self.frame = framed(self.chart)
        # beside the table, as wide as the row leaves, from 560 px (else under it) to 900 px
        self.frame.layout = w.Layout(flex="1 1 560px", min_width="0", max_width="900px")
        self.widget = w.VBox([
            w.HTML("<h3>The classifier's cost, and the head that replaced it</h3>"),
            self.sentence,
            w.HBox([self.text, self.frame], layout=w.Layout(
                align_items="flex-start", flex_flow="row wrap", width="100%")),
        ], layout=w.Layout(align_items="flex-start", width="100%"))
        self.widget.add_class("vggviz-classifier-head")

    def show(self, variant: str, stem: str, size: int) -> None:
        """Recount both heads for this variant, stem and input size (the chart is separate)."""
        headers, rows = head_rows(variant, stem, size)
        table = fmt.html_table(headers, rows, css_class="vggviz-heads")
        for header, note in NOTES.items():  # each column says what it counts
            table = table.replace(f"<th>{header}</th>",
                                  f"<th title='{html.escape(note)}'>{header}</th>", 1)
        footnote = "<br>".join(f"<b>{k}</b>: {html.escape(v)}" for k, v in NOTES.items())
        imagenet = imagenet_head_line(variant, stem, size)
        self.sentence.value = (f"<div style='line-height:1.4;margin-bottom:4px'>"
                               f"{head_sentence(variant, stem, size)}"
                               + (f"<br><span class='vggviz-foreign-stem'>"
                                  f"{html.escape(imagenet)}</span>" if imagenet else "")
                               + "</div>")
        self.text.value = (
            f"{table}<div style='line-height:1.35;margin-top:6px;max-width:460px'><small>"
            f"{footnote}<br>{LAYERS}. GAP takes one mean per channel of group 5's output, "
            f"whatever its size, as keras.applications gives with pooling=\"avg\".</small>"
            f"</div>")
