"""The header's search box in a browser: typed on any admin page, it lists the matching assets, each a link to
its page; a steward finds a column by a synonym of its glossary term."""
import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import SYSTEM
from catalog import glossary
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import GlossaryTermFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import index_everything
from tests.e2e.pages import settle
from tests.e2e.test_browser import sign_in
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_header_search_finds_a_column_and_opens_its_page(page, live_server):
    world = build_world()
    source = DataSourceFactory(workspace=world.workspace_a, name="HR database", database="hr")
    _, _, _, columns = asset_tree(source, table="employees_with_a_rather_long_table_name_" + "x" * 60,
                                  columns={"work_email": "text", "salary": "numeric"})
    index_everything()
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)

    page.page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username, path="/admin/sources/datasource/")
    page.page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    page.page.click("input[type=submit]")
    settle(page.page)

    page.page.get_by_role("searchbox", name="Search assets").fill("work_em")
    page.page.keyboard.press("Enter")
    page.page.wait_for_url("**/admin/search/?q=work_em")
    results = page.page.locator("#search-results tbody tr")
    assert results.count() == 1
    assert results.first.inner_text().split("\t")[1:] == ["Column", "HR database", "—", "start of the name"]
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1400
    screenshots = settings.BASE_DIR / "var" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(screenshots / "search-results.png"), full_page=True)

    results.first.get_by_role("link").click()
    page.page.wait_for_url(f"**/admin/catalog/columnasset/{columns['work_email'].pk}/change/")
    assert page.external == []


def test_a_steward_finds_a_column_by_a_synonym_of_its_term(page, live_server):
    world = build_world()
    source = DataSourceFactory(workspace=world.workspace_a, name="Payroll", database="payroll")
    _, _, _, columns = asset_tree(source, table="staff", columns={"iban_enc": "text", "grade": "text"})
    index_everything()
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Bank account number",
                               synonyms=["salary account"], abbreviations=["IBAN"])
    glossary.glossary_term_link(term=term, asset=columns["iban_enc"], acting_user=SYSTEM)
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)

    page.page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username, path="/admin/")
    page.page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    page.page.click("input[type=submit]")
    settle(page.page)

    page.page.get_by_role("searchbox", name="Search assets").fill("salary account")
    page.page.keyboard.press("Enter")
    page.page.wait_for_url("**/admin/search/?q=salary+account")
    results = page.page.locator("#search-results tbody tr")
    assert results.count() == 1
    assert results.first.inner_text().split("\t") == ["payroll.public.staff.iban_enc", "Column", "Payroll", "—",
                                                      'synonym "salary account" of term "Bank account number"']
    results.first.get_by_role("link").click()
    page.page.wait_for_url(f"**/admin/catalog/columnasset/{columns['iban_enc'].pk}/change/")
    assert page.external == []
