"""Cells of the CSV exports (audit trail, inventory), safe to open in a spreadsheet."""
from __future__ import annotations

# A cell starting with one of these is read as a formula by spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# Spreadsheets read a leading ``'`` as "text follows" and hide it: a value starting with one is quoted too, so that
# it shows as it is and an importer that undoes the quoting (catalog.glossary) reads it back unchanged.
QUOTED_STARTS = (*FORMULA_STARTS, "'")


def spreadsheet_cell(value) -> str:
    """``value`` as CSV cell text (None as empty), quoted with a leading ``'`` when a spreadsheet would run it or
    hide its own leading ``'``."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(QUOTED_STARTS) else text


def spreadsheet_text(cell: str) -> str:
    """The value of a cell that :func:`spreadsheet_cell` wrote (``'=1`` → ``=1``, ``''x`` → ``'x``); any other
    cell as it is."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(QUOTED_STARTS) else cell
