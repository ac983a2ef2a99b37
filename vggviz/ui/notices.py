"""Weights notices and credits as HTML: the first clause in a line, the rest one click away."""

from __future__ import annotations

import html
import re

_CREDIT_LINKS = {r"arXiv:(\d{4}\.\d{4,5})": r"https://arxiv.org/abs/\1",
                 r"CC BY 4\.0": "https://creativecommons.org/licenses/by/4.0/"}


def notice_html(text: str) -> str:
    """A weights notice: its first clause in a line, the rest (why, and what to do) one click
    away, so the banner does not push the maps below the fold."""
    head = text.split(";")[0].split(" (")[0].split(":")[0]
    body = html.escape(text)
    more = (f" <details style='display:inline'><summary style='display:inline;cursor:pointer;"
            f"text-decoration:underline'>why, and what to do</summary> {body}</details>"
            if head != text else "")
    return (f"<div class='vggviz-notice' style='background:#fff4ce;padding:3px 8px;"
            f"line-height:1.4'>ℹ {html.escape(head)}: showing randomly initialised filters."
            f"{more}</div>")


def credit_html(text: str) -> str:
    """A credit line (e.g. `vggviz.sources.imagenet.IMAGENET_CREDIT`), small and grey, with the
    paper and the licence as links."""
    out = html.escape(text)
    for pattern, url in _CREDIT_LINKS.items():
        out = re.sub(pattern, lambda m, url=url: f"<a href='{m.expand(url)}' target='_blank' "
                     f"rel='noopener' style='text-decoration:underline'>{m.group(0)}</a>", out)
    return (f"<div class='vggviz-credit' style='color:#555;font-size:85%;line-height:1.4'>"
            f"{out}</div>")


def caution_html(text: str) -> str:
    """A caution about trained weights (e.g. `vggviz.sources.weights.foreign_stem_note`): in
    plain sight, since it changes what the maps mean."""
    return (f"<div class='vggviz-caution' style='background:#fff4ce;padding:3px 8px;"
            f"line-height:1.4'>⚠ {html.escape(text)}.</div>")
