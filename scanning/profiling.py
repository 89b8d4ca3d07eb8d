"""Column profiles from a sample: null ratio, distinct estimate, value lengths. Pure Python, no Django.

A profile holds measurements only — never a value — so it is safe to store and show to anyone who can see the
column. The distinct count of the whole column is estimated from the sample with the GEE estimator of Charikar,
Chaudhuri, Motwani and Narasayya ("Towards estimation error guarantees for distinct values", PODS 2000), which
scales the values seen once by sqrt(rows / sampled) and counts the repeated ones as they are: its error is
within a factor of sqrt(rows / sampled) whatever the distribution, the best a sample can promise.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def _length(value) -> int | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, str):
        return len(value)
    return None


def _key(value):
    return bytes(value) if isinstance(value, memoryview) else value


def estimate_distinct(frequencies: Counter, *, sampled: int, rows: int | None) -> int:
    """GEE: sqrt(rows / sampled) × (values seen once) + (values seen more than once), within [seen, rows]."""
    seen = len(frequencies)
    if rows is None or sampled == 0 or rows <= sampled:
        return seen
    singletons = sum(1 for count in frequencies.values() if count == 1)
    estimate = math.sqrt(rows / sampled) * singletons + (seen - singletons)
    return int(round(min(max(estimate, seen), rows)))


def profile_column(values: Sequence, *, rows: int | None) -> dict:
    """Measurements of one column's sample. ``rows`` is the table's row estimate (None when unknown)."""
    sampled = len(values)
    present = [value for value in values if value is not None]
    frequencies = Counter(_key(value) for value in present)
    lengths = [length for length in map(_length, present) if length is not None]
    non_null_rows = None if rows is None or sampled == 0 else round(rows * len(present) / sampled)
    return {
        "sampled": sampled,
        "null_ratio": round((sampled - len(present)) / sampled, 4) if sampled else None,
        "distinct_in_sample": len(frequencies),
        "distinct_estimate": estimate_distinct(frequencies, sampled=len(present), rows=non_null_rows)
        if present else 0,
        "min_length": min(lengths) if lengths else None,
        "max_length": max(lengths) if lengths else None,
    }
