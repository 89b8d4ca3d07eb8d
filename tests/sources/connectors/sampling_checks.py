"""The sampling contract every engine's connector keeps, checked on a table ``sparse`` of 1,000 rows (``id``;
``note``, filled in one row of 25; ``code``, always filled) through two connectors of the same source."""
from __future__ import annotations

from collections.abc import Sequence

SPARSE_ROWS = 1000
SPARSE_EVERY = 25


def sparse_rows() -> list[tuple[int, str | None, str]]:
    return [(i, f"note {i}" if i % SPARSE_EVERY == 0 else None, f"c{i}") for i in range(1, SPARSE_ROWS + 1)]


def assert_reproducible_and_topped_up(first, second, path: Sequence[str]) -> None:
    """The same rows from two connections, spread over the table; the sparse column topped up to every value it
    holds (40 < 50 asked), the dense one left to the row sample."""
    rows = first.sample_table(path, ["id", "note", "code"], 50)
    assert rows == second.sample_table(path, ["id", "note", "code"], 50)
    assert sorted(rows["id"]) != list(range(1, 51))  # spread over the table, not its first rows
    sample = first.sample_values(path, ["note", "code"], 50)
    assert sum(v is not None for v in sample.rows["note"]) < 10
    assert len(sample.values["note"]) == SPARSE_ROWS // SPARSE_EVERY and None not in sample.values["note"]
    assert sample.values["code"] == sample.rows["code"]  # dense: the row sample, no query of its own
    assert second.sample_values(path, ["note", "code"], 50) == sample
