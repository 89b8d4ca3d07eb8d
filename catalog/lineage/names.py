"""Names of tables and columns as lineage records them, and the known schema they are looked up in.

A table is named ``database.schema.table`` when a database is named or a default database is given, else
``schema.table``, else ``table``. Unquoted identifiers are lower-cased. Quoted identifiers keep their case only in
the dialects where quoting makes a name case-sensitive (PostgreSQL, Snowflake, Oracle; in Snowflake and Oracle a
quoted all-upper-case name is the unquoted name, so it is lower-cased too); elsewhere (MySQL, T-SQL, BigQuery
columns, Spark/Hive/Databricks, DuckDB, SQLite, Redshift, Trino) names compare case-insensitively and are
lower-cased.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp

CASE_SENSITIVE_QUOTED = frozenset({"postgres", "snowflake", "oracle"})
UPPER_CASE_UNQUOTED = frozenset({"snowflake", "oracle"})


class Namer:
    """Qualifies and normalises names for one dialect and one set of defaults."""

    def __init__(self, dialect_name: str, default_database: str | None, default_schema: str | None):
        self.keeps_quoted_case = dialect_name in CASE_SENSITIVE_QUOTED
        self.upper_is_unquoted = dialect_name in UPPER_CASE_UNQUOTED
        self.default_database = self.text(default_database) if default_database else None
        self.default_schema = self.text(default_schema) if default_schema else None

    def text(self, name: str, quoted: bool = False) -> str:
        if not quoted or not self.keeps_quoted_case:
            return name.lower()
        if self.upper_is_unquoted and name.upper() == name:
            return name.lower()
        return name

    def identifier(self, node: exp.Expression | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, exp.Identifier):
            name = node.this
            if node.args.get("temporary"):  # T-SQL #local temporary table
                name = "#" + name
            elif node.args.get("global_"):  # T-SQL ##global temporary table
                name = "##" + name
            return self.text(name, node.quoted)
        return self.text(node.name)

    def table(self, table: exp.Table) -> str:
        name = self.identifier(table.this)
        if name.startswith("#"):
            return name
        return self.qualify(self.identifier(table.args.get("catalog")), self.identifier(table.args.get("db")), name)

    def qualify(self, database: str | None, schema: str | None, name: str) -> str:
        if schema is None:
            schema = self.default_schema
            database = database or self.default_database
        elif database is None:
            database = self.default_database
        return ".".join(part for part in (database, schema, name) if part)

    def column(self, node: exp.Expression) -> str:
        return self.identifier(node) if isinstance(node, exp.Identifier) else self.text(node.name)


class KnownSchema:
    """Column names of known tables, keyed by qualified name; a script's own CREATE statements add to it."""

    def __init__(self, namer: Namer, schema: Mapping[str, Sequence[str]] | None):
        self._namer = namer
        self._columns: dict[str, list[str]] = {}
        for key, columns in (schema or {}).items():
            parts = [namer.text(part) for part in key.split(".")]
            name = parts[-1]
            database, schema_name = (parts[-3] if len(parts) >= 3 else None), (parts[-2] if len(parts) >= 2 else None)
            self._columns[namer.qualify(database, schema_name, name)] = [namer.text(c) for c in columns]

    def columns(self, table: str) -> list[str] | None:
        return self._columns.get(table)

    def define(self, table: str, columns: Sequence[str]) -> None:
        self._columns[table] = list(columns)

    def forget(self, table: str) -> None:
        self._columns.pop(table, None)
