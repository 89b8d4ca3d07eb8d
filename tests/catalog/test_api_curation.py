"""/api/v1/assets/{id}/curation/ (GET, PUT, PATCH) and the asset list's curation filters: members read, the
curation rule writes (stewards, data owners, the asset's own owners), every change audited."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.actors import SYSTEM
from accounts.models import AuditEvent
from catalog import curation, glossary
from catalog.models import Asset, AssetCertification, AssetOwner
from tests.catalog.classification_factories import builtin
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.permission_matrix import PermissionMatrix, table

WHOLE = {"description": "One row per **customer**.", "owners": [], "tags": [], "terms": [],
         "certification": "certified", "certification_note": "Checked."}


class TestAssetCurationMatrix(PermissionMatrix):
    """``curation`` reads (GET); ``put`` and ``patch`` write the same route; ``bulk`` certifies workspace A's
    asset by id (tests/catalog/test_bulk_curation.py covers it in depth)."""

    basename = "assetcuration"
    expected = table(
        "curation_a curation_b put_a put_b patch_a patch_b bulk",
        anonymous=           "401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403",
        analyst=             "200 404 403 404 403 404 403",
        steward=             "200 404 200 404 200 404 200",
        workspace_admin=     "200 404 200 404 200 404 200",
        auditor=             "200 200 403 403 403 403 403",
        other_workspace_user="404 200 404 200 404 200 400",
        staff_unverified=    "403 403 403 403 403 403 403",
        superuser=           "200 200 200 200 200 200 200",
    )

    def objects(self, world):
        assets = tuple(AssetFactory(data_source__workspace=workspace, type=Asset.Type.TABLE)
                       for workspace in (world.workspace_a, world.workspace_b))
        self.asset_a = assets[0].pk
        return assets

    def _request(self, client, world, column, obj_a, obj_b):
        action, target = self._route(column)
        if action == "bulk":
            return client.post(reverse("api:assetcuration-bulk"),
                               {"assets": [self.asset_a], "certification": "certified"}, format="json")
        url = reverse("api:assetcuration-curation", args=[{"a": obj_a, "b": obj_b}[target].pk])
        if action == "put":
            return client.put(url, WHOLE, format="json")
        if action == "patch":
            return client.patch(url, {"description": "Changed."}, format="json")
        return client.get(url)


def _url(asset):
    return reverse("api:assetcuration-curation", args=[asset.pk])


@pytest.fixture
def table_a(world):
    return AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a), type=Asset.Type.TABLE,
                        name="customers", qualified_name="shop.public.customers")


def _curate(world, asset, count):
    """``count`` owners, tags and terms on ``asset`` (through the services, as a steward would)."""
    users = [world.user(name) for name in ("steward", "analyst", "workspace_admin", "auditor")][:count]
    for user in users:
        curation.asset_owner_add(asset=asset, user=user, owner_type="technical", acting_user=SYSTEM)
    for _ in range(count):
        curation.asset_tag_add(asset=asset, tag=TagFactory(workspace=world.workspace_a), acting_user=SYSTEM)
        glossary.glossary_term_link(term=GlossaryTermFactory(workspace=world.workspace_a), asset=asset,
                                    acting_user=SYSTEM)


def test_reading_costs_the_same_queries_whatever_the_curation(world, table_a):
    other = AssetFactory(data_source=table_a.data_source)
    client = world.client("analyst")
    _curate(world, table_a, 1)
    _curate(world, other, 4)
    curation.asset_certify(asset=other, status="certified", acting_user=world.user("steward"))
    client.get(_url(table_a))  # warm per-process caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(_url(table_a)).status_code == 200
    with CaptureQueriesContext(connection) as many:
        body = client.get(_url(other)).json()
    assert len(many) == len(few)
    assert len(body["owners"]) == len(body["tags"]) == len(body["terms"]) == 4
    assert body["certification"] == "certified" and body["certified_by"] == world.user("steward").pk


def test_put_sets_the_whole_curation_audited_and_a_repeat_writes_nothing(world, table_a):
    steward = world.user("steward")
    tag = TagFactory(workspace=world.workspace_a, name="gold")
    term = GlossaryTermFactory(workspace=world.workspace_a, name="Customer")
    group = Group.objects.create(name="finance")
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    body = {"description": "<script>alert(1)</script> One row per **customer**.",
            "owners": [{"user": world.user("analyst").pk, "owner_type": "business"},
                       {"group": group.pk, "owner_type": "steward"}],
            "tags": [tag.pk], "terms": [term.pk],
            "certification": "certified", "certification_note": "Reconciled with finance.",
            "certification_expires_at": expires}
    response = world.client("steward").put(_url(table_a), body, format="json")
    assert response.status_code == 200, response.content
    shown = response.json()
    assert "<script" not in shown["description_html"] and "<strong>customer</strong>" in shown["description_html"]
    assert sorted((owner["name"], owner["owner_type"]) for owner in shown["owners"]) == [("analyst", "business"),
                                                                                        ("finance", "steward")]
    assert (shown["tags"], shown["terms"]) == ([tag.pk], [term.pk])
    assert (shown["certification"], shown["certified_by"]) == ("certified", steward.pk)
    assert shown["certification_note"] == "Reconciled with finance."
    events = AuditEvent.objects.filter(object_id=str(table_a.pk), event__startswith="asset.").order_by("id")
    assert [event.event for event in events] == ["asset.changed", "asset.owner_added", "asset.owner_added",
                                                 "asset.tag_added", "asset.term_linked", "asset.certified"]
    assert {event.actor for event in events} == {steward}
    again = world.client("steward").put(_url(table_a), body, format="json")
    assert again.status_code == 200 and again.json() == shown
    assert events.count() == 6
    # Replacing whole: empty lists and a null certification take everything off, each audited.
    cleared = {"description": "", "owners": [], "tags": [], "terms": [], "certification": None}
    assert world.client("steward").put(_url(table_a), cleared, format="json").status_code == 200
    assert not AssetOwner.objects.filter(asset=table_a).exists()
    assert not AssetCertification.objects.filter(asset=table_a).exists()
    assert {"asset.owner_removed", "asset.tag_removed", "asset.term_unlinked", "asset.certification_ended"} <= set(
        events.values_list("event", flat=True))


def test_put_needs_every_part_and_patch_changes_only_those_given(world, table_a):
    tag = TagFactory(workspace=world.workspace_a)
    curation.asset_tag_add(asset=table_a, tag=tag, acting_user=SYSTEM)
    client = world.client("steward")
    response = client.put(_url(table_a), {"description": "x"}, format="json")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"owners", "tags", "terms", "certification"}
    response = client.patch(_url(table_a), {"description": "Only this."}, format="json")
    assert response.status_code == 200 and response.json()["tags"] == [tag.pk]
    table_a.refresh_from_db()
    assert table_a.description == "Only this."


@pytest.mark.parametrize(("body", "field"), [
    ({"tags": ["theirs"]}, "tags"),
    ({"terms": ["theirs"]}, "terms"),
    ({"owners": [{"user": "outsider", "owner_type": "technical"}]}, "user"),
    ({"owners": [{"user": "analyst", "owner_type": "sponsor"}]}, "owner_type"),
    ({"owners": [{"owner_type": "technical"}]}, "owner"),
    ({"certification": "approved"}, "certification"),
    ({"certification_note": "Without the certification."}, "certification"),
    ({"certification": "certified", "certification_expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ({"description": "x" * 10_001}, "description"),
])
def test_bad_curation_is_a_400_naming_the_field_and_changes_nothing(world, table_a, body, field):
    theirs = {"tags": TagFactory(workspace=world.workspace_b).pk,
              "terms": GlossaryTermFactory(workspace=world.workspace_b).pk}
    for name in ("tags", "terms"):
        if body.get(name) == ["theirs"]:
            body = {name: [theirs[name]]}
    for owner in body.get("owners", []):
        if "user" in owner:
            owner["user"] = world.user(owner["user"]).pk
    response = world.client("steward").patch(_url(table_a), body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json()["errors"])
    assert not AuditEvent.objects.filter(event__startswith="asset.").exists()


def test_a_deprecated_term_refuses_the_whole_request(world, table_a):
    tag = TagFactory(workspace=world.workspace_a)
    old = GlossaryTermFactory(workspace=world.workspace_a, status="deprecated")
    response = world.client("steward").patch(_url(table_a), {"tags": [tag.pk], "terms": [old.pk]}, format="json")
    assert response.status_code == 400
    assert not table_a.tag_links.exists() and not AuditEvent.objects.filter(event="asset.tag_added").exists()


def test_owners_curate_what_they_own_and_nothing_else(world, table_a):
    """The analyst reads only, until named an owner (here through a group): then they curate that asset."""
    analyst, client = world.user("analyst"), world.client("analyst")
    other = AssetFactory(data_source=table_a.data_source)
    assert client.patch(_url(table_a), {"description": "Mine."}, format="json").status_code == 403
    group = Group.objects.create(name="crm-team")
    analyst.groups.add(group)
    curation.asset_owner_add(asset=table_a, group=group, owner_type="technical", acting_user=SYSTEM)
    tag = TagFactory(workspace=world.workspace_a)
    response = client.patch(_url(table_a), {"description": "Mine.", "tags": [tag.pk],
                                            "certification": "deprecated"}, format="json")
    assert response.status_code == 200, response.content
    assert AuditEvent.objects.get(event="asset.changed").actor == analyst
    assert client.patch(_url(other), {"description": "Not mine."}, format="json").status_code == 403


# --- the asset list's curation filters -----------------------------------------------------------------------


@pytest.fixture
def curated(world):
    """Three tables: gold (tag, term, owned by the analyst, certified), old (owned by a group of the steward's,
    deprecated), plain (nothing)."""
    source = DataSourceFactory(workspace=world.workspace_a)
    gold, old, plain = (AssetFactory(data_source=source, name=name, qualified_name=f"shop.{name}")
                        for name in ("gold", "old", "plain"))
    tag = TagFactory(workspace=world.workspace_a)
    term = GlossaryTermFactory(workspace=world.workspace_a, classification=builtin("PII.EMAIL"))
    group = Group.objects.create(name="stewards")
    world.user("steward").groups.add(group)
    curation.asset_tag_add(asset=gold, tag=tag, acting_user=SYSTEM)
    glossary.glossary_term_link(term=term, asset=gold, acting_user=SYSTEM)
    curation.asset_owner_add(asset=gold, user=world.user("analyst"), owner_type="business", acting_user=SYSTEM)
    curation.asset_owner_add(asset=gold, user=world.user("auditor"), owner_type="technical", acting_user=SYSTEM)
    curation.asset_owner_add(asset=old, group=group, owner_type="steward", acting_user=SYSTEM)
    curation.asset_certify(asset=gold, status="certified", acting_user=SYSTEM)
    curation.asset_certify(asset=old, status="deprecated", acting_user=SYSTEM)
    return {"gold": gold, "old": old, "plain": plain, "tag": tag, "term": term, "source": source}


@pytest.mark.parametrize(("query", "expected"), [
    ("?tag={tag}", {"gold"}),
    ("?term={term}", {"gold"}),
    ("?owner={analyst}", {"gold"}),
    ("?owner={steward}", {"old"}),  # through their group
    ("?certification=certified", {"gold"}),
    ("?certification=deprecated", {"old"}),
    ("?certification=none", {"plain"}),
    ("?tag={tag}&certification=deprecated", set()),
    ("?tag=0", set()),
])
def test_curation_filters_select_assets(world, curated, query, expected):
    query = query.format(tag=curated["tag"].pk, term=curated["term"].pk, analyst=world.user("analyst").pk,
                         steward=world.user("steward").pk)
    response = world.client("analyst").get(reverse("api:asset-list") + f"?data_source={curated['source'].pk}&"
                                           + query[1:])
    assert response.status_code == 200, response.content
    # Once each, though gold has two owners.
    assert [row["id"] for row in response.json()["results"]] == sorted(
        (curated[name].pk for name in expected), key=lambda pk: Asset.objects.get(pk=pk).qualified_name)


@pytest.mark.parametrize(("query", "parameter"), [
    ("?tag=gold", "tag"), ("?term=x", "term"), ("?owner=me", "owner"), ("?certification=maybe", "certification"),
])
def test_a_bad_curation_filter_is_a_400_naming_it(world, query, parameter):
    response = world.client("analyst").get(reverse("api:asset-list") + query)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [parameter]


def test_a_past_expiry_names_the_field_the_caller_sent(world, table_a):
    # Regression: the 400 named "expires_at", a field the curation document does not have; in bulk too.
    past = {"certification": "certified", "certification_expires_at": "2000-01-01T00:00:00Z"}
    client = world.client("steward")
    one = client.patch(_url(table_a), past, format="json")
    many = client.post(reverse("api:assetcuration-bulk"), {"assets": [table_a.pk], **past}, format="json")
    for response in (one, many):
        assert response.status_code == 400, response.content
        assert [error["field"] for error in response.json()["errors"]] == ["certification_expires_at"]
