"""The admin's asset lists filter by tag, glossary term, owner and certification as the API's asset list does (issue
13, new-user pass): the same assets for the same value, choices limited to what the user sees, a value it cannot
read a redirect with Django's error flag (not a 500), and one query for the three lists of choices."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.actors import SYSTEM
from catalog import asset_curation, curation, glossary
from catalog.models import AssetOwner
from tests.catalog.classification_factories import asset_tree
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.catalog.factories import DataSourceFactory
from tests.support.factories import UserFactory, membership
from tests.support.personas import staff_client

COLUMNS = reverse("admin:catalog_columnasset_changelist")
TABLES = reverse("admin:catalog_tableasset_changelist")
API = reverse("api:asset-list")


def _shop(workspace, name, columns=("email", "phone", "city")):
    source = DataSourceFactory(workspace=workspace, name=name)
    _, _, table, cols = asset_tree(source, table="customers", columns=dict.fromkeys(columns, "text"))
    return table, cols


@pytest.fixture
def curated(world):
    """Workspace A's columns tagged, linked, owned and certified in several ways; workspace B's own tag, term and
    owner, which no filter of A's members may offer."""
    table, cols = _shop(world.workspace_a, "Shop")
    gold = TagFactory(workspace=world.workspace_a, name="gold")
    TagFactory(workspace=world.workspace_a, name="unused")
    email_term = GlossaryTermFactory(workspace=world.workspace_a, name="E-mail address")
    owner = UserFactory(username="olga")
    membership(owner, world.workspace_a, "analyst")
    group = Group.objects.create(name="finance")
    group_member = UserFactory(username="gus")
    group_member.groups.add(group)
    curation.asset_tag_add(asset=cols["email"], tag=gold, acting_user=SYSTEM)
    curation.asset_tag_add(asset=table, tag=gold, acting_user=SYSTEM)
    glossary.glossary_term_link(term=email_term, asset=cols["email"], acting_user=SYSTEM)
    AssetOwner.objects.create(asset=cols["phone"], user=owner, owner_type="business")
    AssetOwner.objects.create(asset=cols["city"], group=group, owner_type="technical")
    curation.asset_certify(asset=cols["email"], status="certified", acting_user=SYSTEM,
                           expires_at=timezone.now() + timedelta(days=5))
    curation.asset_certify(asset=cols["phone"], status="deprecated", acting_user=SYSTEM)
    _, theirs = _shop(world.workspace_b, "Theirs")
    their_tag = TagFactory(workspace=world.workspace_b, name="zq-their-tag")
    their_term = GlossaryTermFactory(workspace=world.workspace_b, name="Zq their term")
    their_owner = UserFactory(username="zq-their-owner")
    membership(their_owner, world.workspace_b, "analyst")
    curation.asset_tag_add(asset=theirs["email"], tag=their_tag, acting_user=SYSTEM)
    glossary.glossary_term_link(term=their_term, asset=theirs["email"], acting_user=SYSTEM)
    AssetOwner.objects.create(asset=theirs["email"], user=their_owner, owner_type="business")
    return {"table": table, "cols": cols, "gold": gold, "term": email_term, "owner": owner,
            "group_member": group_member, "their_tag": their_tag, "their_term": their_term,
            "their_owner": their_owner}


def _listed(response) -> set[int]:
    assert response.status_code == 200
    return {asset.pk for asset in response.context["cl"].result_list}


def _choices(response, title: str) -> list[str]:
    spec = next(spec for spec in response.context["cl"].filter_specs if spec.title == title)
    return [label for _, label in spec.lookup_choices]


def test_the_filters_offer_only_what_the_user_sees(world, curated):
    response = staff_client(world).get(COLUMNS)
    assert _choices(response, "tag") == ["gold", "unused"]
    assert _choices(response, "glossary term") == ["E-mail address"]
    assert _choices(response, "owner") == ["gus", "olga"]  # gus through the group that owns a column
    assert _choices(response, "certification") == ["Certified", "Deprecated", "None"]
    html = response.content.decode()
    for theirs in ("zq-their-tag", "Zq their term", "zq-their-owner"):
        assert theirs not in html
    other = staff_client(world, "other_workspace_user").get(COLUMNS)
    assert _choices(other, "tag") == ["zq-their-tag"]
    assert _choices(other, "owner") == ["zq-their-owner"]


@pytest.mark.parametrize(("parameter", "value", "expected"), [
    ("tag", "gold", {"email"}),
    ("term", "term", {"email"}),
    ("owner", "owner", {"phone"}),
    ("owner", "group_member", {"city"}),
    ("certification", "certified", {"email"}),
    ("certification", "deprecated", {"phone"}),
    ("certification", "none", {"city"}),
])
def test_each_filter_lists_what_the_api_lists_for_the_same_value(world, curated, parameter, value, expected):
    value = str(curated[value].pk) if value in curated else value
    listed = _listed(staff_client(world).get(f"{COLUMNS}?{parameter}={value}"))
    assert listed == {curated["cols"][name].pk for name in expected}
    api = world.client("steward").get(f"{API}?type=column&{parameter}={value}").json()["results"]
    assert {row["id"] for row in api} == listed


def test_filters_combine_and_apply_to_every_asset_type(world, curated):
    client = staff_client(world)
    gold = curated["gold"].pk
    assert _listed(client.get(f"{TABLES}?tag={gold}")) == {curated["table"].pk}
    assert _listed(client.get(f"{COLUMNS}?tag={gold}&certification=certified")) == {curated["cols"]["email"].pk}
    assert _listed(client.get(f"{COLUMNS}?tag={gold}&certification=deprecated")) == set()


def test_another_workspaces_ids_select_nothing(world, curated):
    client = staff_client(world)
    for parameter, key in (("tag", "their_tag"), ("term", "their_term"), ("owner", "their_owner")):
        assert _listed(client.get(f"{COLUMNS}?{parameter}={curated[key].pk}")) == set()


@pytest.mark.parametrize("query", ["tag=gold", "term=abc", "owner=-", "certification=maybe",
                                   "tag=99999999999999999999"])
def test_a_value_the_filter_cannot_read_is_django_s_error_redirect_not_a_500(world, curated, query):
    response = staff_client(world).get(f"{COLUMNS}?{query}")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_the_filters_cost_one_query_whatever_the_number_of_tags_terms_and_owners(world, curated):
    client = staff_client(world)
    filtered = (f"{COLUMNS}?tag={curated['gold'].pk}&term={curated['term'].pk}&owner={curated['owner'].pk}"
                "&certification=certified")
    _queries(client, COLUMNS)
    few, few_filtered = _queries(client, COLUMNS), _queries(client, filtered)
    _, more_cols = _shop(world.workspace_a, "Shop 2", columns=[f"c{i}" for i in range(20)])
    tags = [TagFactory(workspace=world.workspace_a, name=f"t{i}") for i in range(15)]
    terms = [GlossaryTermFactory(workspace=world.workspace_a, name=f"T{i}") for i in range(15)]
    for i, column in enumerate(more_cols.values()):
        owner = UserFactory(username=f"owner{i}")
        membership(owner, world.workspace_a, "analyst")
        asset_curation.assets_curate(assets=type(column).objects.filter(pk=column.pk), acting_user=SYSTEM,
                                     tags={"add": tags[:3]}, terms={"add": terms[:3]},
                                     owners={"add": [{"user": owner, "owner_type": "technical"}]})
    response = client.get(COLUMNS)
    assert len(_choices(response, "owner")) == 22 and len(_choices(response, "tag")) == 17
    assert _queries(client, COLUMNS) == few
    assert _queries(client, filtered) == few_filtered == few
    assert few <= 9


def test_a_name_in_two_visible_workspaces_is_told_apart_by_its_workspace(world):
    membership(world.user("steward"), world.workspace_b, "analyst")
    TagFactory(workspace=world.workspace_a, name="gold")
    TagFactory(workspace=world.workspace_b, name="gold")
    _shop(world.workspace_a, "Shop")
    labels = _choices(staff_client(world).get(COLUMNS), "tag")
    assert labels == sorted([f"gold ({world.workspace_a.name})", f"gold ({world.workspace_b.name})"])
