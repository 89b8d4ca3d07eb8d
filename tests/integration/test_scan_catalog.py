"""Issue 4, "the catalog is extracted exactly": real PostgreSQL, MariaDB and SQLite databases, scanned through the
services (datasource_create → scan_default → scan_run_request, eager Celery), give exactly the expected Asset rows.

Every hostile name the connectors must survive is in the sources: spaces (``Order Items``), a quote-and-comment
injection (``x"; DROP TABLE t; --``), unicode, 63-character identifiers, reserved words, backticks on MariaDB.
"""
from __future__ import annotations

import sqlite3

import pytest

from accounts.actors import SYSTEM
from catalog.models import Asset
from scanning.models import AssetChange, ScanRun
from sources import services
from tests.support import target_dbs
from tests.support.target_dbs import catalog_rows, expected_rows, run_scan, scan_workspace
from tests.support.target_dbs import mysql_quote as q

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HOSTILE = 'x"; DROP TABLE t; --'
LONG_TABLE, LONG_COLUMN = "t" * 63, "c" * 63
PASSWORD = "scan-test-Pa55"

PG_SETUP = f"""
CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'the shop';
CREATE TABLE shop.customers (id integer PRIMARY KEY, email varchar(200) NOT NULL, "clients_été" text DEFAULT 'x');
COMMENT ON TABLE shop.customers IS 'people who buy';
COMMENT ON COLUMN shop.customers.email IS 'contact address';
CREATE TABLE shop."Order Items" (order_id bigint NOT NULL, line smallint NOT NULL,
                                 customer_id integer REFERENCES shop.customers (id), "x""; DROP TABLE t; --" text,
                                 PRIMARY KEY (order_id, line));
CREATE TABLE shop."顧客" ("select" integer, "user" text, "order" numeric(10,2));
CREATE TABLE shop."select" ("from" integer PRIMARY KEY);
CREATE TABLE shop.{LONG_TABLE} ({LONG_COLUMN} integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE VIEW shop.v_emails AS SELECT id, email FROM shop.customers;
CREATE MATERIALIZED VIEW shop.mv_lines AS SELECT customer_id, count(*) AS n FROM shop."Order Items" GROUP BY 1;
INSERT INTO shop.customers SELECT i, 'user' || i || '@example.com', 'v' || i FROM generate_series(1, 20) AS i;
ANALYZE shop.customers;
"""


@pytest.fixture(scope="module")
def pg_target():
    with target_dbs.pg_server() as (url, admin), target_dbs.pg_database(admin, url, "racine_t_scan") as (name, conn):
        conn.execute(PG_SETUP)
        yield name, url


def pg_source(pg_target, **fields):
    name, url = pg_target
    return services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name=fields.pop("name", name),
                                      engine="postgresql", host=url.hostname, port=url.port or 5432, database=name,
                                      username=url.username or "postgres", **fields)


def test_postgresql_source_scanned_through_services_gives_exact_catalog(pg_target):
    db = pg_target[0]
    source = pg_source(pg_target)
    run = run_scan(source)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    shop = (db, "shop")
    nop = {}
    expected = expected_rows([
        ("database", (db,), "", None, nop),
        ("schema", (db, "public"), "", None, nop),
        ("schema", shop, "", None, nop),
        ("table", (*shop, "customers"), "", None, {"pk": ["id"], "fk": []}),
        ("table", (*shop, "Order Items"), "", None,
         {"pk": ["order_id", "line"], "fk": [(["customer_id"], [db, "shop", "customers"], ["id"])]}),
        ("table", (*shop, "顧客"), "", None, {"pk": [], "fk": []}),
        ("table", (*shop, "select"), "", None, {"pk": ["from"], "fk": []}),
        ("table", (*shop, LONG_TABLE), "", None, {"pk": [LONG_COLUMN], "fk": []}),
        ("view", (*shop, "v_emails"), "", None, {"materialized": False, "definition": True}),
        ("view", (*shop, "mv_lines"), "", None, {"materialized": True, "definition": True}),
        ("column", (*shop, "customers", "id"), "integer", False, {"pk": True}),
        ("column", (*shop, "customers", "email"), "character varying(200)", False, {"pk": False}),
        ("column", (*shop, "customers", "clients_été"), "text", True, {"pk": False}),
        ("column", (*shop, "Order Items", "order_id"), "bigint", False, {"pk": True}),
        ("column", (*shop, "Order Items", "line"), "smallint", False, {"pk": True}),
        ("column", (*shop, "Order Items", "customer_id"), "integer", True, {"pk": False}),
        ("column", (*shop, "Order Items", HOSTILE), "text", True, {"pk": False}),
        ("column", (*shop, "顧客", "select"), "integer", True, {"pk": False}),
        ("column", (*shop, "顧客", "user"), "text", True, {"pk": False}),
        ("column", (*shop, "顧客", "order"), "numeric(10,2)", True, {"pk": False}),
        ("column", (*shop, "select", "from"), "integer", False, {"pk": True}),
        ("column", (*shop, LONG_TABLE, LONG_COLUMN), "integer", False, {"pk": True}),
        ("column", (*shop, "v_emails", "id"), "integer", True, {"pk": False}),
        ("column", (*shop, "v_emails", "email"), "character varying(200)", True, {"pk": False}),
        ("column", (*shop, "mv_lines", "customer_id"), "integer", True, {"pk": False}),
        ("column", (*shop, "mv_lines", "n"), "bigint", True, {"pk": False}),
    ])
    assert catalog_rows(source) == expected
    # The canonical names, spelled out once: bare only for plain lower-case unreserved identifiers, quotes doubled.
    names = set(Asset.objects.filter(data_source=source).values_list("qualified_name", flat=True))
    assert f'{db}.shop."Order Items"."x""; DROP TABLE t; --"' in names
    assert f'{db}.shop."顧客"."select"' in names and f"{db}.shop.{LONG_TABLE}.{LONG_COLUMN}" in names
    by_name = {a.qualified_name: a for a in Asset.objects.filter(data_source=source).exclude(type="source")}
    assert by_name[f"{db}.shop"].source_description == "the shop"
    assert by_name[f"{db}.shop.customers"].source_description == "people who buy"
    assert by_name[f"{db}.shop.customers"].row_count == 20
    assert by_name[f"{db}.shop.customers.email"].source_description == "contact address"
    assert by_name[f'{db}.shop.customers."clients_été"'].default == "'x'::text"
    assert "customers" in by_name[f"{db}.shop.v_emails"].properties["view_definition"]
    assert "GROUP BY" in by_name[f"{db}.shop.mv_lines"].properties["view_definition"]
    assert all(len(a.fingerprint) == 64 and a.removed_at is None for a in by_name.values())
    # A baseline: the run's counters say what it wrote, and it recorded no drift.
    assert (run.objects_seen, run.added, run.changed, run.removed) == (len(expected), len(expected), 0, 0)
    assert not AssetChange.objects.filter(run=run).exists()


@pytest.fixture(scope="module")
def mysql_target():
    with target_dbs.mysql_server() as (url, admin):
        schema, user = target_dbs.unique("racine_t_scan"), target_dbs.unique("racine_u")
        statements = [
            f"CREATE DATABASE {q(schema)} CHARACTER SET utf8mb4",
            f"""CREATE TABLE {q(schema)}.customers (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                email VARCHAR(200) NOT NULL COMMENT 'contact address', {q('clients_été')} TEXT DEFAULT 'x')
                COMMENT 'people who buy' ENGINE=InnoDB""",
            f"""CREATE TABLE {q(schema)}.{q('Order Items')} (order_id BIGINT NOT NULL, line SMALLINT NOT NULL,
                customer_id INT NULL, {q(HOSTILE)} TEXT, PRIMARY KEY (order_id, line),
                CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES {q(schema)}.customers (id))
                ENGINE=InnoDB""",
            f"CREATE TABLE {q(schema)}.{q('顧客')} ({q('select')} INT, {q('user')} VARCHAR(20), "
            f"{q('order')} DECIMAL(10,2))",
            f"CREATE TABLE {q(schema)}.{q('we`ird')} ({q('a`b')} INT NOT NULL PRIMARY KEY)",
            f"CREATE TABLE {q(schema)}.{q(LONG_TABLE)} ({q('c' * 63)} INT)",
            f"CREATE VIEW {q(schema)}.v_emails AS SELECT id, email FROM {q(schema)}.customers",
            *target_dbs.mysql_user_statements(user, PASSWORD, schema),
        ]
        with target_dbs.mysql_schemas(admin, statements, schemas=[schema], users=[user]):
            yield schema, user, url


def test_mariadb_source_scanned_through_services_gives_exact_catalog(mysql_target):
    schema, user, url = mysql_target
    source = services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="maria",
                                        engine="mysql", host=url.hostname, port=url.port or 3306, database=schema,
                                        username=user, password=PASSWORD)
    run = run_scan(source)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    d, s = "def", schema
    expected = expected_rows([
        ("database", (d,), "", None, {}),
        ("schema", (d, s), "", None, {}),
        ("table", (d, s, "customers"), "", None, {"pk": ["id"], "fk": []}),
        ("table", (d, s, "Order Items"), "", None,
         {"pk": ["order_id", "line"], "fk": [(["customer_id"], [d, s, "customers"], ["id"])]}),
        ("table", (d, s, "顧客"), "", None, {"pk": [], "fk": []}),
        ("table", (d, s, "we`ird"), "", None, {"pk": ["a`b"], "fk": []}),
        ("table", (d, s, LONG_TABLE), "", None, {"pk": [], "fk": []}),
        ("view", (d, s, "v_emails"), "", None, {"materialized": False, "definition": True}),
        ("column", (d, s, "customers", "id"), "int(11)", False, {"pk": True}),
        ("column", (d, s, "customers", "email"), "varchar(200)", False, {"pk": False}),
        ("column", (d, s, "customers", "clients_été"), "text", True, {"pk": False}),
        ("column", (d, s, "Order Items", "order_id"), "bigint(20)", False, {"pk": True}),
        ("column", (d, s, "Order Items", "line"), "smallint(6)", False, {"pk": True}),
        ("column", (d, s, "Order Items", "customer_id"), "int(11)", True, {"pk": False}),
        ("column", (d, s, "Order Items", HOSTILE), "text", True, {"pk": False}),
        ("column", (d, s, "顧客", "select"), "int(11)", True, {"pk": False}),
        ("column", (d, s, "顧客", "user"), "varchar(20)", True, {"pk": False}),
        ("column", (d, s, "顧客", "order"), "decimal(10,2)", True, {"pk": False}),
        ("column", (d, s, "we`ird", "a`b"), "int(11)", False, {"pk": True}),
        ("column", (d, s, LONG_TABLE, "c" * 63), "int(11)", True, {"pk": False}),
        ("column", (d, s, "v_emails", "id"), "int(11)", False, {"pk": False}),
        ("column", (d, s, "v_emails", "email"), "varchar(200)", False, {"pk": False}),
    ])
    assert catalog_rows(source) == expected
    by_name = {a.qualified_name: a for a in Asset.objects.filter(data_source=source)}
    assert by_name[f"def.{s}.customers"].source_description == "people who buy"
    assert by_name[f"def.{s}.customers.email"].source_description == "contact address"
    assert by_name[f"def.{s}.customers.id"].properties["auto_increment"] is True
    assert f'def.{s}."Order Items"."x""; DROP TABLE t; --"' in by_name
    assert (run.added, run.changed, run.removed) == (len(expected), 0, 0)


SQLITE_SCHEMA = f"""
CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL, "clients_été" TEXT DEFAULT 'x');
CREATE TABLE "Order Items" (order_id INTEGER NOT NULL, line INTEGER NOT NULL, customer_id INTEGER,
                            "{HOSTILE.replace('"', '""')}" TEXT, PRIMARY KEY (order_id, line),
                            FOREIGN KEY (customer_id) REFERENCES customers (id));
CREATE TABLE "顧客" ("select" INTEGER, "user" TEXT);
CREATE TABLE "{LONG_TABLE}" ("{LONG_COLUMN}" INTEGER);
CREATE VIEW v_emails AS SELECT id, email FROM customers;
"""


def make_sqlite(path):
    with sqlite3.connect(path) as conn:
        conn.executescript(SQLITE_SCHEMA)
    return path


def test_sqlite_source_scanned_through_services_gives_exact_catalog(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = make_sqlite(tmp_path / "shop.db")
    source = services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="lite",
                                        engine="sqlite", database=str(path))
    run = run_scan(source)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    d, s = "shop", "main"
    expected = expected_rows([
        ("database", (d,), "", None, {}),
        ("schema", (d, s), "", None, {}),
        ("table", (d, s, "customers"), "", None, {"pk": ["id"], "fk": []}),
        ("table", (d, s, "Order Items"), "", None,
         {"pk": ["order_id", "line"], "fk": [(["customer_id"], [d, s, "customers"], ["id"])]}),
        ("table", (d, s, "顧客"), "", None, {"pk": [], "fk": []}),
        ("table", (d, s, LONG_TABLE), "", None, {"pk": [], "fk": []}),
        ("view", (d, s, "v_emails"), "", None, {"materialized": False, "definition": True}),
        ("column", (d, s, "customers", "id"), "INTEGER", True, {"pk": True}),
        ("column", (d, s, "customers", "email"), "VARCHAR(200)", False, {"pk": False}),
        ("column", (d, s, "customers", "clients_été"), "TEXT", True, {"pk": False}),
        ("column", (d, s, "Order Items", "order_id"), "INTEGER", False, {"pk": True}),
        ("column", (d, s, "Order Items", "line"), "INTEGER", False, {"pk": True}),
        ("column", (d, s, "Order Items", "customer_id"), "INTEGER", True, {"pk": False}),
        ("column", (d, s, "Order Items", HOSTILE), "TEXT", True, {"pk": False}),
        ("column", (d, s, "顧客", "select"), "INTEGER", True, {"pk": False}),
        ("column", (d, s, "顧客", "user"), "TEXT", True, {"pk": False}),
        ("column", (d, s, LONG_TABLE, LONG_COLUMN), "INTEGER", True, {"pk": False}),
        ("column", (d, s, "v_emails", "id"), "INTEGER", True, {"pk": False}),
        ("column", (d, s, "v_emails", "email"), "VARCHAR(200)", True, {"pk": False}),
    ])
    assert catalog_rows(source) == expected
    assert (run.added, run.changed, run.removed) == (len(expected), 0, 0)


def test_sqlite_source_outside_allowed_folders_is_refused(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path / "sources")]
    path = make_sqlite(tmp_path / "elsewhere.db")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="outside", engine="sqlite",
                                   database=str(path))
