"""Lineage of data between tables and columns. ``sql_lineage`` reads it from SQL (see catalog/lineage/sql.py)."""
from catalog.lineage.results import ColumnEdge, ScriptLineage, StatementError, StatementLineage
from catalog.lineage.sql import DIALECTS, sql_lineage

__all__ = ["DIALECTS", "ColumnEdge", "ScriptLineage", "StatementError", "StatementLineage", "sql_lineage"]
