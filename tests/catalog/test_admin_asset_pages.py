"""Connected asset pages in the back office (issue 11, item 2): where an asset sits as links, a table's columns with
what the scans found, a column's classifications with readable evidence and history, drift as before/after rows,
removed assets hidden unless asked for — never raw JSON, and a table page whose cost does not grow with its
columns."""
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog import services
from catalog.admin_readable import differences, evidence_of, profile_facts, property_facts, value_text
from catalog.models import Asset, AssetClassification, DefinitionLineage
from scanning.models import AssetChange
from tests.catalog.classification_factories import AssetClassificationFactory, asset_tree, builtin
from tests.catalog.factories import AssetChangeFactory, DataSourceFactory, ScanRunFactory
from tests.support.personas import staff_client

EVIDENCE = {"match_share": 0.95, "values_sampled": 200, "non_null": 180, "distinct": 170, "type_family": "text",
            "name_signal": "email", "validator": "email", "masked_examples": ["j***@e***.com", "a***@b***.org"],
            "reasons": ["column name says email", "95% of values valid (email)"], "custom_rule": False,
            "alternatives": [{"classification": "PII.USERNAME", "confidence": 0.55}], "run": 7}
PROFILE = {"sampled": 200, "null_ratio": 0.1, "distinct_in_sample": 170, "distinct_estimate": 8400,
           "min_length": 6, "max_length": 41}


def _table(workspace, columns: int = 3, *, name: str = "customers"):
    """A table of ``columns`` columns (the first, ``email``, classified and profiled), with drift of a run."""
    source = DataSourceFactory(workspace=workspace, name=f"Shop {workspace.slug} {name}")
    names = {"email": "varchar(120)", **{f"col_{index}": "integer" for index in range(1, columns)}}
    database, schema, table, cols = asset_tree(source, schema="sales", table=name, columns=names)
    Asset.objects.filter(pk__in=[col.pk for col in cols.values()]).update(is_nullable=True, profile=PROFILE)
    Asset.objects.filter(pk=cols["email"].pk).update(sensitivity="confidential", is_nullable=False)
    for index, col in enumerate(cols.values()):
        AssetClassificationFactory(asset=col, classification=builtin("PII.EMAIL" if index % 2 == 0 else "PII.PHONE"),
                                   confidence=0.93, evidence=EVIDENCE)
    run = ScanRunFactory(scan__data_source=source)
    for col in list(cols.values())[:columns]:
        AssetChangeFactory(run=run, asset=col, kind=AssetChange.Kind.CHANGED,
                           changes={"data_type": ["integer", "bigint"],
                                    "properties": [{"primary_key": False}, {"primary_key": True}]})
    return source, database, schema, table, cols


def _page(client, asset, query=""):
    response = client.get(reverse(f"admin:catalog_{asset.type}asset_change", args=[asset.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def _crumbs(html: str) -> list[tuple[str, str]]:
    nav = re.search(r'<div class="breadcrumbs asset-crumbs">.*?</div>', html, re.S).group(0)
    return re.findall(r'<a href="([^"]+)" data-crumb="(\w+)"', nav)


def _no_json(html: str) -> None:
    """What a steward reads carries none of a JSON dict's or list's marks."""
    content = re.search(r'<div id="content".*', html, re.S).group(0)
    content = re.sub(r"<script.*?</script>", "", content, flags=re.S)
    for mark in ("{&quot;", "{&#x27;", '{"', "[&quot;", "[{", "&quot;:", "&#x27;:"):
        assert mark not in content, mark


def test_column_page_breadcrumbs_link_source_database_schema_table_and_column(world):
    source, database, schema, table, cols = _table(world.workspace_a)
    html = _page(staff_client(world, "steward"), cols["email"])
    assert _crumbs(html) == [
        (reverse("admin:sources_datasource_change", args=[source.pk]), "source"),
        (reverse("admin:catalog_databaseasset_change", args=[database.pk]), "database"),
        (reverse("admin:catalog_schemaasset_change", args=[schema.pk]), "schema"),
        (reverse("admin:catalog_tableasset_change", args=[table.pk]), "table"),
        (reverse("admin:catalog_columnasset_change", args=[cols["email"].pk]), "column"),
    ]
    assert [kind for _, kind in _crumbs(_page(staff_client(world), schema))] == ["source", "database", "schema"]


def test_table_page_lists_its_columns_with_type_nullability_sensitivity_classifications_and_profile(world):
    *_, table, cols = _table(world.workspace_a, columns=2)
    AssetClassification.objects.filter(asset=cols["col_1"]).update(status="rejected")
    html = _page(staff_client(world, "steward"), table)
    section = re.search(r'id="asset-columns".*?</section>', html, re.S).group(0)
    email = re.search(r'<tr data-column="email">.*?</tr>', section, re.S).group(0)
    assert f'href="{reverse("admin:catalog_columnasset_change", args=[cols["email"].pk])}"' in email
    assert "varchar(120)" in email and "<td>no</td>" in email  # not nullable
    assert "Confidential" in email
    assert "PII.EMAIL" in email and "suggested, 93%" in email
    assert "10% null · ~8,400 distinct · 6–41 characters" in email
    other = re.search(r'<tr data-column="col_1">.*?</tr>', section, re.S).group(0)
    assert 'data-status="rejected"' in other and "<td>yes</td>" in other
    _no_json(html)


def test_removed_columns_are_hidden_on_the_table_page_unless_asked_for(world):
    *_, table, cols = _table(world.workspace_a, columns=3)
    Asset.objects.filter(pk=cols["col_2"].pk).update(removed_at=timezone.now())
    client = staff_client(world, "steward")
    html = _page(client, table)
    assert 'data-column="col_1"' in html and 'data-column="col_2"' not in html
    assert "Show the 1 removed column" in html
    shown = _page(client, table, "?removed=yes")
    assert 'data-column="col_2"' in shown and "Hide the removed columns" in shown


def test_asset_lists_hide_removed_assets_by_default_with_a_filter_to_show_them(world):
    *_, cols = _table(world.workspace_a, columns=3)
    Asset.objects.filter(pk=cols["col_2"].pk).update(removed_at=timezone.now())
    client = staff_client(world, "steward")
    url = reverse("admin:catalog_columnasset_changelist")

    def listed(query=""):
        response = client.get(url + query)
        assert response.status_code == 200
        page = response.content.decode()
        return {name for name in ("email", "col_1", "col_2") if f"sales.<wbr>customers.<wbr>{name}<" in page}

    assert listed() == {"email", "col_1"}
    assert listed("?removed=no") == {"email", "col_1"}
    assert listed("?removed=yes") == {"col_2"}
    assert listed("?removed=all") == {"email", "col_1", "col_2"}
    assert 'href="?removed=all"' in client.get(url).content.decode()


def test_table_page_costs_the_same_queries_for_two_columns_as_for_forty(world):
    client = staff_client(world, "steward")
    small = _table(world.workspace_a, columns=2, name="small")[3]
    large = _table(world.workspace_a, columns=40, name="large")[3]
    _page(client, small)  # the first request reads the grants' and content types' caches

    def queries(asset):
        with CaptureQueriesContext(connection) as captured:
            html = _page(client, asset)
        return len(captured), html.count("<tr data-column=")

    (few, two), (many, forty) = queries(small), queries(large)
    assert (two, forty) == (2, 40)
    assert few == many


def test_an_asset_page_asks_each_permission_question_once(world):
    """Regression: Django asks an object page whether the user may view, change and delete it several times; each
    asking was a query (8 identical ones on a table's page)."""
    client = staff_client(world, "steward")
    table = _table(world.workspace_a, columns=2, name="small")[3]
    _page(client, table)
    with CaptureQueriesContext(connection) as captured:
        _page(client, table)
    statements = [query["sql"] for query in captured.captured_queries]
    # The questions (view, change, delete) may compile to one statement for a role that holds all three in the
    # workspace: at most once per question, never once per asking.
    repeated = {sql: statements.count(sql) for sql in statements if statements.count(sql) > 1}
    assert max(repeated.values(), default=1) <= len(("view", "change", "delete")), repeated


def test_column_page_shows_each_classification_with_readable_evidence_and_history(world):
    *_, cols = _table(world.workspace_a, columns=1)
    row = AssetClassification.objects.get(asset=cols["email"])
    services.asset_classification_confirm(asset_classification=row, acting_user=world.user("steward"),
                                          note="checked with the CRM team")
    html = _page(staff_client(world, "workspace_admin"), cols["email"])  # may read the audit trail
    article = re.search(r'<article class="classification-row.*?</article>', html, re.S).group(0)
    assert 'data-classification="PII.EMAIL"' in article and 'data-status="confirmed"' in article
    assert "95% of the non-empty sampled values passed the “email” check." in article
    assert "200 values sampled, 180 not empty, 170 distinct." in article
    assert "The column&#x27;s name says “email”." in article
    assert "<code>j***@e***.com</code>" in article
    assert "PII.USERNAME (55%)" in article
    assert "Last found by run #7." in article
    history = re.search(r'<ol class="history">.*?</ol>', article, re.S).group(0)
    assert f"Confirmed (was suggested) by {world.user('steward').username}" in history
    assert "checked with the CRM team" in history
    _no_json(html)


def test_a_steward_without_the_audit_trail_sees_the_decision_the_row_records(world):
    *_, cols = _table(world.workspace_a, columns=1)
    row = AssetClassification.objects.get(asset=cols["email"])
    services.asset_classification_reject(asset_classification=row, acting_user=world.user("steward"),
                                         note="test data")
    html = _page(staff_client(world, "steward"), cols["email"])
    history = re.search(r'<ol class="history">.*?</ol>', html, re.S).group(0)
    assert f"Rejected by {world.user('steward').username}: “test data”" in history
    assert "Suggested by scan" in history


def test_drift_shows_before_and_after_rows_on_the_asset_and_what_it_holds(world):
    *_, table, cols = _table(world.workspace_a, columns=2)
    client = staff_client(world, "steward")
    section = re.search(r'id="asset-drift".*?</section>', _page(client, table), re.S).group(0)
    assert section.count('<tr data-kind="changed">') == 2
    assert re.search(r"<th scope=\"row\">Data type</th><td>integer</td><td>bigint</td>", section)
    assert re.search(r"<th scope=\"row\">Primary key</th><td>no</td><td>yes</td>", section)
    assert f'href="{reverse("admin:catalog_columnasset_change", args=[cols["email"].pk])}">email</a>' in section
    on_column = re.search(r'id="asset-drift".*?</section>', _page(client, cols["email"]), re.S).group(0)
    assert on_column.count('<tr data-kind="changed">') == 1 and "this column" in on_column


def test_an_analyst_reads_the_pages_and_another_workspace_cannot(world):
    *_, table, cols = _table(world.workspace_a, columns=2)
    html = _page(staff_client(world, "analyst"), table)
    assert 'data-column="email"' in html
    outsider = staff_client(world, "other_workspace_user")
    response = outsider.get(reverse("admin:catalog_tableasset_change", args=[table.pk]))
    assert response.status_code in (302, 403, 404)
    assert "customers" not in response.content.decode()


def test_a_view_definition_and_foreign_keys_read_as_text():
    facts = {fact.label: fact for fact in property_facts({
        "primary_key": ["id"], "view_definition": "SELECT 1",
        "foreign_keys": [{"columns": ["customer_id"], "referred_path": ["shop", "public", "customers"],
                          "referred_columns": ["id"], "name": "fk_customer"}], "brand_new": {"a": [1, 2]}})}
    assert facts["Primary key"].text == "id"
    assert facts["Foreign keys"].text == "customer_id → shop.public.customers (id)"
    assert facts["Definition"].block and facts["Definition"].text == "SELECT 1"
    assert facts["Brand new"].text == "a: 1, 2"  # a key no one knows yet is still shown, as words


def test_evidence_profile_and_drift_render_as_words():
    evidence = evidence_of({"reasons": ["classified by hand"]})
    assert (evidence.facts, evidence.reasons, evidence.examples) == ([], ["classified by hand"], [])
    assert evidence_of({"match_share": None, "name_signal": None}).facts == [
        "The column's name says nothing about it: found from the values alone."]
    assert [(fact.label, fact.text) for fact in profile_facts({"null_ratio": 0.5, "min_length": 2,
                                                              "max_length": 2})] == [
        ("Empty (null)", "50%"), ("Value length", "2 to 2 characters")]
    assert [(row.label, row.before, row.after) for row in differences(
        {"is_nullable": [True, False], "default": [None, "0"],
         "properties": [{"unique": [["a", "b"]]}, {"unique": [["a"]], "owner": "app"}]})] == [
        ("Nullable", "yes", "no"), ("Default", "—", "0"), ("Unique", "a, b", "a"), ("Owner", "—", "app")]
    assert value_text(12345) == "12,345" and value_text(None) == "—"


@pytest.mark.parametrize("asset_type", ["database", "schema"])
def test_database_and_schema_pages_list_what_they_hold(world, asset_type):
    _, database, schema, table, _ = _table(world.workspace_a, columns=1)
    asset, child = (database, schema) if asset_type == "database" else (schema, table)
    html = _page(staff_client(world, "steward"), asset)
    section = re.search(r'id="asset-contents".*?</section>', html, re.S).group(0)
    assert f'href="{reverse(f"admin:catalog_{child.type}asset_change", args=[child.pk])}">{child.name}</a>' in section
    # "All of them, removed ones too": the list's own default would leave the removed out.
    assert f"?parent__id__exact={asset.pk}&amp;removed=all" in section
    _no_json(html)


def test_a_removed_asset_says_so_on_its_page(world):
    *_, table, _ = _table(world.workspace_a, columns=1)
    Asset.objects.filter(pk=table.pk).update(removed_at=timezone.now() - timedelta(days=1))
    html = _page(staff_client(world, "steward"), table)
    assert "Removed from its source" in html


def test_every_link_of_an_asset_page_opens(world):
    """The crumbs, the rows and the "all of them" links lead to pages that answer (a list filtered by parent is a
    lookup the admin must allow)."""
    _, database, schema, table, cols = _table(world.workspace_a, columns=2)
    client = staff_client(world, "steward")
    links = set()
    for asset in (database, schema, table, cols["email"]):
        html = _page(client, asset)
        content = html[html.index('<div class="breadcrumbs'):]
        links |= {href.replace("&amp;", "&") for href in re.findall(r'href="(/admin/[^"]+)"', content)}
    assert any("parent__id__exact" in link for link in links)
    assert any(link.startswith(reverse("admin:scanning_scanrun_changelist")) for link in links)
    for link in sorted(links):
        if "logout" in link or "password_change" in link:
            continue
        assert client.get(link).status_code == 200, link


def test_each_asset_list_shows_what_its_type_has(world):
    _table(world.workspace_a, columns=1)
    client = staff_client(world, "steward")

    def headers(changelist, query=""):
        html = client.get(reverse(f"admin:catalog_{changelist}_changelist") + query).content.decode()
        return set(re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html))

    assert {"data_type", "sensitivity"} <= headers("columnasset")
    assert not {"row_count", "removed_at"} & headers("columnasset")
    assert "row_count" in headers("tableasset") and "data_type" not in headers("tableasset")
    assert "removed_at" in headers("columnasset", "?removed=all")


def test_an_asset_page_shows_the_latest_drift_and_links_to_the_rest(world):
    from scanning.admin_assets import DRIFT_SHOWN

    *_, table, _ = _table(world.workspace_a, columns=DRIFT_SHOWN + 5)
    client = staff_client(world, "steward")
    section = re.search(r'id="asset-drift".*?</section>', _page(client, table), re.S).group(0)
    assert section.count('<tr data-kind="changed">') == DRIFT_SHOWN
    link = re.search(r'<a href="([^"]+)">Every change of it in the drift list</a>', section).group(1)
    listed = client.get(link.replace("&amp;", "&"))
    assert listed.status_code == 200
    assert re.findall(r"(\d+) asset changes?", listed.content.decode())[:1] == [str(DRIFT_SHOWN + 5)]


def test_a_column_never_profiled_says_why_on_its_page_and_under_its_tables_columns(world):
    *_, table, cols = _table(world.workspace_a, columns=2)
    client = staff_client(world, "steward")
    assert "Profiling enabled" not in _page(client, table)  # profiled columns: their figures, no note
    Asset.objects.filter(parent=table).update(profile={})
    table_page = _page(client, table)
    assert 'id="not-profiled"' in table_page and "Profiling enabled" in table_page
    assert "Not profiled: only a scan whose rule set has" in _page(client, cols["email"])


def test_a_routine_s_page_shows_its_definition_and_why_its_lineage_could_not_be_read(world):
    source, _database, schema, _table_asset, _cols = _table(world.workspace_a)
    routine = Asset.objects.create(
        data_source=source, parent=schema, type=Asset.Type.ROUTINE, name="archive(p_from integer)",
        qualified_name=f'{schema.qualified_name}."archive(p_from integer)"',
        properties={"kind": "procedure", "language": "plpgsql", "arguments": "p_from integer",
                    "definition": "CREATE OR REPLACE PROCEDURE sales.archive(p_from integer) …"})
    now = timezone.now()
    DefinitionLineage.objects.create(asset=routine, text_hash="0" * 64, read_at=now, seen_at=now,
                                     problem="line 2: Invalid expression / Unexpected token near 'MERGE'")
    html = _page(staff_client(world, "steward"), routine)
    assert "Lineage from the definition" in html and "Unexpected token near" in html
    assert "CREATE OR REPLACE PROCEDURE sales.archive" in html and "Arguments" in html
    _no_json(html)
    schema_page = _page(staff_client(world, "steward"), schema)
    assert "archive(p_from integer)" in schema_page  # a schema lists its routines with its tables and views


def test_a_definition_reading_counts_flows_in_the_words_of_the_lineage_picture(world):
    source, _database, schema, _table_asset, _cols = _table(world.workspace_a)
    view = Asset.objects.create(data_source=source, parent=schema, type=Asset.Type.VIEW, name="recent",
                                qualified_name=f"{schema.qualified_name}.recent",
                                properties={"definition": "CREATE VIEW recent AS SELECT 1"})
    now = timezone.now()
    DefinitionLineage.objects.create(asset=view, text_hash="0" * 64, read_at=now, seen_at=now,
                                     table_edges=3, column_edges=7)
    html = _page(staff_client(world, "steward"), view)
    # The picture says "flows"; the reading said "edges", a graph word a steward does not use.
    assert "3 flows between tables and 7 between columns" in html and "column edge" not in html


def test_what_scans_read_is_not_called_properties_beside_the_properties_section(world):
    # Two different things were both titled "Properties" on one page: the keys and definition a scan read, and the
    # custom properties stewards set (their own section).
    *_, table, _ = _table(world.workspace_a, columns=1)
    table.properties = {"primary_key": ["id"]}
    table.save(update_fields=["properties"])
    html = _page(staff_client(world, "steward"), table)
    assert re.search(r'<div class="form-row field-properties_shown">.*?<label>Read from the source:</label>', html,
                     re.S)
    assert "<label>Properties:</label>" not in html
    assert 'id="asset-properties"' in html  # the custom properties keep the name


def test_the_lists_break_a_long_qualified_name_between_its_parts(world):
    # A name too long for its cell broke in the middle of a part ("customer_orders.customer_" / "id"): each dot is
    # now a line-break opportunity, and the column still sorts by the qualified name.
    *_, table, cols = _table(world.workspace_a, columns=1, name="customer_orders")
    page = staff_client(world, "steward").get(reverse("admin:catalog_columnasset_changelist")).content.decode()
    assert "shop.<wbr>sales.<wbr>customer_orders.<wbr>email</a>" in page
    assert re.search(r'<th scope="col" class="sortable column-qualified_name_shown sorted ascending">', page)
    hostile = Asset.objects.filter(pk=cols["email"].pk)
    hostile.update(qualified_name='shop.sales.customer_orders."<b>x</b>"')
    page = staff_client(world, "steward").get(reverse("admin:catalog_columnasset_changelist")).content.decode()
    assert "&quot;&lt;b&gt;x&lt;/b&gt;&quot;" in page and "<b>x</b>" not in page
