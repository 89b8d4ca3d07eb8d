"""In a real browser: a steward walks from a source to a table and one of its columns through the breadcrumbs, reads
the columns, a classification's evidence and the drift — and no page is wider than a 1400 px window, even with
long names, a long view definition and many columns."""
import pytest
from django.conf import settings
from django.urls import reverse

from catalog import services
from catalog.models import Asset, AssetClassification
from scanning.models import AssetChange
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import AssetChangeFactory, DataSourceFactory, ScanRunFactory
from tests.catalog.suggestion_factories import SuggestionFactory, column_in
from tests.e2e.pages import settle
from tests.support.personas import build_world, verified_client

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG = "customer_lifetime_value_including_refunds_and_chargebacks_recomputed_nightly_by_the_finance_team"
EVIDENCE = {"match_share": 0.97, "values_sampled": 500, "non_null": 480, "distinct": 470, "type_family": "text",
            "name_signal": "email", "validator": "email", "masked_examples": ["j***@e***.com", "m***@x***.org"],
            "reasons": ["column name says email", "97% of values valid (email)"],
            "alternatives": [{"classification": "PII.USERNAME", "confidence": 0.5}]}


def _signed_in(page, live_server, user) -> None:
    """The browser carries a session that passed its second factor (the sign-in itself is test_browser's)."""
    client = verified_client(user)
    page.page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.page.set_viewport_size({"width": 1400, "height": 900})


def _open(page, url: str) -> None:
    page.page.goto(url)
    settle(page.page)
    # On failure, name the boxes whose content is wider than they are (the page's own boxes come first).
    wide = page.page.evaluate("""[...document.querySelectorAll('*')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX == 'visible')
        .slice(4, 16).map(e => `${e.tagName}.${e.className}#${e.id} ${e.scrollWidth}/${e.clientWidth}`)""")
    assert page.page.evaluate("document.documentElement.scrollWidth") <= 1400, (page.page.url, wide)
    screenshots = settings.BASE_DIR / "var" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    name = page.page.url.rstrip("/").split("/admin/")[-1].replace("/", "-")
    page.page.screenshot(path=str(screenshots / f"asset-{name}.png"), full_page=True)


def test_a_steward_walks_from_a_table_to_a_column_and_back_through_the_breadcrumbs(page, live_server):
    world = build_world()
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    source = DataSourceFactory(workspace=world.workspace_a, name="Customer relations (production)")
    columns = {"email": "character varying(255)", LONG: "numeric(18,4)",
               **{f"attribute_{index}": "text" for index in range(60)}}
    _, _, table, cols = asset_tree(source, schema="sales_reporting", table=f"orders_{LONG}", columns=columns)
    Asset.objects.filter(pk=table.pk).update(properties={
        "primary_key": ["id"], "view_definition": "SELECT " + ", ".join([LONG] * 20) + " FROM orders",
        "foreign_keys": [{"columns": ["customer_id"], "referred_path": ["crm", "sales_reporting", LONG],
                          "referred_columns": ["id"]}]})
    Asset.objects.filter(pk=cols["email"].pk).update(
        sensitivity="confidential", is_nullable=False,
        profile={"sampled": 500, "null_ratio": 0.04, "distinct_estimate": 91000, "min_length": 7, "max_length": 64})
    classified = AssetClassificationFactory(asset=cols["email"], classification=builtin("PII.EMAIL"),
                                            confidence=0.95, evidence=EVIDENCE)
    services.asset_classification_confirm(asset_classification=classified, acting_user=steward)
    AssetClassificationFactory(asset=cols[LONG], classification=builtin("PII.PHONE"), confidence=0.61,
                               evidence={"match_share": 0.7, "validator": "phone"})
    run = ScanRunFactory(scan__data_source=source)
    AssetChangeFactory(run=run, asset=cols[LONG], kind=AssetChange.Kind.CHANGED,
                       changes={"data_type": ["numeric(12,2)", "numeric(18,4)"],
                                "default": [None, "0.0000000000000000000000000000000000000000000000000000001"]})
    AssetChangeFactory(run=run, asset=cols["attribute_0"], kind=AssetChange.Kind.ADDED)

    _signed_in(page, live_server, steward)
    _open(page, live_server.url + reverse("admin:catalog_tableasset_change", args=[table.pk]))
    crumbs = page.page.locator(".asset-crumbs a[data-crumb]")
    assert [crumbs.nth(index).get_attribute("data-crumb") for index in range(crumbs.count())] == [
        "source", "database", "schema", "table"]
    assert page.page.locator("#asset-columns tbody tr").count() == 62
    email = page.page.locator("#asset-columns tr[data-column=email]")
    assert "character varying(255)" in email.inner_text()
    assert "Confidential" in email.inner_text()
    assert "PII.EMAIL confirmed, 95%" in email.inner_text()
    assert "4% null · ~91,000 distinct · 7–64 characters" in email.inner_text()
    assert "customer_id → crm.sales_reporting." in page.page.inner_text("#content")
    drift = page.page.locator("#asset-drift")
    assert drift.locator("tr[data-kind=changed]").count() == 1
    assert "numeric(12,2)" in drift.inner_text() and "numeric(18,4)" in drift.inner_text()
    assert drift.locator("tr[data-kind=added]").count() == 1

    email.locator("th a").click()
    settle(page.page)
    _open(page, page.page.url)
    article = page.page.locator("article[data-classification='PII.EMAIL']")
    assert article.get_attribute("data-status") == AssetClassification.Status.CONFIRMED
    text = article.inner_text()
    assert "97% of the non-empty sampled values passed the “email” check." in text
    assert "j***@e***.com" in text
    assert f"by {steward.username}" in text  # the history: the row's decision (a steward reads no audit trail)
    assert "{" not in page.page.inner_text("#content")  # no JSON anywhere a steward reads

    page.page.locator(".asset-crumbs a[data-crumb=table]").click()
    settle(page.page)
    assert page.page.url.endswith(reverse("admin:catalog_tableasset_change", args=[table.pk]))
    page.page.locator(".asset-crumbs a[data-crumb=schema]").click()
    settle(page.page)
    _open(page, page.page.url)
    assert page.page.locator("#asset-contents tbody tr").count() == 1
    _open(page, live_server.url + reverse("admin:catalog_columnasset_changelist"))
    # Django's list scrolls sideways inside its box rather than widen the page: every column must fit in it (on
    # failure, the first row's cells and their widths).
    fits = page.page.evaluate("document.querySelector('.results').scrollWidth "
                              "<= document.querySelector('.results').clientWidth")
    assert fits, page.page.evaluate("""[...document.querySelectorAll('#result_list tbody tr:first-child > *')]
        .map(e => `${e.className} ${Math.round(e.getBoundingClientRect().width)}`)""")
    assert page.page.locator("#result_list th.column-sensitivity").is_visible()
    assert page.external == []


def test_the_sections_of_an_asset_page_start_below_its_form(page, live_server):
    """Django floats the form (#content-main): a section that did not clear it started beside the form, its
    title's dark band spanning the form's height and showing as an empty bar above the Close button."""
    world = build_world()
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    source = DataSourceFactory(workspace=world.workspace_a)
    _, _, table, _ = asset_tree(source, columns={"email": "text"})

    _signed_in(page, live_server, steward)
    _open(page, live_server.url + reverse("admin:catalog_tableasset_change", args=[table.pk]))
    form_bottom = page.page.locator("#content-main").bounding_box()
    for section in page.page.locator("section.asset-section").all():
        box, title = section.bounding_box(), section.locator("h2").bounding_box()
        assert box["y"] >= form_bottom["y"] + form_bottom["height"], section.get_attribute("id")
        assert title["height"] < 60, section.get_attribute("id")


def test_the_suggestions_list_keeps_an_assets_qualified_name_readable(page, live_server):
    """The reason beside it took the width: a qualified name broke every few letters, on six lines."""
    world = build_world()
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    column = column_in(world.workspace_a)
    Asset.objects.filter(pk=column.pk).update(qualified_name="demo_shop.main.customer_orders.email")
    SuggestionFactory(asset=column, reason="Same name and type (TEXT) as demo_shop.main.customers.email, linked "
                                           "to the term “Customer e-mail” by stella. " * 2)

    _signed_in(page, live_server, steward)
    _open(page, live_server.url + reverse("admin:catalog_suggestion_changelist"))
    cell = page.page.locator("#result_list tbody .field-asset_shown").first
    assert cell.bounding_box()["width"] >= 150, cell.bounding_box()
