"""Routines in scans: functions, procedures and triggers read from each engine's catalog, one statement each kind,
as ``routine`` objects under their schema (issue 14 item 2). No Django: the connectors are pure Python."""
from __future__ import annotations

import sqlite3

from sources.connectors import ConnectionSettings, Filters, connector_for
from tests.support import target_dbs

from .conftest import unique

PG_ROUTINES = """
CREATE SCHEMA sales;
CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA sales;
CREATE TABLE sales.orders (id integer PRIMARY KEY, total numeric);
CREATE TABLE sales.order_log (order_id integer);
CREATE TABLE sales.items (order_id integer REFERENCES sales.orders (id));
CREATE FUNCTION sales.total_of(p_order integer) RETURNS numeric LANGUAGE sql STABLE
    AS 'SELECT total FROM sales.orders WHERE id = p_order';
CREATE FUNCTION sales.total_of(p_order integer, p_vat numeric) RETURNS numeric LANGUAGE sql STABLE
    AS 'SELECT total * p_vat FROM sales.orders WHERE id = p_order';
COMMENT ON FUNCTION sales.total_of(integer) IS 'an order''s total';
CREATE PROCEDURE sales.archive() LANGUAGE sql AS 'INSERT INTO sales.order_log SELECT id FROM sales.orders';
CREATE FUNCTION sales.log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO sales.order_log VALUES (NEW.id); RETURN NEW; END $$;
CREATE TRIGGER orders_log BEFORE INSERT OR UPDATE ON sales.orders FOR EACH ROW EXECUTE FUNCTION sales.log_order();
CREATE AGGREGATE sales.product(numeric) (SFUNC = numeric_mul, STYPE = numeric);
"""


def routines(connector, **kw) -> dict[str, dict]:
    return {obj.name: {**obj.properties, "path": obj.path, "description": obj.description}
            for batch in connector.iter_schema(**kw) for obj in batch if obj.kind == "routine"}


def test_postgresql_functions_procedures_and_triggers_are_read_without_extensions_or_aggregates():
    with target_dbs.pg_server() as (url, admin), target_dbs.pg_database(admin, url, "racine_t_rout") as (name, conn):
        conn.execute(PG_ROUTINES)
        settings = ConnectionSettings(engine="postgresql", host=url.hostname, port=url.port or 5432, database=name,
                                      username=url.username or "postgres", password="")
        with connector_for(settings) as connector:
            found = routines(connector)
        assert set(found) == {"total_of(p_order integer)", "total_of(p_order integer, p_vat numeric)",
                              "archive()", "log_order()", "orders_log on orders"}  # not pgcrypto's, no aggregate
        total = found["total_of(p_order integer)"]
        assert (total["path"], total["kind"], total["language"], total["returns"], total["description"]) == (
            (name, "sales", "total_of(p_order integer)"), "function", "sql", "numeric", "an order's total")
        assert total["definition"].startswith("CREATE OR REPLACE FUNCTION sales.total_of(p_order integer)")
        assert found["archive()"]["kind"] == "procedure" and "returns" not in found["archive()"]
        trigger = found["orders_log on orders"]
        assert {key: trigger[key] for key in ("kind", "table", "timing", "events", "for_each", "function")} == {
            "kind": "trigger", "table": "orders", "timing": "BEFORE", "events": ["INSERT", "UPDATE"],
            "for_each": "row", "function": f'{name}.sales."log_order()"'}
        # The foreign key's internal triggers are not routines; a table filter keeps its triggers out with it.
        with connector_for(settings) as connector:
            assert "orders_log on orders" not in routines(connector, include=Filters(exclude_tables=("orders",)))


def test_mariadb_procedures_functions_and_triggers_are_read_and_hidden_bodies_flagged():
    with target_dbs.mysql_server() as (url, admin):
        schema, user, password = unique("racine_t_rout"), unique("racine_u"), "rout-Pa55"
        q = target_dbs.mysql_quote
        statements = [
            f"CREATE DATABASE {q(schema)}",
            f"CREATE TABLE {q(schema)}.orders (id INT PRIMARY KEY)",
            f"CREATE TABLE {q(schema)}.order_log (order_id INT)",
            f"CREATE PROCEDURE {q(schema)}.archive(IN p_from INT, OUT p_count INT) COMMENT 'moves old orders' "
            f"BEGIN INSERT INTO order_log SELECT id FROM orders WHERE id >= p_from; SET p_count = 1; END",
            f"CREATE FUNCTION {q(schema)}.twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
            f"CREATE TRIGGER {q(schema)}.orders_log AFTER INSERT ON {q(schema)}.orders FOR EACH ROW "
            f"INSERT INTO order_log VALUES (NEW.id)",
            *target_dbs.mysql_user_statements(user, password, schema),
            *(f"GRANT EXECUTE ON {q(schema)}.* TO '{user}'@'{host}'" for host in ("%", "localhost")),
        ]
        with target_dbs.mysql_schemas(admin, statements, schemas=[schema], users=[user]):
            settings = dict(engine="mysql", host=url.hostname, port=url.port or 3306, database=schema)
            with connector_for(ConnectionSettings(**settings, username=url.username or "root",
                                                  password=url.password or "")) as connector:
                found = routines(connector)
            with connector_for(ConnectionSettings(**settings, username=user, password=password)) as connector:
                as_reader = routines(connector)
    archive = found["archive(IN p_from int(11), OUT p_count int(11))"]
    assert (archive["kind"], archive["language"], archive["description"], archive["path"][:2]) == (
        "procedure", "sql", "moves old orders", ("def", schema))
    assert archive["definition"].startswith("BEGIN INSERT INTO order_log")
    assert found["twice(x int(11))"]["returns"] == "int(11)"
    trigger = found["orders_log on orders"]
    assert (trigger["table"], trigger["timing"], trigger["events"], trigger["definition"]) == (
        "orders", "AFTER", ["INSERT"], "INSERT INTO order_log VALUES (NEW.id)")
    # An account that may run the routines but not read them: cataloged, the body flagged as hidden.
    hidden = as_reader["archive(IN p_from int(11), OUT p_count int(11))"]
    assert hidden["definition"] == "" and hidden["definition_hidden"] is True


def test_sqlite_triggers_are_read_and_follow_their_table_s_filter(tmp_path):
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE orders (id INTEGER PRIMARY KEY);
            CREATE TABLE order_log (order_id INTEGER);
            CREATE TRIGGER orders_log AFTER INSERT ON orders BEGIN INSERT INTO order_log VALUES (NEW.id); END;
        """)
    with connector_for(ConnectionSettings(engine="sqlite", database=str(path))) as connector:
        found = routines(connector)
        assert connector.queries_executed == 4  # triggers come with the tables and views from sqlite_master
    assert found == {"orders_log on orders": {
        "kind": "trigger", "language": "sql", "table": "orders", "path": ("shop", "main", "orders_log on orders"),
        "description": "",
        "definition": "CREATE TRIGGER orders_log AFTER INSERT ON orders BEGIN INSERT INTO order_log VALUES (NEW.id); "
                      "END"}}
    with connector_for(ConnectionSettings(engine="sqlite", database=str(path))) as connector:
        assert routines(connector, include=Filters(include_tables=("order_log",))) == {}


def test_sqlalchemy_sources_read_no_routines(tmp_path):
    """SQLAlchemy's inspector lists no functions, procedures or triggers: such sources' routines are not read."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE t (id INTEGER); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;")
    with connector_for(ConnectionSettings(engine="sqlalchemy", options={"url": f"sqlite:///{path}"})) as connector:
        assert routines(connector) == {}
