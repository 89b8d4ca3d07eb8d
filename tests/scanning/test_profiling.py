"""Column profiles: measurements of a sample, never a value; the distinct count estimated with GEE."""
import json
import math
from collections import Counter

from scanning.profiling import estimate_distinct, profile_column


def test_profile_measures_nulls_distinct_and_lengths():
    profile = profile_column(["ab", "abcd", None, "ab", None], rows=None)
    assert profile == {"sampled": 5, "null_ratio": 0.4, "distinct_in_sample": 2, "distinct_estimate": 2,
                       "min_length": 2, "max_length": 4}


def test_profile_holds_no_value():
    values = ["alice@example.com", "bob@example.org"]
    assert not any(value in json.dumps(profile_column(values, rows=10)) for value in values)


def test_binary_lengths_are_byte_lengths_and_numbers_have_none():
    assert profile_column([b"\x00\x01\x02", memoryview(b"\x00")], rows=None)["min_length"] == 1
    numbers = profile_column([1, 2, 2], rows=None)
    assert numbers["min_length"] is None and numbers["distinct_in_sample"] == 2


def test_all_null_column_has_no_distinct_values():
    profile = profile_column([None] * 10, rows=1000)
    assert profile["null_ratio"] == 1.0 and profile["distinct_estimate"] == 0 and profile["max_length"] is None


def test_gee_scales_singletons_by_the_square_root_of_the_sampling_fraction():
    # 100 sampled of 10,000 rows: 60 values seen once, 10 seen four times.
    frequencies = Counter({f"single{i}": 1 for i in range(60)} | {f"repeat{i}": 4 for i in range(10)})
    assert estimate_distinct(frequencies, sampled=100, rows=10_000) == round(math.sqrt(100) * 60 + 10)


def test_gee_stays_between_what_was_seen_and_the_row_count():
    every_value_unique = Counter(range(100))
    assert estimate_distinct(every_value_unique, sampled=100, rows=150) == round(math.sqrt(150 * 100))
    assert estimate_distinct(Counter({"a": 50, "b": 50}), sampled=100, rows=1_000_000) == 2
    assert estimate_distinct(Counter({"a": 3}), sampled=3, rows=None) == 1


def test_distinct_estimate_counts_non_null_rows_only():
    # Half the sample is null: GEE scales by the column's non-null rows (about 200 of 400), not the table's.
    values = [None] * 50 + [f"v{i}" for i in range(50)]
    assert profile_column(values, rows=400)["distinct_estimate"] == round(math.sqrt(200 / 50) * 50)
