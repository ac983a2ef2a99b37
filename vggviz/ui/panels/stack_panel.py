"""The family dashboard's panel on the paper's section 2.3: why VGG stacks 3×3 convolutions
instead of using one large kernel, for the current variant's groups with their channel counts."""

from __future__ import annotations

import html

from vggviz.plan import formatting as fmt
from vggviz.plan.architecture import STEMS, VARIANTS
from vggviz.plan.kernel_stacks import Stack, stacks

HEADERS = {
    "where": "the stem's and groups' convolutions, split at each pool",
    "stack": "how many 3×3 convolutions follow each other with no pool between",
    "C": "channels in and out of each convolution (its filters)",
    "sees": "side of the box of the stack's input that one output depends on: 2n + 1",
    "stacked weights": "n·9·C²: the stack's weights, biases left out",
    "one large kernel": "(2n+1)²·C²: one convolution that sees the same box",
    "fewer": "the share of the large kernel's weights the stack does without",
    "ReLUs": "non-linearities: one per convolution, so n against 1",
}


FOOTNOTE = (
    "Weights as the paper counts them: C channels into and out of every convolution, biases "
    "left out (a group's first convolution really takes the previous group's channels, the "
    "stem's the 3 colours). The box is in the stack's own input pixels; that two stacked 3×3 "
    "convolutions and one 5×5 depend on exactly the same 25 pixels is checked in vggviz's "
    "tests, by the gradient of a built Keras model. Hover a column's name for what it counts.")


def _where(stack: Stack) -> str:
    return " + ".join(c.replace("group", "group ") for c in stack.components)


def _row(stack: Stack) -> str:
    n, c, k = stack.convs, stack.channels, stack.field
    if n == 1:
        cells = [_where(stack), "one 3×3", fmt.count(c), "3×3", fmt.count(stack.stacked_weights),
                 "the same", "–", "1 against 1"]
        style = " style='color:#777'"
    else:
        cells = [_where(stack), f"{n} × 3×3", fmt.count(c), f"{k}×{k}",
                 f"{n}·9·{c}² = {fmt.count(stack.stacked_weights)}",
                 f"{k * k}·{c}² = {fmt.count(stack.single_weights)}",
                 fmt.percent(stack.saving), f"{n} against 1 (+{stack.extra_relus})"]
        style = ""
    tds = "".join(f"<td>{html.escape(cell)}</td>" if i == 0 else
                  f"<td align=right>{html.escape(cell)}</td>" for i, cell in enumerate(cells))
    return f"<tr{style}>{tds}</tr>"


def stack_panel(variant: str = "vgg16", stem: str = "vgg") -> str:
    """HTML: each run of 3×3 convs of `variant` with `stem`, its box, its weights beside one
    large kernel's, and its ReLUs; what the figures count in a footnote."""
    head = "".join(f"<th title='{html.escape(note)}'>{html.escape(name)}</th>"
                   for name, note in HEADERS.items())
    rows = "".join(_row(s) for s in stacks(variant, stem))
    title = f"{VARIANTS[variant].title} with the {STEMS[stem].title}"
    return (
        "<div class='vggviz-stacks' style='line-height:1.35'>"
        "<h3>Why stacks of 3×3 convolutions (the paper's section 2.3)</h3>"
        "<div style='max-width:900px'>Two 3×3 convolutions in a row see a 5×5 box of their "
        "input, three see 7×7: what one 5×5 or 7×7 kernel sees, with fewer weights (18C² and "
        "27C² instead of 25C² and 49C²) and a ReLU after each, so the function is more "
        f"discriminative. Here for {html.escape(title)}, with each group's channel count "
        "from the plan:</div>"
        "<style>.vggviz-stacks th, .vggviz-stacks td {padding: 2px 8px; white-space: nowrap}"
        "</style>"
        f"<table class='vggviz-stacks-table'><tr>{head}</tr>{rows}</table>"
        f"<div style='max-width:900px'><small>{FOOTNOTE}</small></div></div>"
    )
