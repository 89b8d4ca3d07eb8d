"""Issue 9, item 2: Racine's own database cannot be registered or read as a data source, whatever leads there.

Registration refuses every spelling of this machine (the unspecified address, IPv4-mapped IPv6, short and decimal
IPv4 forms, bracketed IPv6, ``localhost``, the machine's own host name, which resolves to a loopback or interface
address through the system resolver) on both the native and the SQLAlchemy route. What no spelling check can see
(here: a TCP forwarder on another port, as a port forward or a pooler would be) is refused by identity after
connecting, before any catalog query.

Note: CI runs Racine's own database on the same PostgreSQL server as the scan targets (127.0.0.1:5432), so the
identity compares the database (``current_database()``) as well as the server (``system_identifier``): another
database on the same server stays a valid source, as the last tests show.
"""
from __future__ import annotations

import socket
import threading
from contextlib import contextmanager, suppress

import pytest
from django.db import connection
from django.urls import reverse

from scanning.models import ScanRun
from sources.models import DataSource
from tests.support import target_dbs

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SPELLINGS = ["0.0.0.0", "::ffff:127.0.0.1", "localhost", "127.1", "[::1]", "2130706433", socket.gethostname()]


@pytest.fixture
def own():
    if connection.vendor != "postgresql":
        pytest.skip("the application database is not PostgreSQL here (CI runs this on PostgreSQL)")
    return connection.settings_dict


def _pump(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


@contextmanager
def tcp_forwarder(host: str, port: int):
    """A loopback port that forwards every connection to ``host:port`` (what a port forward or pooler does)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stopped = threading.Event()

    def accept():
        while not stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((host, port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopped.set()
        listener.close()


def _url(source=None, action=None):
    if source is None:
        return reverse("api:datasource-list")
    return reverse(f"api:datasource-{action}", args=[source.pk]) if action else \
        reverse("api:datasource-detail", args=[source.pk])


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _register(client, workspace, name, **fields):
    return client.post(_url(), {"workspace": workspace.pk, "name": name, **fields}, format="json")


@pytest.mark.parametrize("host", SPELLINGS)
def test_registration_refuses_the_own_database_by_every_spelling(world, own, host):
    client = world.client("steward")
    port = int(own["PORT"] or 5432)
    native = _register(client, world.workspace_a, f"own {host}", engine="postgresql", host=host, port=port,
                       database=own["NAME"], username="postgres")
    generic = _register(client, world.workspace_a, f"own url {host}", engine="sqlalchemy", options={
        "url": f"postgresql+psycopg://postgres@{_bracketed(host)}:{port}/{own['NAME']}"})
    for response in (native, generic):
        assert response.status_code == 400, response.content
        assert "Racine's own database" in response.content.decode()
    assert not DataSource.objects.exists()


def test_a_forwarded_port_is_recognised_by_identity_before_any_catalog_query(
        world, own, django_capture_on_commit_callbacks):
    with tcp_forwarder(own["HOST"] or "127.0.0.1", int(own["PORT"] or 5432)) as port:
        admin, steward = world.client("workspace_admin"), world.client("steward")
        native = _register(admin, world.workspace_a, "own forwarded", engine="postgresql", host="127.0.0.1",
                           port=port, database=own["NAME"], username="postgres")
        generic = _register(admin, world.workspace_a, "own forwarded url", engine="sqlalchemy", options={
            "url": f"postgresql+psycopg://postgres@localhost:{port}/{own['NAME']}"})
        for response in (native, generic):
            assert response.status_code == 201, response.content  # the spelling check cannot see it
            source = DataSource.objects.get(pk=response.json()["id"])
            tested = admin.post(_url(source, "test-connection")).json()
            assert tested["ok"] is False and "Racine's own database" in tested["error"]
            assert steward.post(_url(source, "test-connection")).json() == {
                "ok": False, "error": "the network policy does not allow this target"}
            with django_capture_on_commit_callbacks(execute=True):
                scanned = steward.post(_url(source, "scan-run"))
            run = ScanRun.objects.get(pk=scanned.json()["id"])
            assert run.status == ScanRun.Status.FAILED and "Racine's own database" in run.error
            assert not source.assets.exclude(type="source").exists()  # nothing read (its own asset aside)


def test_another_database_on_the_same_server_stays_a_source(world, own):
    with target_dbs.pg_server() as (url, server), target_dbs.pg_database(server, url) as (name, _), \
            tcp_forwarder(url.hostname, url.port or 5432) as port:
        client = world.client("steward")
        for fields in ({"engine": "postgresql", "host": url.hostname, "port": url.port or 5432},
                       {"engine": "postgresql", "host": "127.0.0.1", "port": port}):
            response = _register(client, world.workspace_a, f"neighbour {fields['port']}", database=name,
                                 username=url.username or "postgres", **fields)
            assert response.status_code == 201, response.content
            source = DataSource.objects.get(pk=response.json()["id"])
            tested = client.post(_url(source, "test-connection")).json()
            assert tested["ok"] is True and tested["database"] == name


def test_production_refuses_this_machine_unless_the_allow_list_names_it(world, settings):
    settings.RACINE_TARGET_ALLOW_LOCAL = False  # DEBUG off
    with target_dbs.pg_server() as (url, server), target_dbs.pg_database(server, url) as (name, _):
        client = world.client("workspace_admin")
        response = _register(client, world.workspace_a, "local", engine="postgresql", host="127.0.0.1",
                             port=url.port or 5432, database=name, username=url.username or "postgres")
        source = DataSource.objects.get(pk=response.json()["id"])
        tested = client.post(_url(source, "test-connection")).json()
        assert tested["ok"] is False and "an address of this machine" in tested["error"]
        settings.RACINE_TARGET_ALLOW = ["0.0.0.0/0", "::/0"]  # a catch-all names nothing
        assert client.post(_url(source, "test-connection")).json()["ok"] is False
        settings.RACINE_TARGET_ALLOW = ["127.0.0.1"]
        assert client.post(_url(source, "test-connection")).json()["ok"] is True
