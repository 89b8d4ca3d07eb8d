"""Birth dates from values alone: ages of a population of people, in a table about people — and the order, hire,
sign-up, event and release dates that must not pass."""
import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from scanning.detection import ColumnSample, detect_column
from scanning.detection.dates import birth_date_column, parse_day
from scanning.detection.names import tokenize

TODAY = date(2026, 1, 1)


def judge(values, table="customers"):
    counts = Counter(v.isoformat() if hasattr(v, "isoformat") else v for v in values)
    return birth_date_column(list(counts.items()), sum(counts.values()), tokenize(table), today=TODAY)


def days(low_years, high_years, n=80, seed=5, fmt=None):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        day = TODAY - timedelta(days=rnd.randint(int(low_years * 365), int(high_years * 365)))
        out.append(day.strftime(fmt) if fmt else day)
    return out


@pytest.mark.parametrize("text, expected", [
    ("1985-03-02", (date(1985, 3, 2), False)), ("1985-03-02T00:00:00", (date(1985, 3, 2), False)),
    ("2024-05-01 13:45:10+02:00", (date(2024, 5, 1), True)), ("02/03/1985", (date(1985, 3, 2), False)),
    ("12/31/1985", (date(1985, 12, 31), False)), ("31.12.1985", (date(1985, 12, 31), False)),
    ("1985-13-40", None), ("hello", None), ("12345", None),
])
def test_parse_day(text, expected):
    assert parse_day(text) == expected


@pytest.mark.parametrize("values, table", [
    (days(18, 90), "customers"),
    (days(20, 65, fmt="%d/%m/%Y"), "mitarbeiter"),
    (days(18, 80, fmt="%m/%d/%Y"), "clientes"),
    (days(1, 95, fmt="%Y-%m-%d"), "patients"),  # a clinic: some children, most adults
    ([datetime.combine(d, datetime.min.time()) for d in days(18, 70)], "klanten"),
], ids=["dates", "dd/mm/yyyy", "mm/dd/yyyy", "clinic", "midnight timestamps"])
def test_birth_dates_in_tables_of_people(values, table):
    verdict = judge(values, table)
    assert verdict is not None and verdict.share >= 0.9


def _between(start, end, n=80, seed=7):
    rnd = random.Random(seed)
    return [start + timedelta(days=rnd.randint(0, (end - start).days)) for _ in range(n)]


@pytest.mark.parametrize("values, table", [
    (days(18, 90), "products"),  # not a table about people
    (_between(date(1988, 1, 1), date(2025, 6, 1)), "employees"),  # hire dates reach the last few years
    (_between(date(2005, 1, 1), date(2025, 12, 1)), "members"),  # sign-up dates
    (_between(date(2015, 1, 1), date(2025, 12, 1)), "customers"),  # order dates
    (_between(date(1950, 1, 1), date(2024, 1, 1)), "films"),  # release dates
    (_between(date(2026, 6, 1), date(2031, 1, 1)), "employees"),  # future contract ends
    (_between(date(1700, 1, 1), date(1900, 1, 1)), "people"),  # historical figures: ages past 110
    (days(40, 48), "users"),  # eight years of births: no population spreads so little
    (days(0, 12), "pupils"),  # children
], ids=["products", "hire", "sign-up", "orders", "films", "future", "historical", "narrow", "children"])
def test_other_dates_are_not_birth_dates(values, table):
    assert judge(values, table) is None


def test_timestamps_with_a_time_of_day_are_events():
    rnd = random.Random(3)
    stamps = [datetime.combine(d, datetime.min.time()) + timedelta(minutes=rnd.randint(1, 1439))
              for d in days(18, 90)]
    assert judge(stamps, "users") is None


def test_through_the_engine_with_an_opaque_name():
    today = date.today()
    rnd = random.Random(11)
    values = [today - timedelta(days=rnd.randint(20 * 365, 80 * 365)) for _ in range(90)] + [None] * 10
    found = detect_column(ColumnSample("c7", "patients", "date", values))
    assert found is not None and found.classification == "PII.DATE_OF_BIRTH"
    assert "a table about people" in found.evidence["reasons"]
    assert detect_column(ColumnSample("c7", "shipments", "date", values)) is None
