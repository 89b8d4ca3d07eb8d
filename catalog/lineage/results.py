"""What the SQL lineage engine returns: plain, frozen, hashable values (no Django)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class ColumnEdge(NamedTuple):
    """``source`` feeds ``target`` (both ``table_qualified_name.column``); ``direct`` when the value is copied
    unchanged (a bare reference or a rename, through CTEs, subqueries and UNION branches; a CAST is not)."""

    source: str
    target: str
    direct: bool


class StatementError(NamedTuple):
    index: int  # of the statement in ScriptLineage.statements
    line: int  # 1-based line in the script
    reason: str


@dataclass(frozen=True)
class StatementLineage:
    index: int
    line: int
    kind: str  # insert, create_table_as, create_view, create_table, merge, update, delete, select, procedure, drop, other
    target: tuple[str, ...]
    table_edges: frozenset[tuple[str, str]]
    column_edges: frozenset[ColumnEdge]
    error: str | None = None


@dataclass(frozen=True)
class ScriptLineage:
    statements: list[StatementLineage]
    table_edges: frozenset[tuple[str, str]]  # end to end, temporary tables collapsed
    column_edges: frozenset[ColumnEdge]
    errors: list[StatementError]
