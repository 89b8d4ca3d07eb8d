"""Pure-Python parts: names, settings, filters, fingerprints, host policy. No database needed."""
from __future__ import annotations

import ipaddress
import logging
import socket

import pytest

from sources.connectors import (
    ConnectionSettings,
    ConnectorConfigError,
    Filters,
    HostPolicy,
    SchemaObject,
    TargetNotAllowed,
    check_target_host,
    connector_for,
    parse_qualified_name,
    qualified_name,
)
from sources.connectors.network import local_addresses

from .conftest import PASSWORD


@pytest.mark.parametrize("path, expected", [
    (("shop", "public", "orders", "id"), "shop.public.orders.id"),
    (("shop", "public", "Order Items", "id"), 'shop.public."Order Items".id'),
    (("db", "s", 'x"; DROP TABLE t; --'), 'db.s."x""; DROP TABLE t; --"'),
    (("db", "a.b", "c"), 'db."a.b".c'),
    (("db", "", "c"), 'db."".c'),
    (("def", "shop", "we`ird"), 'def.shop."we`ird"'),
    (("shop", "public", "顧客", "clients_été"), 'shop.public."顧客"."clients_été"'),
    (("tab\there",), '"tab\there"'),
    (("db", "public", "select", "order"), 'db.public."select"."order"'),
    (("db", "public", "Users", "ID"), 'db.public."Users"."ID"'),
    (("db", "public", "users", "id"), "db.public.users.id"),
    (("db", "s", 'we"ird', "back\\slash"), 'db.s."we""ird"."back\\slash"'),
    (("db", "s", "2024_sales", "$price", "price$"), 'db.s."2024_sales"."$price".price$'),
])
def test_qualified_name_format_and_round_trip(path, expected):
    assert qualified_name(path) == expected
    assert parse_qualified_name(expected) == path


def test_awkward_names_are_distinct_and_quoted_unless_plain_lower_case():
    awkward = ["select", "Select", "SELECT", "users", "Users", "a.b", "a", "b", 'we"ird', "back\\slash",
               "backslash", "顧客", "clients_été", "user", "key", "Order Items", ""]
    names = {part: qualified_name(("db", "s", part)) for part in awkward}

    assert len(set(names.values())) == len(awkward)
    assert {part for part, name in names.items() if not name.endswith('"')} == {"users", "a", "b", "backslash"}
    for part, name in names.items():
        assert parse_qualified_name(name) == ("db", "s", part)
    # "a.b" as one part is not the two parts "a" and "b".
    assert names["a.b"] != qualified_name(("db", "s", "a", "b"))


@pytest.mark.parametrize("legacy, canonical", [
    ("shop.public.Users.ID", 'shop.public."Users"."ID"'),
    ("shop.public.select", 'shop.public."select"'),
    ("db.s.back\\slash", 'db.s."back\\slash"'),
    ('shop.public."Order Items".id', 'shop.public."Order Items".id'),
])
def test_names_written_before_the_quoting_rule_still_parse(legacy, canonical):
    assert qualified_name(parse_qualified_name(legacy)) == canonical


@pytest.mark.parametrize("name", ['a."b', 'a.', '"a', 'a b.c', 'a."b"c'])
def test_parse_qualified_name_refuses_malformed(name):
    with pytest.raises(ValueError):
        parse_qualified_name(name)


def test_round_trip_of_awkward_parts():
    parts = ['"', '""', ".", " ", "", "a\"b.c d", "'", "`", "\\", "é.顧"]
    for a in parts:
        for b in parts:
            assert parse_qualified_name(qualified_name((a, b))) == (a, b)


def test_settings_refuse_unknown_and_cross_engine_options():
    with pytest.raises(ConnectorConfigError, match="not allowed"):
        ConnectionSettings(engine="postgresql", host="h", options={"sslmode": "require", "krbsrvname": "x"})
    with pytest.raises(ConnectorConfigError, match="not allowed"):
        ConnectionSettings(engine="postgresql", host="h", options={"url": "postgresql://h/db"})
    with pytest.raises(ConnectorConfigError, match="not allowed"):
        ConnectionSettings(engine="mysql", host="h", options={"init_command": "DROP DATABASE x"})
    with pytest.raises(ConnectorConfigError, match="invalid value"):
        ConnectionSettings(engine="postgresql", host="h", options={"sslmode": "require options=-c x=1"})
    with pytest.raises(ConnectorConfigError, match="unknown engine"):
        ConnectionSettings(engine="oracle", host="h")
    with pytest.raises(ConnectorConfigError, match="needs options"):
        ConnectionSettings(engine="sqlalchemy")
    ok = ConnectionSettings(engine="postgresql", host="h", options={"sslmode": "verify-full", "connect_timeout": "5"})
    assert dict(ok.options) == {"sslmode": "verify-full", "connect_timeout": "5"}
    with pytest.raises(TypeError):
        ok.options["sslmode"] = "disable"  # frozen


def test_password_never_in_repr_or_str():
    settings = ConnectionSettings(engine="postgresql", host="db", username="scan", password=PASSWORD)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    url_settings = ConnectionSettings(engine="sqlalchemy", options={"url": f"postgresql://scan:{PASSWORD}@db/x"})
    assert PASSWORD not in repr(url_settings)
    assert "***" in repr(url_settings)
    connector = connector_for(settings)
    assert PASSWORD not in repr(connector)


def test_filters_globs_and_regex():
    f = Filters(include_schemas=("sales_*", "re:^(dim|fact)$"), exclude_schemas=("sales_tmp",),
                exclude_tables=("tmp_*", "public.audit"), include_columns=("re:[a-z_]+",))
    assert f.schema_ok("sales_eu") and f.schema_ok("dim") and not f.schema_ok("sales_tmp")
    assert not f.schema_ok("dimension") and not f.schema_ok("public")
    assert f.table_ok("s", "orders") and not f.table_ok("s", "tmp_x")
    assert not f.table_ok("public", "audit") and f.table_ok("other", "audit")
    assert f.column_ok("email") and not f.column_ok("Email")
    with pytest.raises(ConnectorConfigError):
        Filters(include_tables=("re:(",))
    with pytest.raises(ConnectorConfigError):
        Filters(include_tables="orders")


def test_fingerprint_ignores_row_estimate_only():
    base = SchemaObject(kind="table", path=("d", "s", "t"), row_estimate=10, properties={"primary_key": ["id"]})
    same = SchemaObject(kind="table", path=("d", "s", "t"), row_estimate=99999, properties={"primary_key": ["id"]})
    assert base.fingerprint() == same.fingerprint()
    assert len(base.fingerprint()) == 64
    changed = SchemaObject(kind="table", path=("d", "s", "t"), properties={"primary_key": ["id", "x"]})
    assert changed.fingerprint() != base.fingerprint()
    col = SchemaObject(kind="column", path=("d", "s", "t", "c"), data_type="integer", is_nullable=True)
    assert col.fingerprint() != SchemaObject(kind="column", path=("d", "s", "t", "c"), data_type="bigint",
                                             is_nullable=True).fingerprint()
    assert col.fingerprint() != SchemaObject(kind="column", path=("d", "s", "t", "c"), data_type="integer",
                                             is_nullable=False).fingerprint()
    assert col.fingerprint() != SchemaObject(kind="column", path=("d", "s", "t", "c"), data_type="integer",
                                             is_nullable=True, description="note").fingerprint()
    # stable across processes: a fixed value for a fixed input
    assert SchemaObject(kind="schema", path=("d", "s")).fingerprint() == \
        SchemaObject(kind="schema", path=("d", "s")).fingerprint()


@pytest.mark.parametrize("host", ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "169.254.1.1",
                                  "fe80::1"])
def test_host_policy_refuses_metadata_and_link_local(host):
    with pytest.raises(TargetNotAllowed):
        check_target_host(host, 5432, allow=[], deny=[])
    with pytest.raises(TargetNotAllowed):  # an allow list cannot let them through
        check_target_host(host, 5432, allow=["0.0.0.0/0", "::/0"], deny=[])


def test_host_policy_deny_and_allow_lists():
    assert check_target_host("127.0.0.1", 5432, allow=[], deny=[]) == ["127.0.0.1"]  # loopback allowed
    with pytest.raises(TargetNotAllowed, match="denied network 127.0.0.0/8"):
        check_target_host("127.0.0.1", 5432, allow=[], deny=["127.0.0.0/8"])
    with pytest.raises(TargetNotAllowed, match="deny list"):
        check_target_host("localhost", 5432, allow=[], deny=["localhost"])
    with pytest.raises(TargetNotAllowed, match="not on the allow list"):
        check_target_host("127.0.0.1", 5432, allow=["10.0.0.0/8"], deny=[])
    assert check_target_host("127.0.0.1", 5432, allow=["10.0.0.0/8", "127.0.0.1/32"], deny=[]) == ["127.0.0.1"]
    with pytest.raises(TargetNotAllowed):
        check_target_host("10.1.2.3", 5432, allow=[], deny=["10.0.0.0/8"])


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_connectors_check_the_host_before_connecting(engine, caplog):
    settings = ConnectionSettings(engine=engine, host="169.254.169.254", username="u", password=PASSWORD,
                                  connect_timeout_s=1)
    caplog.set_level(logging.DEBUG)
    with connector_for(settings) as connector, pytest.raises(TargetNotAllowed) as info:
        connector.test_connection()
    assert "metadata" in str(info.value)
    assert connector.queries_executed == 0
    with connector_for(settings, policy=HostPolicy(deny=("10.0.0.0/8",))) as connector, \
            pytest.raises(TargetNotAllowed):
        connector.test_connection()
    denied = ConnectionSettings(engine=engine, host="127.0.0.1", password=PASSWORD)
    with connector_for(denied, policy=HostPolicy(deny=("127.0.0.0/8",))) as connector, \
            pytest.raises(TargetNotAllowed, match="127.0.0.0/8"):
        list(connector.iter_schema())
    assert PASSWORD not in caplog.text


def test_sqlalchemy_url_host_is_checked():
    settings = ConnectionSettings(engine="sqlalchemy", options={"url": "postgresql+psycopg://u@169.254.169.254/x"})
    with connector_for(settings) as connector, pytest.raises(TargetNotAllowed):
        connector.test_connection()


LOCAL_SPELLINGS = ["127.0.0.1", "127.1", "2130706433", "0.0.0.0", "0", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "::1",
                   "[::1]", "::", "localhost", socket.gethostname()]


@pytest.mark.parametrize("host", LOCAL_SPELLINGS)
def test_every_spelling_of_this_machine_is_local_and_refused_unless_allowed(host):
    with pytest.raises(TargetNotAllowed, match="an address of this machine"):
        check_target_host(host, 5432, allow_local=False)
    with pytest.raises(TargetNotAllowed):  # a catch-all allow entry names nothing
        check_target_host(host, 5432, allow=["0.0.0.0/0", "::/0"], allow_local=False)
    assert check_target_host(host, 5432, allow_local=True)  # development


@pytest.mark.parametrize("address", sorted(map(str, local_addresses())))
def test_every_interface_address_is_local(address):
    if ipaddress.ip_address(address).is_link_local:
        pytest.skip("link-local addresses are refused in every mode")
    with pytest.raises(TargetNotAllowed, match="an address of this machine"):
        check_target_host(address, 5432, allow_local=False)
    assert check_target_host(address, 5432, allow=[address], allow_local=False)


def test_an_allow_entry_that_names_this_machine_lets_it_through():
    assert check_target_host("127.0.0.1", 5432, allow=["127.0.0.0/8"], allow_local=False) == ["127.0.0.1"]
    assert check_target_host("localhost", 5432, allow=["localhost"], allow_local=False)
    with pytest.raises(TargetNotAllowed):  # a glob is not a name of this machine
        check_target_host("localhost", 5432, allow=["local*"], allow_local=False)


@pytest.mark.parametrize("url", ["postgresql+pg8000://u@db.example.com/x", "postgresql+asyncpg://u@db.example.com/x",
                                 "mysql+mysqlconnector://u@db.example.com/x", "mariadb+mariadbconnector://u@h/x",
                                 "postgresql+psycopg2://u@db.example.com/x"])  # no client-side answer timeout
def test_sqlalchemy_drivers_that_might_send_a_password_in_clear_are_refused(url):
    with pytest.raises(ConnectorConfigError, match="driver"):
        ConnectionSettings(engine="sqlalchemy", options={"url": url})
    for allowed in ("postgresql+psycopg://u@db.example.com/x", "mysql+pymysql://u@db.example.com/x"):
        assert ConnectionSettings(engine="sqlalchemy", options={"url": allowed})


@pytest.mark.parametrize("host, carried", [
    ("64:ff9b::127.0.0.1", "127.0.0.1"),         # NAT64, well-known prefix (RFC 6052)
    ("64:ff9b:1::7f00:1", "127.0.0.1"),          # NAT64 local-use prefix (RFC 8215) under a /96
    ("64:ff9b:1:7f:0:1::", "127.0.0.1"),         # ... under a /56
    ("2002:7f00:1::", "127.0.0.1"),              # 6to4
    ("::127.0.0.1", "127.0.0.1"),                # IPv4-compatible
    ("[64:ff9b::0.0.0.0]", "0.0.0.0"),
])
def test_ipv6_spellings_carrying_a_local_ipv4_address_are_local(host, carried):
    with pytest.raises(TargetNotAllowed, match=f"carries {carried}.*an address of this machine"):
        check_target_host(host, 5432, allow_local=False)


@pytest.mark.parametrize("host, reason", [
    ("64:ff9b::169.254.169.254", "cloud metadata"),
    ("64:ff9b:1::a9fe:a9fe", "cloud metadata"),
    ("2002:a9fe:a9fe::1", "cloud metadata"),
    ("::169.254.169.254", "cloud metadata"),
    ("64:ff9b::169.254.0.1", "link-local"),
    ("2002:a9fe:1::", "link-local"),
])
def test_ipv6_spellings_carrying_metadata_or_link_local_addresses_are_refused(host, reason):
    with pytest.raises(TargetNotAllowed, match=reason):
        check_target_host(host, 5432, allow=["0.0.0.0/0", "::/0"])


def test_deny_and_allow_lists_judge_the_ipv4_address_an_ipv6_one_carries():
    with pytest.raises(TargetNotAllowed, match="denied network 10.0.0.0/8"):
        check_target_host("64:ff9b::10.1.2.3", 5432, deny=["10.0.0.0/8"])
    with pytest.raises(TargetNotAllowed, match="denied network 10.0.0.0/8"):
        check_target_host("2002:a01:203::", 5432, deny=["10.0.0.0/8"])
    assert check_target_host("64:ff9b::10.1.2.3", 5432, allow=["10.0.0.0/8"]) == ["64:ff9b::a01:203"]
    assert check_target_host("64:ff9b::127.0.0.1", 5432, allow=["127.0.0.1/32"], allow_local=False)  # named
    with pytest.raises(TargetNotAllowed, match="not on the allow list"):
        check_target_host("64:ff9b::192.0.2.1", 5432, allow=["10.0.0.0/8"])
    # an ordinary NAT64 address of a public server is not read as 0.0.0.0 under a shorter prefix
    assert check_target_host("64:ff9b:1::808:808", 5432, allow_local=False) == ["64:ff9b:1::808:808"]
