"""In a real browser: a steward opens a table whose lineage reaches some fifty assets two hops each way, reads the
picture (laid out left to right in its own box, the page no wider than a 1400 px window), clicks a node to see its
neighbours too, shows the columns' flows, and finds the sensitive table marked by more than colour. Screenshots go
to var/screenshots/lineage/ (the section alone and the whole page, before and after each step)."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.models import Asset
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import edge, external, table
from tests.e2e.pages import settle
from tests.e2e.test_admin_layout import OVERFLOW
from tests.e2e.test_asset_pages import _signed_in
from tests.support.personas import build_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots" / "lineage"
COLUMNS = ("id", "customer_email", "amount")

# The Cytoscape instance of the picture (Cytoscape keeps it on its container), to find where a node is drawn.
NODES = """() => document.querySelector('.lineage-canvas')._cyreg.cy.nodes().map(node => ({
    key: node.id(), label: node.data('display'), parent: node.isParent(), classes: node.classes(),
    x: node.renderedPosition('x'), y: node.renderedPosition('y'),
    within: node.parent().nonempty() ? node.parent().id() : null, box: node.renderedBoundingBox()}))"""
# The flows drawn between two tables (not hidden) whose columns also have a flow drawn between them.
DOUBLED = """() => { const cy = document.querySelector('.lineage-canvas')._cyreg.cy;
    return cy.edges('.column').filter(e => e.source().parent().nonempty() && e.target().parent().nonempty()
        && cy.edges().not('.column').some(t => t.visible() && t.source().same(e.source().parent())
                                                && t.target().same(e.target().parent()))).length; }"""


def _flow(world):
    """orders, fed by 5 tables each fed by 3, feeding 7 reports each read by 3 dashboards' tables; the last hop
    of one branch leads to external assets (three hops away: shown once expanded); a restricted customers table
    upstream; one staging table in another workspace, hidden from the steward. Columns flow along the first hop."""
    source = DataSourceFactory(workspace=world.workspace_a, name="Warehouse (production)")
    other = DataSourceFactory(workspace=world.workspace_b, name="Another team's staging")
    orders = table(source, "orders", columns=COLUMNS, schema="sales")
    feeds = [table(source, name, columns=COLUMNS, schema="raw") for name in
             ("customers", "payments", "refunds", "shipments", "web_events")]
    Asset.objects.filter(pk=feeds[0].pk).update(sensitivity=Asset.Sensitivity.RESTRICTED)
    for feed in feeds:
        edge(feed, orders)
        edge(feed.cols["customer_email"], orders.cols["customer_email"])
        for index in range(3):
            edge(table(source, f"{feed.name}_landing_{index}", schema="landing"), feed)
    hidden = table(other, "team_b_staging", columns=COLUMNS)
    edge(feeds[1], hidden, workspace=world.workspace_b)
    edge(hidden, orders, workspace=world.workspace_b)
    reports = [table(source, f"report_{topic}", columns=COLUMNS, schema="marts") for topic in
               ("revenue_by_region_and_month", "churn", "refund_rate", "delivery_delays", "basket_size",
                "lifetime_value", "fraud_signals")]
    for report in reports:
        edge(orders, report)
        edge(orders.cols["amount"], report.cols["amount"])
        for index in range(3):
            edge(report, table(source, f"{report.name}_dashboard_{index}", schema="bi"))
    # An external dataset (a CRM no scan reads) fed by orders, its field by orders' column.
    edge(orders, external(world.workspace_a, "crm/contacts"))
    edge(orders.cols["customer_email"], external(world.workspace_a, "crm/contacts", field="email"))
    leaf = Asset.objects.get(data_source=source, name="report_churn_dashboard_0")
    for name in ("exports/churn_weekly", "exports/churn_daily"):
        edge(leaf, external(world.workspace_a, name))
    return orders


def _shoot(tab, name: str) -> None:
    tab.screenshot(path=str(SCREENSHOTS / f"{name}-page.png"), full_page=True)
    tab.locator("#asset-lineage").screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _fits(tab) -> None:
    assert tab.evaluate(OVERFLOW) == []  # nor any box scrolling sideways within the page


def _box(tab) -> dict:
    return tab.evaluate("() => ({...document.querySelector('.lineage').dataset})")


def test_a_steward_reads_expands_and_opens_the_columns_of_a_fifty_node_lineage(page, live_server):
    world = build_world()
    steward = world.user("steward")
    steward.is_staff = True
    steward.save(update_fields=["is_staff"])
    orders = _flow(world)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _signed_in(page, live_server, steward)
    tab = page.page

    tab.goto(live_server.url + reverse("admin:catalog_tableasset_change", args=[orders.pk]))
    tab.wait_for_selector(".lineage[data-nodes]")
    _fits(tab)
    shown = _box(tab)
    # orders, 5 feeds and their 15 landings, 7 reports and their 21 dashboards' tables, the CRM dataset; not the
    # hidden table.
    assert int(shown["nodes"]) == 50 and int(shown["sensitive"]) == 1
    nodes = tab.evaluate(NODES)
    assert "team_b_staging" not in tab.content()
    assert "1 asset on these paths is not yours to see" in tab.inner_text("#asset-lineage")
    # Laid out left to right: every feed left of orders, every report right of it.
    at = {node["label"].split("\n")[0].removeprefix("⚠ "): node for node in nodes}
    assert all(at[feed]["x"] < at["orders"]["x"] for feed in ("customers", "payments", "refunds"))
    assert all(at[name]["x"] > at["orders"]["x"] for name in at if name.startswith("report_")
               and "dashboard" not in name)
    # Marked by more than colour: the label carries the sign and the level, the legend says what they mean.
    assert at["customers"]["label"] == "⚠ customers\nrestricted" and "sensitive" in at["customers"]["classes"]
    _shoot(tab, "1-first")
    legend = tab.inner_text(".lineage-legend")
    assert "⚠" in legend and "sensitive (confidential or restricted)" in legend

    # A click on a dashboard's table at the edge of the picture brings its neighbours: the external exports.
    canvas = tab.locator(".lineage-canvas").bounding_box()
    tab.evaluate("""() => { const cy = document.querySelector('.lineage-canvas')._cyreg.cy;
                            cy.center(cy.getElementById(arguments[0])); }""".replace(
        "arguments[0]", f"'{at['report_churn_dashboard_0']['key']}'"))
    leaf = next(node for node in tab.evaluate(NODES) if node["label"] == "report_churn_dashboard_0")
    tab.mouse.click(canvas["x"] + leaf["x"], canvas["y"] + leaf["y"])
    tab.wait_for_function("() => document.querySelector('.lineage').dataset.expanded === '1'")
    after = {node["label"].split("\n")[0]: node for node in tab.evaluate(NODES)}
    assert {"exports/churn_weekly", "exports/churn_daily"} <= set(after)
    assert "external dataset" in after["exports/churn_weekly"]["label"]
    assert int(_box(tab)["nodes"]) == 52
    # Its page, one click away.
    assert tab.locator(".lineage-selected a").inner_text() == "shop.bi.report_churn_dashboard_0"
    _fits(tab)
    _shoot(tab, "2-expanded")

    # The columns: each in its table, the flows between them drawn as their own kind of edge.
    tab.check(".lineage-columns")
    tab.wait_for_function("() => Number(document.querySelector('.lineage').dataset.columnEdges) > 0")
    shown = _box(tab)
    # customer_email from each feed, amount to each report, customer_email to the CRM's email
    assert int(shown["columnEdges"]) == 5 + 7 + 1
    drawn = {node["key"]: node for node in tab.evaluate(NODES)}
    parents = {node["label"].split("\n")[0] for node in drawn.values() if node["parent"]}
    assert {"orders", "crm/contacts"} <= parents
    # Every column and field is drawn inside its table's or dataset's box.
    for node in drawn.values():
        if node["within"]:
            outer, inner = drawn[node["within"]]["box"], node["box"]
            assert outer["x1"] <= inner["x1"] and inner["x2"] <= outer["x2"], node["label"]
            assert outer["y1"] <= inner["y1"] and inner["y2"] <= outer["y2"], node["label"]
    email = next(node for node in drawn.values() if node["label"].startswith("crm/contacts.email"))
    assert drawn[email["within"]]["label"].startswith("crm/contacts")
    # No table-level arrow beside the column rows: a flow between tables whose columns' flows are drawn is hidden.
    assert tab.evaluate(DOUBLED) == 0 and int(shown["covered"]) >= 5 + 7 + 1
    _fits(tab)
    _shoot(tab, "3-columns")
    # A click on a column expands that column, not its table as well.
    column = next(node for node in tab.evaluate(NODES) if node["key"] == f"asset:{orders.cols['amount'].pk}")
    fetched = []
    tab.on("request", lambda request: "/lineage/?" in request.url and fetched.append(request.url))
    tab.mouse.click(canvas["x"] + column["x"], canvas["y"] + column["y"])
    tab.wait_for_function("() => document.querySelector('.lineage').dataset.expanded === '1'")
    settle(tab)
    assert len(fetched) == 1 and f"/{orders.cols['amount'].pk}/lineage/?depth=1&columns=1" in fetched[0]
    assert tab.locator(".lineage-selected a").inner_text() == orders.cols["amount"].qualified_name
    tab.click(".lineage-zoom[data-zoom=fit]")
    _shoot(tab, "4-columns-fit")

    # A column's page draws its own column-level lineage (no toggle: it is one already), its table around it.
    tab.goto(live_server.url + reverse("admin:catalog_columnasset_change", args=[orders.cols["amount"].pk]))
    tab.wait_for_selector(".lineage[data-nodes]")
    assert tab.locator(".lineage-columns").count() == 0
    assert int(_box(tab)["columnEdges"]) == 7
    _fits(tab)
    _shoot(tab, "5-column-page")
    assert page.external == [] and page.console_errors == []
