"""The Scan now button on a data source's page (contributed by scanning): offered to who may run the source's scan,
refused (403) to anyone else, and its message says what became of the run — its outcome in the embedded default,
where the run ends before the page answers, or "queued" with a link when a worker takes it."""
import sqlite3

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import AuditEvent
from scanning.models import Scan, ScanRun
from tests.catalog.factories import DataSourceFactory, ScanFactory
from tests.scanning.test_admin import staff
from tests.support.dead_services import closed_port


def button_url(source):
    return reverse("admin:sources_datasource_button", args=[source.pk, "scan-now"])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def run_link(run) -> str:
    return f'<a href="{reverse("admin:scanning_scanrun_change", args=[run.pk])}">Manual scan of {run.data_source} ' \
           f'#{run.pk}</a>'


@pytest.fixture
def source(world):
    return DataSourceFactory(workspace=world.workspace_a, name="hr-postgres")


def test_scan_now_queues_a_run_and_links_it(world, source):
    # Inside the test's transaction nothing is committed, so the run's task is not sent: as with a worker.
    response = staff(world, "steward").post(button_url(source), follow=True)
    assert response.redirect_chain == [(reverse("admin:sources_datasource_change", args=[source.pk]), 302)]
    run = ScanRun.objects.get(data_source=source)
    assert run.trigger == ScanRun.Trigger.MANUAL and run.requested_by == world.user("steward")
    assert messages_of(response) == [f"hr-postgres: scan queued; its page shows its progress: {run_link(run)}"]
    assert AuditEvent.objects.filter(event="scan_run.requested", object_id=str(run.pk)).exists()


def test_a_second_press_while_the_run_is_queued_links_that_run(world, source):
    client = staff(world, "steward")
    client.post(button_url(source))
    run = ScanRun.objects.get(data_source=source)
    response = client.post(button_url(source), follow=True)
    assert messages_of(response)[-1:] == [
        f"hr-postgres: a scan or detection of its source is already queued or running: {run_link(run)}."]
    assert ScanRun.objects.filter(data_source=source).count() == 1


def test_an_analyst_has_no_button_and_is_refused(world, source):
    client = staff(world, "analyst")
    html = client.get(reverse("admin:sources_datasource_change", args=[source.pk])).content.decode()
    assert "scan-now" not in html and "test-connection" not in html
    assert client.post(button_url(source)).status_code == 403
    assert not ScanRun.objects.exists() and not Scan.objects.exists()
    assert not AuditEvent.objects.filter(event__startswith="scan").exists()


def test_the_button_follows_the_right_to_run_the_sources_scan(world, source):
    ScanFactory(data_source=source)
    html = staff(world, "steward").get(reverse("admin:sources_datasource_change", args=[source.pk])).content.decode()
    assert f'action="{button_url(source)}"' in html


@pytest.mark.django_db(transaction=True)
def test_in_the_embedded_default_a_failed_run_says_it_failed_not_queued(world):
    # The task runs eagerly when the request commits: by the time the page answers, the run has ended.
    source = DataSourceFactory(workspace=world.workspace_a, name="down", engine="postgresql", host="127.0.0.1",
                               port=closed_port(), database="hr", username="scanner")
    response = staff(world, "steward").post(button_url(source), follow=True)
    run = ScanRun.objects.get(data_source=source)
    assert run.status == ScanRun.Status.FAILED
    assert messages_of(response) == [f"down: scan failed: {escape(run.error)}. {run_link(run)}"]
    assert "queued" not in messages_of(response)[0]


@pytest.mark.django_db(transaction=True)
def test_in_the_embedded_default_a_first_scan_says_what_it_added(world, tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "hr.sqlite"
    with sqlite3.connect(path) as target:
        target.execute("CREATE TABLE employees (id INTEGER PRIMARY KEY, email TEXT, salary INTEGER)")
    source = DataSourceFactory(workspace=world.workspace_a, name="hr-file", engine="sqlite", host="",
                               port=None, database=str(path), username="")
    response = staff(world, "steward").post(button_url(source), follow=True)
    run = ScanRun.objects.get(data_source=source)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assert messages_of(response) == [f"hr-file: scan finished: {run.added} objects added to the catalog, "
                                     f"1 column classified. {run_link(run)}"]  # email
    assert run.added == 6  # database, schema, table, its three columns
