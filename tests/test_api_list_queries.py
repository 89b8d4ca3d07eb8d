"""No N+1 in list endpoints: a page of many rows costs the same queries as a page of few."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.catalog.classification_factories import AssetClassificationFactory, ClassificationRuleFactory
from tests.catalog.factories import (
    AssetChangeFactory,
    AssetFactory,
    DataSourceFactory,
    ScanFactory,
    ScanRuleSetFactory,
    ScanRunFactory,
)

FACTORIES = {
    "datasource": lambda ws: DataSourceFactory(workspace=ws),
    "asset": lambda ws: AssetFactory(data_source=DataSourceFactory(workspace=ws)),
    "scanruleset": lambda ws: ScanRuleSetFactory(workspace=ws),
    "scan": lambda ws: ScanFactory(data_source=DataSourceFactory(workspace=ws)),
    "scanrun": lambda ws: ScanRunFactory(scan__data_source__workspace=ws),
    "assetchange": lambda ws: AssetChangeFactory(run__scan__data_source__workspace=ws),
    "assetclassification": lambda ws: AssetClassificationFactory(
        asset=AssetFactory(data_source=DataSourceFactory(workspace=ws))),
    "classificationrule": lambda ws: ClassificationRuleFactory(workspace=ws),
}


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("basename", sorted(FACTORIES))
def test_list_queries_do_not_grow_with_rows(world, basename):
    client = world.client("steward")
    url = reverse(f"api:{basename}-list") + "?page_size=100"
    FACTORIES[basename](world.workspace_a)
    _queries(client, url)  # warm per-process caches (content types, grants)
    few = _queries(client, url)
    for _ in range(8):
        FACTORIES[basename](world.workspace_a)
    assert _queries(client, url) == few
