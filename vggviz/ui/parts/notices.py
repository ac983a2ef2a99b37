"""Weights notices and credits as HTML: a notice's gist in a line, the rest one click away."""

from __future__ import annotations

import html
import re

RANDOM = "showing randomly initialised filters"
"""The clause every weights notice has (`vggviz.sources.weights.weights_notice`), said once."""
LINE = 150
"""Characters of a notice that fit the banner's one line in a 1280 px window."""

_CREDIT_LINKS = {r"arXiv:(\d{4}\.\d{4,5})": r"https://arxiv.org/abs/\1",
                 r"CC BY 4\.0": "https://creativecommons.org/licenses/by/4.0/"}


def notice_parts(text: str) -> tuple[str, str]:
    """A notice as (its line, the rest): a short notice whole; a long one as its first clause
    and that random filters show, then the why and what to do. No clause is said twice."""
    at = text.lower().find(RANDOM)
    if at >= 0 and len(text) <= LINE:
        return _sentence(text), ""
    if at == 0:  # it opens by saying so: that clause, then the rest
        head = _first_clause(text)
        return _sentence(head), _sentence(_unwrap(text[len(head):].strip(" :;,")))
    before, after = (text, "") if at < 0 else (text[:at], text[at + len(RANDOM):])
    head = _first_clause(before)
    rest = "; ".join(part for part in (_unwrap(before[len(head):].strip(" :;,")),
                                       _unwrap(after.strip(" :;,"))) if part)
    return _sentence(f"{head}: {RANDOM}"), _sentence(rest) if rest else ""


def _first_clause(text: str) -> str:
    return re.split(r";| \(|:", text, maxsplit=1)[0].rstrip(" ,")


def _unwrap(text: str) -> str:
    """`text` without the parentheses it opens with: "(cannot reach x); do y" → "cannot reach
    x; do y" (a clause out of its sentence reads on its own)."""
    if not text.startswith("("):
        return text
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return (text[1:i] + text[i + 1:]).strip()
    return text[1:]


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def notice_html(text: str) -> str:
    """A weights notice in a banner: its line, and the rest (why, and what to do) one click
    away, so the banner does not push the maps below the fold."""
    line, rest = notice_parts(text)
    more = (f" <details style='display:inline'><summary style='display:inline;cursor:pointer;"
            f"text-decoration:underline'>why, and what to do</summary> {html.escape(rest)}"
            "</details>" if rest else "")
    return (f"<div class='vggviz-notice' style='background:#fff4ce;padding:3px 8px;"
            f"line-height:1.4'>ℹ {html.escape(line)}{more}</div>")


def credit_html(text: str) -> str:
    """A credit line (e.g. `vggviz.sources.imagenet.IMAGENET_CREDIT`), small and grey, with the
    paper and the licence as links."""
    out = html.escape(text)
    for pattern, url in _CREDIT_LINKS.items():
        out = re.sub(pattern, lambda m, url=url: f"<a href='{m.expand(url)}' target='_blank' "
                     f"rel='noopener' style='text-decoration:underline'>{m.group(0)}</a>", out)
    return (f"<div class='vggviz-credit' style='color:#555;font-size:12px;line-height:1.4'>"
            f"{out}</div>")


def caution_html(text: str) -> str:
    """A caution about trained weights (e.g. `vggviz.sources.weights.foreign_stem_note`): in
    plain sight, since it changes what the maps mean."""
    return (f"<div class='vggviz-caution' style='background:#fff4ce;padding:3px 8px;"
            f"line-height:1.4'>⚠ {html.escape(text)}.</div>")
