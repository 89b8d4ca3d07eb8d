"""POST /api/v1/openlineage/: OpenLineage run events (spec 2-0-x), one event or a JSON array of them, as Airflow,
Spark, dbt and the OpenLineage clients' HTTP transport send them (``Authorization: Bearer <a Racine API token>``).

The shape is checked strictly where Racine reads it — the event's type, time, run and job, each dataset's namespace
and name, the ``schema`` and ``columnLineage`` facets — and a wrong value is a 400 naming its path
(``outputs.0.facets.columnLineage.fields.email.inputFields.1.field``); other facets pass unread, as the spec lets
producers add their own. What is recorded, and where: catalog.lineage.openlineage. Needs ``add`` on lineage edges
(stewards, workspace admins) and a token of scope write or lineage.
"""
from __future__ import annotations

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.api.base import RestrictedViewSetMixin
from accounts.selectors import workspace_list
from catalog.api.lineage import StrictQuerySerializer
from catalog.lineage import openlineage
from catalog.models import LineageEdge
from config.schema import SingleObjectSchema

MAX_DATASETS = 1000  # inputs or outputs of one event
# Table edges go from every input to every output: a 21 kB event of 300 inputs and 300 outputs made 90,000 edges (a
# minute and a half in the request), and the body's 2.5 MB held a thousand times as many. Per request.
MAX_TABLE_EDGES = 10_000
MAX_NAME = 1024  # as ExternalAsset's namespace and name
MAX_FIELD = 512  # as ExternalAsset's field


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would take 5 or true and turn them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "yes" nor 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def _name(**kwargs) -> StrictCharField:
    return StrictCharField(max_length=MAX_NAME, trim_whitespace=False, **kwargs)


def _list_or_null(child: serializers.Serializer, **kwargs) -> serializers.ListSerializer:
    """A list that may be null as a whole but holds no null item: ``many=True, allow_null=True`` hands
    ``allow_null`` to each item too, and a ``[null]`` then reached the mapping (a 500)."""
    return serializers.ListSerializer(child=child, allow_null=True, required=False, **kwargs)


class FacetsField(serializers.DictField):
    """Facets Racine does not read: any JSON object."""

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)


class TransformationSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["DIRECT", "INDIRECT"])
    subtype = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100,
                              help_text="IDENTITY, TRANSFORMATION, AGGREGATION (DIRECT); JOIN, FILTER, … (INDIRECT).")
    description = StrictCharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    masking = StrictBooleanField(required=False, allow_null=True)


class InputFieldSerializer(serializers.Serializer):
    namespace = _name()
    name = _name()
    field = StrictCharField(max_length=MAX_FIELD, trim_whitespace=False)
    transformations = _list_or_null(TransformationSerializer())


class FieldLineageSerializer(serializers.Serializer):
    inputFields = InputFieldSerializer(many=True)  # noqa: N815 (the spec's name)
    transformationDescription = StrictCharField(required=False, allow_null=True, allow_blank=True,  # noqa: N815
                                                trim_whitespace=False)
    transformationType = StrictCharField(required=False, allow_null=True, allow_blank=True,  # noqa: N815
                                         help_text="Before facet 1-1-0: IDENTITY or MASKED.")


class FieldNamedDictField(serializers.DictField):
    """An object keyed by field names, each checked as an input field's name is: a string of at most MAX_FIELD
    characters, not blank, no NUL (an unchecked key was stored as an external field: a 500 on PostgreSQL)."""

    def to_internal_value(self, data):
        result = super().to_internal_value(data)
        name = StrictCharField(max_length=MAX_FIELD, trim_whitespace=False)
        errors = {}
        for key in result:
            try:
                name.run_validation(key)
            except ValidationError as exc:
                errors[key] = exc.detail
        if errors:
            raise ValidationError(errors)
        return result


class OffsetDateTimeField(serializers.DateTimeField):
    """A date and time with its offset, as the spec's RFC 3339 has it: a time without one would be read in the
    server's zone here and not at all by the stale check (an older run's lineage could replace a newer one's)."""

    default_error_messages = {"offset": "A date and time with its offset (Z or +02:00), as RFC 3339 has it."}

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        written = parse_datetime(value) if isinstance(value, str) else None
        if written is None or written.tzinfo is None:
            self.fail("offset")
        return parsed


class ColumnLineageFacetSerializer(serializers.Serializer):
    fields = FieldNamedDictField(child=FieldLineageSerializer(),
                                   help_text="Each output field and the input fields it is computed from.")


class SchemaFieldSerializer(serializers.Serializer):
    name = StrictCharField(max_length=MAX_FIELD, trim_whitespace=False)
    type = StrictCharField(required=False, allow_null=True, allow_blank=True)
    description = StrictCharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)


class SchemaFacetSerializer(serializers.Serializer):
    fields = SchemaFieldSerializer(many=True, required=False)


class DatasetFacetsSerializer(serializers.Serializer):
    """The dataset facets Racine reads; any other is accepted unread."""

    schema = SchemaFacetSerializer(required=False)
    columnLineage = ColumnLineageFacetSerializer(required=False)  # noqa: N815


class DatasetSerializer(serializers.Serializer):
    namespace = _name(help_text="Where the dataset lives: postgres://db.example.com:5432, s3://bucket, bigquery.")
    name = _name(help_text="Its name there: database.schema.table for SQL databases.")
    facets = DatasetFacetsSerializer(required=False, allow_null=True)
    inputFacets = FacetsField()  # noqa: N815
    outputFacets = FacetsField()  # noqa: N815


class RunSerializer(serializers.Serializer):
    runId = serializers.UUIDField()  # noqa: N815
    facets = FacetsField()


class JobSerializer(serializers.Serializer):
    namespace = _name()
    name = _name()
    facets = FacetsField()


class RunEventSerializer(serializers.Serializer):
    """An OpenLineage RunEvent (https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent)."""

    eventType = serializers.ChoiceField(choices=openlineage.EVENT_TYPES, required=False)  # noqa: N815
    eventTime = OffsetDateTimeField()  # noqa: N815
    producer = StrictCharField(max_length=2048)
    schemaURL = StrictCharField(max_length=2048)  # noqa: N815
    run = RunSerializer()
    job = JobSerializer()
    inputs = _list_or_null(DatasetSerializer(), max_length=MAX_DATASETS)
    outputs = _list_or_null(DatasetSerializer(), max_length=MAX_DATASETS)


class OpenLineageQuerySerializer(StrictQuerySerializer):
    workspace = serializers.IntegerField(
        required=False, min_value=1,
        help_text="The workspace to record in, when the datasets' namespaces match no data source (or sources of "
                  "several workspaces).")


class EventOutcomeSerializer(serializers.Serializer):
    run_id = serializers.CharField()
    event_type = serializers.CharField()
    job = serializers.CharField(help_text="<job namespace>/<job name>: the key of the job's edges.")
    outcome = serializers.ChoiceField(
        choices=["recorded", "ignored", "stale"],
        help_text="recorded; ignored (START, FAIL, ABORT, OTHER, RUNNING without outputs); stale (older than the "
                  "event the job's lineage was last recorded from).")
    workspace = serializers.IntegerField(allow_null=True)
    table_edges = serializers.IntegerField()
    column_edges = serializers.IntegerField()
    created = serializers.IntegerField()
    removed = serializers.IntegerField()
    external_assets_created = serializers.IntegerField()


class OpenLineageOutputSerializer(serializers.Serializer):
    events = EventOutcomeSerializer(many=True)


class OpenLineageViewSet(RestrictedViewSetMixin, viewsets.ViewSet):
    """Receives OpenLineage run events and records the lineage they describe."""

    schema = SingleObjectSchema()
    queryset = LineageEdge.objects.all()  # whose add permission decides
    action_permissions = {"create": "add"}
    accepts_lineage_tokens = True  # a pipeline's token of scope "lineage" may send events, and do nothing else

    @extend_schema(
        request=RunEventSerializer, parameters=[OpenLineageQuerySerializer],
        responses={200: OpenLineageOutputSerializer, 413: OpenApiResponse(description="The body is too large.")},
        description="Record an OpenLineage run event (or a JSON array of at most "
                    f"{openlineage.MAX_EVENTS}, all or nothing, making at most {MAX_TABLE_EDGES:,} table edges: "
                    "each event's inputs to each of its outputs). COMPLETE replaces the job's lineage, RUNNING with "
                    "outputs adds to it, other events are acknowledged. Datasets are matched to the data sources "
                    "answering to their namespace and to their tables by name; others become external assets. "
                    "Re-sending an event records nothing new.")
    def create(self, request):
        query = OpenLineageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        workspace = None
        if "workspace" in query.validated_data:
            workspace = workspace_list(user=request.user).filter(pk=query.validated_data["workspace"]).first()
            if workspace is None:
                raise ValidationError({"workspace": "No such workspace."}, code="does_not_exist")
        events = request.data if isinstance(request.data, list) else [request.data]
        if not events:
            raise ValidationError({"non_field_errors": "Send an event, or an array of at least one."})
        if len(events) > openlineage.MAX_EVENTS:
            raise ValidationError({"non_field_errors": f"At most {openlineage.MAX_EVENTS} events at once; "
                                                       f"{len(events)} were sent."})
        checked = RunEventSerializer(data=events, many=True)
        if not checked.is_valid():
            # By the event's index (DRF gives a list, or since 3.16 a dict of the failing ones); one event's fields
            # are named as the event's own, a batch's after the event's index.
            errors = checked.errors
            by_index = {index: error for index, error in (errors.items() if isinstance(errors, dict)
                                                          else enumerate(errors)) if error}
            raise ValidationError(by_index[0] if not isinstance(request.data, list) else
                                  {str(index): error for index, error in by_index.items()})
        edges = sum(map(_table_edges, events))
        if edges > MAX_TABLE_EDGES:
            raise ValidationError({"non_field_errors": f"At most {MAX_TABLE_EDGES:,} table edges at once (each "
                                                       f"event's inputs to each of its outputs); these events make "
                                                       f"{edges:,}: send fewer datasets per event or fewer events."})
        outcomes = openlineage.lineage_openlineage_record(events=events, workspace=workspace,
                                                          acting_user=request.user)
        return Response(OpenLineageOutputSerializer({"events": [_outcome(outcome) for outcome in outcomes]}).data)


def _table_edges(event: dict) -> int:
    """How many table edges a (valid) event makes at most: into each output, one from each of its inputs and from each
    other dataset its column lineage names (catalog.lineage.openlineage._Mapping.flows); none for the events that
    record nothing (START, FAIL, ABORT, OTHER)."""
    if event.get("eventType") not in ("COMPLETE", "RUNNING"):
        return 0
    inputs = {(dataset["namespace"], dataset["name"]) for dataset in event.get("inputs") or []}
    count = 0
    for output in event.get("outputs") or []:
        fields = ((output.get("facets") or {}).get("columnLineage") or {}).get("fields") or {}
        named = {(field["namespace"], field["name"]) for spec in fields.values() for field in spec["inputFields"]}
        count += len(inputs | named)
    return count


def _outcome(outcome: openlineage.EventOutcome) -> dict:
    result = outcome.result or openlineage.MergeResult()
    return {"run_id": outcome.run_id, "event_type": outcome.event_type, "job": outcome.job,
            "outcome": outcome.outcome, "workspace": outcome.workspace.pk if outcome.workspace else None,
            "table_edges": outcome.table_edges, "column_edges": outcome.column_edges, "created": result.created,
            "removed": result.removed, "external_assets_created": result.external_created}


def register(router) -> None:
    router.register("openlineage", OpenLineageViewSet, basename="openlineage")
