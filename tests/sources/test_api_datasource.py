import json
import socket
import sqlite3
import threading
import time

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from sources import crypto
from sources.models import DataSource
from tests.catalog.classification_factories import ClassificationFactory
from tests.catalog.factories import DataSourceFactory
from tests.support.dead_services import black_hole, closed_port
from tests.support.factories import membership
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b destroy_a "
           "destroy_b test_connection_a test_connection_b")
SECRET = "correct-horse-battery-staple-42"


def sqlite_source(workspace, path, **fields):
    return DataSourceFactory(workspace=workspace, engine=DataSource.Engine.SQLITE, host="", port=None,
                             database=str(path), username="", **fields)


@pytest.fixture
def sources_dir(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    return tmp_path


def make_shop(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT)")
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id))")
    return path


class TestDataSourceMatrix(PermissionMatrix):
    basename = "datasource"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 403 403 403 403 403",
        steward=             "200 200 404 201 200 404 200 404 403 403 200 404",
        workspace_admin=     "200 200 404 201 200 404 200 404 204 404 200 404",
        auditor=             "200 200 200 403 403 403 403 403 403 403 403 403",
        other_workspace_user="200 404 200 400 404 200 404 200 403 403 404 200",
        staff_unverified=    "403 403 403 403 403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 201 200 200 200 200 204 204 200 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        # SQLite files that do not exist: a connection test answers ok=false at once, without the network.
        return (sqlite_source(world.workspace_a, "var/sources/absent-a.sqlite3"),
                sqlite_source(world.workspace_b, "var/sources/absent-b.sqlite3"))

    def payload(self, world, action):
        if action == "test_connection":
            return {}
        return {"workspace": world.workspace_a.pk, "name": "Warehouse", "engine": "postgresql",
                "host": "warehouse.example.test", "port": 5432, "database": "dwh", "username": "scanner",
                "password": SECRET, "options": {"sslmode": "require"}}


def _url(source=None, action=None):
    if source is None:
        return reverse("api:datasource-list")
    if action:
        return reverse(f"api:datasource-{action}", args=[source.pk])
    return reverse("api:datasource-detail", args=[source.pk])


def test_created_source_never_returns_its_secret(world):
    response = world.client("steward").post(_url(), {
        "workspace": world.workspace_a.pk, "name": "Warehouse", "engine": "postgresql",
        "host": "warehouse.example.test", "database": "dwh", "username": "scanner", "password": SECRET},
        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_secret"] is True and "password" not in body and "encrypted_secret" not in body
    source = DataSource.objects.get(pk=body["id"])
    assert crypto.decrypt(source.encrypted_secret) == SECRET
    for response in (world.client("steward").get(_url()), world.client("steward").get(_url(source))):
        assert SECRET not in response.content.decode()
        assert source.encrypted_secret not in response.content.decode()
    trail = json.dumps(list(AuditEvent.objects.values("changes", "extra")))
    assert SECRET not in trail and source.encrypted_secret not in trail
    assert AuditEvent.objects.get(event="datasource.created").changes["encrypted_secret"] == [None, "***"]


def test_update_without_password_keeps_secret_and_empty_password_clears_it(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    stored = source.encrypted_secret
    client = world.client("steward")
    response = client.patch(_url(source), {"name": "Orders"}, format="json")
    assert response.status_code == 200 and response.json()["has_secret"] is True
    source.refresh_from_db()
    assert source.encrypted_secret == stored
    response = client.patch(_url(source), {"password": ""}, format="json")
    assert response.status_code == 200 and response.json()["has_secret"] is False


def test_secret_of_invalid_create_never_echoed_in_errors(world):
    response = world.client("steward").post(_url(), {
        "workspace": world.workspace_a.pk, "name": "Broken", "engine": "postgresql", "password": SECRET,
        "options": {"sslmode": "sometimes"}}, format="json")
    assert response.status_code == 400
    assert SECRET not in response.content.decode()
    assert response["Content-Type"].startswith("application/problem+json")
    assert not DataSource.objects.filter(name="Broken").exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"engine": "postgresql"}, "host"),  # no host
    ({"engine": "postgresql", "host": "h.example.test", "options": {"sslmode": "sometimes"}}, "options"),
    ({"engine": "mongodb", "host": "h.example.test"}, "engine"),
    # a line break would be a command for a line-based service on the target port
    ({"engine": "postgresql", "host": "h.example.test", "username": "x\r\nset pwned 0 0 1\r\nx"}, "username"),
    ({"engine": "mysql", "host": "h.example.test", "options": {"charset": "gbk"}}, "options"),
    ({"engine": "sqlalchemy", "options": {"url": "postgresql+psycopg2://u@h.example.test/x"}}, "options"),
    # The connectors' rules, which used to be reported under "__all__" (issue 11)
    ({"engine": "postgresql", "host": "h.example.test", "port": 70000}, "port"),
    ({"engine": "postgresql", "host": "h.example.test", "port": 0}, "port"),
    ({"engine": "postgresql", "host": "h.example.test", "port": -1}, "port"),
    ({"engine": "sqlite", "database": "/etc/passwd"}, "database"),
    ({"engine": "sqlite"}, "database"),
    ({"engine": "postgresql", "host": "h.example.test", "options": {"sslrootcert": "/etc/ssl/x.pem"}}, "options"),
])
def test_invalid_connection_settings_are_400_naming_the_field(world, payload, field):
    response = world.client("steward").post(
        _url(), {"workspace": world.workspace_a.pk, "name": "Bad", **payload}, format="json")
    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_a_name_used_in_the_workspace_is_an_error_on_name(world):
    DataSourceFactory(workspace=world.workspace_a, name="Warehouse")
    response = world.client("steward").post(_url(), {
        "workspace": world.workspace_a.pk, "name": "Warehouse", "engine": "postgresql", "host": "h.example.test"},
        format="json")
    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [("name", "invalid")]
    assert world.client("steward").post(_url(), {
        "workspace": world.workspace_a.pk, "name": "Warehouse 2", "engine": "postgresql", "host": "h.example.test"},
        format="json").status_code == 201


def test_a_rule_about_no_one_field_has_a_null_field(world):
    """Django's ``__all__`` key reads as DRF's non-field errors: ``field`` null, never "__all__"."""
    response = world.client("steward").post(reverse("api:classificationrule-list"), {
        "workspace": world.workspace_a.pk, "classification": ClassificationFactory().pk}, format="json")
    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == [None]


def test_the_admin_form_shows_a_connector_rule_on_its_field(world):
    from sources.admin import DataSourceForm

    form = DataSourceForm(data={"workspace": world.workspace_a.pk, "name": "Bad", "engine": "postgresql",
                                "host": "h.example.test", "port": 70000, "options": "{}"})
    assert not form.is_valid()
    assert form.errors == {"port": ["port must be an integer between 1 and 65535"]}


def test_create_in_workspace_where_user_only_reads_is_403(world):
    steward = world.user("steward")
    membership(steward, world.workspace_b, Role.ANALYST)
    response = world.client("steward").post(_url(), {
        "workspace": world.workspace_b.pk, "name": "Sneaky", "engine": "postgresql", "host": "h.example.test"},
        format="json")
    assert response.status_code == 403
    assert not DataSource.objects.filter(name="Sneaky").exists()


def test_duplicate_name_in_workspace_is_400(world):
    DataSourceFactory(workspace=world.workspace_a, name="Warehouse")
    response = world.client("steward").post(_url(), {
        "workspace": world.workspace_a.pk, "name": "Warehouse", "engine": "postgresql", "host": "h.example.test"},
        format="json")
    assert response.status_code == 400


def test_connection_test_of_reachable_source_reports_server(world, sources_dir):
    source = sqlite_source(world.workspace_a, make_shop(sources_dir / "shop.sqlite3"))
    response = world.client("steward").post(_url(source, "test-connection"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"ok", "server_version", "current_user", "database", "read_only", "statement_timeout_s"}
    assert body["ok"] is True and body["read_only"] is True
    assert AuditEvent.objects.filter(event="datasource.connection_tested", extra__ok=True).exists()


def test_connection_test_failure_is_200_without_secret(world, sources_dir):
    source = DataSourceFactory(workspace=world.workspace_a, host="127.0.0.1", port=1,
                               encrypted_secret=crypto.encrypt(SECRET))
    response = world.client("steward").post(_url(source, "test-connection"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["error"]
    assert SECRET not in response.content.decode()


def test_connection_test_with_undecryptable_secret_is_ok_false(world):
    source = DataSourceFactory(workspace=world.workspace_a, encrypted_secret="gAAAAA-not-a-token")
    response = world.client("steward").post(_url(source, "test-connection"))
    assert response.status_code == 200
    assert response.json()["ok"] is False


def test_connection_test_without_permission_reads_no_secret(world, monkeypatch):
    import sources.services as datasources

    monkeypatch.setattr(datasources, "connector_for", lambda *a, **k: pytest.fail("connected"))
    source = DataSourceFactory(workspace=world.workspace_a)
    assert world.client("analyst").post(_url(source, "test-connection")).status_code == 403
    assert not AuditEvent.objects.filter(event="datasource.secret_accessed").exists()


@pytest.mark.parametrize("query", ["?name=Other", "?workspace={b}", "?search=Other", "?engine=mysql"])
def test_filters_never_reveal_other_workspace(world, query):
    DataSourceFactory(workspace=world.workspace_a, name="Mine", engine="mysql")
    theirs = DataSourceFactory(workspace=world.workspace_b, name="Other", engine="mysql")
    response = world.client("steward").get(_url() + query.format(b=world.workspace_b.pk))
    assert response.status_code == 200
    assert theirs.pk not in {row["id"] for row in response.json()["results"]}


def test_engine_filter_selects_sources(world):
    mine = DataSourceFactory(workspace=world.workspace_a, engine="mysql")
    DataSourceFactory(workspace=world.workspace_a, engine="postgresql")
    response = world.client("steward").get(_url() + "?engine=mysql")
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_secret_never_reaches_a_log_line(world, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = world.client("steward")
    created = client.post(_url(), {
        "workspace": world.workspace_a.pk, "name": "Logged", "engine": "postgresql", "host": "127.0.0.1",
        "port": 1, "database": "dwh", "username": "scanner", "password": SECRET}, format="json").json()
    source = DataSource.objects.get(pk=created["id"])
    client.patch(_url(source), {"password": SECRET + "-2", "options": {"sslmode": "bogus"}}, format="json")
    client.post(_url(source, "test-connection"))
    assert caplog.records and SECRET not in caplog.text


# --- issue 9: the secret follows its target; owners are members; no port scanner ------------------------------

@pytest.mark.parametrize("change", [{"engine": "mysql"}, {"host": "elsewhere.example.test"}, {"port": 6543},
                                    {"database": "other"}, {"username": "someone"},
                                    {"options": {"sslmode": "disable"}}])
def test_a_steward_who_changes_where_the_secret_goes_drops_it(world, change):
    source = DataSourceFactory(workspace=world.workspace_a)
    response = world.client("steward").patch(_url(source), change, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["has_secret"] is False
    event = AuditEvent.objects.get(event="datasource.secret_dropped")
    assert event.actor == world.user("steward") and event.extra == {"changed": list(change)}


def test_the_secret_stays_when_reentered_or_when_the_caller_may_read_it_or_nothing_retargets(world):
    client = world.client("steward")
    source = DataSourceFactory(workspace=world.workspace_a)
    response = client.patch(_url(source), {"host": "elsewhere.example.test", "password": SECRET}, format="json")
    assert response.json()["has_secret"] is True
    source.refresh_from_db()
    assert crypto.decrypt(source.encrypted_secret) == SECRET
    same = client.patch(_url(source), {"host": "elsewhere.example.test", "name": "unchanged target"},
                        format="json")
    assert same.json()["has_secret"] is True
    admin = world.client("workspace_admin").patch(_url(source), {"host": "third.example.test"}, format="json")
    assert admin.json()["has_secret"] is True
    assert not AuditEvent.objects.filter(event="datasource.secret_dropped").exists()


@pytest.mark.parametrize("moved", [{"description": "Orders"}, {"owners": [1]}])
def test_description_and_owners_answer_where_they_moved_and_change_nothing(world, moved):
    """A source's description and owners are curation on its catalog asset now (catalog.source_assets): a client
    still sending them gets a 400 saying where, not a silent drop."""
    client = world.client("steward")
    payload = {"workspace": world.workspace_a.pk, "engine": "postgresql", "host": "h.example.test", "name": "a"}
    created = client.post(_url(), {**payload, **moved}, format="json")
    source = DataSourceFactory(workspace=world.workspace_a)
    patched = client.patch(_url(source), {"name": "renamed", **moved}, format="json")
    for response in (created, patched):
        assert response.status_code == 400, response.content
        errors = response.json()["errors"]
        assert [error["field"] for error in errors] == list(moved)
        assert "/api/v1/assets/" in errors[0]["detail"] and "curation" in errors[0]["detail"]
    assert not DataSource.objects.filter(name__in=["a", "renamed"]).exists()


def _serve_once(reply: bytes) -> int:
    """A loopback port whose server answers every connection with ``reply`` (not a database protocol)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        with listener:
            for _ in range(4):
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(reply)
    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


@pytest.mark.keep_failure_delay
@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_failed_connection_test_is_no_port_scanner_for_callers_without_the_secret(world, settings, engine):
    settings.RACINE_CONNECT_TIMEOUT = 1
    steward, admin = world.client("steward"), world.client("workspace_admin")
    seen_by_steward, seen_by_admin = set(), set()
    steward_took, admin_took = {}, {}

    def timed(client, source):
        started = time.monotonic()
        error = client.post(_url(source, "test-connection")).json()["error"]
        return error, time.monotonic() - started

    # Only loopback is probed: a black hole (handshake, then silence) stands for a filtered port.
    with black_hole() as silent_port:
        targets = {"refused": closed_port(), "filtered": silent_port,
                   "wrong protocol": _serve_once(b"HTTP/1.1 400 Bad Request\r\n\r\n")}
        for label, port in targets.items():
            source = DataSourceFactory(workspace=world.workspace_a, engine=engine, host="127.0.0.1", port=port,
                                       name=f"{engine} {label}")
            error, steward_took[label] = timed(steward, source)
            seen_by_steward.add(error)
            error, admin_took[label] = timed(admin, source)
            seen_by_admin.add(error)
    assert seen_by_steward == {"cannot connect to the source (a workspace admin can see the reason)"}
    assert len(seen_by_admin) == 3  # the admin, who may read the secret, sees each reason
    # Nor does the time of the answer tell them apart (it did: a filtered port took the connect timeout, the others
    # answered at once); the admin is not kept waiting.
    assert min(steward_took.values()) >= 3.0, steward_took  # libpq's minimum connect timeout (2 s) + 1 s
    assert max(steward_took.values()) - min(steward_took.values()) < 0.5, steward_took
    assert admin_took["refused"] < 1.0, admin_took
