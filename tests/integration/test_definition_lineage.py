"""Issue 14 item 2: view and routine definitions read during scans become lineage — on real PostgreSQL, MariaDB
and SQLite sources, scanned through the services (eager Celery; ``scan.finished`` delivered after the run).

Per engine: a view over two tables with joins and renames, a view using ``SELECT *``, a routine inserting into a
table from others, a trigger. Then, on PostgreSQL: a changed definition replaces its edges, edges of another origin
on the same assets survive a rescan, an unchanged rescan adds nothing and refreshes ``last_seen_at``, and a
dropped view loses its edges.
"""
from __future__ import annotations

import sqlite3

import pytest

from accounts.actors import SYSTEM
from catalog.lineage import definitions
from catalog.lineage.definitions import definitions_lineage_record
from catalog.lineage.services import Flow, lineage_edges_merge
from catalog.models import Asset, DefinitionLineage, LineageEdge, LineageOrigin
from core.events import dispatch
from scanning.models import ScanRun
from sources import services
from tests.support import target_dbs
from tests.support.target_dbs import mysql_quote as q
from tests.support.target_dbs import run_scan, scan_workspace

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def edges(source, origin: str | None = None, level: str = LineageEdge.Level.COLUMN) -> set[tuple[str, str, str]]:
    """(origin key's asset name, source, target) of the column edges, each end named after its last two parts
    (``orders.id``) — or an external one after its name."""
    rows = LineageEdge.objects.filter(workspace=source.workspace, level=level).select_related(
        "source_asset", "target_asset", "source_external", "target_external")
    if origin is not None:
        rows = rows.filter(origin=origin)
    names = dict(Asset.objects.filter(data_source=source).values_list("pk", "name"))

    def end(asset, external):
        if asset is None:
            return f"external {external.qualified_name.split('/')[-1]}"
        return asset.name if level == LineageEdge.Level.TABLE else f"{asset.parent.name}.{asset.name}"

    return {(names.get(int(row.origin_key), row.origin_key), end(row.source_asset, row.source_external),
             end(row.target_asset, row.target_external)) for row in rows}


def scanned(source):
    run = run_scan(source)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    # The test's transaction never commits: a second scan's dispatch waits behind the first's on-commit hook, so
    # deliver what is pending here, as the sweep would.
    dispatch()
    return run


# --- PostgreSQL ------------------------------------------------------------------------------------------------

PG_SETUP = """
CREATE SCHEMA sales;
CREATE TABLE public.customers (id integer PRIMARY KEY, email text, first_name text, last_name text);
CREATE TABLE sales.orders (id integer PRIMARY KEY, customer_id integer, total numeric);
CREATE TABLE sales.order_log (order_id integer, email text, at timestamptz);
-- customers: unqualified, found on the search path (public); a join and two renames
CREATE VIEW sales.customer_orders AS
    SELECT c.email AS contact, c.first_name AS given_name, o.total FROM customers c JOIN sales.orders o
    ON o.customer_id = c.id;
CREATE VIEW sales.all_orders AS SELECT * FROM sales.orders;
CREATE MATERIALIZED VIEW sales.totals AS SELECT customer_id, sum(total) AS total FROM sales.orders GROUP BY 1;
CREATE FUNCTION sales.copy_orders(p_min numeric) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_log (order_id, email)
  SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > p_min;
END $$;
CREATE FUNCTION sales.log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sales.order_log (order_id, at) VALUES (NEW.id, now());
  RETURN NEW;
END $$;
CREATE TRIGGER orders_log AFTER INSERT ON sales.orders FOR EACH ROW EXECUTE FUNCTION sales.log_order();
CREATE FUNCTION public.twice(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
"""


@pytest.fixture
def pg_target():
    with target_dbs.pg_server() as (url, admin), target_dbs.pg_database(admin, url, "racine_t_deflin") as (name, conn):
        conn.execute(PG_SETUP)
        yield name, url, conn


@pytest.fixture
def pg_source(pg_target):
    name, url, _conn = pg_target
    return services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name=name, engine="postgresql",
                                      host=url.hostname, port=url.port or 5432, database=name,
                                      username=url.username or "postgres")


PG_VIEW_EDGES = {
    ("customer_orders", "customers.email", "customer_orders.contact"),
    ("customer_orders", "customers.first_name", "customer_orders.given_name"),
    ("customer_orders", "orders.total", "customer_orders.total"),
    ("all_orders", "orders.id", "all_orders.id"),
    ("all_orders", "orders.customer_id", "all_orders.customer_id"),
    ("all_orders", "orders.total", "all_orders.total"),
    ("totals", "orders.customer_id", "totals.customer_id"),
    ("totals", "orders.total", "totals.total"),
}


def test_postgresql_views_functions_and_triggers_become_lineage(pg_source):
    scanned(pg_source)
    routines = {a.name: a for a in Asset.objects.filter(data_source=pg_source, type=Asset.Type.ROUTINE)}
    assert set(routines) == {"copy_orders(p_min numeric)", "log_order()", "orders_log on orders",
                             "twice(x integer)"}
    assert routines["copy_orders(p_min numeric)"].parent.name == "sales"
    assert routines["copy_orders(p_min numeric)"].properties["language"] == "plpgsql"
    assert routines["orders_log on orders"].properties["table"] == "orders"
    assert edges(pg_source, LineageOrigin.VIEW) == PG_VIEW_EDGES
    assert edges(pg_source, LineageOrigin.VIEW, LineageEdge.Level.TABLE) >= {
        ("customer_orders", "customers", "customer_orders"), ("customer_orders", "orders", "customer_orders")}
    assert edges(pg_source, LineageOrigin.PROCEDURE) == {
        ("copy_orders(p_min numeric)", "orders.id", "order_log.order_id"),
        ("copy_orders(p_min numeric)", "customers.email", "order_log.email"),
        ("orders_log on orders", "orders.id", "order_log.order_id"),
    }
    direct = LineageEdge.objects.get(target_asset__name="contact", origin=LineageOrigin.VIEW)
    assert direct.direct and direct.record.text.startswith("CREATE VIEW")
    readings = DefinitionLineage.objects.filter(asset__data_source=pg_source)
    assert readings.count() == 7 and not readings.exclude(problem="").exists()


def test_postgresql_rescans_replace_refresh_and_drop_by_their_own_origin(pg_source, pg_target):
    conn = pg_target[2]
    scanned(pg_source)
    view = Asset.objects.get(data_source=pg_source, name="customer_orders")
    email, contact = (Asset.objects.get(data_source=pg_source, qualified_name__endswith=name)
                      for name in ("customers.email", "customer_orders.contact"))
    lineage_edges_merge(workspace=pg_source.workspace, origin=LineageOrigin.MANUAL, origin_key="steward",
                        flows=[Flow(email.pk, contact.pk, LineageEdge.Level.COLUMN, direct=True)], acting_user=SYSTEM)
    before = dict(LineageEdge.objects.values_list("pk", "last_seen_at"))

    scanned(pg_source)  # unchanged: nothing new, every definition edge seen again
    after = dict(LineageEdge.objects.values_list("pk", "last_seen_at"))
    assert after.keys() == before.keys()
    assert all(after[pk] > before[pk] for pk in after if pk in LineageEdge.objects.exclude(
        origin=LineageOrigin.MANUAL).values_list("pk", flat=True))

    conn.execute("CREATE OR REPLACE VIEW sales.customer_orders AS SELECT c.email AS contact, c.last_name AS "
                 "given_name, o.total FROM customers c JOIN sales.orders o ON o.customer_id = c.id")
    conn.execute("DROP VIEW sales.all_orders")
    scanned(pg_source)
    assert edges(pg_source, LineageOrigin.VIEW) == (PG_VIEW_EDGES - {
        ("customer_orders", "customers.first_name", "customer_orders.given_name"),
        ("all_orders", "orders.id", "all_orders.id"), ("all_orders", "orders.customer_id", "all_orders.customer_id"),
        ("all_orders", "orders.total", "all_orders.total")}) | {
        ("customer_orders", "customers.last_name", "customer_orders.given_name")}
    manual = LineageEdge.objects.get(origin=LineageOrigin.MANUAL)
    assert (manual.source_asset_id, manual.target_asset_id) == (email.pk, contact.pk)
    assert not DefinitionLineage.objects.filter(asset__name="all_orders").exists()
    assert DefinitionLineage.objects.get(asset=view).read_at > DefinitionLineage.objects.get(
        asset__name="totals").read_at


# --- MariaDB ---------------------------------------------------------------------------------------------------

@pytest.fixture
def mysql_target():
    with target_dbs.mysql_server() as (url, admin):
        schema = target_dbs.unique("racine_t_deflin")
        statements = [
            f"CREATE DATABASE {q(schema)}",
            f"CREATE TABLE {q(schema)}.customers (id INT PRIMARY KEY, email VARCHAR(200), first_name VARCHAR(100))",
            f"CREATE TABLE {q(schema)}.orders (id INT PRIMARY KEY, customer_id INT, total DECIMAL(10,2))",
            f"CREATE TABLE {q(schema)}.order_log (order_id INT, email VARCHAR(200))",
            f"CREATE VIEW {q(schema)}.customer_orders AS SELECT c.email AS contact, c.first_name AS given_name, "
            f"o.total FROM {q(schema)}.customers c JOIN {q(schema)}.orders o ON o.customer_id = c.id",
            f"CREATE VIEW {q(schema)}.all_orders AS SELECT * FROM {q(schema)}.orders",
            f"""CREATE PROCEDURE {q(schema)}.copy_orders(IN p_min DECIMAL(10,2)) BEGIN
                INSERT INTO order_log (order_id, email) SELECT o.id, c.email FROM orders o
                JOIN customers c ON c.id = o.customer_id WHERE o.total > p_min; END""",
            f"CREATE FUNCTION {q(schema)}.twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
            f"CREATE TRIGGER {q(schema)}.orders_log AFTER INSERT ON {q(schema)}.orders FOR EACH ROW "
            f"INSERT INTO order_log (order_id) VALUES (NEW.id)",
        ]
        with target_dbs.mysql_schemas(admin, statements, schemas=[schema]):
            yield schema, url


def mysql_source(url, schema: str, name: str, **account):
    """A MariaDB data source on ``schema``, as the server's admin unless ``username``/``password`` are given."""
    account.setdefault("username", url.username or "root")
    return services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name=name, engine="mysql",
                                      host=url.hostname, port=url.port or 3306, database=schema, **account)


def test_mariadb_views_procedures_and_triggers_become_lineage(mysql_target):
    schema, url = mysql_target
    source = mysql_source(url, schema, "maria")
    scanned(source)
    routines = {a.name: a.properties for a in Asset.objects.filter(data_source=source, type=Asset.Type.ROUTINE)}
    assert set(routines) == {"copy_orders(IN p_min decimal(10,2))", "twice(x int(11))", "orders_log on orders"}
    assert routines["twice(x int(11))"]["returns"] == "int(11)"
    assert edges(source, LineageOrigin.VIEW) == {
        ("customer_orders", "customers.email", "customer_orders.contact"),
        ("customer_orders", "customers.first_name", "customer_orders.given_name"),
        ("customer_orders", "orders.total", "customer_orders.total"),
        ("all_orders", "orders.id", "all_orders.id"),
        ("all_orders", "orders.customer_id", "all_orders.customer_id"),
        ("all_orders", "orders.total", "all_orders.total"),
    }
    assert edges(source, LineageOrigin.PROCEDURE) == {
        ("copy_orders(IN p_min decimal(10,2))", "orders.id", "order_log.order_id"),
        ("copy_orders(IN p_min decimal(10,2))", "customers.email", "order_log.email"),
        ("orders_log on orders", "orders.id", "order_log.order_id"),
    }


def test_mariadb_routine_bodies_hidden_from_the_account_are_a_problem_not_a_failure(mysql_target):
    schema, url = mysql_target
    user, password = target_dbs.unique("racine_u"), "deflin-Pa55"
    # EXECUTE makes the routines visible to the account; their bodies stay their definer's.
    grants = [*target_dbs.mysql_user_statements(user, password, schema),
              *(f"GRANT EXECUTE ON {q(schema)}.* TO '{user}'@'{host}'" for host in ("%", "localhost"))]
    with target_dbs.mysql_server() as (_url, admin), target_dbs.mysql_schemas(admin, grants, schemas=[],
                                                                              users=[user]):
        source = mysql_source(url, schema, "maria reader", username=user, password=password)
        scanned(source)
    procedure = Asset.objects.get(data_source=source, type=Asset.Type.ROUTINE, name__startswith="copy_orders")
    assert procedure.properties["definition_hidden"] is True
    assert "may not read this routine's body" in DefinitionLineage.objects.get(asset=procedure).problem
    assert edges(source, LineageOrigin.VIEW)  # the views are read all the same


# --- SQLite ----------------------------------------------------------------------------------------------------

SQLITE_SETUP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, first_name TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total NUMERIC);
CREATE TABLE order_log (order_id INTEGER, email TEXT);
CREATE VIEW customer_orders AS SELECT c.email AS contact, c.first_name AS given_name, o.total
    FROM customers c JOIN orders o ON o.customer_id = c.id;
CREATE VIEW all_orders AS SELECT * FROM orders;
CREATE TRIGGER orders_log AFTER INSERT ON orders BEGIN
    INSERT INTO order_log (order_id, email) SELECT NEW.id, c.email FROM customers c WHERE c.id = NEW.customer_id;
END;
"""


@pytest.fixture
def sqlite_source(tmp_path, settings):
    """A scanned SQLite data source holding SQLITE_SETUP."""
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(SQLITE_SETUP)
    source = services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="lite",
                                        engine="sqlite", database=str(path))
    scanned(source)
    return source


def test_sqlite_views_and_triggers_become_lineage_and_select_star_follows_the_columns(sqlite_source):
    source, path = sqlite_source, sqlite_source.database
    assert edges(source, LineageOrigin.VIEW) == {
        ("customer_orders", "customers.email", "customer_orders.contact"),
        ("customer_orders", "customers.first_name", "customer_orders.given_name"),
        ("customer_orders", "orders.total", "customer_orders.total"),
        ("all_orders", "orders.id", "all_orders.id"),
        ("all_orders", "orders.customer_id", "all_orders.customer_id"),
        ("all_orders", "orders.total", "all_orders.total"),
    }
    assert edges(source, LineageOrigin.PROCEDURE) == {
        ("orders_log on orders", "orders.id", "order_log.order_id"),
        ("orders_log on orders", "customers.email", "order_log.email"),
    }
    # SQLite keeps SELECT * as written: a new column of the table is a new column of the view, same text.
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN status TEXT")
    scanned(source)
    assert ("all_orders", "orders.status", "all_orders.status") in edges(source, LineageOrigin.VIEW)


def broken_view(source, definition: str) -> Asset:
    """The view all_orders, its definition replaced by ``definition`` as if the scan had read that."""
    view = Asset.objects.get(data_source=source, name="all_orders")
    Asset.objects.filter(pk=view.pk).update(properties={"view_definition": definition})
    return view


def test_an_unreadable_definition_is_a_problem_on_its_asset_and_the_others_are_read(sqlite_source):
    source = sqlite_source
    view = broken_view(source, "CREATE VIEW all_orders AS SELEKT ?? FROM")
    outcome = definitions_lineage_record(data_source=source, acting_user=SYSTEM)
    assert (outcome.read, outcome.problems) == (1, 1)
    assert "line 1" in DefinitionLineage.objects.get(asset=view).problem
    assert {key for key, _source, _target in edges(source, LineageOrigin.VIEW)} == {"customer_orders"}
    again = definitions_lineage_record(data_source=source, acting_user=SYSTEM)
    assert (again.read, again.unchanged) == (0, 3)  # read once: the same broken text is not parsed at every scan


def test_a_definition_over_the_time_budget_is_a_problem_on_its_asset_and_the_others_are_read(sqlite_source,
                                                                                            monkeypatch):
    monkeypatch.setattr(definitions, "STATEMENT_SECONDS", 0.5)
    source = sqlite_source
    slow = " OR ".join(f"(o.id = {i} AND o.total > {i})" for i in range(6_000))
    view = broken_view(source, f"CREATE VIEW all_orders AS SELECT o.id FROM orders o WHERE {slow}")
    outcome = definitions_lineage_record(data_source=source, acting_user=SYSTEM)
    assert (outcome.read, outcome.problems) == (1, 1)
    assert "took too long to read (over 0.5 s)" in DefinitionLineage.objects.get(asset=view).problem
    assert {key for key, _source, _target in edges(source, LineageOrigin.VIEW)} == {"customer_orders"}
