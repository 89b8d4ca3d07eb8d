"""In a real browser (issue 13, item 6): a steward sets an owner and a glossary term on several columns at once from
the column list, finds them by a synonym of that term in the header's search box, certifies a table from its page
and writes its description in Markdown — a ``<script>`` in it shows as text and never runs — then reads on the
pages what was done and by whom, at 1400 px without horizontal scrolling. Screenshots of each step go to
var/screenshots/curation/."""
import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from catalog.models import AssetCertification, AssetClassification
from tests.catalog.classification_factories import asset_tree, builtin
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import index_everything
from tests.e2e.pages import settle
from tests.e2e.test_browser import sign_in
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots" / "curation"
DESCRIPTION = ("One row per **customer** who bought at least once.\n\n"
               "- kept for 3 years\n- see [the retention policy](https://example.org/retention)\n\n"
               "<script>window.curationPwned = true</script>")


def _screenshot(tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _fits(tab) -> None:
    assert tab.evaluate("document.documentElement.scrollWidth") <= 1400


def test_a_steward_curates_columns_in_bulk_certifies_a_table_and_describes_it(page, live_server):
    world = build_world()
    source = DataSourceFactory(workspace=world.workspace_a, name="Shop database")
    *_, table, columns = asset_tree(source, schema="sales", table="customers_with_a_long_reporting_name",
                                    columns={"primary_email_address": "text", "secondary_email_address": "text",
                                             "city": "text"})
    index_everything()
    GlossaryTermFactory(workspace=world.workspace_a, name="Customer e-mail", classification=builtin("PII.EMAIL"),
                        synonyms=["contact point"])
    GlossaryTermFactory(workspace=world.workspace_b, name="Partner e-mail")  # another workspace's: never offered
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)
    tab = page.page
    tab.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username)
    tab.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    tab.click("input[type=submit]")
    settle(tab)

    # 1. Bulk: an owner and a term on the two e-mail columns, from the table's column list.
    chosen = [columns["primary_email_address"], columns["secondary_email_address"]]
    tab.goto(f"{live_server.url}{reverse('admin:catalog_columnasset_changelist')}?parent__id__exact={table.pk}")
    for column in chosen:
        tab.check(f"input.action-select[value='{column.pk}']")
    tab.select_option("select[name=action]", "curate_selected")
    tab.click("button[name=index]")
    settle(tab)
    assert tab.title().startswith("Curate 2 columns")
    assert "Partner e-mail" not in tab.inner_text("#content")
    tab.select_option("select[name=owner_users_add]", label="steward")
    tab.select_option("select[name=owner_type]", "technical")
    tab.select_option("select[name=terms_add]", label="Customer e-mail")
    _fits(tab)
    _screenshot(tab, "1-bulk-form.png")
    tab.click("#apply-curation")
    settle(tab)
    assert tab.inner_text("ul.messagelist") == ("2 assets curated: 2 owners added, 2 terms linked, "
                                                "2 classifications confirmed.")  # the term implies PII.EMAIL
    _screenshot(tab, "2-bulk-done.png")

    # The header's search box finds both columns by a synonym of the term just linked to them, and says so.
    tab.get_by_role("searchbox", name="Search assets").fill("contact point")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/admin/search/?q=contact+point")
    results = tab.locator("#search-results tbody tr")
    assert sorted(row.split("\t")[0] for row in results.all_inner_texts()) == sorted(
        column.qualified_name for column in chosen)
    assert {row.split("\t")[-1] for row in results.all_inner_texts()} == {
        'synonym "contact point" of term "Customer e-mail"'}
    _fits(tab)
    _screenshot(tab, "2b-search-by-synonym.png")

    # 2. The table's page: certify it and describe it.
    tab.goto(f"{live_server.url}{reverse('admin:catalog_tableasset_change', args=[table.pk])}")
    assert "neither certified nor deprecated" in tab.inner_text("#asset-curation")
    tab.click("#edit-curation")
    settle(tab)
    tab.fill("textarea[name=description]", DESCRIPTION)
    tab.select_option("select[name=certification]", "certified")
    tab.fill("input[name=certification_note]", "Reconciled with finance.")
    tab.fill("input[name=certification_expires_at]", "2099-12-31T12:00")
    tab.select_option("select[name=owners_business_users]", label="steward")
    _fits(tab)
    _screenshot(tab, "3-edit-curation.png")
    tab.click("input[name=_save]")
    settle(tab)
    assert "was saved" in tab.inner_text("ul.messagelist")

    curation = tab.locator("#asset-curation")
    assert curation.locator("[data-curation=description] strong").inner_text() == "customer"
    assert curation.locator("[data-curation=description] a").get_attribute("rel") == "noopener noreferrer nofollow"
    assert "<script>window.curationPwned = true</script>" in curation.inner_text()  # shown as text
    assert tab.evaluate("window.curationPwned") is None  # and never run
    certification = curation.locator("[data-curation=certification]").inner_text()
    assert "Certified" in certification and "by steward" in certification and "expires" in certification
    assert "Reconciled with finance." in certification
    assert "Business owner: steward" in curation.locator("[data-curation=owners]").inner_text()
    history = tab.inner_text("#asset-curation-history")
    for said in ("changed the description", "certified until", "added steward as business owner"):
        assert said in history, said
    _fits(tab)
    # Saved, the page opened scrolled to its curation section: the screenshot is of the page from its top.
    tab.goto(f"{live_server.url}{reverse('admin:catalog_tableasset_change', args=[table.pk])}")
    _screenshot(tab, "4-table-page.png")

    # 3. A column's page shows what the bulk operation did, and the term's page lists both columns.
    tab.goto(f"{live_server.url}{reverse('admin:catalog_columnasset_change', args=[chosen[0].pk])}")
    curation = tab.locator("#asset-curation")
    assert "Technical owner: steward" in curation.locator("[data-curation=owners]").inner_text()
    assert curation.locator("[data-curation=terms]").inner_text().strip() == "Customer e-mail"
    history = tab.inner_text("#asset-curation-history")
    assert "linked the term Customer e-mail, which confirmed PII.EMAIL on it" in history
    assert "steward" in history
    _fits(tab)
    _screenshot(tab, "5-column-page.png")
    curation.locator("[data-curation=terms] a").click()
    settle(tab)
    linked = tab.inner_text("#term-assets")
    assert all(column.qualified_name in linked for column in chosen)
    assert columns["city"].qualified_name not in linked
    _fits(tab)
    _screenshot(tab, "6-term-page.png")

    certified = AssetCertification.objects.get(asset=table)
    assert (certified.status, certified.certified_by) == ("certified", steward)
    assert set(AssetClassification.objects.filter(asset__in=chosen).values_list("status", flat=True)) == {
        "confirmed"}
    assert page.external == []
