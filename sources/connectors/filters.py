"""Include / exclude patterns for schemas, tables and columns.

A pattern is a case-sensitive glob (``sales_*``, ``tmp_?``, ``[ab]*``) or, with the prefix ``re:``, a regular
expression in RE2 syntax (linear time, see ``sources.safe_regex``) matched against the whole name
(``re:^(dim|fact)_.*``). Globs need no such engine: ``fnmatch`` turns each ``*`` into an atomic group, which does
not backtrack. Table patterns match the bare table name
or ``schema.table``. A name passes when it matches some include pattern (or there are none) and no exclude pattern.

Connectors apply schema filters in SQL (the schema list is read first, filtered here, and the surviving schemas are
passed as a parameter array to the other catalog queries); table filters restrict the column query to the kept
tables where that is cheap (PostgreSQL: an oid array), and are otherwise applied here while streaming.
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property

from sources.safe_regex import InvalidPattern, compile_pattern

from .errors import ConnectorConfigError


def name_matcher(pattern: str):
    """``name -> bool`` for one include / exclude pattern; ConnectorConfigError when a ``re:`` pattern is refused."""
    if pattern.startswith("re:"):
        try:
            regex = compile_pattern(pattern[3:])
        except InvalidPattern as exc:
            raise ConnectorConfigError(f"regular expression {pattern!r} refused: {exc}") from None
        return regex.fullmatch
    return lambda name: fnmatchcase(name, pattern)


def _matcher(include: tuple[str, ...], exclude: tuple[str, ...]):
    inc = [name_matcher(p) for p in include]
    exc = [name_matcher(p) for p in exclude]

    def ok(*names: str) -> bool:
        if inc and not any(m(n) for m in inc for n in names):
            return False
        return not any(m(n) for m in exc for n in names)

    return ok


@dataclass(frozen=True)
class Filters:
    include_schemas: tuple[str, ...] = ()
    exclude_schemas: tuple[str, ...] = ()
    include_tables: tuple[str, ...] = ()
    exclude_tables: tuple[str, ...] = ()
    include_columns: tuple[str, ...] = ()
    exclude_columns: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("include_schemas", "exclude_schemas", "include_tables", "exclude_tables",
                     "include_columns", "exclude_columns"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ConnectorConfigError(f"Filters.{name} must be a sequence of patterns, not a string")
            object.__setattr__(self, name, tuple(value))
        # compile now so a bad regex fails at construction
        self._schema_ok, self._table_ok, self._column_ok  # noqa: B018

    @cached_property
    def _schema_ok(self):
        return _matcher(self.include_schemas, self.exclude_schemas)

    @cached_property
    def _table_ok(self):
        return _matcher(self.include_tables, self.exclude_tables)

    @cached_property
    def _column_ok(self):
        return _matcher(self.include_columns, self.exclude_columns)

    @property
    def filters_tables(self) -> bool:
        return bool(self.include_tables or self.exclude_tables)

    @property
    def filters_columns(self) -> bool:
        return bool(self.include_columns or self.exclude_columns)

    def schema_ok(self, schema: str) -> bool:
        return self._schema_ok(schema)

    def table_ok(self, schema: str, table: str) -> bool:
        return self._table_ok(table, f"{schema}.{table}")

    def column_ok(self, column: str) -> bool:
        return self._column_ok(column)


NO_FILTERS = Filters()
