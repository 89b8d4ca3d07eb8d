"""Operators' commands over the scanning services: thin, safe to re-run, secrets never from argv."""
import sqlite3
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from catalog.models import Asset
from scanning.management.commands import scan as scan_command
from scanning.models import Scan, ScanRun
from sources import crypto
from sources.models import DataSource
from tests.catalog.factories import DataSourceFactory, ScanRuleSetFactory, ScanRunFactory
from tests.support.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def sources_dir(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    return tmp_path


@pytest.fixture
def shop(sources_dir):
    path = sources_dir / "shop.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    db.close()
    return DataSourceFactory(name="Shop", engine="sqlite", host="", port=None, database=str(path), username="",
                             encrypted_secret="")


# --- add_datasource ---------------------------------------------------------------------------------------------


def test_add_datasource_reads_password_from_env_and_rerun_updates(monkeypatch):
    workspace = WorkspaceFactory(slug="sales", name="Sales")
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "env-secret-123")
    out = run("add_datasource", "sales", "Warehouse", "postgresql", "--host", "db.example.test", "--port", "5432",
              "--database", "dwh", "--username", "scanner", "--option", "sslmode=require",
              "--password-env", "WAREHOUSE_PASSWORD", "--no-input")
    assert "created" in out and "env-secret-123" not in out
    source = DataSource.objects.get(workspace=workspace, name="Warehouse")
    assert crypto.decrypt(source.encrypted_secret) == "env-secret-123" and source.options == {"sslmode": "require"}
    out = run("add_datasource", "sales", "Warehouse", "postgresql", "--host", "db2.example.test", "--no-input")
    assert "updated" in out
    source.refresh_from_db()
    assert source.host == "db2.example.test" and crypto.decrypt(source.encrypted_secret) == "env-secret-123"
    assert DataSource.objects.filter(name="Warehouse").count() == 1
    assert AuditEvent.objects.filter(event="datasource.changed", actor_label="system").exists()


def test_add_datasource_has_no_password_argument():
    WorkspaceFactory(slug="sales")
    with pytest.raises(TypeError):
        call_command("add_datasource", "sales", "W", "postgresql", host="h.example.test", password="argv-secret")


def test_add_datasource_with_missing_env_or_bad_settings_fails():
    WorkspaceFactory(slug="sales")
    with pytest.raises(CommandError, match="NOT_SET_ANYWHERE"):
        run("add_datasource", "sales", "W", "postgresql", "--host", "h.example.test",
            "--password-env", "NOT_SET_ANYWHERE")
    with pytest.raises(CommandError, match="sslmode"):
        run("add_datasource", "sales", "W", "postgresql", "--host", "h.example.test", "--option", "sslmode=maybe",
            "--no-input")
    with pytest.raises(CommandError, match="nowhere"):
        run("add_datasource", "nowhere", "W", "postgresql", "--no-input")
    assert not DataSource.objects.exists()


# --- test_connection --------------------------------------------------------------------------------------------


def test_test_connection_by_name_reports_read_only_session(shop):
    out = run("test_connection", "Shop")
    assert "connected" in out and "read-only session: yes" in out


def test_test_connection_failure_exits_with_error(sources_dir):
    source = DataSourceFactory(engine="sqlite", host="", port=None, database=str(sources_dir / "absent.sqlite3"))
    with pytest.raises(CommandError, match="connection failed"):
        run("test_connection", str(source.pk))


def test_unknown_source_is_an_error():
    with pytest.raises(CommandError, match="No data source"):
        run("test_connection", "nope")


# --- scan and scan_status ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # autocommit, as in a real shell: on_commit runs the task at once
def test_scan_in_embedded_mode_runs_in_process_and_prints_result(shop):
    out = run("scan", "Shop")
    finished = ScanRun.objects.get(data_source=shop)
    assert finished.status == ScanRun.Status.SUCCEEDED
    assert f"Run #{finished.pk} of Shop: succeeded" in out
    assert Asset.objects.filter(data_source=shop, qualified_name__endswith="customers.email").exists()


@pytest.mark.django_db(transaction=True)  # autocommit, as in a real shell: on_commit runs the task at once
def test_scan_of_failing_source_exits_1(sources_dir):
    source = DataSourceFactory(engine="sqlite", host="", port=None, database=str(sources_dir / "absent.sqlite3"))
    with pytest.raises(CommandError) as raised:
        run("scan", str(source.pk))
    assert raised.value.returncode == 1
    assert ScanRun.objects.get(data_source=source).status == ScanRun.Status.FAILED


def test_scan_with_rule_set_uses_a_scan_of_that_rule_set(shop):
    rule_set = ScanRuleSetFactory(workspace=shop.workspace, name="Customers only")
    out = run("scan", "Shop", "--rule-set", "Customers only")
    assert "Queued run" in out
    assert Scan.objects.get(data_source=shop).rule_set == rule_set
    with pytest.raises(CommandError, match="No rule set"):
        run("scan", "Shop", "--rule-set", "Missing")


def test_scan_while_running_is_an_error(shop):
    active = ScanRunFactory(scan__data_source=shop, status=ScanRun.Status.RUNNING)
    with pytest.raises(CommandError, match=f"run #{active.pk}"):
        run("scan", "Shop")


def test_scan_wait_shows_progress_until_the_run_ends(shop, monkeypatch):
    steps = iter([
        {"status": ScanRun.Status.RUNNING, "phase": "schema", "progress_done": 20, "progress_total": 80},
        {"status": ScanRun.Status.RUNNING, "phase": "schema", "progress_done": 60, "progress_total": 80},
        {"status": ScanRun.Status.RUNNING, "phase": "detection", "progress_done": 3, "progress_total": 10},
        {"status": ScanRun.Status.FAILED, "progress_done": 3, "error": "Connection lost"},
    ])
    sleeps = []

    def advance(seconds):  # a worker making progress between two polls
        sleeps.append(seconds)
        ScanRun.objects.filter(data_source=shop).update(**next(steps))

    monkeypatch.setattr(scan_command.time, "sleep", advance)
    out = StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("scan", "Shop", "--wait", stdout=out)
    text = out.getvalue()
    assert "[#######" in text and " 25.0 %  20/~80 objects" in text and " 75.0 %  60/~80 objects" in text
    assert " 30.0 %  3/10 tables" in text  # detection counts tables, exactly
    assert "error: Connection lost" in text and sleeps == [0.5, 0.5, 0.5, 0.5]


def test_scan_status_lists_recent_runs(shop):
    ScanRunFactory(scan__data_source=shop, status=ScanRun.Status.FAILED, error="Connection refused\ntraceback")
    other = ScanRunFactory(scan__data_source__name="Elsewhere")
    out = run("scan_status", "Shop")
    assert "failed" in out and "Connection refused" in out and "traceback" not in out and "Elsewhere" not in out
    assert "Elsewhere" in run("scan_status") and str(other.pk) in run("scan_status")


def test_scan_status_shows_a_detection_on_demand(shop):
    detection = ScanRunFactory(scan=None, data_source=shop, trigger=ScanRun.Trigger.DETECTION, targets=[1],
                               status=ScanRun.Status.RUNNING, phase="detection", progress_done=2, progress_total=4,
                               finished_at=None)
    out = run("scan_status", "Shop")
    assert f"{detection.pk}" in out and "(detection)" in out and "2/4 tables" in out
