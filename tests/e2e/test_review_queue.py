"""In a real browser: a steward opens the review queue from the home, confirms one suggestion, rejects one and
changes one to another classification, each in one click, at 1400 px wide without horizontal scrolling."""
import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from catalog.models import AssetClassification
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import DataSourceFactory
from tests.e2e.pages import settle
from tests.e2e.test_browser import sign_in
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVIDENCE = {"match_share": 0.95, "values_sampled": 200, "non_null": 190, "distinct": 120, "validator": "email",
            "name_signal": "email", "masked_examples": ["j***@e***.com", "m***@s***.org"],
            "reasons": ["95% of values valid (email)", "column name 'email'"]}


def _suggestions(workspace, source_name: str, table: str) -> dict[str, AssetClassification]:
    source = DataSourceFactory(workspace=workspace, name=source_name)
    # Long names, as real warehouses have: the page must wrap them, not widen.
    *_, columns = asset_tree(source, schema="customer_relationship_management_reporting", table=table,
                             columns={"primary_email_address_as_given_at_registration": "text",
                                      "secondary_contact": "text", "work_contact": "text"})
    return {name: AssetClassificationFactory(asset=column, classification=builtin("PII.EMAIL"), evidence=EVIDENCE,
                                             confidence=0.95 - index / 10)
            for index, (name, column) in enumerate(columns.items())}


def _screenshot(page, name: str) -> None:
    screenshots = settings.BASE_DIR / "var" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(screenshots / name), full_page=True)


def _decide(page, button) -> str:
    button.click()
    settle(page.page)
    return page.page.inner_text("ul.messagelist")


def test_a_steward_confirms_rejects_and_changes_suggestions_in_the_review_queue(page, live_server):
    world = build_world()
    rows = _suggestions(world.workspace_a, "HR database", "customer_contact_details_with_a_long_table_name")
    _suggestions(world.workspace_b, "Partner CRM", "partners")  # another workspace's: never shown
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)

    failed = []  # every stylesheet and script of the page loads (the browser asks for a favicon there is not)
    page.page.on("response", lambda response: response.status >= 400 and failed.append(response.url))
    page.page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username)
    page.page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    page.page.click("input[type=submit]")
    settle(page.page)
    page.page.click("#review-queue-link")
    settle(page.page)
    assert page.page.title().startswith("Review queue")

    assert page.page.inner_text("[data-count=queue]") == "3"
    heading = page.page.inner_text(".review-group-head")
    assert "HR database" in heading and "customer_contact_details_with_a_long_table_name" in heading
    assert "Partner CRM" not in page.page.inner_text("#content")
    first = page.page.locator(".review-row").first
    assert "95% of the non-empty sampled values passed the “email” check." in first.inner_text()
    assert "j***@e***.com" in first.inner_text()
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1400
    _screenshot(page, "review-queue.png")

    confirm, reject, change = (rows[name] for name in ("primary_email_address_as_given_at_registration",
                                                       "secondary_contact", "work_contact"))
    message = _decide(page, page.page.locator(f"#suggestion-{confirm.pk} .review-confirm"))
    assert f"PII.EMAIL on {confirm.asset.qualified_name}: confirmed." in message
    assert page.page.inner_text("[data-count=queue]") == "2"
    assert page.page.locator(f"#suggestion-{confirm.pk}").count() == 0

    message = _decide(page, page.page.locator(f"#suggestion-{reject.pk} .review-reject"))
    assert f"PII.EMAIL on {reject.asset.qualified_name}: rejected." in message
    assert page.page.inner_text("[data-count=queue]") == "1"

    page.page.select_option(f"select[name=to_{change.pk}]", label="PII.PHONE")
    message = _decide(page, page.page.locator(f"#suggestion-{change.pk} .review-change-button"))
    assert f"PII.EMAIL on {change.asset.qualified_name}: changed to PII.PHONE." in message
    assert page.page.inner_text("[data-count=queue]") == "0"
    assert "Nothing waits for review." in page.page.inner_text("#content")
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1400
    _screenshot(page, "review-queue-done.png")

    decided = dict(AssetClassification.objects.filter(asset__data_source__workspace=world.workspace_a)
                   .values_list("asset_id", "status").filter(classification=builtin("PII.EMAIL")))
    assert decided == {confirm.asset_id: "confirmed", reject.asset_id: "rejected", change.asset_id: "rejected"}
    assert AssetClassification.objects.get(asset=change.asset, classification=builtin("PII.PHONE")).status == (
        "confirmed")
    assert [url for url in failed if not url.endswith("/favicon.ico")] == []
    assert page.external == []


def test_a_steward_classifies_a_column_by_hand_picking_it_by_its_qualified_name(page, live_server):
    world = build_world()
    *_, ours = asset_tree(DataSourceFactory(workspace=world.workspace_a, name="HR database"), table="employees",
                          columns={"national_insurance_no": "text"})
    asset_tree(DataSourceFactory(workspace=world.workspace_b, name="Partner CRM"), table="payroll",
               columns={"national_insurance_no": "text"})  # another workspace's: never offered
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=steward, name="phone", confirmed=True)

    page.page.set_viewport_size({"width": 1400, "height": 900})
    sign_in(page, live_server, steward.username, path="/admin/catalog/assetclassification/add/")
    page.page.fill("input[name=code]", f"{totp(device.bin_key):06d}")
    page.page.click("input[type=submit]")
    settle(page.page)
    page.page.click(".field-asset .select2-selection")
    page.page.fill(".select2-search__field", "national_ins")
    offered = page.page.locator(".select2-results__option")
    expect(offered).to_have_text([ours["national_insurance_no"].qualified_name])  # waits for the search's answer
    offered.click()
    page.page.select_option("select[name=classification]", label="NATIONAL_ID.GB_NINO")
    page.page.click("input[name=_save]")
    settle(page.page)
    assert "was added successfully" in page.page.inner_text("ul.messagelist")
    row = AssetClassification.objects.get(asset=ours["national_insurance_no"])
    assert (row.classification.name, row.status, row.source) == ("NATIONAL_ID.GB_NINO", "confirmed", "manual")
    assert page.external == []
