"""POST /api/v1/openlineage/: OpenLineage run events sent by the official client (openlineage-python's HTTP
transport with an API key) to a live server, the edges they record (table and column), re-sent events recording
nothing new, malformed events refused naming the field, unknown datasets kept as external assets, and who may send
them."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from accounts.actors import SYSTEM
from accounts.authentication import api_token_create
from accounts.models import ApiToken
from accounts.roles import Role
from catalog.models import ExternalAsset, LineageEdge, LineageRecord
from tests.catalog.factories import DataSourceFactory
from tests.catalog.lineage_factories import table
from tests.support.factories import UserFactory, WorkspaceFactory, membership
from tests.support.permission_matrix import PermissionMatrix
from tests.support.permission_matrix import table as matrix

ENDPOINT = "api/v1/openlineage/"
NAMESPACE = "postgres://db.example.test:5432"  # what DataSourceFactory's settings derive
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


def event_dict(*, event_type="COMPLETE", outputs=("shop.public.report",), inputs=("shop.public.orders",),
               namespace=NAMESPACE, job="nightly.report", when=None) -> dict:
    """A run event as JSON, for the tests that do not go through the client."""
    return {"eventType": event_type, "eventTime": (when or datetime(2026, 1, 1, tzinfo=UTC)).isoformat(),
            "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow", "name": job},
            "inputs": [{"namespace": namespace, "name": name} for name in inputs],
            "outputs": [{"namespace": namespace, "name": name} for name in outputs]}


class TestOpenLineageMatrix(PermissionMatrix):
    """An event naming workspace A's source: stewards and admins of A record it there; a steward of B, who cannot
    see A's source, records it in B, the only workspace they may record in (as external datasets); readers may not
    record."""

    basename = "openlineage"
    expected = matrix(
        "create",
        anonymous=           "401",
        outsider=            "403",
        analyst=             "403",
        steward=             "200",
        workspace_admin=     "200",
        auditor=             "403",
        other_workspace_user="200",
        staff_unverified=    "403",
        superuser=           "200",
    )

    def objects(self, world):
        source = DataSourceFactory(workspace=world.workspace_a)
        for name in ("orders", "report"):
            table(source, name)
        return None, None

    def payload(self, world, action):
        return event_dict()


# --- through the official client, against a live server ----------------------------------------------------


@pytest.fixture
def shop(transactional_db):
    workspace = WorkspaceFactory(name="Sales")
    source = DataSourceFactory(workspace=workspace, database="shop")
    steward = UserFactory(username="ol_steward")
    membership(steward, workspace, Role.DATA_STEWARD)
    return {"workspace": workspace, "source": source, "steward": steward,
            "orders": table(source, "orders", columns=("id", "email", "total")),
            "report": table(source, "report", columns=("email", "total"))}


def token_for(user, scope=ApiToken.Scope.WRITE) -> str:
    return api_token_create(user=user, name="airflow", scope=scope, expires_at=timezone.now() + timedelta(days=1),
                            acting_user=SYSTEM)[1]


@pytest.fixture
def ol_client(live_server):
    """The official client's HTTP transport pointed at the live server with an API key, as Airflow's would be.
    ``Connection: close``: a kept-alive connection holds a server thread open past the test, which then closes a
    database connection the live server has stopped sharing (an unhandled exception in that thread). The client's
    own retries stay on: a pooled socket the server has just closed is sent again, as in production."""
    transports = []

    def client_for(secret: str) -> OpenLineageClient:
        config = HttpConfig(url=live_server.url, endpoint=ENDPOINT, auth=ApiKeyTokenProvider({"apiKey": secret}),
                            custom_headers={"Connection": "close"})
        transports.append(HttpTransport(config))
        return OpenLineageClient(transport=transports[-1])

    yield client_for
    for transport in transports:
        transport.close()


def client_event(*, event_type=RunState.COMPLETE, run_id=None, when=None, inputs=None, outputs=None) -> RunEvent:
    """``orders`` (id, email, total) → ``report`` (email copied, total summed), as a dbt or Spark job reports it."""
    identity = column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")
    aggregation = column_lineage_dataset.Transformation(type="DIRECT", subtype="AGGREGATION")
    grouping = column_lineage_dataset.Transformation(type="INDIRECT", subtype="GROUP_BY")

    def field(name, *transformations):
        return column_lineage_dataset.InputField(namespace=NAMESPACE, name="shop.public.orders", field=name,
                                                 transformations=list(transformations))

    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        "email": column_lineage_dataset.Fields(inputFields=[field("email", identity)]),
        "total": column_lineage_dataset.Fields(inputFields=[field("total", aggregation), field("id", grouping)]),
    })
    return RunEvent(
        eventType=event_type, eventTime=(when or datetime(2026, 3, 1, 2, 0, tzinfo=UTC)).isoformat(),
        run=Run(runId=run_id or str(uuid.uuid4())), job=Job(namespace="airflow", name="shop.build_report"),
        producer=PRODUCER,
        inputs=inputs if inputs is not None else [InputDataset(namespace=NAMESPACE, name="shop.public.orders")],
        outputs=outputs if outputs is not None else [
            OutputDataset(namespace=NAMESPACE, name="shop.public.report", facets={"columnLineage": lineage})])


def edges(level):
    return {(edge.source_asset_id or edge.source_external_id, edge.target_asset_id or edge.target_external_id,
             edge.direct) for edge in LineageEdge.objects.filter(origin="openlineage", level=level)}


def test_client_events_record_table_and_column_edges(ol_client, shop):
    client = ol_client(token_for(shop["steward"]))
    response = client.transport.emit(client_event())
    assert response.status_code == 200
    outcome = response.json()["events"][0]
    assert (outcome["outcome"], outcome["workspace"]) == ("recorded", shop["workspace"].pk)
    orders, report = shop["orders"], shop["report"]
    assert edges("table") == {(orders.pk, report.pk, False)}
    # email is copied (direct); total is computed from total (not direct); id only groups: no column edge.
    assert edges("column") == {(orders.cols["email"].pk, report.cols["email"].pk, True),
                               (orders.cols["total"].pk, report.cols["total"].pk, False)}
    assert set(LineageEdge.objects.values_list("origin_key", flat=True)) == {"airflow/shop.build_report"}
    record = LineageRecord.objects.get()
    assert '"eventType":"COMPLETE"' in record.text and record.origin == "openlineage"


def test_a_resent_event_records_nothing_new(ol_client, shop):
    client = ol_client(token_for(shop["steward"]))
    event = client_event()
    client.emit(event)
    before = (list(LineageEdge.objects.values_list("pk", flat=True)), LineageRecord.objects.count())
    again = client.transport.emit(event).json()["events"][0]
    assert (again["created"], again["removed"], again["external_assets_created"]) == (0, 0, 0)
    assert (list(LineageEdge.objects.values_list("pk", flat=True)), LineageRecord.objects.count()) == before


def test_a_later_run_replaces_the_jobs_lineage_and_an_older_one_is_stale(ol_client, shop):
    client = ol_client(token_for(shop["steward"]))
    client.emit(client_event(when=datetime(2026, 3, 1, tzinfo=UTC)))
    only_table = client_event(when=datetime(2026, 3, 2, tzinfo=UTC),
                              outputs=[OutputDataset(namespace=NAMESPACE, name="shop.public.report")])
    replaced = client.transport.emit(only_table).json()["events"][0]
    assert (replaced["outcome"], replaced["removed"]) == ("recorded", 2)
    assert edges("column") == set()
    late = client.transport.emit(client_event(when=datetime(2026, 3, 1, 12, tzinfo=UTC))).json()["events"][0]
    assert late["outcome"] == "stale" and edges("column") == set()


def test_start_and_running_without_outputs_record_nothing(ol_client, shop):
    client = ol_client(token_for(shop["steward"]))
    for state in (RunState.START, RunState.FAIL):
        assert client.transport.emit(client_event(event_type=state)).json()["events"][0]["outcome"] == "ignored"
    running = client_event(event_type=RunState.RUNNING, outputs=[])
    assert client.transport.emit(running).json()["events"][0]["outcome"] == "ignored"
    assert not LineageEdge.objects.exists()
    merged = client.transport.emit(client_event(event_type=RunState.RUNNING)).json()["events"][0]
    assert merged["outcome"] == "recorded" and merged["created"] == 3


def test_unknown_datasets_become_external_assets_with_their_schema(ol_client, shop):
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="email"),
                                                       schema_dataset.SchemaDatasetFacetFields(name="total")])
    event = client_event(outputs=[OutputDataset(namespace="s3://exports", name="/daily/report.parquet",
                                                facets={"schema": schema})])
    client = ol_client(token_for(shop["steward"]))
    outcome = client.transport.emit(event).json()["events"][0]
    assert outcome["workspace"] == shop["workspace"].pk  # the input's source decides
    dataset = ExternalAsset.objects.get(namespace="s3://exports", field="")
    assert sorted(dataset.fields.values_list("field", flat=True)) == ["email", "total"]
    assert edges("table") == {(shop["orders"].pk, dataset.pk, False)}


def test_a_malformed_event_is_refused_naming_the_field(ol_client, shop):
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(fields={"email": column_lineage_dataset.Fields(
        inputFields=[column_lineage_dataset.InputField(namespace=NAMESPACE, name="shop.public.orders", field="id"),
                     column_lineage_dataset.InputField(namespace=NAMESPACE, name="shop.public.orders", field=7)])})
    event = client_event(outputs=[OutputDataset(namespace=NAMESPACE, name="shop.public.report",
                                                facets={"columnLineage": lineage})])
    client = ol_client(token_for(shop["steward"]))
    with pytest.raises(requests.HTTPError) as refused:
        client.transport.emit(event)
    problem = refused.value.response.json()
    assert refused.value.response.status_code == 400
    assert [error["field"] for error in problem["errors"]] == [
        "outputs.0.facets.columnLineage.fields.email.inputFields.1.field"]
    assert not LineageEdge.objects.exists()


def test_a_read_token_is_refused(ol_client, shop):
    client = ol_client(token_for(shop["steward"], scope=ApiToken.Scope.READ))
    with pytest.raises(requests.HTTPError) as refused:
        client.transport.emit(client_event())
    assert refused.value.response.status_code == 403


# --- workspace resolution, batches, limits (test client) ----------------------------------------------------


@pytest.fixture
def two_workspaces(db, world):
    for workspace in (world.workspace_a, world.workspace_b):
        source = DataSourceFactory(workspace=workspace, database="shop")
        for name in ("orders", "report"):
            table(source, name)
    return world


def post(client, body, **query):
    url = reverse("api:openlineage-list")
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return client.post(url, body, format="json")


def test_sources_of_several_workspaces_need_the_workspace_named(two_workspaces):
    superuser = two_workspaces.client("superuser")
    refused = post(superuser, event_dict())
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "workspace"
    chosen = post(superuser, event_dict(), workspace=two_workspaces.workspace_b.pk)
    assert chosen.json()["events"][0]["workspace"] == two_workspaces.workspace_b.pk


def test_namespaces_matching_no_source_go_to_the_named_or_only_workspace(two_workspaces):
    event = event_dict(namespace="mysql://elsewhere:3306")
    steward = post(two_workspaces.client("steward"), event)
    assert steward.json()["events"][0]["workspace"] == two_workspaces.workspace_a.pk
    assert post(two_workspaces.client("superuser"), event).status_code == 400
    hidden = post(two_workspaces.client("steward"), event, workspace=two_workspaces.workspace_b.pk)
    assert hidden.status_code == 400 and hidden.json()["errors"][0]["field"] == "workspace"


def test_a_batch_is_recorded_whole_or_refused_naming_the_event(two_workspaces):
    steward = two_workspaces.client("steward")
    bad = event_dict()
    del bad["run"]["runId"]
    refused = post(steward, [event_dict(), bad])
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "1.run.runId"
    assert not LineageEdge.objects.exists()
    batch = [event_dict(job="a"), event_dict(job="b", event_type="START")]
    assert [e["outcome"] for e in post(steward, batch).json()["events"]] == ["recorded", "ignored"]


@pytest.mark.parametrize(("body", "field"), [
    ({"eventType": "DONE"}, "eventType"),
    ({"eventTime": "yesterday"}, "eventTime"),
    ({"job": {"namespace": "airflow"}}, "job.name"),
    ({"inputs": [{"namespace": NAMESPACE, "name": 5}]}, "inputs.0.name"),
    ({"outputs": [{"namespace": NAMESPACE, "name": "t", "facets": {"schema": {"fields": [{}]}}}]},
     "outputs.0.facets.schema.fields.0.name"),
    ({"outputs": [{"namespace": NAMESPACE, "name": "t", "facets": {"columnLineage": {"fields": {"c": {
        "inputFields": [{"namespace": NAMESPACE, "name": "s", "field": "c",
                         "transformations": [{"type": "COPY"}]}]}}}}}]},
     "outputs.0.facets.columnLineage.fields.c.inputFields.0.transformations.0.type"),
])
def test_bad_values_are_a_problem_naming_the_field(two_workspaces, body, field):
    response = post(two_workspaces.client("steward"), {**event_dict(), **body})
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def test_a_body_that_is_not_an_event_is_a_problem(two_workspaces):
    steward = two_workspaces.client("steward")
    assert post(steward, []).status_code == 400
    assert post(steward, ["text"]).status_code == 400
    assert post(steward, [event_dict()] * 101).status_code == 400


def test_a_lineage_token_sends_events_and_does_nothing_else(ol_client, shop, live_server):
    secret = token_for(shop["steward"], scope=ApiToken.Scope.LINEAGE)
    assert ol_client(secret).transport.emit(client_event()).json()["events"][0]["outcome"] == "recorded"
    headers = {"Authorization": f"Bearer {secret}", "Connection": "close"}
    assets = requests.get(f"{live_server.url}/api/v1/assets/", headers=headers, timeout=10)
    sql = requests.post(f"{live_server.url}/api/v1/lineage/sql/", headers=headers, timeout=10,
                        json={"data_source": shop["source"].pk, "dialect": "postgres", "sql": "SELECT 1"})
    assert (assets.status_code, sql.status_code) == (403, 403)
    assert "lineage" in assets.json()["detail"]


# --- attacks that once got through: output field names unchecked, a time without offset never stale ----------


def _with_output_field(field: str) -> dict:
    event = event_dict(outputs=(), inputs=())
    event["outputs"] = [{"namespace": "s3://lake", "name": "out", "facets": {"columnLineage": {"fields": {field: {
        "inputFields": [{"namespace": "s3://lake", "name": "in", "field": "a"}]}}}}}]
    return event


@pytest.mark.parametrize("field", ["x" * 513, "a\x00b", ""])
def test_an_output_field_name_is_checked_as_an_input_field_is(two_workspaces, field):
    response = post(two_workspaces.client("steward"), _with_output_field(field))
    assert response.status_code == 400, response.content
    assert any(error["field"].startswith("outputs.0.facets.columnLineage.fields")
               for error in response.json()["errors"])
    assert not LineageEdge.objects.exists() and not ExternalAsset.objects.exists()


def test_an_event_time_without_offset_is_refused_rather_than_never_stale(two_workspaces):
    steward = two_workspaces.client("steward")
    later = event_dict(when=datetime(2026, 6, 1, tzinfo=UTC))
    assert post(steward, later).json()["events"][0]["outcome"] == "recorded"
    older = {**event_dict(inputs=()), "eventTime": "2020-01-01T00:00:00"}
    response = post(steward, older)
    assert response.status_code == 400 or response.json()["events"][0]["outcome"] == "stale", response.content


def test_an_event_recorded_in_one_workspace_never_draws_edges_into_another_workspaces_assets(two_workspaces):
    # Regression (attack21): the datasets were matched against every source the sender may see, so a steward of A
    # who reads B recorded, in A, edges from B's tables — which B's stewards could neither see nor remove.
    hr = DataSourceFactory(workspace=two_workspaces.workspace_b, database="hr")
    secret = table(hr, "secret")
    response = post(two_workspaces.client("superuser"), event_dict(inputs=("hr.public.secret",)),
                    workspace=two_workspaces.workspace_a.pk)
    assert response.status_code == 200, response.content
    edges = LineageEdge.objects.filter(level=LineageEdge.Level.TABLE)
    assert edges.count() == 1
    edge = edges.get()
    assert edge.source_asset_id is None and edge.source_external.name == "hr.public.secret"
    assert edge.source_external.data_source.workspace == two_workspaces.workspace_a  # nor named after B's source
    assert edge.target_asset.data_source.workspace == two_workspaces.workspace_a
    assert not LineageEdge.objects.filter(source_asset=secret).exists()


def test_a_workspace_the_sender_may_only_read_is_refused(two_workspaces):
    response = post(two_workspaces.client("analyst"), event_dict(), workspace=two_workspaces.workspace_a.pk)
    assert response.status_code == 403
    assert not LineageEdge.objects.exists()


def test_a_workspace_id_past_any_integer_column_is_a_problem(two_workspaces):
    response = post(two_workspaces.client("steward"), event_dict(), workspace="1" * 30)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "workspace"
