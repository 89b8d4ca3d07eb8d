import pytest
from django.urls import reverse

from scanning.models import AssetChange
from tests.catalog.factories import AssetChangeFactory, ScanRunFactory
from tests.support.permission_matrix import PermissionMatrix, table


class TestAssetChangeMatrix(PermissionMatrix):
    basename = "assetchange"
    expected = table(
        "list retrieve_a retrieve_b",
        anonymous=           "401 401 401",
        outsider=            "403 403 403",
        analyst=             "200 200 404",
        steward=             "200 200 404",
        workspace_admin=     "200 200 404",
        auditor=             "200 200 200",
        other_workspace_user="200 404 200",
        staff_unverified=    "403 403 403",
        superuser=           "200 200 200",
    )
    visible = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB",
               "other_workspace_user": "B", "superuser": "AB"}

    def objects(self, world):
        return (AssetChangeFactory(run__scan__data_source__workspace=world.workspace_a),
                AssetChangeFactory(run__scan__data_source__workspace=world.workspace_b))


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_filters_by_run_kind_and_asset(world):
    run = ScanRunFactory(scan__data_source__workspace=world.workspace_a)
    added = AssetChangeFactory(run=run)
    removed = AssetChangeFactory(run=run, kind=AssetChange.Kind.REMOVED)
    elsewhere = AssetChangeFactory(run__scan__data_source__workspace=world.workspace_a)
    client, url = world.client("analyst"), reverse("api:assetchange-list")
    assert _ids(client.get(f"{url}?run={run.pk}")) == [added.pk, removed.pk]
    assert _ids(client.get(f"{url}?kind=removed")) == [removed.pk]
    assert _ids(client.get(f"{url}?asset={elsewhere.asset_id}")) == [elsewhere.pk]


@pytest.mark.parametrize("query", ["?run={run}", "?asset={asset}", "?kind=added", ""])
def test_filters_never_reveal_other_workspace(world, query):
    theirs = AssetChangeFactory(run__scan__data_source__workspace=world.workspace_b)
    url = reverse("api:assetchange-list") + query.format(run=theirs.run_id, asset=theirs.asset_id)
    assert theirs.pk not in _ids(world.client("steward").get(url))
