"""A data steward's day, in a real browser against a live Racine and a real PostgreSQL source holding HR and
customer data: sign in with an authenticator (enrolment, then verification) → the home counts what the workspace
holds → register the source → test its connection → scan it → open a table → read its columns and their
classifications → confirm one, reject one, change one → change the source and scan again → the decisions are kept
and the home counts the new state → export the inventory and read its rows.

Every step asserts what the page shows and saves a screenshot under ``var/screenshots/steward-day/`` (numbered in
the order of the day), which is what a person reviewing the admin's pages looks at.
"""
from __future__ import annotations

import csv
import io
import re

import pytest
from django.conf import settings
from django_otp.oath import totp

from catalog.models import Asset, AssetClassification
from scanning.models import ScanRun
from sources.models import DataSource
from tests.e2e.hr_source import hr_database
from tests.e2e.test_browser import current_code
from tests.support.factories import TEST_PASSWORD
from tests.support.home_data import WORKSPACE_A, WORKSPACE_B, build_workspace
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots" / "steward-day"
class Day:
    """The steward's tab, with what every step does at its end: wait for the page, check it fits 1400 px, and save
    a numbered screenshot."""

    def __init__(self, page, base_url: str):
        self.tab, self.page, self.base_url = page, page.page, base_url
        self.page.set_default_timeout(15_000)
        self.step = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")
        self.page.wait_for_load_state("networkidle")

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        assert self.page.evaluate("document.documentElement.scrollWidth") <= 1400, f"{name}: overflows 1400 px"
        self.step += 1
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.step:02d}-{name}.png"), full_page=True)

    def counts(self) -> dict[str, int]:
        """The home's figures, by their ``data-count`` name."""
        self.go("/admin/")
        return {element.get_attribute("data-count"): int(element.inner_text())
                for element in self.page.locator("[data-count]").all()}

    def messages(self) -> str:
        return self.page.inner_text("ul.messagelist") if self.page.locator("ul.messagelist").count() else ""

    def sign_in(self, username: str) -> None:
        self.go("/admin/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", TEST_PASSWORD)
        self.page.click("input[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def select_and_act(self, changelist: str, names: list[str], action_label: str) -> None:
        """On ``changelist``, tick the rows whose link reads one of ``names`` and run the action ``action_label``."""
        self.go(changelist)
        for name in names:
            row = self.page.locator("#result_list tbody tr", has=self.page.get_by_role("link", name=name, exact=True))
            row.locator("input.action-select").check()
        self.act(action_label)

    def select_rows(self, pks: list[int]) -> None:
        for pk in pks:
            self.page.check(f"#result_list input.action-select[value='{pk}']")

    def act(self, action_label: str) -> None:
        self.page.select_option("select[name=action]", label=action_label)
        self.page.click("button[name=index]")
        self.page.wait_for_load_state("networkidle")


@pytest.fixture
def source_database():
    with hr_database() as database:
        yield database


def test_a_stewards_day(page, live_server, source_database):
    url, database, source_conn = source_database
    world = build_world()
    before = build_workspace(world.workspace_a, WORKSPACE_A).expected()
    build_workspace(world.workspace_b, WORKSPACE_B)  # another workspace's: never counted on this steward's home
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    page.page.set_viewport_size({"width": 1400, "height": 900})
    day = Day(page, live_server.url)

    # 1. Sign in: the password, then enrolment of an authenticator (first sign-in), then a verification.
    day.sign_in(steward.username)
    assert "/accounts/mfa/enrol/" in day.page.url
    day.shot("enrol-authenticator")
    secret = day.page.locator("code").first.inner_text()
    day.page.fill("input[name=code]", current_code(secret))
    day.page.click("input[type=submit]")
    day.page.wait_for_load_state("networkidle")
    assert "backup" in day.page.inner_text("#content").lower()
    day.go("/admin/")
    day.page.get_by_role("button", name="Log out").click()
    day.page.wait_for_load_state("networkidle")
    day.sign_in(steward.username)
    assert "/accounts/mfa/verify/" in day.page.url
    device = steward.totpdevice_set.get(confirmed=True)
    # The code of the next 30-second step (the device accepts one step of drift): the enrolment used this step's.
    day.page.fill("input[name=code]", f"{totp(device.bin_key, drift=1):06d}")
    day.shot("verify-second-factor")
    day.page.click("input[type=submit]")
    day.page.wait_for_load_state("networkidle")
    assert day.page.url.endswith("/admin/")

    # 2. The home counts what the steward's workspace holds, and nothing of the other workspace.
    shown = day.counts()
    assert {name: shown[name] for name in before} == before
    assert "CRM" not in day.page.inner_text("#content")
    day.shot("home-before")

    # 3. Register the source through the admin's form.
    day.go("/admin/sources/datasource/add/")
    day.page.select_option("#id_workspace", label="Workspace A")
    day.page.fill("#id_name", "HR and customers")
    day.page.select_option("#id_engine", label="PostgreSQL")
    day.page.fill("#id_host", url.hostname)
    day.page.fill("#id_port", str(url.port or 5432))
    day.page.fill("#id_database", database)
    day.page.fill("#id_username", url.username or "postgres")
    day.page.fill("#id_password", url.password or "not-needed-on-trust")
    day.page.select_option("#id_owners_from", label=steward.username)  # the owners' two-list picker
    day.page.click("#id_owners_add")
    day.shot("register-source")
    day.page.click("input[name=_continue]")
    day.page.wait_for_load_state("networkidle")
    assert "was added successfully" in day.messages()
    source = DataSource.objects.get(name="HR and customers")
    assert source.workspace == world.workspace_a and source.database == database
    day.shot("source-registered")

    # 4. Test connection.
    day.select_and_act("/admin/sources/datasource/", ["HR and customers"], "Test connection")
    assert re.search(r"HR and customers: connected to PostgreSQL \d+", day.messages()), day.messages()
    day.shot("connection-tested")

    # 5. Scan now: the run succeeds and catalogues both tables.
    day.select_and_act("/admin/sources/datasource/", ["HR and customers"], "Scan now")
    run = ScanRun.objects.filter(data_source=source).latest("queued_at")
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    assert f"run #{run.pk}" in day.messages()
    day.go(f"/admin/scanning/scanrun/{run.pk}/change/")
    assert "Succeeded" in day.page.inner_text("#content")
    day.shot("first-scan")
    tables = {asset.name: asset for asset in Asset.objects.filter(data_source=source, type=Asset.Type.TABLE)}
    assert set(tables) == {"employees", "customers"}

    # 6. The table's page and its columns, with their classifications.
    employees = tables["employees"]
    suggested = {row.asset.name: row for row in AssetClassification.objects.filter(
        asset__parent=employees, status=AssetClassification.Status.SUGGESTED).select_related("asset",
                                                                                             "classification")}
    assert {"work_email", "salary_iban"} <= set(suggested), sorted(suggested)
    assert suggested["work_email"].classification.name == "PII.EMAIL"
    assert suggested["salary_iban"].classification.name == "FINANCIAL.IBAN"
    assert "department" not in suggested and "hired_on" not in suggested
    day.go(f"/admin/catalog/tableasset/{employees.pk}/change/")
    assert "employees" in day.page.inner_text("#content")
    day.shot("table-employees")

    # 7. Decide: confirm the work e-mail, reject the IBAN.
    confirmed, rejected = suggested["work_email"], suggested["salary_iban"]
    day.go(f"/admin/catalog/assetclassification/?q={confirmed.asset.qualified_name}")
    day.select_rows([confirmed.pk])
    day.act("Confirm the selected classifications")
    assert "1 classification confirmed" in day.messages()
    day.go(f"/admin/catalog/assetclassification/?q={rejected.asset.qualified_name}")
    day.select_rows([rejected.pk])
    day.act("Reject the selected classifications")
    assert "1 classification rejected" in day.messages()
    day.shot("decisions")

    # 8. The source changes (a column added, one dropped), and the steward scans again.
    source_conn.execute("ALTER TABLE customers ADD COLUMN backup_email varchar(255)")
    source_conn.execute("UPDATE customers SET backup_email = 'b.' || email")
    source_conn.execute("ALTER TABLE customers DROP COLUMN city")
    source_conn.execute("ANALYZE customers")
    day.select_and_act("/admin/sources/datasource/", ["HR and customers"], "Scan now")
    rescan = ScanRun.objects.filter(data_source=source).latest("queued_at")
    assert rescan.pk != run.pk and rescan.status == ScanRun.Status.SUCCEEDED, rescan.error
    day.go(f"/admin/scanning/scanrun/{rescan.pk}/change/")
    content = day.page.inner_text("#content")
    assert "customers.backup_email" in content and "customers.city" in content
    day.shot("rescan")

    # 9. The decisions are kept, and the home counts the new state.
    confirmed.refresh_from_db()
    rejected.refresh_from_db()
    assert (confirmed.status, rejected.status) == (AssetClassification.Status.CONFIRMED,
                                                  AssetClassification.Status.REJECTED)
    ours = AssetClassification.objects.filter(asset__data_source=source)
    waiting = ours.filter(status=AssetClassification.Status.SUGGESTED).count()
    assert ours.filter(asset__name="backup_email", classification__name="PII.EMAIL").exists()
    columns = Asset.objects.filter(data_source=source, type=Asset.Type.COLUMN, removed_at__isnull=True)
    after = day.counts()
    assert after["sources"] == before["sources"] + 1
    assert after["review"] == before["review"] + waiting
    assert after["drift-added"] == before["drift-added"] + 1
    assert after["drift-removed"] == before["drift-removed"] + 1
    for level in ("restricted", "confidential", "internal", "public"):
        assert after[f"sensitive-{level}"] == before[f"sensitive-{level}"] + columns.filter(sensitivity=level).count()
    assert "HR and customers" in day.page.inner_text("#panel-sources")
    day.shot("home-after")

    # 10. Export the inventory of the source's columns and read its rows.
    day.go(f"/admin/catalog/columnasset/?data_source={source.pk}&removed=no")
    day.page.check("#action-toggle")
    day.page.select_option("select[name=action]", label="Export the sensitive columns of the selected assets (CSV)")
    with day.page.expect_download() as download:
        day.page.click("button[name=index]")
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    expected = {column.qualified_name: column for column in columns.exclude(sensitivity="")}
    assert {row["qualified_name"] for row in exported} == set(expected)
    by_name = {row["qualified_name"]: row for row in exported}
    assert by_name[confirmed.asset.qualified_name]["classifications"] == "PII.EMAIL (confirmed)"
    assert "FINANCIAL.IBAN" not in by_name.get(rejected.asset.qualified_name, {}).get("classifications", "")
    for name, row in by_name.items():
        assert row["data_source"] == "HR and customers"
        assert row["sensitivity"] == expected[name].sensitivity
        assert row["owners"] == steward.username
        assert row["last_scanned"]
    day.shot("inventory-exported")
    assert page.external == []
