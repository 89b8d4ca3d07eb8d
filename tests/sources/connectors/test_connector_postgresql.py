"""PostgreSQL connector against the machine's real server, on a throwaway database."""
from __future__ import annotations

import logging
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
from sources.connectors import postgresql as pg_module

from .conftest import PASSWORD
from .sampling_checks import assert_reproducible_and_topped_up, sparse_rows

pytestmark = pytest.mark.integration

LONG_TABLE = "t" * 63
LONG_COLUMN = "c" * 63
HOSTILE = 'x"; DROP TABLE t; --'

SETUP = f"""
CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'the shop';
CREATE TABLE shop.customers (id integer PRIMARY KEY, email varchar(200) NOT NULL, "clients_été" text DEFAULT 'x',
                             photo bytea);
COMMENT ON TABLE shop.customers IS 'people who buy';
COMMENT ON COLUMN shop.customers.email IS 'contact address';
CREATE TABLE shop."Order Items" (order_id bigint NOT NULL, line smallint NOT NULL,
                                 customer_id integer REFERENCES shop.customers (id), "x""; DROP TABLE t; --" text,
                                 PRIMARY KEY (order_id, line));
CREATE TABLE shop."顧客" ("select" integer, "user" text, "order" numeric(10,2));
CREATE TABLE shop.{LONG_TABLE} ({LONG_COLUMN} integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE VIEW shop.v_emails AS SELECT id, email FROM shop.customers;
CREATE MATERIALIZED VIEW shop.mv_lines AS SELECT customer_id, count(*) AS n FROM shop."Order Items" GROUP BY 1;
CREATE VIEW shop.slow AS SELECT pg_sleep(3)::text AS x;
INSERT INTO shop.customers
SELECT i, 'user' || i || '@example.com', 'v' || i, decode('00ff' || lpad(to_hex(i), 2, '0'), 'hex')
FROM generate_series(1, 40) AS i;
INSERT INTO shop."Order Items" SELECT i, 1, 1 + i % 40, 'hostile ' || i FROM generate_series(1, 30) AS i;
INSERT INTO shop."顧客" VALUES (1, 'ü', 1.50), (2, '名', 2.25);
REFRESH MATERIALIZED VIEW shop.mv_lines;
CREATE SCHEMA five;
CREATE SCHEMA fifty;
""" + "".join(f"CREATE TABLE five.t{i} (id int PRIMARY KEY, a text, b int REFERENCES five.t0 (id));"
              if i else "CREATE TABLE five.t0 (id int PRIMARY KEY, a text, b int);" for i in range(5)) \
    + "".join(f"CREATE TABLE fifty.t{i} (id int PRIMARY KEY, a text, b int REFERENCES fifty.t0 (id));"
              if i else "CREATE TABLE fifty.t0 (id int PRIMARY KEY, a text, b int);" for i in range(50)) \
    + "ANALYZE;"


@pytest.fixture(scope="module")
def pg(pg_database):
    name, conn, url = pg_database
    conn.execute(SETUP)
    return name, conn, url


def settings_for(pg, **overrides) -> ConnectionSettings:
    name, _, url = pg
    values = dict(engine="postgresql", host=url.hostname, port=url.port or 5432, database=name,
                  username=url.username or "postgres", password=PASSWORD)  # trust auth: the password is unused
    values.update(overrides)
    return ConnectionSettings(**values)


def scan(connector, **kw):
    return [obj for batch in connector.iter_schema(**kw) for obj in batch]


def summary(objects):
    rows = []
    for o in objects:
        extra = {}
        if o.kind == "column":
            extra = {"pk": o.properties["primary_key"]}
        elif o.kind == "table":
            extra = {"pk": o.properties["primary_key"],
                     "fk": [(fk["columns"], fk["referred_path"], fk["referred_columns"])
                            for fk in o.properties["foreign_keys"]]}
        elif o.kind == "view":
            extra = {"materialized": o.properties["materialized"]}
        rows.append((o.kind, o.path, o.data_type, o.is_nullable, extra))
    return rows


def test_catalog_is_extracted_exactly(pg):
    db = pg[0]
    with connector_for(settings_for(pg)) as connector:
        objects = scan(connector, include=Filters(include_schemas=("shop", "public")))
    nop = {}
    expected = [
        ("database", (db,), "", None, nop),
        ("schema", (db, "public"), "", None, nop),
        ("schema", (db, "shop"), "", None, nop),
        ("table", (db, "shop", "Order Items"), "", None,
         {"pk": ["order_id", "line"], "fk": [(["customer_id"], [db, "shop", "customers"], ["id"])]}),
        ("table", (db, "shop", "customers"), "", None, {"pk": ["id"], "fk": []}),
        ("view", (db, "shop", "mv_lines"), "", None, {"materialized": True}),
        ("view", (db, "shop", "slow"), "", None, {"materialized": False}),
        ("table", (db, "shop", LONG_TABLE), "", None, {"pk": [LONG_COLUMN], "fk": []}),
        ("view", (db, "shop", "v_emails"), "", None, {"materialized": False}),
        ("table", (db, "shop", "顧客"), "", None, {"pk": [], "fk": []}),
        ("column", (db, "shop", "Order Items", "order_id"), "bigint", False, {"pk": True}),
        ("column", (db, "shop", "Order Items", "line"), "smallint", False, {"pk": True}),
        ("column", (db, "shop", "Order Items", "customer_id"), "integer", True, {"pk": False}),
        ("column", (db, "shop", "Order Items", HOSTILE), "text", True, {"pk": False}),
        ("column", (db, "shop", "customers", "id"), "integer", False, {"pk": True}),
        ("column", (db, "shop", "customers", "email"), "character varying(200)", False, {"pk": False}),
        ("column", (db, "shop", "customers", "clients_été"), "text", True, {"pk": False}),
        ("column", (db, "shop", "customers", "photo"), "bytea", True, {"pk": False}),
        ("column", (db, "shop", "mv_lines", "customer_id"), "integer", True, {"pk": False}),
        ("column", (db, "shop", "mv_lines", "n"), "bigint", True, {"pk": False}),
        ("column", (db, "shop", "slow", "x"), "text", True, {"pk": False}),
        ("column", (db, "shop", LONG_TABLE, LONG_COLUMN), "integer", False, {"pk": True}),
        ("column", (db, "shop", "v_emails", "id"), "integer", True, {"pk": False}),
        ("column", (db, "shop", "v_emails", "email"), "character varying(200)", True, {"pk": False}),
        ("column", (db, "shop", "顧客", "select"), "integer", True, {"pk": False}),
        ("column", (db, "shop", "顧客", "user"), "text", True, {"pk": False}),
        ("column", (db, "shop", "顧客", "order"), "numeric(10,2)", True, {"pk": False}),
    ]
    got = summary(objects)
    # structure first (database, schemas, relations), columns streamed after; columns compared as a set of rows
    assert got[:10] == expected[:10]
    assert sorted(got[10:], key=repr) == sorted(expected[10:], key=repr)
    # and columns come grouped per relation in ordinal order
    by_table: dict = {}
    for o in objects[10:]:
        by_table.setdefault(o.path[:3], []).append(o.ordinal)
    assert all(ordinals == sorted(ordinals) for ordinals in by_table.values())


def test_descriptions_defaults_views_and_estimates(pg):
    db = pg[0]
    with connector_for(settings_for(pg)) as connector:
        objects = {o.path: o for o in scan(connector, include=Filters(include_schemas=("shop",)))}
    assert objects[(db, "shop")].description == "the shop"
    customers = objects[(db, "shop", "customers")]
    assert customers.description == "people who buy"
    assert customers.row_estimate == 40
    assert objects[(db, "shop", "customers", "email")].description == "contact address"
    assert objects[(db, "shop", "customers", "clients_été")].default == "'x'::text"
    identity = objects[(db, "shop", LONG_TABLE, LONG_COLUMN)].properties
    assert identity["auto_increment"] is True and identity["identity"] == "always"
    view = objects[(db, "shop", "v_emails")].properties
    assert "customers" in view["view_definition"] and view["materialized"] is False
    assert "GROUP BY" in objects[(db, "shop", "mv_lines")].properties["view_definition"]
    assert objects[(db, "shop", "v_emails")].row_estimate is None
    for obj in objects.values():
        assert len(obj.fingerprint()) == 64


def test_batches_are_bounded_and_parents_come_first(pg):
    with connector_for(settings_for(pg)) as connector:
        seen: set = set()
        for batch in connector.iter_schema(batch_size=7):
            assert 0 < len(batch) <= 7
            for obj in batch:
                if obj.kind != "database":
                    assert obj.path[:-1] in seen, obj.path
                seen.add(obj.path)
    assert len(seen) > 200


def test_filters_applied(pg):
    db = pg[0]
    with connector_for(settings_for(pg)) as connector:
        objects = scan(connector, include=Filters(include_schemas=("shop",), include_tables=("customers", "re:v_.*"),
                                                  exclude_columns=("photo", "clients_*")))
    assert [o.path for o in objects] == [
        (db,), (db, "shop"), (db, "shop", "customers"), (db, "shop", "v_emails"),
        (db, "shop", "customers", "id"), (db, "shop", "customers", "email"),
        (db, "shop", "v_emails", "id"), (db, "shop", "v_emails", "email")]


def test_number_of_catalog_queries_is_constant(pg):
    counts = {}
    for schema, tables in (("five", 5), ("fifty", 50)):
        with connector_for(settings_for(pg)) as connector:
            objects = scan(connector, include=Filters(include_schemas=(schema,)))
            assert sum(o.kind == "table" for o in objects) == tables
            assert sum(o.kind == "column" for o in objects) == tables * 3
            counts[schema] = connector.queries_executed
    assert counts["five"] == counts["fifty"] == 7
    with connector_for(settings_for(pg)) as connector:  # table filters do not add queries either
        scan(connector, include=Filters(include_schemas=("fifty",), include_tables=("t1*",)))
        assert connector.queries_executed == 7


def test_sampling_quotes_hostile_names_and_respects_limit(pg):
    db, conn, _ = pg
    with connector_for(settings_for(pg)) as connector:
        values = connector.sample_table((db, "shop", "Order Items"), [HOSTILE, "order_id"], 5)
        assert set(values) == {HOSTILE, "order_id"}
        assert 0 < len(values[HOSTILE]) <= 5 and all(v.startswith("hostile ") for v in values[HOSTILE])
        photos = connector.sample_table((db, "shop", "customers"), ["photo", "clients_été"], 10)
        assert len(photos["photo"]) == 10 and all(isinstance(v, bytes) for v in photos["photo"])
        reserved = connector.sample_table(("shop", "顧客"), ["select", "user", "order"], 100)
        assert sorted(reserved["user"]) == ["ü", "名"]
        long = connector.sample_table((db, "shop", LONG_TABLE), [LONG_COLUMN], 3)
        assert long == {LONG_COLUMN: []}
        with pytest.raises(ConnectorError):
            connector.sample_table((db, "shop", "customers"), ["no such column"], 3)
        with pytest.raises(ConnectorError):
            connector.sample_table(("otherdb", "shop", "customers"), ["id"], 3)
    assert conn.execute("SELECT to_regclass('shop.customers') IS NOT NULL").fetchone()[0]


def test_sampling_uses_tablesample_for_large_estimates(pg, monkeypatch):
    db = pg[0]
    monkeypatch.setattr(pg_module, "SMALL_TABLE_ROWS", 10)
    executed = []
    with connector_for(settings_for(pg)) as connector:
        monkeypatch.setattr(connector, "_count", lambda query: executed.append(query))
        scan(connector, include=Filters(include_schemas=("shop",)))
        values = connector.sample_table((db, "shop", "customers"), ["id"], 20)
        assert len(values["id"]) <= 20
        assert "TABLESAMPLE BERNOULLI" in executed[-1] and "REPEATABLE" in executed[-1]
        assert connector.sample_table((db, "shop", "customers"), ["id"], 20) == values  # seeded: the same rows
        monkeypatch.setattr(pg_module, "SYSTEM_FROM_ROWS", 20)
        values = connector.sample_table((db, "shop", "customers"), ["id"], 5)
        assert len(values["id"]) <= 5 and "TABLESAMPLE SYSTEM" in executed[-1]
        connector.sample_table((db, "shop", "v_emails"), ["email"], 5)  # views: never TABLESAMPLE
        assert "TABLESAMPLE" not in executed[-1] and "md5(s::text)" in executed[-1]


def test_sampling_is_reproducible_and_tops_up_sparse_columns(pg):
    db, conn, _ = pg
    conn.execute("CREATE TABLE shop.sparse (id integer PRIMARY KEY, note text, code text)")
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO shop.sparse VALUES (%s, %s, %s)", sparse_rows())
    conn.execute("ANALYZE shop.sparse")
    try:
        with connector_for(settings_for(pg)) as first, connector_for(settings_for(pg)) as second:
            assert_reproducible_and_topped_up(first, second, (db, "shop", "sparse"))
    finally:
        conn.execute("DROP TABLE shop.sparse")


def test_session_is_read_only(pg):
    db, conn, _ = pg
    with connector_for(settings_for(pg)) as connector:
        info = connector.test_connection()
        assert info.read_only is True and info.database == db and info.statement_timeout_s == 30
        assert info.server_version.startswith("15")
        with pytest.raises(PermissionDenied, match="read-only"):
            connector._fetchall("INSERT INTO shop.customers (id, email) VALUES (999, 'w@x.y')")
        with pytest.raises(PermissionDenied):
            connector._fetchall("CREATE TABLE shop.nope (id int)")
    assert conn.execute("SELECT count(*) FROM shop.customers WHERE id = 999").fetchone()[0] == 0


def test_statement_timeout_fires(pg):
    db = pg[0]
    with connector_for(settings_for(pg, statement_timeout_s=0.5)) as connector:
        start = time.monotonic()
        with pytest.raises(QueryTimeout):
            connector.sample_table((db, "shop", "slow"), ["x"], 1)
        assert time.monotonic() - start < 2.5
        assert connector.test_connection().statement_timeout_s == 0.5  # the session survives a timeout


def test_unreachable_server_is_retryable_and_never_shows_the_password(caplog):
    caplog.set_level(logging.DEBUG)
    settings = ConnectionSettings(engine="postgresql", host="127.0.0.1", port=1, database="x", username="u",
                                  password=PASSWORD, connect_timeout_s=2)
    with connector_for(settings) as connector, pytest.raises(SourceUnavailable) as info:
        connector.test_connection()
    assert info.value.retryable
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None or \
        PASSWORD not in str(info.value.__context__)
    assert PASSWORD not in caplog.text
