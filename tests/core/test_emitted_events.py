"""The events the product records today: a run's end (scan.* / detection.*), a scan's drift (asset.changed, one
per run with the counts) and the stewards' decisions (classification.confirmed / classification.rejected), each
in the transaction of the change it reports."""
from __future__ import annotations

import sqlite3

import pytest
from django.core.exceptions import PermissionDenied

from accounts.actors import SYSTEM
from catalog import services as catalog_services
from catalog.models import AssetClassification
from core.models import Event
from scanning import services
from scanning.models import ScanRun
from sources import services as source_services
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import DataSourceFactory
from tests.support.target_dbs import run_scan, scan_workspace, schema_only_rule_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT);")
    workspace = scan_workspace()
    source = source_services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="shop", engine="sqlite",
                                        database=str(path))
    return path, source, schema_only_rule_set(workspace)


def names(**filters) -> list[str]:
    return list(Event.objects.filter(**filters).order_by("pk").values_list("name", flat=True))


def test_a_scan_records_its_end_and_its_drift_once_per_run(shop):
    path, source, rule_set = shop
    first = run_scan(source, rule_set=rule_set)
    # The source's registration, then the baseline that adds every asset.
    assert names() == ["datasource.created", "asset.changed", "scan.finished"]
    with sqlite3.connect(path) as conn:
        conn.executescript("ALTER TABLE customers ADD COLUMN phone TEXT; CREATE TABLE orders (id INTEGER);")
    second = run_scan(source, rule_set=rule_set)
    drift = Event.objects.filter(name="asset.changed").order_by("pk").last()
    assert drift.payload == {"data_source": source.pk, "run": second.pk, "added": 3, "changed": 0, "removed": 0}
    assert (drift.aggregate_type, drift.aggregate_id, drift.workspace_id) == (
        source._meta.label_lower, str(source.pk), source.workspace_id)
    run_scan(source, rule_set=rule_set)  # nothing changed: no drift event
    assert names() == ["datasource.created", "asset.changed", "scan.finished", "asset.changed", "scan.finished",
                       "scan.finished"]
    finished = Event.objects.get(name="scan.finished", aggregate_id=str(first.pk))
    assert finished.payload["status"] == ScanRun.Status.SUCCEEDED and finished.payload["scan"] == first.scan_id


def test_a_failed_scan_records_scan_failed(shop):
    path, source, rule_set = shop
    path.unlink()
    run = run_scan(source, rule_set=rule_set)
    assert run.status == ScanRun.Status.FAILED
    event = Event.objects.exclude(name="datasource.created").get()
    assert event.name == "scan.failed" and event.payload["error"] == run.error


def test_a_cancel_of_a_queued_run_records_scan_cancelled(shop, django_capture_on_commit_callbacks):
    _, source, rule_set = shop
    scan = services.scan_default(data_source=source, rule_set=rule_set, acting_user=SYSTEM)
    run = services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)  # not executed
    services.scan_run_cancel(run=run, acting_user=SYSTEM)
    assert names() == ["datasource.created", "scan.cancelled"]


def test_steward_decisions_record_classification_events(world):
    _, _, _, columns = asset_tree(DataSourceFactory(workspace=world.workspace_a), columns={"email": "text"})
    row = AssetClassificationFactory(asset=columns["email"], classification=builtin("PII.EMAIL"))
    steward = world.user("steward")
    catalog_services.asset_classification_confirm(asset_classification=row, acting_user=steward)
    catalog_services.asset_classification_confirm(asset_classification=row, acting_user=steward)  # a no-op
    catalog_services.asset_classification_reject(asset_classification=row, acting_user=steward, note="test data")
    assert names() == ["classification.confirmed", "classification.rejected"]
    rejected = Event.objects.get(name="classification.rejected")
    assert (rejected.aggregate_type, rejected.aggregate_id, rejected.workspace_id) == (
        "catalog.assetclassification", str(row.pk), world.workspace_a.pk)
    assert rejected.payload == {
        "asset_classification": row.pk, "asset": columns["email"].pk, "data_source": columns["email"].data_source_id,
        "classification": "PII.EMAIL", "status": "rejected", "previous_status": "confirmed", "source": row.source,
        "confidence": row.confidence, "decided_by": steward.pk}


def test_a_refused_decision_records_nothing(world):
    _, _, _, columns = asset_tree(DataSourceFactory(workspace=world.workspace_b), columns={"email": "text"})
    row = AssetClassificationFactory(asset=columns["email"], classification=builtin("PII.EMAIL"))
    with pytest.raises(PermissionDenied):
        catalog_services.asset_classification_confirm(asset_classification=row, acting_user=world.user("steward"))
    assert not Event.objects.exists()


def test_a_classification_made_by_hand_records_classification_confirmed(world):
    _, _, _, columns = asset_tree(DataSourceFactory(workspace=world.workspace_a), columns={"email": "text"})
    row = catalog_services.asset_classification_create(asset=columns["email"], classification=builtin("PII.EMAIL"),
                                                       acting_user=world.user("steward"))
    event = Event.objects.get()
    assert (event.name, event.payload["source"], event.payload["previous_status"]) == (
        "classification.confirmed", AssetClassification.Source.MANUAL, None)
    assert event.aggregate_id == str(row.pk)
