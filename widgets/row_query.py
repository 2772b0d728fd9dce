"""Filter terms and sort keys for the console's tables, no textual.

A filter is a regular expression, case-insensitive, k9s style: `/web|api` keeps rows
with either word, `/!running` keeps rows with no cell matching. A term that is not a
valid regex is a `FilterError` whose text is one line for the status line; the table
keeps its previous filter. Sort keys compare what the cells mean, not their text: `59m`
sorts before `1h50m`, `10` after `9`, `-` (nothing known) after every value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_AGE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?")
_CHUNK = re.compile(r"(\d+)")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "%": 1}
_EMPTY = frozenset({"", "-", "?"})

SortKey = tuple[int, float, tuple[tuple[int, int, str], ...]]


class FilterError(ValueError):
    """The term cannot be used as a filter (the message names the term and why)."""


@dataclass(frozen=True, slots=True)
class RowFilter:
    """A compiled term: `matches(texts)` says whether a row with these cell texts stays."""

    term: str
    pattern: re.Pattern[str] | None
    inverse: bool

    def matches(self, texts: list[str]) -> bool:
        if self.pattern is None:
            return True
        hit = any(self.pattern.search(t) for t in texts)
        return hit != self.inverse


def compile_filter(term: str) -> RowFilter:
    """`term` as typed after `/`: a regex, `!regex` inverts it, "" matches every row."""
    term = term.strip()
    body, inverse = (term[1:].lstrip(), True) if term.startswith("!") else (term, False)
    if not body:
        return RowFilter(term, None, False)
    try:
        pattern = re.compile(body, re.IGNORECASE)
    except re.error as exc:
        raise FilterError(f"bad regex {body!r}: {exc}") from None
    return RowFilter(term, pattern, inverse)


def sort_key(text: str) -> SortKey:
    """What a cell sorts by: ages and durations in seconds, numbers (`12M`, `4.5`, `2/3`)
    by value, other text naturally (`loop2` before `loop10`); unknown (`-`) last."""
    raw = text.strip()
    t = raw.lower()
    if t in _EMPTY:
        return (2, 0.0, ())
    age = _AGE.match(raw)  # ages are lower case (`12m`); sizes upper case (`12M`)
    if age and any(age.groups()):
        d, h, m, s = (int(g or 0) for g in age.groups())
        return (0, float(((d * 24 + h) * 60 + m) * 60 + s), ())
    number = _NUMBER.match(t)
    if number:
        rest = t[number.end() :]
        if rest in _UNITS:
            return (0, float(number.group()) * _UNITS[rest], ())
        if rest.startswith("/"):  # `2/3`, `450/5`: by the first figure, then the rest
            return (0, float(number.group()), _natural(rest))
    return (1, 0.0, _natural(t))


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in _CHUNK.split(text)
        if part
    )


def ordered(keys: list[str], cell: Callable[[str], str], reverse: bool) -> list[str]:
    """`keys` sorted by their cell's sort key; unknown values (`-`) stay last both ways
    and ties keep the source's order (Python's sort is stable, also reversed)."""
    ranked = [(sort_key(cell(k)), k) for k in keys]
    known = [(key, k) for key, k in ranked if key[0] < 2]
    known.sort(key=lambda pair: pair[0], reverse=reverse)
    return [k for _, k in known] + [k for key, k in ranked if key[0] == 2]
