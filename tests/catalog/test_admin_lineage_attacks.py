"""Attacks on the admin lineage picture that once got through: a hidden data source named by an external node it
was recorded under, and query values Python calls digits that are not numbers (a 500)."""
import pytest
from django.urls import reverse

from catalog.models import ExternalAsset
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import edge, external, table
from tests.catalog.test_admin_lineage import _lineage_url, _page
from tests.support.personas import staff_client


@pytest.fixture
def into_b_source(world):
    """A's table feeds an external dataset of A's lineage that was matched to B's data source (its namespace
    answers to it, no table of it has the name): recorded in A, under B's source."""
    source_a = DataSourceFactory(workspace=world.workspace_a, name="Warehouse A")
    source_b = DataSourceFactory(workspace=world.workspace_b, name="Secret Source B")
    raw = table(source_a, "raw")
    dataset = ExternalAsset.objects.create(workspace=world.workspace_a, namespace=f"datasource/{source_b.pk}",
                                           name="unscanned_b", type=ExternalAsset.Type.DATASET,
                                           data_source=source_b)
    edge(raw, dataset, origin="openlineage", key="job")
    return raw


def test_an_external_node_does_not_name_a_data_source_the_reader_may_not_see(world, into_b_source):
    client = staff_client(world)
    response = client.get(_lineage_url(into_b_source))
    assert response.status_code == 200
    [dataset] = [node for node in response.json()["nodes"] if node["external"]]
    assert dataset["label"] == "unscanned_b"
    assert "Secret Source B" not in response.content.decode()
    assert "Secret Source B" not in _page(client, into_b_source)


def test_the_api_graph_does_not_name_a_data_source_the_reader_may_not_see(world, into_b_source):
    client = staff_client(world)
    response = client.get("/api/v1/lineage/", {"asset": into_b_source.pk})
    assert response.status_code == 200, response.content
    assert "Secret Source B" not in response.content.decode()


@pytest.mark.parametrize("depth", ["²", "¹"])
def test_a_depth_python_calls_a_digit_is_400(world, into_b_source, depth):
    response = staff_client(world).get(_lineage_url(into_b_source), {"depth": depth})
    assert response.status_code == 400
    assert "depth" in response.json()["detail"]


def test_a_nul_in_the_depth_is_400_before_the_view(world, into_b_source):
    client = staff_client(world)
    client.raise_request_exception = False
    assert client.get(_lineage_url(into_b_source), {"depth": "1\x00"}).status_code == 400  # accounts.admin_site


def test_an_asset_id_python_calls_a_digit_is_404(world, into_b_source):
    url = reverse("admin:catalog_tableasset_lineage", args=["²"])
    assert staff_client(world).get(url).status_code == 404


HOSTILE = ('<img src=x onerror=alert(1)>', '"><svg onload=alert(2)>')


def test_hostile_table_and_external_names_are_text_in_the_page(world):
    source = DataSourceFactory(workspace=world.workspace_a)
    first, second = (table(source, name) for name in HOSTILE)
    edge(first, second)
    edge(second, external(world.workspace_a, HOSTILE[0], namespace=HOSTILE[1]), origin="openlineage", key="job")
    page = _page(staff_client(world), second)
    for name in HOSTILE:
        assert name not in page
    # Shown, as text: the table's name in the rows, the external dataset's namespace and name after it.
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&quot;&gt;&lt;svg onload=alert(2)&gt;/&lt;img" in page


def test_an_asset_id_past_any_integer_column_is_404(world, into_b_source):
    url = reverse("admin:catalog_tableasset_lineage", args=["1" * 30])
    assert staff_client(world).get(url).status_code == 404
