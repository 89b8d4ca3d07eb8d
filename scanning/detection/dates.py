"""Birth dates from values alone: a column of dates whose ages look like a population of people.

A date is a date; what makes a column of them birth dates is the whole column, read in a table about people:

* nearly every value a calendar date (ISO, ``dd/mm/yyyy`` or ``mm/dd/yyyy``, date or timestamp), none with a time
  of day (birth dates are days; orders, logins and events carry times);
* ages between 0 and 110 for nearly all, and mostly adults: at most a fifth under 16 and hardly any under 2 (a
  hire, sign-up, order or event date column reaches into the last few years, which a birth-date column of
  customers, patients or staff does not);
* spread over decades (the 10th to the 90th percentile at least 15 years apart), with many distinct days;
* the table is about people (``users``, ``patients``, ``kunden``…: ``names.PERSON_TABLES``).

Films' release dates, companies' founding dates and a warehouse's stock dates fail the table or the ages.
"""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from .names import PERSON_TABLES
from .places import Items, Verdict

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_DMY = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")
_MIN_DISTINCT = 10


@lru_cache(maxsize=16384)
def parse_day(text: str) -> tuple[date, bool] | None:
    """(the calendar day, has a time of day other than midnight), or None when ``text`` is not a date."""
    try:
        if m := _ISO.fullmatch(text):
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            timed = any(int(g) for g in m.groups()[3:] if g)
            return day, timed
        if m := _DMY.fullmatch(text):
            a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            # Day first unless that is impossible (13/05/1980 and 05/13/1980 are both read).
            return (date(year, b, a) if b <= 12 else date(year, a, b)), False
    except ValueError:
        return None
    return None


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def birth_date_column(items: Items, non_null: int, table_tokens: tuple[str, ...],
                      today: date | None = None) -> Verdict | None:
    if len(items) < _MIN_DISTINCT or not non_null:
        return None
    if not PERSON_TABLES.any_token(table_tokens):
        return None
    today = today or date.today()
    ages: list[float] = []
    parsed = 0
    for text, count in items:
        found = parse_day(text)
        if found is None:
            continue
        day, timed = found
        if timed:
            return None  # a time of day: an event, not a birth
        parsed += count
        ages.extend([(today - day).days / 365.25] * count)
    if parsed < 0.9 * non_null:
        return None
    ages.sort()
    human = sum(1 for a in ages if 0 <= a <= 110) / len(ages)
    children = sum(1 for a in ages if a < 16) / len(ages)
    infants = sum(1 for a in ages if a < 2) / len(ages)
    spread = _percentile(ages, 0.9) - _percentile(ages, 0.1)
    if human < 0.95 or children > 0.2 or infants > 0.04 or spread < 15:
        return None
    share = parsed / non_null
    median = _percentile(ages, 0.5)
    reasons = (f"{share:.0%} of values are dates; ages {ages[0]:.0f}–{ages[-1]:.0f}, median {median:.0f}, "
               f"10th–90th percentile {spread:.0f} years apart", "no time of day",
               "a table about people", "no column-name signal")
    return Verdict(share, 0.6 + 0.2 * share, tuple(text for text, _ in items[:3]), reasons)
