"""In a real browser (issue 13, item 1 "curation on every asset … source"): a steward certifies a data source and
tags it from the data source's page, reads there what was done, and finds the source by its tag in the header's
search box, whose result opens the data source's page again. At 1400 px without horizontal scrolling; screenshots
go to var/screenshots/curation/."""
import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from catalog.models import AssetCertification
from catalog.source_assets import source_asset_ensure
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import index_everything
from tests.e2e.pages import settle
from tests.e2e.test_browser import sign_in
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots" / "curation"


def test_a_steward_certifies_and_tags_a_data_source_then_finds_it_by_the_tag(page, live_server):
    world = build_world()
    source = DataSourceFactory(workspace=world.workspace_a, name="Payroll warehouse", database="payroll")
    asset_tree(source, table="salaries", columns={"amount": "numeric"})
    root = source_asset_ensure(data_source=source)
    index_everything()
    TagFactory(workspace=world.workspace_a, name="crownjewels")
    TagFactory(workspace=world.workspace_b, name="elsewhere")  # another workspace's: never offered
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)
    source_page = reverse("admin:sources_datasource_change", args=[source.pk])
    tab = page.page
    tab.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username, path=source_page)
    tab.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    tab.click("input[type=submit]")
    settle(tab)

    # 1. The data source's page: its curation, read only until edited.
    assert "neither certified nor deprecated" in tab.inner_text("#asset-curation")
    assert "payroll" in tab.inner_text("#asset-contents")  # its database
    tab.click("#edit-curation")
    settle(tab)
    assert "elsewhere" not in tab.inner_text("#content")
    tab.select_option("select[name=certification]", "certified")
    tab.fill("input[name=certification_note]", "The payroll system of record.")
    tab.select_option("select[name=tags]", label="crownjewels")
    tab.click("input[name=_save]")
    tab.wait_for_url(f"**{source_page}#asset-curation")
    assert "was saved" in tab.inner_text("ul.messagelist")

    curation = tab.locator("#asset-curation")
    certification = curation.locator("[data-curation=certification]").inner_text()
    assert "Certified" in certification and "by steward" in certification
    assert curation.locator("[data-curation=tags]").inner_text().strip() == "crownjewels"
    history = tab.inner_text("#asset-curation-history")
    assert "certified" in history and "added the tag crownjewels" in history
    assert tab.evaluate("document.documentElement.scrollWidth") <= 1400
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / "7-source-page.png"), full_page=True)

    # 2. The header's search finds the source by its tag, and its result opens the source's page.
    tab.get_by_role("searchbox", name="Search assets").fill("crownjewels")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/admin/search/?q=crownjewels")
    results = tab.locator("#search-results tbody tr")
    assert results.count() == 1
    cells = results.first.inner_text().split("\t")
    assert cells[1:3] == ["Data source", "Payroll warehouse"]  # its type, its source
    tab.screenshot(path=str(SCREENSHOTS / "8-source-found.png"), full_page=True)
    results.first.get_by_role("link").click()
    tab.wait_for_url(f"**{source_page}")

    certified = AssetCertification.objects.get(asset=root)
    assert (certified.status, certified.certified_by) == ("certified", steward)
    assert page.external == []
