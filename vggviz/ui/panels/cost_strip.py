"""The chapter's point in one strip: how many values the stem hands to the learner, and what
group 1 then costs, for the current stem beside the alternative (pooled vs the VGG stem)."""

from __future__ import annotations

import html

from vggviz.plan import formatting as fmt
from vggviz.plan.accounting import Summary, summarize
from vggviz.plan.architecture import STEMS
from vggviz.render.charts import STEM_COLORS
from vggviz.ui.parts import glossary

BAR_COLORS = {"input": "#9e9e9e", **STEM_COLORS}  # the stems in the charts' colours


def _macs(macs: int) -> str:
    return f"{macs / 1e9:.2f} G" if macs >= 1e9 else f"{macs / 1e6:.1f} M"


def _ratio(r: float) -> str:
    return f"×{r:.0f}" if r >= 10 else f"×{r:.1f}"


def _row(label: str, values: int, widest: int, colour: str, detail: str = "") -> str:
    """One line of words over a bar whose length is to scale with `values`."""
    width = max(0.5, 100 * values / widest)
    small = f"<br><small>{detail}</small>" if detail else ""
    return (f"<div style='margin:2px 0 6px 0'>{label}{small}<div style='background:{colour};"
            f"width:{width:.1f}%;height:10px;margin-top:2px'></div></div>")


def _stem_row(s: Summary, inputs: int, widest: int, macs_word: str = "MACs") -> str:
    out = s.values_entering_learner
    h, w, c = s.component("stem").output_shape
    label = (f"<b>{html.escape(STEMS[s.stem].title)}</b> → {h}×{w}×{c}: "
             f"<b>{fmt.count(out)}</b> values enter group 1 ({_ratio(out / inputs)})")
    detail = (f"stem {_macs(s.component('stem').macs)} {macs_word}, then group 1 runs at {h}×{w}: "
              f"<b>{_macs(s.component('group1').macs)}</b> MACs")
    return _row(label, out, widest, BAR_COLORS[s.stem], detail)


def cost_strip(variant: str = "vgg16", stem: str = "vgg", size: int = 224) -> str:
    """HTML rows with bars to scale: the input's values, the current stem's output and the
    alternative's (the pooled stem beside the VGG stem, the VGG stem beside any other)."""
    current = summarize(variant, stem=stem, input_shape=(size, size, 3))
    other = summarize(variant, stem="pooled" if stem == "vgg" else "vgg",
                      input_shape=(size, size, 3))
    inputs = size * size * 3
    widest = max(inputs, current.values_entering_learner, other.values_entering_learner)
    rows = [_row(f"Input {size}×{size}×3: <b>{fmt.count(inputs)}</b> values", inputs, widest,
                 BAR_COLORS["input"]),
            _stem_row(current, inputs, widest, glossary.term("MACs")),
            _stem_row(other, inputs, widest)]
    return (f"{glossary.STYLE}<div class='vggviz-cost-strip' style='font-size:13px;"
            f"line-height:1.3' title='Bars to scale. One image, batch 1.'>"
            + "".join(rows) + "</div>")
