"""A link to a view: parse and link round-trip, and every malformed query is ignored in words."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from vggviz.plan.view_link import Choice, Whole, ignored, link, parse

FIELDS = {"sample": Choice(("cat photo", "grating 0°", "checkerboard")),
          "stem": Choice(("vgg", "pooled", "strided")),
          "stage": Choice(("stem", "group1", "group2")),
          "map": Whole(0, 511)}


@pytest.mark.parametrize("state", [
    {}, {"stage": "group2"}, {"stage": "group2", "map": 5, "stem": "pooled"},
    {"sample": "grating 0°", "stem": "vgg", "stage": "stem", "map": 511},
    {"sample": "cat photo", "map": 0}])
def test_a_link_reads_back_to_its_state(state):
    query = link(state, FIELDS)
    assert parse(query, FIELDS) == (state, [])
    assert parse("?" + query, FIELDS) == (state, [])


def test_a_link_is_in_the_fields_order_and_escaped():
    query = link({"map": 5, "sample": "grating 0°", "stage": "group2"}, FIELDS)
    assert query == f"sample=grating+{quote('0°')}&stage=group2&map=5"


def test_a_state_with_a_field_the_page_has_not_is_a_programming_error():
    with pytest.raises(KeyError, match="no field colour"):
        link({"colour": "red"}, FIELDS)


@pytest.mark.parametrize(("query", "kept", "said"), [
    ("stage=group9", {}, "stage=“group9” is not one of stem, group1, group2"),
    ("stage=", {}, "stage=“” is not one of"),
    ("map=-1", {}, "map=“-1” is not a whole number from 0 to 511"),
    ("map=512", {}, "map=“512” is not a whole number from 0 to 511"),
    ("map=5.0", {}, "map=“5.0” is not a whole number"),
    ("map=٣", {}, "map=“٣” is not a whole number"),  # an Arabic-Indic digit: isdigit, not ASCII
    ("map=1e3", {}, "map=“1e3” is not a whole number"),
    ("colour=red&map=3", {"map": 3}, "“colour” is not a setting of this page"),
    ("map=3&map=4", {"map": 3}, "“map” was given more than once: the first one is used"),
    ("stem=Pooled", {}, "stem=“Pooled” is not one of vgg, pooled, strided"),
    ("map", {}, "map=“” is not a whole number"),
    ("stage=%ZZ", {}, "stage=“%ZZ” is not one of"),
])
def test_a_malformed_parameter_is_ignored_and_said(query, kept, said):
    state, problems = parse(query, FIELDS)
    assert state == kept
    assert len(problems) == 1 and said in problems[0], problems
    assert said in ignored(problems)


@pytest.mark.parametrize("query", ["", "?", "&&", "&"])
def test_an_empty_query_asks_for_nothing(query):
    assert parse(query, FIELDS) == ({}, [])
    assert ignored([]) == ""


def test_the_valid_parts_of_a_partly_broken_link_are_kept():
    state, problems = parse("?stage=group2&map=x&stem=pooled&zoom=3", FIELDS)
    assert state == {"stem": "pooled", "stage": "group2"}
    assert len(problems) == 2
    sentence = ignored(problems)
    assert sentence.startswith("Ignored in the link: ") and sentence.endswith("is shown.")
