"""SQLite: the native connector, and the generic SQLAlchemy connector on the same file, which must agree."""
from __future__ import annotations

import sqlite3
import time

import pytest

from sources.connectors import (
    ConnectionSettings,
    ConnectorError,
    Filters,
    PermissionDenied,
    QueryTimeout,
    SourceUnavailable,
    connector_for,
)

from .sampling_checks import assert_reproducible_and_topped_up, sparse_rows

HOSTILE = 'x"; DROP TABLE t; --'

SCHEMA = f"""
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL, "clients_été" TEXT DEFAULT 'x',
                        photo BLOB);
CREATE TABLE "Order Items" (order_id INTEGER NOT NULL, line INTEGER NOT NULL, customer_id INTEGER,
                            "{HOSTILE.replace('"', '""')}" TEXT, PRIMARY KEY (order_id, line),
                            FOREIGN KEY (customer_id) REFERENCES customers (id));
CREATE TABLE "顧客" ("select" INTEGER, "user" TEXT, "order" NUMERIC, cust INTEGER REFERENCES customers);
CREATE VIEW v_emails AS SELECT id, email FROM customers;
CREATE VIEW forever AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c;
"""


@pytest.fixture
def shop(tmp_path):
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)",
                     [(i, f"user{i}@example.com", f"v{i}", bytes([0, 255, i])) for i in range(1, 41)])
    conn.executemany('INSERT INTO "Order Items" VALUES (?, ?, ?, ?)',
                     [(i, 1, 1 + i % 40, f"hostile {i}") for i in range(1, 31)])
    conn.execute('INSERT INTO "顧客" VALUES (1, \'ü\', 1.5, 1)')
    conn.commit()
    conn.close()
    return path


def native(path, **kw):
    return connector_for(ConnectionSettings(engine="sqlite", database=str(path), **kw))


def generic(path, **kw):
    return connector_for(ConnectionSettings(engine="sqlalchemy", options={"url": f"sqlite:///{path}"}, **kw))


def scan(connector, **kw):
    return [obj for batch in connector.iter_schema(**kw) for obj in batch]


def comparable(objects):
    return [(o.kind, o.path, o.data_type, o.is_nullable, o.default, o.ordinal, dict(o.properties)) for o in objects]


def test_native_catalog_is_extracted_exactly(shop):
    with native(shop) as connector:
        got = [(o.kind, o.path, o.data_type, o.is_nullable, dict(o.properties)) for o in scan(connector)]
        assert connector.queries_executed == 4  # objects, primary keys, foreign keys, columns
    s = ("shop", "main")
    pk = {"primary_key": True}
    no = {"primary_key": False}
    assert got == [
        ("database", ("shop",), "", None, {}),
        ("schema", s, "", None, {}),
        ("table", (*s, "Order Items"), "", None, {"primary_key": ["order_id", "line"], "foreign_keys": [
            {"columns": ["customer_id"], "referred_path": [*s, "customers"], "referred_columns": ["id"]}]}),
        ("table", (*s, "customers"), "", None, {"primary_key": ["id"], "foreign_keys": []}),
        ("view", (*s, "forever"), "", None, {"materialized": False, "view_definition": got[4][4]["view_definition"]}),
        ("view", (*s, "v_emails"), "", None, {
            "materialized": False, "view_definition": "CREATE VIEW v_emails AS SELECT id, email FROM customers"}),
        ("table", (*s, "顧客"), "", None, {"primary_key": [], "foreign_keys": [
            {"columns": ["cust"], "referred_path": [*s, "customers"], "referred_columns": ["id"]}]}),
        ("column", (*s, "Order Items", "order_id"), "INTEGER", False, pk),
        ("column", (*s, "Order Items", "line"), "INTEGER", False, pk),
        ("column", (*s, "Order Items", "customer_id"), "INTEGER", True, no),
        ("column", (*s, "Order Items", HOSTILE), "TEXT", True, no),
        ("column", (*s, "customers", "id"), "INTEGER", True, pk),
        ("column", (*s, "customers", "email"), "VARCHAR(200)", False, no),
        ("column", (*s, "customers", "clients_été"), "TEXT", True, no),
        ("column", (*s, "customers", "photo"), "BLOB", True, no),
        ("column", (*s, "forever", "x"), "", True, no),
        ("column", (*s, "v_emails", "id"), "INTEGER", True, no),
        ("column", (*s, "v_emails", "email"), "VARCHAR(200)", True, no),
        ("column", (*s, "顧客", "select"), "INTEGER", True, no),
        ("column", (*s, "顧客", "user"), "TEXT", True, no),
        ("column", (*s, "顧客", "order"), "NUMERIC", True, no),
        ("column", (*s, "顧客", "cust"), "INTEGER", True, no),
    ]


def test_sqlalchemy_path_gives_the_same_catalog(shop):
    with native(shop) as a, generic(shop) as b:
        ours, theirs = comparable(scan(a)), comparable(scan(b))
        assert b.test_connection().read_only is True
    assert ours == theirs
    with native(shop) as a, generic(shop) as b:
        f = Filters(include_tables=("customers", "顧客"), exclude_columns=("photo",))
        assert comparable(scan(a, include=f)) == comparable(scan(b, include=f))


def test_sampling_both_paths(shop):
    for make in (native, generic):
        with make(shop) as connector:
            values = connector.sample_table(("shop", "main", "Order Items"), [HOSTILE, "line"], 5)
            assert len(values[HOSTILE]) == 5 and all(v.startswith("hostile") for v in values[HOSTILE])
            photos = connector.sample_table(("main", "customers"), ["photo"], 50)["photo"]
            assert len(photos) == 40 and all(isinstance(p, bytes) for p in photos)
            assert connector.sample_table(("main", "顧客"), ["select", "user", "order"], 3) == {
                "select": [1], "user": ["ü"], "order": [1.5]}
            with pytest.raises(ConnectorError):
                connector.sample_table(("main", "customers"), ["nope"], 1)
    with sqlite3.connect(shop) as conn:  # the hostile name did nothing
        assert conn.execute('SELECT count(*) FROM "Order Items"').fetchone() == (30,)


def test_sampling_is_reproducible_the_same_on_both_paths_and_tops_up_sparse_columns(shop):
    with sqlite3.connect(shop) as conn:
        conn.execute("CREATE TABLE sparse (id INTEGER PRIMARY KEY, note TEXT, code TEXT)")
        conn.executemany("INSERT INTO sparse VALUES (?, ?, ?)", sparse_rows())
    with native(shop) as first, generic(shop) as second:  # another connection, the other engine path
        assert_reproducible_and_topped_up(first, second, ("main", "sparse"))


def test_read_only_and_timeout(shop):
    with native(shop, statement_timeout_s=0.3) as connector:
        assert connector.test_connection().read_only is True
        with pytest.raises(PermissionDenied):
            connector._fetchall("INSERT INTO customers (id, email) VALUES (999, 'w@x.y')")
        start = time.monotonic()
        with pytest.raises(QueryTimeout):
            connector.sample_table(("main", "forever"), ["x"], 1)
        assert time.monotonic() - start < 2
    with generic(shop, statement_timeout_s=0.3) as connector, pytest.raises(QueryTimeout):
        connector.sample_table(("main", "forever"), ["x"], 1)
    with sqlite3.connect(shop) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE id = 999").fetchone() == (0,)


def test_missing_file_is_unavailable_and_not_created(tmp_path):
    path = tmp_path / "missing.db"
    with native(path) as connector, pytest.raises(SourceUnavailable):
        connector.test_connection()
    assert not path.exists()
