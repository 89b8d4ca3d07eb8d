"""setup_periodic_tasks and load_demo: what `make run` calls before serving."""
import sqlite3
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from catalog.models import Asset, DefinitionLineage, LineageEdge, LineageOrigin
from config.celery import app as celery_app
from scanning.management.commands.load_demo import _luhn_valid
from scanning.models import ScanRun
from sources.models import DataSource

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_setup_periodic_tasks_creates_then_updates_in_place(settings):
    settings.RACINE_SCAN_REAPER_INTERVAL = 120
    run("setup_periodic_tasks")
    tasks = {task.task: task for task in PeriodicTask.objects.all()}
    reaper = tasks["scanning.tasks.scan_runs_reap_task"]
    grants = tasks["accounts.tasks.object_grants_expire_task"]
    assert (reaper.interval.every, grants.interval.every) == (120, 300)
    assert 0 < reaper.expire_seconds < 120 and 0 < grants.expire_seconds < 300
    celery_app.loader.import_default_modules()
    assert set(tasks) <= set(celery_app.tasks)  # every name points at a registered task
    # An admin's changes survive a re-run; the schedule follows the code.
    PeriodicTask.objects.filter(pk=reaper.pk).update(enabled=False, queue="maintenance")
    settings.RACINE_SCAN_REAPER_INTERVAL = 60
    out = run("setup_periodic_tasks")
    again = PeriodicTask.objects.get(pk=reaper.pk)
    assert (again.enabled, again.queue, again.interval.every) == (False, "maintenance", 60)
    assert again.expire_seconds < 60 and "left disabled" in out
    assert PeriodicTask.objects.count() == len(tasks)


@pytest.fixture
def demo_dir(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    return tmp_path


@pytest.mark.django_db(transaction=True)  # autocommit, as in a real shell: on_commit runs the task at once
def test_load_demo_twice_gives_one_scanned_source(demo_dir):
    first = run("load_demo")
    source = DataSource.objects.get(name="Demo shop")
    assert source.workspace.slug == "default" and Path(source.database) == demo_dir / "demo_shop.sqlite3"
    run_ = ScanRun.objects.get(data_source=source)
    assert run_.status == ScanRun.Status.SUCCEEDED, run_.error
    names = set(source.assets.values_list("qualified_name", flat=True))
    for expected in ("customers.email", "customers.date_of_birth", "payments.card_number", "payments.iban",
                     "addresses.postal_code", "orders.reference", "customer_orders", "monthly_revenue"):
        assert any(name.endswith(expected) for name in names), expected
    assert source.assets.filter(type=Asset.Type.VIEW).count() == 2
    assert "succeeded" in first
    modified = (demo_dir / "demo_shop.sqlite3").stat().st_mtime_ns
    second = run("load_demo")
    assert "exists" in second and "Already scanned" in second
    assert DataSource.objects.filter(name="Demo shop").count() == 1 and ScanRun.objects.count() == 1
    assert (demo_dir / "demo_shop.sqlite3").stat().st_mtime_ns == modified


@pytest.mark.django_db(transaction=True)  # autocommit, as in a real shell: on_commit runs the task at once
def test_load_demo_rebuild_regenerates_the_same_data_and_rescans(demo_dir):
    run("load_demo")
    path = demo_dir / "demo_shop.sqlite3"

    def content():
        with sqlite3.connect(path) as db:
            return db.execute("SELECT * FROM customers ORDER BY id").fetchall()

    before = content()
    run("load_demo", "--rebuild")
    assert content() == before  # seeded: the same shop on every machine
    assert ScanRun.objects.filter(status=ScanRun.Status.SUCCEEDED).count() == 2


def test_demo_data_has_real_positives_and_hard_negatives(demo_dir):
    from scanning.management.commands.load_demo import build_demo_database

    counts = build_demo_database(demo_dir / "shop.sqlite3")
    assert counts["customers"] == 200 and counts["payments"] > 100
    with sqlite3.connect(demo_dir / "shop.sqlite3") as db:
        cards = [row[0] for row in db.execute("SELECT card_number FROM payments WHERE card_number IS NOT NULL")]
        tracking = [row[0] for row in db.execute("SELECT tracking_number FROM orders WHERE tracking_number IS "
                                                 "NOT NULL")]
        locales = db.execute("SELECT COUNT(DISTINCT country) FROM addresses").fetchone()[0]
        emails = [row[0] for row in db.execute("SELECT email FROM customers")]
    assert cards and all(_luhn_valid(card) for card in cards)
    assert tracking and all(len(number) == 16 and not _luhn_valid(number) for number in tracking)
    assert locales >= 4 and all(email.isascii() and "@" in email for email in emails)


@pytest.mark.django_db(transaction=True)  # as `make run` does it: the scan's events are delivered after its commit
def test_load_demo_view_columns_have_lineage_from_the_customers_table(demo_dir):
    run("load_demo")
    source = DataSource.objects.get(name="Demo shop")
    view_edges = LineageEdge.objects.filter(origin=LineageOrigin.VIEW, level=LineageEdge.Level.COLUMN,
                                            target_asset__parent__name="customer_orders")
    copied = {(edge.source_asset.parent.name, edge.source_asset.name, edge.target_asset.name)
              for edge in view_edges.filter(direct=True).select_related("source_asset__parent", "target_asset")}
    assert {("customers", name, name) for name in ("email", "first_name", "last_name")} <= copied
    assert ("customers", "id", "customer_id") in copied
    view = source.assets.get(type=Asset.Type.VIEW, name="customer_orders")
    assert {edge.origin_key for edge in view_edges} == {str(view.pk)}
    assert DefinitionLineage.objects.get(asset=view).problem == ""
