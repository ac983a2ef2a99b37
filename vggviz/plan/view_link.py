"""A link to a view: a page's state read from its address's query, and written back as one.

Pure (no widgets): a page names its fields and what each may hold (`Choice`, `Whole`); `parse`
keeps what is valid and says in words what it ignored, `link` writes the query that `parse`
reads back to the same state. Unknown, repeated, empty or out-of-range parameters are ignored,
never raised: a shared link that went stale still opens the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

State = dict[str, str | int]
"""A page's state by field: a chosen name, or a whole number."""


@dataclass(frozen=True)
class Choice:
    """A field holding one of `values` (names as the page's controls know them)."""

    values: Sequence[str]

    def read(self, text: str) -> str | None:
        return text if text in self.values else None

    def expected(self) -> str:
        shown = ", ".join(self.values[:8]) + (", …" if len(self.values) > 8 else "")
        return f"one of {shown}"


@dataclass(frozen=True)
class Whole:
    """A field holding a whole number from `low` to `high`, inclusive."""

    low: int
    high: int

    def read(self, text: str) -> int | None:
        if not text.isascii() or not text.isdigit():
            return None
        number = int(text)
        return number if self.low <= number <= self.high else None

    def expected(self) -> str:
        return f"a whole number from {self.low} to {self.high}"


Field = Choice | Whole


def parse(query: str, fields: Mapping[str, Field]) -> tuple[State, list[str]]:
    """The state a query asks for (only the valid fields, in `fields`' order) and, in words,
    each part of it that was ignored and why. A leading "?" is allowed."""
    state: State = {}
    problems: list[str] = []
    seen: set[str] = set()
    for name, text in parse_qsl(query.removeprefix("?"), keep_blank_values=True):
        if name not in fields:
            problems.append(f"“{name}” is not a setting of this page")
            continue
        if name in seen:
            problems.append(f"“{name}” was given more than once: the first one is used")
            continue
        seen.add(name)
        value = fields[name].read(text)
        if value is None:
            problems.append(f"{name}=“{text}” is not {fields[name].expected()}")
            continue
        state[name] = value
    return {name: state[name] for name in fields if name in state}, problems


def link(state: Mapping[str, str | int], fields: Mapping[str, Field]) -> str:
    """The query (without "?") that `parse` reads back to `state`: its fields in `fields`'
    order; a field not in `fields` is a programming error."""
    unknown = set(state) - set(fields)
    if unknown:
        raise KeyError(f"no field {', '.join(sorted(unknown))}; the fields are "
                       f"{', '.join(fields)}")
    return urlencode([(name, str(state[name])) for name in fields if name in state])


def ignored(problems: Sequence[str]) -> str:
    """The problems as one sentence for a status line ("" for none)."""
    if not problems:
        return ""
    return "Ignored in the link: " + "; ".join(problems) + ". The rest of it is shown."
