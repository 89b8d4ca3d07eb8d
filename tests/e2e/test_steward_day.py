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
from django_otp.oath import hotp

from catalog.models import Asset, AssetClassification, AssetOwner
from scanning.models import ScanRun
from sources.models import DataSource
from tests.e2e.hr_source import hr_database
from tests.e2e.pages import settle
from tests.e2e.test_browser import current_code
from tests.support.factories import TEST_PASSWORD
from tests.support.home_data import WORKSPACE_A, WORKSPACE_B, build_workspace
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots" / "steward-day"
# The embedded default runs the scan within the button's request. The first detection of a process loads the
# reference lists of names (scanning.detection.reference.people): 10–35 s on a loaded 2-core machine.
SCAN_TIMEOUT = 120_000
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
        settle(self.page)

    def shot(self, name: str) -> None:
        settle(self.page)
        assert self.page.evaluate("document.documentElement.scrollWidth") <= 1400, f"{name}: overflows 1400 px"
        self.step += 1
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.step:02d}-{name}.png"), full_page=True)

    def counts(self) -> dict[str, int]:
        """The home's figures, by their ``data-count`` name."""
        self.go("/admin/")
        return {element.get_attribute("data-count"): int(element.inner_text())
                for element in self.page.locator("[data-count]").all()}

    def submit(self, element, timeout: float = 15_000) -> None:
        """Click what loads another page (a link, a form's button), and wait for that page."""
        with self.page.expect_navigation(timeout=timeout):
            element.click(timeout=timeout)
        settle(self.page)

    def content(self) -> str:
        return self.page.inner_text("#content")

    def wrapped(self, selector: str) -> list[str]:
        """The texts of ``selector`` that the page lays out over more than one line (a name broken mid-word)."""
        return self.page.eval_on_selector_all(selector, """elements => elements.filter(element => {
            const range = document.createRange();
            range.selectNodeContents(element);
            return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size > 1;
        }).map(element => element.textContent.trim())""")

    def messages(self) -> str:
        return self.page.inner_text("ul.messagelist") if self.page.locator("ul.messagelist").count() else ""

    def sign_in(self, username: str) -> None:
        self.go("/admin/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", TEST_PASSWORD)
        self.submit(self.page.locator("input[type=submit]"))


@pytest.fixture
def source_database():
    with hr_database() as database:
        yield database


def test_a_stewards_day(page, live_server, source_database, settings):
    settings.RACINE_TARGET_ALLOW_LOCAL = True  # the source is this machine's PostgreSQL, as on a laptop
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
    day.submit(day.page.locator("#content-main input[type=submit]"))
    assert "backup" in day.page.inner_text("#content").lower()
    day.go("/admin/")
    day.submit(day.page.get_by_role("button", name="Log out"))
    day.sign_in(steward.username)
    assert "/accounts/mfa/verify/" in day.page.url
    device = steward.totpdevice_set.get(confirmed=True)
    # The code of the step after the one the enrolment used (a device takes each step once, within one step of its
    # now and drift). The next step by the clock failed when the enrolment fell on a step's boundary: matched one
    # step back, it set the device's drift to -1, and the clock's next step was then two ahead.
    day.page.fill("input[name=code]", f"{hotp(device.bin_key, device.last_t + 1):06d}")
    day.shot("verify-second-factor")
    day.submit(day.page.locator("#content-main input[type=submit]"))
    assert day.page.url.endswith("/admin/")

    # 2. The home counts what the steward's workspace holds, and nothing of the other workspace.
    shown = day.counts()
    assert {name: shown[name] for name in before} == before
    assert "CRM" not in day.page.inner_text("#content")
    assert day.wrapped(".home-table thead th") == []
    day.shot("home-before")

    # 3. Register the source through the admin's form: the steward's one workspace is chosen for them.
    day.go("/admin/sources/datasource/add/")
    assert day.page.locator("#id_workspace option:checked").inner_text() == "Workspace A"
    day.page.fill("#id_name", "HR and customers")
    day.page.select_option("#id_engine", label="PostgreSQL")
    day.page.fill("#id_host", url.hostname)
    day.page.fill("#id_port", str(url.port or 5432))
    day.page.fill("#id_database", database)
    day.page.fill("#id_username", url.username or "postgres")
    day.page.fill("#id_password", url.password or "not-needed-on-trust")
    day.shot("register-source")
    day.submit(day.page.locator("input[name=_continue]"))
    assert "was added successfully" in day.messages()
    source = DataSource.objects.get(name="HR and customers")
    assert (source.workspace, source.database) == (world.workspace_a, database)
    assert day.page.url.endswith(f"/admin/sources/datasource/{source.pk}/change/")
    # Who owns the source is curation, edited from its page as on any asset's: the steward names themself.
    day.submit(day.page.locator("#edit-curation"))
    day.page.select_option("select[name=owners_technical_users]", label=steward.username)
    day.submit(day.page.locator("input[name=_save]"))
    assert "was saved" in day.messages()
    assert list(AssetOwner.objects.filter(asset__data_source=source, asset__type=Asset.Type.SOURCE)
                .values_list("user", flat=True)) == [steward.pk]
    assert f"/admin/sources/datasource/{source.pk}/change/" in day.page.url

    # 4. Test connection, from the source's page.
    day.submit(day.page.locator("button[data-button=test-connection]"))
    assert re.search(r"connected to PostgreSQL \d+.*\(read-only session\)", day.messages()), day.messages()
    day.shot("connection-tested")

    # 5. Scan now: the message says what the run did and links to it; the run catalogued both tables.
    day.submit(day.page.locator("button[data-button=scan-now]"), timeout=SCAN_TIMEOUT)
    run = ScanRun.objects.get(data_source=source)
    assert run.status == ScanRun.Status.SUCCEEDED, run.error
    title = f"Manual scan of HR and customers #{run.pk}"
    assert f"scan finished: {run.added} objects added to the catalog" in day.messages(), day.messages()
    day.shot("scanned")
    day.submit(day.page.locator("ul.messagelist a", has_text=title))
    assert day.page.locator("h1").inner_text() == title
    assert f"This was the source's first scan: it added {run.added} objects to the catalog." in day.content()
    assert "tables sampled 2 of 2" in day.content()
    day.shot("first-scan")

    # 6. Open the table, found with the header's search box, and read its columns and their classifications.
    suggested = {(row.asset.parent.name, row.asset.name): row for row in AssetClassification.objects.filter(
        asset__data_source=source, status=AssetClassification.Status.SUGGESTED).select_related(
        "asset__parent", "classification")}
    assert {key: row.classification.name for key, row in suggested.items()
            if key in {("employees", "work_email"), ("employees", "salary_iban"), ("customers", "city")}} == {
        ("employees", "work_email"): "PII.EMAIL", ("employees", "salary_iban"): "FINANCIAL.IBAN",
        ("customers", "city"): "PII.CITY"}
    assert not {("employees", "department"), ("employees", "hired_on")} & set(suggested)
    day.page.get_by_role("searchbox", name="Search assets").fill("employees")
    day.submit(day.page.get_by_role("button", name="Search", exact=True).first)
    employees = Asset.objects.get(data_source=source, type=Asset.Type.TABLE, name="employees")
    day.submit(day.page.locator("#search-results").get_by_role("link", name=employees.qualified_name, exact=True))
    assert day.page.url.endswith(f"/admin/catalog/tableasset/{employees.pk}/change/")
    crumbs = day.page.locator(".asset-crumbs a[data-crumb]")
    assert "HR and customers" in crumbs.first.inner_text()
    columns = day.page.locator("#asset-columns tbody tr")
    assert columns.count() == 9
    shown = {row.get_attribute("data-column"): row.inner_text() for row in columns.all()}
    assert "PII.EMAIL suggested" in shown["work_email"] and "Confidential" in shown["work_email"]
    assert "FINANCIAL.IBAN suggested" in shown["salary_iban"] and "Restricted" in shown["salary_iban"]
    assert "suggested" not in shown["department"]
    day.shot("table-employees")

    # 7. Confirm one, on the column's page, where its evidence is.
    confirmed = suggested[("employees", "work_email")]
    day.submit(day.page.locator("#asset-columns tr[data-column=work_email] th a"))
    article = day.page.locator("article[data-classification='PII.EMAIL']")
    assert article.get_attribute("data-status") == "suggested"
    assert "Masked examples" in article.inner_text()
    day.shot("column-work-email")
    day.submit(article.locator(".review-confirm"))
    assert f"PII.EMAIL on {confirmed.asset.qualified_name}: confirmed." in day.messages()
    assert day.page.url.endswith(f"/admin/catalog/columnasset/{confirmed.asset.pk}/change/")
    assert article.get_attribute("data-status") == "confirmed"
    assert f"Confirmed by {steward.username}" in article.inner_text()
    day.shot("confirmed")

    # 8. Reject one and change one, in the review queue the home links to.
    rejected, changed = suggested[("customers", "city")], suggested[("employees", "salary_iban")]
    day.go("/admin/")
    day.submit(day.page.locator("#review-queue-link"))
    waiting = int(day.page.inner_text("[data-count=queue]"))
    assert waiting == before["review"] + len(suggested) - 1
    day.submit(day.page.locator(f"#suggestion-{rejected.pk} .review-reject"))
    assert f"PII.CITY on {rejected.asset.qualified_name}: rejected." in day.messages()
    day.page.select_option(f"select[name=to_{changed.pk}]", label="FINANCIAL.BANK_ACCOUNT")
    day.submit(day.page.locator(f"#suggestion-{changed.pk} .review-change-button"))
    assert (f"FINANCIAL.IBAN on {changed.asset.qualified_name}: changed to FINANCIAL.BANK_ACCOUNT."
            in day.messages()), day.messages()
    assert int(day.page.inner_text("[data-count=queue]")) == waiting - 2
    assert day.wrapped(".review-row td:nth-child(3) a") == []  # each classification's name on one line
    day.shot("review-queue")

    # 9. The source changes (a column added, one dropped); the steward scans again from the source's page.
    source_conn.execute("ALTER TABLE customers ADD COLUMN backup_email varchar(255)")
    source_conn.execute("UPDATE customers SET backup_email = 'b.' || email")
    source_conn.execute("ALTER TABLE customers DROP COLUMN city")
    source_conn.execute("ANALYZE customers")
    day.go(f"/admin/sources/datasource/{source.pk}/change/")
    day.submit(day.page.locator("button[data-button=scan-now]"), timeout=SCAN_TIMEOUT)
    rescan = ScanRun.objects.filter(data_source=source).latest("queued_at")
    assert rescan.pk != run.pk and rescan.status == ScanRun.Status.SUCCEEDED, rescan.error
    day.submit(day.page.locator("ul.messagelist a", has_text=f"Manual scan of HR and customers #{rescan.pk}"))
    assert re.search(r"Added\s+\S+\.customers\.backup_email\s+new in the source", day.content()), day.content()
    assert re.search(r"Removed\s+\S+\.customers\.city\s+gone from the source", day.content())
    assert '"data_type"' not in day.page.content()
    day.shot("rescan")

    # 10. The decisions are kept, the table's page says so, and the home counts the new state.
    decided = AssetClassification.objects.filter(asset__data_source=source).exclude(
        status=AssetClassification.Status.SUGGESTED)
    assert {(row.asset.name, row.classification.name, row.status) for row in decided.select_related(
        "asset", "classification")} == {("work_email", "PII.EMAIL", "confirmed"), ("city", "PII.CITY", "rejected"),
                                        ("salary_iban", "FINANCIAL.IBAN", "rejected"),
                                        ("salary_iban", "FINANCIAL.BANK_ACCOUNT", "confirmed")}
    day.go(f"/admin/catalog/tableasset/{employees.pk}/change/")
    shown = {row.get_attribute("data-column"): row.inner_text()
             for row in day.page.locator("#asset-columns tbody tr").all()}
    assert "PII.EMAIL confirmed" in shown["work_email"]
    assert "FINANCIAL.BANK_ACCOUNT confirmed" in shown["salary_iban"]
    assert "FINANCIAL.IBAN" not in shown["salary_iban"] or "FINANCIAL.IBAN rejected" in shown["salary_iban"]
    day.shot("table-after-rescan")
    ours = AssetClassification.objects.filter(asset__data_source=source)
    assert ours.filter(asset__name="backup_email", classification__name="PII.EMAIL").exists()
    present = Asset.objects.filter(data_source=source, type=Asset.Type.COLUMN, removed_at__isnull=True)
    after = day.counts()
    assert after["sources"] == before["sources"] + 1
    assert after["review"] == before["review"] + ours.filter(status=AssetClassification.Status.SUGGESTED).count()
    assert after["drift-added"] == before["drift-added"] + 1
    assert after["drift-removed"] == before["drift-removed"] + 1
    for level in ("restricted", "confidential", "internal", "public"):
        assert after[f"sensitive-{level}"] == before[f"sensitive-{level}"] + present.filter(sensitivity=level).count()
    assert "HR and customers" in day.page.inner_text("#panel-sources")
    day.shot("home-after")

    # 11. Export the inventory of the source's columns from the column list and read its rows.
    day.go(f"/admin/catalog/columnasset/?data_source={source.pk}")
    day.page.check("#action-toggle")
    day.page.select_option("select[name=action]", label="Export the sensitive columns of the selected assets (CSV)")
    with day.page.expect_download() as download:
        day.page.click("button[name=index]")
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    expected = {column.qualified_name: column for column in present.exclude(sensitivity="")}
    assert {row["qualified_name"] for row in exported} == set(expected)
    by_name = {row["qualified_name"]: row for row in exported}
    assert by_name[confirmed.asset.qualified_name]["classifications"] == "PII.EMAIL (confirmed)"
    assert by_name[changed.asset.qualified_name]["classifications"] == "FINANCIAL.BANK_ACCOUNT (confirmed)"
    assert rejected.asset.qualified_name not in by_name  # the column is gone from the source
    for name, row in by_name.items():
        assert row["data_source"] == "HR and customers"
        assert row["sensitivity"] == expected[name].sensitivity
        assert row["owners"] == steward.username
        assert row["last_scanned"]
    day.shot("inventory-exported")
    assert page.external == []
