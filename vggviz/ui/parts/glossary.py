"""Words a student meets on the dashboards, each with a short definition one hover or one Tab
away: the term is a focusable `role="term"` whose definition sits in the DOM beside it (read by
screen readers through `aria-describedby`, shown on :hover and :focus by STYLE). Esc hides a
definition shown (WCAG 2.1 1.4.13: content on hover or focus can be dismissed), by SCRIPT."""

from __future__ import annotations

import html
import itertools
import re

DEFINITIONS = {
    "MACs": ("multiply-accumulates: one multiplication and one addition, the unit of a "
             "network's work. One output value of a 3×3 convolution over 64 channels costs "
             "3 × 3 × 64 = 576 MACs."),
    "GMACs": "billions of multiply-accumulates (MACs): one multiplication and one addition each.",
    "ReLU": ("rectified linear unit: keeps a positive value as it is and makes a negative one 0. "
             "VGG puts one after every convolution."),
    "fused": ("counted as one step: a convolution, its batch norm and its ReLU write one output "
              "between them, so memory is counted once, not three times."),
    "as Keras counts them": ("the number Keras' model.count_params() gives: every weight and "
                             "bias, and batch norm's four numbers per channel (two of them "
                             "learned, two running statistics)."),
    "activation memory": ("the values every layer outputs for one image, kept in memory while "
                          "the image goes through the network (float32: 4 bytes each)."),
    "receptive field": ("the square of the input picture that one value of a map depends on: "
                        "nothing outside it can change that value."),
}
"""Definitions in plain words, by the term as the pages write it."""

STYLE = """<style>
.vggviz-term { position: relative; border-bottom: 1px dotted currentColor; cursor: help; }
.vggviz-term:focus { outline: 2px solid #1a56db; outline-offset: 1px; }
.vggviz-term .vggviz-definition { display: none; position: absolute; left: 0; top: 100%;
  z-index: 20; width: max-content; max-width: 300px; margin-top: 4px; padding: 6px 8px;
  background: #fff; color: #1f1f1f; border: 1px solid #555; border-radius: 4px;
  box-shadow: 0 2px 6px rgba(0, 0, 0, 0.25); font-size: 13px; font-weight: normal;
  line-height: 1.35; white-space: normal; text-align: left; }
.vggviz-term:hover .vggviz-definition, .vggviz-term:focus .vggviz-definition,
.vggviz-term:focus-within .vggviz-definition { display: block; }
.vggviz-term.vggviz-dismissed .vggviz-definition { display: none; }
.widget-box:has(.vggviz-term:is(:hover, :focus-within):not(.vggviz-dismissed)) {
  overflow: visible; }
</style>"""
"""The CSS that shows a definition on hover and focus, over the edge of the widget box it is in
(a box scrolls what overflows it: a definition would be cut by a narrow column): once in any
widget that uses `term`."""

SCRIPT = r"""<script>
(() => {
  if (window.vggvizGlossary) return;
  window.vggvizGlossary = true;
  const shown = (term) => term.matches(":hover, :focus-within");
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = [...document.querySelectorAll(".vggviz-term:not(.vggviz-dismissed)")]
      .filter(shown);
    for (const term of open) term.classList.add("vggviz-dismissed");
    if (open.length) event.stopPropagation();  // Esc closed a definition, and nothing else
  }, true);
  // Once pointer and focus have both left the term, its definition shows again next time.
  // Decided at once from where they go (relatedTarget): a Tab away and straight back must
  // find the term undismissed, which a check after a timeout could miss.
  const leave = (event) => {
    const term = event.target.closest && event.target.closest(".vggviz-dismissed");
    if (!term) return;
    const next = event.relatedTarget;
    const staying = next instanceof Node && term.contains(next);
    const other = event.type === "focusout" ? term.matches(":hover")
                                            : term.matches(":focus-within");
    if (!staying && !other) term.classList.remove("vggviz-dismissed");
  };
  document.addEventListener("mouseout", leave, true);
  document.addEventListener("focusout", leave, true);
})();
</script>"""
"""Runs in the page (shown once beside each dashboard): Esc hides the definitions on screen."""

_IDS = itertools.count()  # one kernel serves one page: ids unique within the page
_ANY = re.compile("|".join(rf"\b{re.escape(html.escape(t))}\b"
                           for t in sorted(DEFINITIONS, key=len, reverse=True)))


def term(word: str, shown: str | None = None) -> str:
    """`word` as HTML that is a Tab stop, with its definition shown on hover or focus and
    linked for screen readers; `shown` is the text on the page if it differs (e.g. "GMACs")."""
    if word not in DEFINITIONS:
        raise KeyError(f"no definition of {word!r}; known: {', '.join(DEFINITIONS)}")
    ident = f"vggviz-definition-{next(_IDS)}"
    text = html.escape(shown if shown is not None else word)
    return (f"<span class='vggviz-term' tabindex='0' role='term' aria-describedby='{ident}'>"
            f"{text}<span class='vggviz-definition' role='tooltip' id='{ident}'>"
            f"{html.escape(DEFINITIONS[word])}</span></span>")


def explain(text: str, seen: set[str] | None = None) -> str:
    """Plain `text` as HTML, its first use of each defined term made a `term`; pass one `seen`
    set to several calls so a term is explained once across them."""
    seen = set() if seen is None else seen

    def wrap(match: re.Match) -> str:
        word = html.unescape(match.group())
        if word in seen:
            return match.group()
        seen.add(word)
        return term(word)

    return _ANY.sub(wrap, html.escape(text))
