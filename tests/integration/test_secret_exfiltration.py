"""Issue 9, item 1: a source's stored password never reaches a server its editor runs.

A fake PostgreSQL / MySQL server (a separate process, tests/integration/fake_auth_server.py) asks every client for
its password in clear text and writes down what it gets. (a) A steward, who may not read the secret, points a
source at it (PATCH host / port) and runs a connection test and a scan: the secret was dropped by the change, the
fake server receives no password. (b) A workspace admin, who may read the secret and so keeps it through the
change, does the same: the drivers refuse the cleartext exchange and the fake server receives nothing at all.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from scanning.models import ScanRun
from sources import crypto
from sources.models import DataSource
from tests.catalog.factories import DataSourceFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PASSWORD = "Exf1l-Canary-7d3a"
FAKE_SERVER = Path(__file__).with_name("fake_auth_server.py")


@pytest.fixture(params=["postgresql", "mysql", "mysql-dialog"])
def fake_server(request, tmp_path):
    """(engine, port, record file) of a fake server process; stopped (by its pid) at the end. "mysql-dialog"
    asks through the dialog plugin's password prompt instead of mysql_clear_password."""
    record = tmp_path / "received.jsonl"
    process = subprocess.Popen([sys.executable, str(FAKE_SERVER), request.param, str(record)],
                               stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline())
        yield request.param.split("-")[0], port, record
    finally:
        process.kill()
        process.wait(timeout=10)


def received(record: Path) -> list[dict]:
    """What the fake server got, one entry per connection, as bytes."""
    if not record.exists():
        return []
    return [{key: bytes.fromhex(value) for key, value in json.loads(line).items()}
            for line in record.read_text().splitlines()]


def source_with_password(world, engine: str) -> DataSource:
    return DataSourceFactory(workspace=world.workspace_a, engine=engine, host="db.example.test",
                             port=5432 if engine == "postgresql" else 3306, database="shop", username="scanner",
                             encrypted_secret=crypto.encrypt(PASSWORD))


def point_at(client, source: DataSource, port: int) -> dict:
    response = client.patch(reverse("api:datasource-detail", args=[source.pk]),
                            {"host": "127.0.0.1", "port": port}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def connect_and_scan(client, source: DataSource, django_capture_on_commit_callbacks) -> dict:
    tested = client.post(reverse("api:datasource-test-connection", args=[source.pk]))
    assert tested.status_code == 200 and tested.json()["ok"] is False
    with django_capture_on_commit_callbacks(execute=True):
        scanned = client.post(reverse("api:datasource-scan-run", args=[source.pk]))
    assert scanned.status_code == 202, scanned.content
    run = ScanRun.objects.get(pk=scanned.json()["id"])
    assert run.status == ScanRun.Status.FAILED
    return tested.json()


def test_a_steward_who_retargets_a_source_drops_its_secret(world, fake_server, django_capture_on_commit_callbacks):
    engine, port, record = fake_server
    source = source_with_password(world, engine)
    client = world.client("steward")
    assert point_at(client, source, port)["has_secret"] is False
    source.refresh_from_db()
    assert source.encrypted_secret == ""
    dropped = AuditEvent.objects.get(event="datasource.secret_dropped")
    assert dropped.actor == world.user("steward") and dropped.extra["changed"] == ["host", "port"]

    connect_and_scan(client, source, django_capture_on_commit_callbacks)
    connections = received(record)
    assert connections, "the fake server saw no connection: the test proves nothing"
    for connection in connections:
        assert PASSWORD.encode() not in connection["greeting"] + connection["answer"]


def test_the_drivers_refuse_to_send_a_kept_password_in_clear(world, fake_server, django_capture_on_commit_callbacks):
    engine, port, record = fake_server
    source = source_with_password(world, engine)
    client = world.client("workspace_admin")  # holds view_secret: the secret survives the change
    assert point_at(client, source, port)["has_secret"] is True
    assert not AuditEvent.objects.filter(event="datasource.secret_dropped").exists()

    answer = connect_and_scan(client, source, django_capture_on_commit_callbacks)
    assert "refuse" in answer["error"].lower()  # the admin sees why
    connections = received(record)
    assert connections, "the fake server saw no connection: the test proves nothing"
    for connection in connections:
        assert connection["answer"] == b"", f"the client answered the cleartext request: {connection['answer']!r}"
        assert PASSWORD.encode() not in connection["greeting"]
