import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from catalog.models import Asset
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = "list retrieve_a retrieve_b update_a update_b partial_update_a partial_update_b"


class TestAssetMatrix(PermissionMatrix):
    basename = "asset"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403",
        steward=             "200 200 404 200 404 200 404",
        workspace_admin=     "200 200 404 200 404 200 404",
        auditor=             "200 200 200 403 403 403 403",
        other_workspace_user="200 404 200 404 200 404 200",
        staff_unverified=    "403 403 403 403 403 403 403",
        superuser=           "200 200 200 200 200 200 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        return (AssetFactory(data_source__workspace=world.workspace_a),
                AssetFactory(data_source__workspace=world.workspace_b))

    def payload(self, world, action):
        return {"description": "Customer master data, one row per customer."}


def _url(asset=None):
    return reverse("api:asset-detail", args=[asset.pk]) if asset else reverse("api:asset-list")


@pytest.fixture
def tree(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    schema = AssetFactory(data_source=source, type=Asset.Type.SCHEMA, name="public", qualified_name="shop.public")
    customers = AssetFactory(data_source=source, parent=schema, name="customers")
    email = AssetFactory(data_source=source, parent=customers, type=Asset.Type.COLUMN, name="email",
                         qualified_name="shop.public.customers.email")
    gone = AssetFactory(data_source=source, parent=schema, name="old_orders", removed_at=timezone.now())
    return {"source": source, "schema": schema, "customers": customers, "email": email, "gone": gone}


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(("query", "expected"), [
    ("?type=column", {"email"}),
    ("?type=table&type=schema", {"schema", "customers", "gone"}),
    ("?parent={customers}", {"email"}),
    ("?qualified_name=CUSTOMERS", {"customers", "email"}),
    ("?removed=true", {"gone"}),
    ("?removed=false&type=table", {"customers"}),
    ("?data_source={source}&type=schema", {"schema"}),
])
def test_filters_select_assets(world, tree, query, expected):
    query = query.format(customers=tree["customers"].pk, source=tree["source"].pk)
    assert _ids(world.client("analyst").get(_url() + query)) == {tree[name].pk for name in expected}


@pytest.mark.parametrize("query", ["?qualified_name=secret", "?data_source={source}", "?parent={parent}",
                                   "?search=secret", "?type=table"])
def test_filters_never_reveal_other_workspace(world, tree, query):
    theirs = AssetFactory(data_source__workspace=world.workspace_b, name="secret_table")
    query = query.format(source=theirs.data_source_id, parent=theirs.pk)
    assert theirs.pk not in _ids(world.client("steward").get(_url() + query))


def test_patch_changes_only_description_and_is_audited(world, tree):
    customers = tree["customers"]
    response = world.client("steward").patch(
        _url(customers), {"description": "One row per customer.", "qualified_name": "hacked", "type": "view"},
        format="json")
    assert response.status_code == 200, response.content
    customers.refresh_from_db()
    assert customers.description == "One row per customer."
    assert (customers.qualified_name, customers.type) == ("shop.public.customers", Asset.Type.TABLE)
    event = AuditEvent.objects.get(event="asset.changed")
    assert event.changes == {"description": ["", "One row per customer."]}
    assert event.actor == world.user("steward")


def test_asset_shows_its_workspace_and_parent(world, tree):
    body = world.client("analyst").get(_url(tree["email"])).json()
    assert body["workspace"] == world.workspace_a.pk and body["parent"] == tree["customers"].pk
    assert body["qualified_name"] == "shop.public.customers.email" and body["type"] == "column"


def test_sensitivity_is_null_until_a_classification_sets_it(world, tree):
    tree["email"].sensitivity = Asset.Sensitivity.CONFIDENTIAL
    tree["email"].save(update_fields=["sensitivity"])
    client = world.client("analyst")
    assert client.get(_url(tree["customers"])).json()["sensitivity"] is None
    assert client.get(_url(tree["email"])).json()["sensitivity"] == "confidential"


def test_create_and_delete_are_not_routes(world):
    client = world.client("superuser")
    assert client.post(_url(), {"description": "x"}, format="json").status_code == 405
    asset = AssetFactory(data_source__workspace=world.workspace_a)
    assert client.delete(_url(asset)).status_code == 405
    assert Asset.objects.filter(pk=asset.pk).exists()
