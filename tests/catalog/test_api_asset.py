import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from catalog.models import Asset, AssetClassification
from tests.catalog.classification_factories import ClassificationFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = "list retrieve_a retrieve_b update_a update_b partial_update_a partial_update_b export"


class TestAssetMatrix(PermissionMatrix):
    """``export`` is the inventory of sensitive data (tests/catalog/test_inventory.py): the objects are sensitive
    columns, so that it lists them as the list does."""

    basename = "asset"
    expected = table(
        COLUMNS,
        anonymous=           "401 401 401 401 401 401 401 401",
        outsider=            "403 403 403 403 403 403 403 403",
        analyst=             "200 200 404 403 403 403 403 200",
        steward=             "200 200 404 200 404 200 404 200",
        workspace_admin=     "200 200 404 200 404 200 404 200",
        auditor=             "200 200 200 403 403 403 403 200",
        other_workspace_user="200 404 200 404 200 404 200 200",
        staff_unverified=    "403 403 403 403 403 403 403 403",
        superuser=           "200 200 200 200 200 200 200 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        return tuple(AssetFactory(data_source__workspace=workspace, type=Asset.Type.COLUMN,
                                  sensitivity=Asset.Sensitivity.CONFIDENTIAL)
                     for workspace in (world.workspace_a, world.workspace_b))

    def payload(self, world, action):
        return {"description": "Customer master data, one row per customer."}


def _url(asset=None):
    return reverse("api:asset-detail", args=[asset.pk]) if asset else reverse("api:asset-list")


@pytest.fixture
def tree(world):
    """A schema, two tables (one removed), two columns of customers: email (PII.EMAIL, confirmed; confidential)
    and phone (PII.PHONE suggested, PII.EMAIL rejected; restricted)."""
    source = DataSourceFactory(workspace=world.workspace_a)
    schema = AssetFactory(data_source=source, type=Asset.Type.SCHEMA, name="public", qualified_name="shop.public")
    customers = AssetFactory(data_source=source, parent=schema, name="customers",
                             sensitivity=Asset.Sensitivity.RESTRICTED)
    email = AssetFactory(data_source=source, parent=customers, type=Asset.Type.COLUMN, name="email",
                         qualified_name="shop.public.customers.email", sensitivity=Asset.Sensitivity.CONFIDENTIAL)
    phone = AssetFactory(data_source=source, parent=customers, type=Asset.Type.COLUMN, name="phone",
                         qualified_name="shop.public.customers.phone", sensitivity=Asset.Sensitivity.RESTRICTED)
    gone = AssetFactory(data_source=source, parent=schema, name="old_orders", removed_at=timezone.now())
    pii_email = ClassificationFactory(name="TEST.EMAIL", sensitivity=Asset.Sensitivity.CONFIDENTIAL)
    pii_phone = ClassificationFactory(name="TEST.PHONE", sensitivity=Asset.Sensitivity.RESTRICTED)
    status = AssetClassification.Status
    AssetClassification.objects.create(asset=email, classification=pii_email, status=status.CONFIRMED)
    AssetClassification.objects.create(asset=phone, classification=pii_phone, status=status.SUGGESTED)
    AssetClassification.objects.create(asset=phone, classification=pii_email, status=status.REJECTED)
    return {"source": source, "schema": schema, "customers": customers, "email": email, "phone": phone,
            "gone": gone}


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize(("query", "expected"), [
    ("", {"schema", "customers", "email", "phone"}),
    ("?type=column", {"email", "phone"}),
    ("?type=table&type=schema", {"schema", "customers"}),
    ("?parent={customers}", {"email", "phone"}),
    ("?qualified_name=CUSTOMERS", {"customers", "email", "phone"}),
    ("?removed=true", {"gone"}),
    ("?removed=false&type=table", {"customers"}),
    ("?removed=", {"schema", "customers", "email", "phone"}),
    ("?data_source={source}&type=schema", {"schema"}),
    ("?sensitivity=restricted", {"customers", "phone"}),
    ("?sensitivity=restricted&sensitivity=confidential", {"customers", "email", "phone"}),
    ("?sensitivity=restricted&type=column", {"phone"}),
    ("?sensitivity=public", set()),
    # suggested or confirmed by default: phone's rejected TEST.EMAIL does not make it an email column
    ("?classification=TEST.EMAIL", {"email"}),
    ("?classification=TEST.EMAIL&classification=TEST.PHONE", {"email", "phone"}),
    ("?classification_status=suggested", {"phone"}),
    ("?classification_status=rejected", {"phone"}),
    # both describe one classification row: phone has TEST.EMAIL (rejected) and a suggestion, but no TEST.EMAIL
    # suggestion
    ("?classification=TEST.EMAIL&classification_status=suggested", set()),
    ("?classification=TEST.EMAIL&classification_status=rejected", {"phone"}),
    ("?classification=TEST.EMAIL&classification_status=confirmed&sensitivity=confidential", {"email"}),
    ("?classification=TEST.PHONE&removed=true", set()),
])
def test_filters_select_assets(world, tree, query, expected):
    query = query.format(customers=tree["customers"].pk, source=tree["source"].pk)
    assert _ids(world.client("analyst").get(_url() + query)) == {tree[name].pk for name in expected}


def test_a_removed_asset_is_still_found_by_its_id(world, tree):
    response = world.client("analyst").get(_url(tree["gone"]))
    assert response.status_code == 200 and response.json()["removed_at"] is not None


@pytest.mark.parametrize(("query", "parameter"), [
    ("?sensitivity=secret", "sensitivity"),
    ("?classification=NO.SUCH.CLASS", "classification"),
    ("?classification_status=maybe", "classification_status"),
    ("?type=index", "type"),
    ("?removed=maybe", "removed"),
    ("?data_source=abc", "data_source"),
    ("?parent=1.5x", "parent"),
    ("?sensitivity=confidential&sensitivity_level=high", "sensitivity_level"),
    ("?ordering=bogus", "ordering"),
    ("?ordering=name,-data_source__workspace", "ordering"),
])
def test_a_bad_filter_value_is_a_400_naming_the_parameter(world, tree, query, parameter):
    response = world.client("analyst").get(_url() + query)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [parameter]


def test_an_ordering_error_names_the_fields_on_offer(world):
    body = world.client("analyst").get(_url() + "?ordering=-bogus,name").json()
    assert "-bogus" in body["errors"][0]["detail"] and "qualified_name" in body["errors"][0]["detail"]


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
    client = world.client("analyst")
    assert client.get(_url(tree["schema"])).json()["sensitivity"] is None
    assert client.get(_url(tree["email"])).json()["sensitivity"] == "confidential"


def test_create_and_delete_are_not_routes(world):
    client = world.client("superuser")
    assert client.post(_url(), {"description": "x"}, format="json").status_code == 405
    asset = AssetFactory(data_source__workspace=world.workspace_a)
    assert client.delete(_url(asset)).status_code == 405
    assert Asset.objects.filter(pk=asset.pk).exists()
