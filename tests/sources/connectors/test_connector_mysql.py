"""MySQL/MariaDB connector against the machine's real MariaDB, on a throwaway schema."""
from __future__ import annotations

import logging
import time

import pytest

from sources.connectors import (
    AuthenticationFailed,
    ConnectionSettings,
    Filters,
    PermissionDenied,
    QueryTimeout,
    connector_for,
)
from sources.connectors import mysql as mysql_module

from .conftest import PASSWORD, unique
from .sampling_checks import assert_reproducible_and_topped_up, sparse_rows

pytestmark = pytest.mark.integration

HOSTILE = 'x"; DROP TABLE t; --'
BACKTICK = "we`ird"
LONG = "t" * 63


def q(name: str) -> str:
    return mysql_module.quote_identifier(name)


@pytest.fixture(scope="module")
def my(mysql_server):
    url, admin = mysql_server
    schema, small, big = unique("racine_t_conn"), unique("racine_t_five"), unique("racine_t_fifty")
    user = unique("racine_u")
    statements = [
        f"CREATE DATABASE {q(schema)} CHARACTER SET utf8mb4",
        f"""CREATE TABLE {q(schema)}.customers (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            email VARCHAR(200) NOT NULL COMMENT 'contact address', {q('clients_été')} TEXT DEFAULT 'x',
            photo BLOB) COMMENT 'people who buy' ENGINE=InnoDB""",
        f"""CREATE TABLE {q(schema)}.{q('Order Items')} (order_id BIGINT NOT NULL, line SMALLINT NOT NULL,
            customer_id INT NULL, {q(HOSTILE)} TEXT, PRIMARY KEY (order_id, line),
            CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES {q(schema)}.customers (id)) ENGINE=InnoDB""",
        f"CREATE TABLE {q(schema)}.{q('顧客')}"
        f" ({q('select')} INT, {q('user')} VARCHAR(20), {q('order')} DECIMAL(10,2))",
        f"CREATE TABLE {q(schema)}.{q(BACKTICK)} ({q('a`b')} INT NOT NULL PRIMARY KEY)",
        f"CREATE TABLE {q(schema)}.{q(LONG)} (id INT)",
        f"CREATE VIEW {q(schema)}.v_emails AS SELECT id, email FROM {q(schema)}.customers",
        f"CREATE VIEW {q(schema)}.slow AS SELECT SLEEP(3) AS x",
        f"INSERT INTO {q(schema)}.customers (email, {q('clients_été')}, photo) "
        + "VALUES " + ", ".join(f"('user{i}@example.com', 'v{i}', X'00FF{i:02X}')" for i in range(1, 41)),
        f"INSERT INTO {q(schema)}.{q('Order Items')} VALUES "
        + ", ".join(f"({i}, 1, {1 + i % 40}, 'hostile {i}')" for i in range(1, 31)),
        f"INSERT INTO {q(schema)}.{q('顧客')} VALUES (1, 'ü', 1.50), (2, '名', 2.25)",
        f"INSERT INTO {q(schema)}.{q(BACKTICK)} VALUES (7)",
        f"CREATE DATABASE {q(small)}", f"CREATE DATABASE {q(big)}",
        *[f"CREATE TABLE {q(small)}.t{i} (id INT PRIMARY KEY, a TEXT)" for i in range(5)],
        *[f"CREATE TABLE {q(big)}.t{i} (id INT PRIMARY KEY, a TEXT)" for i in range(50)],
    ]
    for host in ("%", "localhost"):
        statements += [f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PASSWORD}'",
                       f"GRANT SELECT ON {q(schema)}.* TO '{user}'@'{host}'"]
    try:
        with admin.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        yield schema, small, big, user, url
    finally:
        with admin.cursor() as cur:
            for name in (schema, small, big):
                cur.execute(f"DROP DATABASE IF EXISTS {q(name)}")
            for host in ("%", "localhost"):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")


def settings_for(my, **overrides) -> ConnectionSettings:
    schema, _, _, _, url = my
    values = dict(engine="mysql", host=url.hostname, port=url.port or 3306, database=schema,
                  username=url.username or "root", password=url.password or "")
    values.update(overrides)
    return ConnectionSettings(**values)


def scan(connector, **kw):
    return [obj for batch in connector.iter_schema(**kw) for obj in batch]


def test_catalog_is_extracted_exactly(my):
    s = my[0]
    with connector_for(settings_for(my)) as connector:
        objects = scan(connector)
    got = []
    for o in objects:
        if o.kind == "table":
            extra = {"pk": o.properties["primary_key"],
                     "fk": [(f["columns"], f["referred_path"], f["referred_columns"])
                            for f in o.properties["foreign_keys"]]}
        elif o.kind == "column":
            extra = {"pk": o.properties["primary_key"]}
        else:
            extra = {}
        got.append((o.kind, o.path, o.data_type, o.is_nullable, extra))
    d = "def"
    expected = [
        ("database", (d,), "", None, {}),
        ("schema", (d, s), "", None, {}),
        ("table", (d, s, "Order Items"), "", None,
         {"pk": ["order_id", "line"], "fk": [(["customer_id"], [d, s, "customers"], ["id"])]}),
        ("view", (d, s, "slow"), "", None, {}),
        ("table", (d, s, LONG), "", None, {"pk": [], "fk": []}),
        ("view", (d, s, "v_emails"), "", None, {}),
        ("table", (d, s, BACKTICK), "", None, {"pk": ["a`b"], "fk": []}),
        ("table", (d, s, "customers"), "", None, {"pk": ["id"], "fk": []}),
        ("table", (d, s, "顧客"), "", None, {"pk": [], "fk": []}),
        ("column", (d, s, "Order Items", "order_id"), "bigint(20)", False, {"pk": True}),
        ("column", (d, s, "Order Items", "line"), "smallint(6)", False, {"pk": True}),
        ("column", (d, s, "Order Items", "customer_id"), "int(11)", True, {"pk": False}),
        ("column", (d, s, "Order Items", HOSTILE), "text", True, {"pk": False}),
        ("column", (d, s, "slow", "x"), "int(1)", False, {"pk": False}),
        ("column", (d, s, LONG, "id"), "int(11)", True, {"pk": False}),
        ("column", (d, s, "v_emails", "id"), "int(11)", False, {"pk": False}),
        ("column", (d, s, "v_emails", "email"), "varchar(200)", False, {"pk": False}),
        ("column", (d, s, BACKTICK, "a`b"), "int(11)", False, {"pk": True}),
        ("column", (d, s, "customers", "id"), "int(11)", False, {"pk": True}),
        ("column", (d, s, "customers", "email"), "varchar(200)", False, {"pk": False}),
        ("column", (d, s, "customers", "clients_été"), "text", True, {"pk": False}),
        ("column", (d, s, "customers", "photo"), "blob", True, {"pk": False}),
        ("column", (d, s, "顧客", "select"), "int(11)", True, {"pk": False}),
        ("column", (d, s, "顧客", "user"), "varchar(20)", True, {"pk": False}),
        ("column", (d, s, "顧客", "order"), "decimal(10,2)", True, {"pk": False}),
    ]
    # the order of names within a level follows the server's collation; compare each level as a set
    assert got[:2] == expected[:2]
    assert sorted(got[2:9], key=repr) == sorted(expected[2:9], key=repr)
    assert sorted(got[9:], key=repr) == sorted(expected[9:], key=repr)
    by_path = {o.path: o for o in objects}
    assert by_path[(d, s, "customers")].description == "people who buy"
    assert by_path[(d, s, "customers", "email")].description == "contact address"
    assert by_path[(d, s, "customers", "id")].properties["auto_increment"] is True
    assert by_path[(d, s, "customers", "clients_été")].default == "'x'"
    assert by_path[(d, s, "customers", "photo")].default is None
    assert "customers" in by_path[(d, s, "v_emails")].properties["view_definition"]
    assert by_path[(d, s, "v_emails")].properties["materialized"] is False


def test_number_of_catalog_queries_is_constant(my):
    _, small, big, _, _ = my
    counts = {}
    for schema, tables in ((small, 5), (big, 50)):
        with connector_for(settings_for(my, database=schema)) as connector:
            objects = scan(connector)
            assert sum(o.kind == "table" for o in objects) == tables
            counts[schema] = connector.queries_executed
    # session setup + schemata, tables, constraints, routines, triggers, columns
    assert counts[small] == counts[big] == 3 + 6


def test_filters_applied_without_database_setting(my):
    schema, small, big, _, _ = my
    with connector_for(settings_for(my, database="")) as connector:
        objects = scan(connector, include=Filters(include_schemas=(small, big), exclude_tables=("t1*",),
                                                  include_columns=("id",)))
    schemas = {o.path[1] for o in objects if o.kind == "schema"}
    assert schemas == {small, big}
    tables = [o for o in objects if o.kind == "table"]
    assert len(tables) == 4 + 39 and not any(o.path[2].startswith("t1") for o in tables)
    assert all(o.path[-1] == "id" for o in objects if o.kind == "column")


def test_sampling_quotes_hostile_names_and_respects_limit(my):
    s = my[0]
    with connector_for(settings_for(my)) as connector:
        values = connector.sample_table(("def", s, "Order Items"), [HOSTILE], 5)
        assert 0 < len(values[HOSTILE]) <= 5 and all(v.startswith("hostile") for v in values[HOSTILE])
        assert connector.sample_table((s, BACKTICK), ["a`b"], 5) == {"a`b": [7]}
        photos = connector.sample_table((s, "customers"), ["photo"], 10)["photo"]
        assert len(photos) == 10 and all(isinstance(p, bytes) and p[:2] == b"\x00\xff" for p in photos)
        reserved = connector.sample_table((s, "顧客"), ["select", "user", "order"], 10)
        assert sorted(reserved["user"]) == ["ü", "名"]


def test_sampling_large_tables_uses_bernoulli(my, monkeypatch):
    s = my[0]
    monkeypatch.setattr(mysql_module, "SMALL_TABLE_ROWS", 10)
    executed = []
    with connector_for(settings_for(my)) as connector:
        scan(connector)
        connector._table_hints[(s, "customers")] = ("table", 40)
        monkeypatch.setattr(connector, "_count", lambda query: executed.append(query))
        values = connector.sample_table((s, "customers"), ["email"], 5)
    assert len(values["email"]) <= 5
    assert "WHERE RAND(1729) <" in executed[-1] and "ORDER BY" not in executed[-1]


def test_sampling_is_reproducible_and_tops_up_sparse_columns(my, mysql_server):
    s, admin = my[0], mysql_server[1]
    with admin.cursor() as cur:
        cur.execute(f"CREATE TABLE {q(s)}.sparse (id INT PRIMARY KEY, note VARCHAR(20), code VARCHAR(20))")
        cur.executemany(f"INSERT INTO {q(s)}.sparse VALUES (%s, %s, %s)", sparse_rows())
    try:
        with connector_for(settings_for(my)) as first, connector_for(settings_for(my)) as second:
            assert_reproducible_and_topped_up(first, second, (s, "sparse"))
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP TABLE {q(s)}.sparse")


def test_session_is_read_only_and_time_boxed(my):
    s = my[0]
    with connector_for(settings_for(my, statement_timeout_s=0.5)) as connector:
        info = connector.test_connection()
        assert info.read_only is True and info.statement_timeout_s == 0.5 and "MariaDB" in info.server_version
        with pytest.raises(PermissionDenied, match="READ ONLY"):
            connector._fetchall(f"INSERT INTO {q(s)}.customers (email) VALUES ('w@x.y')")
        start = time.monotonic()
        with pytest.raises(QueryTimeout):
            connector.sample_table((s, "slow"), ["x"], 1)
        assert time.monotonic() - start < 2.5


def test_wrong_password_is_authentication_failed_and_never_shown(my, caplog):
    caplog.set_level(logging.DEBUG)
    user = my[3]
    ok = settings_for(my, username=user, password=PASSWORD)
    with connector_for(ok) as connector:
        assert connector.test_connection().current_user.startswith(user)
    wrong = settings_for(my, username=user, password=PASSWORD + "-wrong")
    with connector_for(wrong) as connector, pytest.raises(AuthenticationFailed) as info:
        connector.test_connection()
    for secret in (PASSWORD, PASSWORD + "-wrong"):
        assert secret not in str(info.value) and secret not in repr(info.value)
        assert secret not in repr(wrong) and secret not in caplog.text
    assert info.value.__cause__ is None
    assert not info.value.retryable
