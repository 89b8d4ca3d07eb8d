"""A steward's catalog chores in a browser (issue 13, new-user pass): the column list narrowed by tag and by
certification from its sidebar; a description typed on several lines stored as the API would store it (the browser
posts CRLF); a glossary file with an unknown column refused with every problem listed; a data source found by its
name, shown without its qualified name's slash."""
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation
from catalog.models import Asset, GlossaryTerm
from catalog.source_assets import source_asset_ensure
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.catalog.search_support import index_everything
from tests.e2e.pages import settle
from tests.e2e.test_browser import sign_in
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _signed_in_steward(page, live_server, world, path="/admin/"):
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)
    page.page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username, path=path)
    page.page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    page.page.click("input[type=submit]")
    settle(page.page)
    return steward


def _listed(page) -> list[str]:
    return sorted(page.page.locator("#result_list tbody tr th").all_inner_texts())


def test_a_steward_narrows_the_column_list_by_tag_then_by_certification(page, live_server):
    world = build_world()
    source = DataSourceFactory(workspace=world.workspace_a, name="HR warehouse", database="hr")
    _, _, _, columns = asset_tree(source, table="staff", columns={"email": "text", "iban": "text", "grade": "text"})
    theirs = DataSourceFactory(workspace=world.workspace_b, name="Theirs")
    TagFactory(workspace=world.workspace_b, name="zq-their-tag")
    asset_tree(theirs, table="other", columns={"x": "text"})
    gdpr = TagFactory(workspace=world.workspace_a, name="gdpr")
    for name in ("email", "iban"):
        curation.asset_tag_add(asset=columns[name], tag=gdpr, acting_user=SYSTEM)
    curation.asset_certify(asset=columns["email"], status="certified", acting_user=SYSTEM,
                           expires_at=timezone.now() + timedelta(days=30))
    _signed_in_steward(page, live_server, world, path="/admin/catalog/columnasset/")

    sidebar = page.page.locator("#changelist-filter")
    assert "zq-their-tag" not in sidebar.inner_text()
    sidebar.locator('[data-filter-title="tag"]').get_by_role("link", name="gdpr").click()
    settle(page.page)
    assert f"tag={gdpr.pk}" in page.page.url
    assert _listed(page) == ["hr.public.staff.email", "hr.public.staff.iban"]
    sidebar.locator('[data-filter-title="certification"]').get_by_role("link", name="Certified").click()
    settle(page.page)
    assert _listed(page) == ["hr.public.staff.email"]
    assert page.external == [] and page.console_errors == []


def test_a_description_typed_on_several_lines_is_stored_with_lf_and_found_by_the_api_alike(page, live_server):
    world = build_world()
    source = DataSourceFactory(workspace=world.workspace_a, name="Shop", database="shop")
    _, _, table, _ = asset_tree(source, table="customers", columns={"email": "text"})
    _signed_in_steward(page, live_server, world, path=f"/admin/catalog/tableasset/{table.pk}/curation/")

    page.page.fill("textarea[name=description]", "One row per customer.\n\n- kept 5 years\n- owned by sales")
    page.page.get_by_role("button", name="Save curation").click()
    settle(page.page)
    table.refresh_from_db()
    assert table.description == "One row per customer.\n\n- kept 5 years\n- owned by sales"
    assert "\r" not in table.description
    # Saving the page again as it stands changes nothing: no second description change in the trail.
    page.page.goto(f"{live_server.url}/admin/catalog/tableasset/{table.pk}/curation/")
    page.page.get_by_role("button", name="Save curation").click()
    settle(page.page)
    assert AuditEvent.objects.filter(event="asset.changed", object_id=str(table.pk)).count() == 1


def test_a_glossary_file_with_an_unknown_column_lists_every_problem(page, live_server, tmp_path):
    world = build_world()
    _signed_in_steward(page, live_server, world, path="/admin/catalog/glossaryterm/import/")
    path = tmp_path / "glossary.csv"
    path.write_text("name,definition,colour,status\nCustomer,A buyer.,red,approved\nOrder,Bought.,blue,final\n",
                    encoding="utf-8")
    page.page.set_input_files("input[name=file]", str(path))
    page.page.get_by_role("button", name="Dry run").click()
    settle(page.page)
    rows = page.page.locator("#import-errors tbody tr")
    assert [row.split("\t")[:2] for row in rows.all_inner_texts()] == [["header", "colour"], ["2", "status"]]
    assert not GlossaryTerm.objects.exists()


def test_a_data_source_is_found_and_shown_by_its_name(page, live_server):
    world = build_world()
    source = DataSourceFactory(workspace=world.workspace_a, name="HR warehouse", database="hr")
    asset_tree(source, table="staff", columns={"email": "text"})
    root = source_asset_ensure(data_source=source)
    index_everything()
    _signed_in_steward(page, live_server, world)
    page.page.get_by_role("searchbox", name="Search assets").fill("HR warehouse")
    page.page.keyboard.press("Enter")
    settle(page.page)
    first = page.page.locator("#search-results tbody tr").first
    assert first.inner_text().split("\t")[:2] == ["HR warehouse", "Data source"]
    assert "HR warehouse/" not in page.page.locator("#search-results").inner_text()
    assert Asset.objects.get(pk=root.pk).qualified_name == "HR warehouse/"
