"""Issue 12: "a column whose every value is NULL is never above 'internal' by name alone" — through a real scan
of a SQLite database (datasource_create → scan_default → run, eager Celery) and the catalog's sensitivity roll-up,
not only the engine. A steward's confirmation lifts the cap; values that confirm the name make it count in full.
"""
from __future__ import annotations

import sqlite3

import pytest

from accounts.actors import SYSTEM
from catalog import services as catalog_services
from catalog.models import Asset, AssetClassification
from scanning.models import ScanRun
from sources import services
from tests.support.target_dbs import run_scan, scan_workspace

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NAMES = ["Ann Lee", "Bruno Diaz", "Chloé Martin", "David Okafor", "Emma Rossi", "Farid Haddad", "Giulia Conti",
         "Hugo Lambert"]
SCHEMA = """
CREATE TABLE employees (id INTEGER PRIMARY KEY, full_name VARCHAR(100), ssn CHAR(11), card_number VARCHAR(19),
                        date_of_birth DATE, credit_card_approval_code VARCHAR(15), phone_count INTEGER);
CREATE TABLE legacy_payments (id INTEGER PRIMARY KEY, card_number VARCHAR(19), cvv CHAR(3), iban VARCHAR(34));
CREATE TABLE prospects (email VARCHAR(200), passport_number VARCHAR(12));
"""
EMPTY_COLUMNS = ("employees.ssn", "employees.card_number", "employees.date_of_birth", "legacy_payments.card_number",
                 "legacy_payments.cvv", "legacy_payments.iban", "prospects.email", "prospects.passport_number")
RANK = {"": 0, "public": 1, "internal": 2, "confidential": 3, "restricted": 4}


def _database(path):
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO employees (full_name) VALUES (?)", [(name,) for name in NAMES * 3])
        conn.executemany("INSERT INTO legacy_payments (id) VALUES (?)", [(i,) for i in range(1, 13)])
    return path


@pytest.fixture
def scanned(tmp_path, settings):
    settings.RACINE_SQLITE_ALLOWED_DIRS = [str(tmp_path)]
    source = services.datasource_create(workspace=scan_workspace(), acting_user=SYSTEM, name="hr",
                                        engine="sqlite", database=str(_database(tmp_path / "hr.db")))
    run = run_scan(source)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    return source


def _assets(source) -> dict[str, Asset]:
    return {".".join(a.qualified_name.split(".")[-2:]) if a.type == Asset.Type.COLUMN else a.name: a
            for a in Asset.objects.filter(data_source=source)}


def _suggestion(asset: Asset) -> AssetClassification:
    return AssetClassification.objects.select_related("classification").get(asset=asset)


def test_name_only_suggestions_on_all_null_columns_count_as_internal_at_most(scanned):
    assets = _assets(scanned)
    for name in EMPTY_COLUMNS:
        row = _suggestion(assets[name])
        assert row.status == AssetClassification.Status.SUGGESTED
        assert row.evidence["name_only"] is True
        assert row.confidence < 0.7
        assert "internal at most" in " ".join(row.evidence["reasons"])
        assert RANK[row.classification.sensitivity] > RANK["internal"], name  # the cap is what holds it down
        assert assets[name].sensitivity == "internal", name
    # The tables and the database follow: only the names of empty columns speak in these two.
    assert assets["legacy_payments"].sensitivity == "internal"
    assert assets["prospects"].sensitivity == "internal"
    # A column with values that confirm its name counts in full (a person's name is confidential).
    assert _suggestion(assets["employees.full_name"]).evidence.get("name_only") is None
    assert assets["employees.full_name"].sensitivity == "confidential"
    assert assets["employees"].sensitivity == "confidential"


def test_vetoed_names_of_empty_columns_get_no_suggestion(scanned):
    assets = _assets(scanned)
    for name in ("employees.credit_card_approval_code", "employees.phone_count"):
        assert not AssetClassification.objects.filter(asset=assets[name]).exists(), name
        assert assets[name].sensitivity == ""


def test_a_stewards_confirmation_lifts_the_cap(scanned):
    assets = _assets(scanned)
    row = _suggestion(assets["legacy_payments.card_number"])
    catalog_services.asset_classification_confirm(asset_classification=row, acting_user=SYSTEM)
    assets = _assets(scanned)
    assert assets["legacy_payments.card_number"].sensitivity == "restricted"
    assert assets["legacy_payments"].sensitivity == "restricted"
    assert assets["legacy_payments.cvv"].sensitivity == "internal"  # still only suggested


def test_a_rescan_once_the_column_holds_values_counts_in_full(scanned):
    with sqlite3.connect(scanned.database) as conn:
        conn.execute("UPDATE employees SET ssn = printf('%03d-%02d-%04d', 100 + id, 10 + id, 1000 + id)")
        conn.execute("ALTER TABLE employees ADD COLUMN note TEXT")  # a changed table is sampled again
    run = run_scan(scanned)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assets = _assets(scanned)
    row = _suggestion(assets["employees.ssn"])
    assert row.classification.name == "NATIONAL_ID.US_SSN"
    assert "name_only" not in row.evidence
    assert assets["employees.ssn"].sensitivity == "restricted"
