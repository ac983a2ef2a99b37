"""The glossary's terms: a Tab stop with a definition in the DOM, linked for screen readers, each
term explained once, and the pages' jargon (MACs, ReLU, "fused", "as Keras counts them") covered
where it appears."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from vggviz.plan import formatting as fmt
from vggviz.ui.panels.cost_strip import cost_strip
from vggviz.ui.parts import glossary


class Elements(HTMLParser):
    """Every element's tag, attributes and the text directly inside it."""

    def __init__(self):
        super().__init__()
        self.elements, self._open = [], []

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, **dict(attrs), "text": ""}
        self.elements.append(element)
        self._open.append(element)

    def handle_endtag(self, tag):
        self._open.pop()

    def handle_data(self, data):
        if self._open:
            self._open[-1]["text"] += data


def parse(text: str) -> list[dict]:
    parser = Elements()
    parser.feed(text)
    return parser.elements


def terms(text: str) -> list[tuple[dict, dict]]:
    """(term, its definition) pairs of an HTML text, the definition found by the term's
    aria-describedby."""
    elements = parse(text)
    by_id = {e["id"]: e for e in elements if "id" in e}
    return [(e, by_id[e["aria-describedby"]]) for e in elements
            if e.get("role") == "term"]


@pytest.mark.parametrize("word", ["MACs", "ReLU", "fused", "as Keras counts them"])
def test_a_term_is_a_tab_stop_whose_definition_is_in_the_dom_and_described_by(word):
    [(term, definition)] = terms(glossary.term(word))
    assert term["tabindex"] == "0" and term["class"] == "vggviz-term"
    assert term["text"] == word
    assert definition["role"] == "tooltip" and definition["class"] == "vggviz-definition"
    assert definition["text"] == glossary.DEFINITIONS[word] and len(definition["text"]) > 40


def test_every_term_on_a_page_has_an_id_of_its_own():
    text = glossary.term("MACs") + glossary.term("MACs") + glossary.term("ReLU")
    ids = [definition["id"] for _, definition in terms(text)]
    assert len(set(ids)) == 3


def test_the_style_shows_a_definition_on_hover_and_on_focus_only():
    assert ".vggviz-term .vggviz-definition { display: none;" in glossary.STYLE
    shown = glossary.STYLE.split(".vggviz-term:hover .vggviz-definition", 1)[1]
    assert ".vggviz-term:focus .vggviz-definition" in shown.split("{", 1)[0]
    assert "display: block" in shown


def test_explain_wraps_the_first_use_of_each_term_once_across_calls_and_escapes_the_rest():
    seen = set()
    first = glossary.explain("ReLU then ReLU, 5 < 6", seen)
    second = glossary.explain("a ReLU and MACs, not GMACsX", seen)
    assert [t["text"] for t, _ in terms(first)] == ["ReLU"]
    assert "5 &lt; 6" in first
    assert [t["text"] for t, _ in terms(second)] == ["MACs"]  # ReLU was explained above
    # a definition's own words are not explained again inside it
    [(_, definition)] = terms(glossary.explain("fused"))
    assert "ReLU" in definition["text"] and "vggviz-term" not in glossary.explain("fused").split(
        "role='tooltip'")[1]


def test_unknown_words_are_refused_in_words():
    with pytest.raises(KeyError, match="no definition of 'FLOPs'"):
        glossary.term("FLOPs")


def test_the_family_footnote_and_the_cost_strip_explain_their_jargon():
    notes = " ".join(fmt.COLUMN_NOTES.values())
    explained = {t["text"] for t, _ in terms(glossary.explain(notes))}
    assert {"as Keras counts them", "fused", "ReLU"} <= explained
    strip = cost_strip()
    assert [t["text"] for t, _ in terms(strip)] == ["MACs"]
    assert strip.startswith(glossary.STYLE)
