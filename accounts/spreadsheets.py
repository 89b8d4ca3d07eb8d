"""Cells of the CSV exports (audit trail, inventory), safe to open in a spreadsheet."""
from __future__ import annotations

# A cell starting with one of these is read as a formula by spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value) -> str:
    """``value`` as CSV cell text (None as empty), quoted with a leading ``'`` when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
