"""SQLite through the standard library, opened read-only (``file:…?mode=ro`` plus ``PRAGMA query_only``).

Four catalog statements in all: objects (tables, views and triggers) from ``sqlite_master``, then primary keys,
foreign keys and columns, each one query joining ``sqlite_master`` to the table-valued pragma functions
(``pragma_table_xinfo``, ``pragma_foreign_key_list``). The schema is ``main``; the database is named after the
file (``shop.db`` → ``shop``). The statement timeout is enforced with a progress handler that interrupts a
statement past its deadline. Sampling orders the rows by a hash of the values read (``racine_sample_key``,
registered on the connection): the same data gives the same sample, wherever its rows are stored; ``random()``
would not.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.dialects.sqlite.base import SQLiteDialect

from .base import (
    ConnectionInfo,
    Connector,
    SchemaObject,
    batched,
    logger,
    sample_key,
    split_table_path,
    trigger_name,
)
from .errors import ConnectorError, PermissionDenied, QueryTimeout, SourceUnavailable, describe
from .filters import NO_FILTERS, Filters

SCHEMA = "main"
SAMPLE_KEY_FUNCTION = "racine_sample_key"

OBJECTS_SQL = r"""
SELECT type, name, tbl_name, sql FROM main.sqlite_master
WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY type = 'trigger', name
"""

PRIMARY_KEYS_SQL = r"""
SELECT m.name, p.name FROM main.sqlite_master m JOIN pragma_table_info(m.name, 'main') p
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND p.pk > 0
ORDER BY m.name, p.pk
"""

FOREIGN_KEYS_SQL = r"""
SELECT m.name, f.id, f."table", f."from", f."to" FROM main.sqlite_master m
JOIN pragma_foreign_key_list(m.name, 'main') f
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, f.id, f.seq
"""

COLUMNS_SQL = r"""
SELECT m.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk FROM main.sqlite_master m
JOIN pragma_table_xinfo(m.name, 'main') p
WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND p.hidden IN (0, 2, 3)
ORDER BY m.name, p.cid
"""

_preparer = SQLiteDialect().identifier_preparer


def quote_identifier(name: str) -> str:
    return _preparer.quote_identifier(name)


def open_read_only(path: str, timeout_s: float) -> sqlite3.Connection:
    """A read-only connection to the file at ``path`` (never creates it), with the sampling order function."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)
    conn.execute("PRAGMA query_only = ON")
    conn.create_function(SAMPLE_KEY_FUNCTION, -1, sample_key, deterministic=True)
    return conn


class SQLiteConnector(Connector):
    engine = "sqlite"

    def __init__(self, settings, **kw):
        super().__init__(settings, **kw)
        self._conn: sqlite3.Connection | None = None
        self._deadline = float("inf")
        self.database_name = Path(settings.database).stem

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        logger.debug("opening %r", self.settings)
        if not Path(self.settings.database).is_file():
            raise SourceUnavailable(f"no SQLite file at {self.settings.database!r}")
        try:
            self._conn = open_read_only(self.settings.database, self.settings.connect_timeout_s)
        except sqlite3.Error as exc:
            raise SourceUnavailable(f"cannot open SQLite file: {describe(exc, ())}") from None
        self._conn.set_progress_handler(lambda: 1 if time.monotonic() > self._deadline else 0, 10_000)
        return self._conn

    @contextmanager
    def _statement(self, query: str):
        conn = self._connect()
        self._count(query)
        self._deadline = time.monotonic() + self.settings.statement_timeout_s
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout(f"statement interrupted after {self.settings.statement_timeout_s}s") from None
            if "readonly" in str(exc) or "read-only" in str(exc) or "query_only" in str(exc):
                raise PermissionDenied(describe(exc, ())) from None
            raise ConnectorError(describe(exc, ())) from None
        except sqlite3.Error as exc:
            raise ConnectorError(describe(exc, ())) from None
        finally:
            self._deadline = float("inf")

    def _fetchall(self, query: str, params=()) -> list[tuple]:
        with self._statement(query) as conn:
            return conn.execute(query, params).fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def test_connection(self) -> ConnectionInfo:
        ((version, query_only),) = self._fetchall("SELECT sqlite_version(), (SELECT query_only FROM pragma_query_only)")
        return ConnectionInfo(engine=self.engine, server_version=version, current_user="", read_only=bool(query_only),
                              database=self.database_name, statement_timeout_s=self.settings.statement_timeout_s)

    def iter_schema(self, *, include: Filters | None = None, batch_size: int | None = None
                    ) -> Iterator[list[SchemaObject]]:
        return batched(self._objects(include or NO_FILTERS), batch_size or self.batch_size)

    def _objects(self, filters: Filters) -> Iterator[SchemaObject]:
        db = self.database_name
        objects = self._fetchall(OBJECTS_SQL)
        yield SchemaObject(kind="database", path=(db,))
        if not filters.schema_ok(SCHEMA):
            return
        yield SchemaObject(kind="schema", path=(db, SCHEMA))
        primary: dict[str, list[str]] = {}
        for table, column in self._fetchall(PRIMARY_KEYS_SQL):
            primary.setdefault(table, []).append(column)
        foreign: dict[str, dict[int, dict]] = {}
        for table, fk_id, ref_table, column, ref_column in self._fetchall(FOREIGN_KEYS_SQL):
            fk = foreign.setdefault(table, {}).setdefault(fk_id, {
                "columns": [], "referred_path": [db, SCHEMA, ref_table], "referred_columns": []})
            fk["columns"].append(column)
            fk["referred_columns"].append(ref_column)
        for fks in foreign.values():  # REFERENCES t without columns means t's primary key
            for fk in fks.values():
                if any(c is None for c in fk["referred_columns"]):
                    fk["referred_columns"] = list(primary.get(fk["referred_path"][2], []))
        for table, fks in foreign.items():  # the same constraint declared twice is one constraint
            unique_fks: list[dict] = []
            for fk in fks.values():
                if fk not in unique_fks:
                    unique_fks.append(fk)
            foreign[table] = dict(enumerate(unique_fks))
        kept: set[str] = set()
        for kind, name, table, definition in objects:
            if not filters.table_ok(SCHEMA, table):  # a trigger goes with the table it fires on
                continue
            if kind == "trigger":
                yield SchemaObject(kind="routine", path=(db, SCHEMA, trigger_name(name, table)), properties={
                    "kind": "trigger", "language": "sql", "table": table, "definition": definition or ""})
                continue
            kept.add(name)
            self._table_hints[(SCHEMA, name)] = (kind, None)
            if kind == "view":
                yield SchemaObject(kind="view", path=(db, SCHEMA, name),
                                   properties={"materialized": False, "view_definition": definition or ""})
            else:
                yield SchemaObject(kind="table", path=(db, SCHEMA, name), properties={
                    "primary_key": primary.get(name, []), "foreign_keys": list(foreign.get(name, {}).values())})
        column_ok = filters.column_ok if filters.filters_columns else None
        with self._statement(COLUMNS_SQL) as conn:
            cursor = conn.execute(COLUMNS_SQL)
            while rows := cursor.fetchmany(2000):
                for table, cid, name, data_type, notnull, default, pk in rows:
                    if table not in kept or (column_ok is not None and not column_ok(name)):
                        continue
                    yield SchemaObject(kind="column", path=(db, SCHEMA, table, name), data_type=data_type or "",
                                       is_nullable=not notnull, default=default, ordinal=cid + 1,
                                       properties={"primary_key": pk > 0})

    def sample_table(self, table_path: Sequence[str], columns: Sequence[str], limit: int, *,
                     not_null: str | None = None, share: float = 1.0) -> dict[str, list]:
        columns = list(columns)
        if not columns or limit <= 0:
            return {c: [] for c in columns}
        schema, table = split_table_path(table_path, self.database_name)
        # columns are qualified by an alias: SQLite reads an unknown bare "name" as the string 'name'
        select = ", ".join(f"s.{quote_identifier(c)}" for c in columns)
        where = f" WHERE s.{quote_identifier(not_null)} IS NOT NULL" if not_null is not None else ""
        query = (f"SELECT {select} FROM {quote_identifier(schema)}.{quote_identifier(table)} AS s{where}"
                 f" ORDER BY {SAMPLE_KEY_FUNCTION}({select}) LIMIT {int(limit)}")
        rows = self._fetchall(query)
        result: dict[str, list] = {c: [] for c in columns}
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                result[column].append(value)
        return result
