"""POST /api/v1/assets/bulk/ (catalog.asset_curation.assets_curate): many assets curated in one audited, all-or-
nothing operation, selected by ids or by the asset list's filters, with a cap. The audit rows are read: one per
change on its asset (as by hand), and one asset.bulk_curated per workspace, all of one request_id."""
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import asset_curation, curation
from catalog.models import Asset, AssetClassification, AssetOwner, AssetTag
from tests.catalog.classification_factories import builtin
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory

URL = "/api/v1/assets/bulk/"


@pytest.fixture
def columns(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    table = AssetFactory(data_source=source, type=Asset.Type.TABLE, name="customers")
    return [AssetFactory(data_source=source, parent=table, type=Asset.Type.COLUMN, name=name,
                         qualified_name=f"shop.customers.{name}") for name in ("email", "phone", "name")]


def _post(world, persona, body):
    return world.client(persona).post(URL, body, format="json")


def test_the_route_is_the_bulk_action():
    assert reverse("api:assetcuration-bulk") == URL


def test_ids_add_tags_owners_and_certify_audited_per_asset_and_once_for_the_operation(world, columns):
    steward, tag = world.user("steward"), TagFactory(workspace=world.workspace_a, name="gold")
    ids = [column.pk for column in columns]
    response = _post(world, "steward", {
        "assets": ids, "tags": {"add": [tag.pk]},
        "owners": {"add": [{"user": world.user("analyst").pk, "owner_type": "business"}]},
        "certification": "certified", "certification_note": "Reviewed in bulk."})
    assert response.status_code == 200, response.content
    assert response.json() == {"assets": 3, "changed": 3, "changed_ids": sorted(ids), "changed_ids_complete": True,
                               "operations": {"owners": {"added": 3, "removed": 0, "unchanged": 0},
                                              "tags": {"added": 3, "removed": 0, "unchanged": 0},
                                              "certification": {"changed": 3, "unchanged": 0}}}
    assert AssetTag.objects.filter(asset__in=columns, tag=tag).count() == 3
    per_asset = AuditEvent.objects.filter(event__in=["asset.tag_added", "asset.owner_added", "asset.certified"])
    assert sorted((int(event.object_id), event.event) for event in per_asset) == sorted(
        (pk, event) for pk in ids for event in ("asset.tag_added", "asset.owner_added", "asset.certified"))
    assert {event.actor for event in per_asset} == {steward}
    bulk = AuditEvent.objects.get(event="asset.bulk_curated")
    assert (bulk.workspace, bulk.actor) == (world.workspace_a, steward)
    assert bulk.extra["assets"] == 3 and bulk.extra["asset_ids"] == sorted(ids)
    assert bulk.extra["operation"]["tags"] == {"add": [tag.pk]}
    assert bulk.extra["operation"]["certification"]["note"] == "Reviewed in bulk."
    assert bulk.extra["selection"] == {"assets": ids}
    assert {event.request_id for event in [*per_asset, bulk]} == {bulk.request_id} and bulk.request_id
    # The same again changes nothing on the assets: only the operation itself is recorded.
    assert _post(world, "steward", {"assets": ids, "tags": {"add": [tag.pk]}}).status_code == 200
    assert AuditEvent.objects.filter(event="asset.tag_added").count() == 3


def test_filters_select_like_the_asset_list_and_terms_classify_columns(world, columns):
    tag = TagFactory(workspace=world.workspace_a)
    for column in columns[:2]:
        curation.asset_tag_add(asset=column, tag=tag, acting_user=SYSTEM)
    term = GlossaryTermFactory(workspace=world.workspace_a, classification=builtin("PII.EMAIL"))
    response = _post(world, "steward", {"filters": {"type": ["column"], "tag": tag.pk}, "terms": {"add": [term.pk]}})
    assert response.status_code == 200 and response.json()["assets"] == 2
    assert response.json()["operations"] == {"terms": {"added": 2, "removed": 0, "unchanged": 0}}
    assert set(term.assets.all()) == set(columns[:2])
    confirmed = AssetClassification.objects.filter(classification__name="PII.EMAIL", status="confirmed")
    assert set(confirmed.values_list("asset_id", flat=True)) == {columns[0].pk, columns[1].pk}
    bulk = AuditEvent.objects.get(event="asset.bulk_curated")
    assert bulk.extra["selection"] == {"filters": {"type": ["column"], "tag": tag.pk}}


def test_set_replaces_and_remove_takes_off(world, columns):
    group = Group.objects.create(name="crm")
    for column in columns:
        curation.asset_owner_add(asset=column, user=world.user("analyst"), owner_type="business", acting_user=SYSTEM)
    old, kept = TagFactory(workspace=world.workspace_a), TagFactory(workspace=world.workspace_a)
    for tag in (old, kept):
        curation.asset_tag_add(asset=columns[0], tag=tag, acting_user=SYSTEM)
    response = _post(world, "steward", {"assets": [column.pk for column in columns],
                                        "owners": {"set": [{"group": group.pk, "owner_type": "technical"}]},
                                        "tags": {"remove": [old.pk]}})
    assert response.status_code == 200, response.content
    assert set(AssetOwner.objects.values_list("group__name", "owner_type", "user")) == {("crm", "technical", None)}
    assert list(columns[0].tags.all()) == [kept]
    assert AuditEvent.objects.filter(event="asset.owner_removed").count() == 3
    assert AuditEvent.objects.filter(event="asset.tag_removed").count() == 1


def test_past_the_cap_is_a_400_naming_it(world, columns, monkeypatch):
    monkeypatch.setattr(asset_curation, "MAX_BULK_ASSETS", 2)
    response = _post(world, "steward", {"filters": {"type": "column"}, "certification": "certified"})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["detail"]) == ("assets", "At most 2 assets per bulk operation; this selection has "
                                                           "3: narrow it.")
    assert not AuditEvent.objects.filter(event__startswith="asset.").exists()


def test_too_many_ids_are_refused_before_anything_is_read(world):
    response = _post(world, "steward", {"assets": list(range(1, asset_curation.MAX_BULK_ASSETS + 2)),
                                        "certification": "certified"})
    assert response.status_code == 400
    assert "At most 5,000 assets per bulk operation" in str(response.json())


def test_one_asset_the_caller_may_not_curate_is_a_403_naming_how_many_and_changes_nothing(world, columns):
    """The analyst owns one of the three columns: they may curate it, not the two others."""
    curation.asset_owner_add(asset=columns[0], user=world.user("analyst"), owner_type="technical",
                             acting_user=SYSTEM)
    tag = TagFactory(workspace=world.workspace_a)
    response = _post(world, "analyst", {"assets": [column.pk for column in columns], "tags": {"add": [tag.pk]}})
    assert response.status_code == 403
    assert "You may not curate 2 of the 3 selected assets" in response.json()["detail"]
    assert not AssetTag.objects.exists() and not AuditEvent.objects.filter(event="asset.tag_added").exists()
    # Their own asset alone, they may.
    assert _post(world, "analyst", {"assets": [columns[0].pk], "tags": {"add": [tag.pk]}}).status_code == 200


def test_a_refusal_on_the_last_asset_undoes_the_others(world, columns):
    """The superuser selects workspace A's columns and one of B; A's tag cannot go on B's asset: nothing is
    written on any of them."""
    theirs = AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_b))
    tag = TagFactory(workspace=world.workspace_a)
    response = _post(world, "superuser", {"assets": [*(column.pk for column in columns), theirs.pk],
                                          "tags": {"add": [tag.pk]}})
    assert response.status_code == 400 and "another workspace" in str(response.json())
    assert not AssetTag.objects.exists() and not AuditEvent.objects.filter(event__startswith="asset.").exists()


def test_assets_of_two_workspaces_get_a_bulk_row_each(world, columns):
    theirs = AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_b))
    response = _post(world, "superuser", {"assets": [columns[0].pk, theirs.pk], "certification": "deprecated"})
    assert response.status_code == 200, response.content
    rows = {event.workspace_id: event.extra["asset_ids"] for event in AuditEvent.objects.filter(
        event="asset.bulk_curated")}
    assert rows == {world.workspace_a.pk: [columns[0].pk], world.workspace_b.pk: [theirs.pk]}


@pytest.mark.parametrize("removed", ["yes", "maybe", "\x00"])
def test_a_boolean_filter_the_list_refuses_is_refused_in_bulk_too(world, columns, removed):
    # The list answers 400 for ?removed=yes; bulk read it as "no filter", which also dropped the default that
    # hides removed assets — curating them too — and recorded the value as given (a NUL: a 500 on PostgreSQL).
    gone = columns[2]
    gone.removed_at = timezone.now()
    gone.save(update_fields=["removed_at"])
    response = _post(world, "steward", {"filters": {"removed": removed, "type": "column"},
                                        "certification": "certified"})
    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == ["filters.removed"]
    assert not AuditEvent.objects.filter(event="asset.bulk_curated").exists()


def test_filters_go_in_the_body_not_the_query_string(world, columns):
    response = world.client("steward").post(URL + "?type=column", {"assets": [columns[0].pk],
                                                                  "certification": "certified"}, format="json")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["type"]


@pytest.mark.parametrize(("body", "field"), [
    ({"certification": "certified"}, "assets"),  # no selection
    ({"assets": ["mine"], "filters": {"type": "column"}, "certification": "certified"}, "assets"),  # both
    ({"assets": [], "certification": "certified"}, "assets"),
    ({"filters": {"colour": "red"}, "certification": "certified"}, "filters"),
    ({"filters": {"type": "index"}, "certification": "certified"}, "filters"),
    ({"filters": {"type": {"nested": 1}}, "certification": "certified"}, "filters"),
    ({"assets": ["mine"]}, None),  # nothing to change: the request as a whole
    ({"assets": ["mine"], "tags": {"set": [], "add": []}}, "tags"),
    ({"assets": ["mine"], "tags": {}}, "tags"),
    ({"assets": ["theirs"], "certification": "certified"}, "assets"),  # another workspace's: as if missing
    ({"assets": ["mine"], "terms": {"add": ["theirs_term"]}}, "terms"),
    ({"assets": ["mine"], "certification": "approved"}, "certification"),
    ({"assets": ["mine"], "certification_note": "No certification."}, "certification"),
    ({"assets": [10**30], "certification": "certified"}, "assets"),  # no database integer (SQLite raised)
    ({"assets": [-(10**30)], "certification": "certified"}, "assets"),
])
def test_bad_requests_are_400s_naming_the_field(world, columns, body, field):
    names = {"mine": columns[0].pk, "theirs": AssetFactory(data_source__workspace=world.workspace_b).pk,
             "theirs_term": GlossaryTermFactory(workspace=world.workspace_b).pk}
    body = {key: ([names.get(item, item) for item in value] if isinstance(value, list) else value)
            for key, value in body.items()}
    if "terms" in body:
        body["terms"] = {"add": [names["theirs_term"]]}
    response = _post(world, "steward", body)
    assert response.status_code == 400, response.content
    assert field in {error["field"] and error["field"].split(".")[0] for error in response.json()["errors"]}, (
        response.json())
    assert not AuditEvent.objects.filter(event__startswith="asset.").exists()


def test_owners_tags_and_certification_cost_the_same_statements_for_3_or_30_assets(world):
    steward, analyst = world.user("steward"), world.user("analyst")
    source = DataSourceFactory(workspace=world.workspace_a)
    tag, old = TagFactory(workspace=world.workspace_a), TagFactory(workspace=world.workspace_a)

    def statements(count):
        assets = [AssetFactory(data_source=source) for _ in range(count)]
        for asset in assets:
            curation.asset_tag_add(asset=asset, tag=old, acting_user=SYSTEM)
            curation.asset_certify(asset=asset, status="deprecated", acting_user=SYSTEM)
        with CaptureQueriesContext(connection) as queries:
            asset_curation.assets_curate(
                assets=Asset.objects.filter(pk__in=[asset.pk for asset in assets]), acting_user=steward,
                tags={"add": [tag], "remove": [old]}, owners={"set": [{"user": analyst, "owner_type": "business"}]},
                certification={"status": "certified"})
        assert AuditEvent.objects.filter(event="asset.certified", object_id__in=[str(a.pk) for a in assets]).count(
        ) == count
        return len(queries)

    statements(2)  # warm the caches (content types, the steward's grants)
    assert statements(3) == statements(30)
