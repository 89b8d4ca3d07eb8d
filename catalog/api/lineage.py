"""/api/v1/lineage/: the lineage graph around an asset, what depends on it (impact analysis), and SQL submitted to
record lineage from (query logs, dbt's compiled models, scripts).

Reads need ``view`` on lineage edges somewhere (every workspace member, the auditor); the asset asked about must
be one the caller sees (404 otherwise), and what the walk reaches beyond the caller's scope is counted, never named
(catalog.lineage.selectors). Recording SQL needs ``add`` on lineage edges in the data source's workspace
(stewards, workspace admins).
"""
from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.api.base import RestrictedViewSetMixin, ScopedRelationsMixin
from accounts.spreadsheets import spreadsheet_cell
from catalog.lineage import selectors, services
from catalog.lineage.definitions import definition_dialect
from catalog.models import LineageEdge
from catalog.selectors import asset_list
from config.browsable import PostFormPageMixin
from config.problems import ContentTooLarge
from config.schema import SingleObjectSchema
from sources.selectors import datasource_list

# --- input ---------------------------------------------------------------------------------------------------


class StrictQuerySerializer(serializers.Serializer):
    """Query parameters: a parameter the operation does not read is a 400 naming it, as on every list."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields) - {api_settings.URL_FORMAT_OVERRIDE})
        if unknown:
            raise ValidationError(dict.fromkeys(unknown, "Unknown query parameter."), code="unknown")
        return super().to_internal_value(data)


class GraphQuerySerializer(StrictQuerySerializer):
    asset = serializers.IntegerField(min_value=1, help_text="The table, view or column to start from.")
    direction = serializers.ChoiceField(choices=selectors.DIRECTIONS, default="both")
    depth = serializers.IntegerField(min_value=1, max_value=selectors.MAX_DEPTH, default=selectors.DEFAULT_DEPTH,
                                     help_text=f"Hops to follow, at most {selectors.MAX_DEPTH}.")
    columns = serializers.BooleanField(default=False, help_text="Column-level edges too (a table's walk then "
                                                                "starts from its columns as well).")


class ImpactQuerySerializer(StrictQuerySerializer):
    asset = serializers.IntegerField(min_value=1, help_text="The table, view or column whose dependants to list.")
    depth = serializers.IntegerField(min_value=1, max_value=selectors.MAX_DEPTH, default=selectors.MAX_DEPTH)


class SqlInputSerializer(ScopedRelationsMixin, serializers.Serializer):
    scoped_relations = {"data_source": datasource_list}

    data_source = serializers.PrimaryKeyRelatedField(
        queryset=datasource_list(user=None), help_text="The source the SQL ran on: its names are looked up there.")
    sql = serializers.CharField(trim_whitespace=False, help_text=f"One statement or a script, at most "
                                                                 f"{services.MAX_SQL_CHARS:,} characters and "
                                                                 f"{services.MAX_SQL_STATEMENTS:,} statements.")
    dialect = serializers.CharField(help_text="One of: " + ", ".join(services.SQL_DIALECTS) + ".")
    default_database = serializers.CharField(required=False, allow_null=True, max_length=512,
                                             help_text="The database of names that give none.")
    default_schema = serializers.CharField(required=False, allow_null=True, max_length=512,
                                           help_text="The schema of names that give none (the search path).")
    dry_run = serializers.BooleanField(default=False, help_text="Parse and report; record nothing.")

    def validate_dialect(self, value: str) -> str:
        try:
            return services.sql_dialect(value)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict["dialect"]) from None

    def validate_sql(self, value: str) -> str:
        if len(value) > services.MAX_SQL_CHARS:
            raise ContentTooLarge(f"The SQL is {len(value):,} characters long; at most {services.MAX_SQL_CHARS:,} "
                                  "are read at once (cut a query log into several requests).")
        return value


# --- output (for the schema; the views answer plain data) ---------------------------------------------------


class NodeSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="`asset:<id>` or `external:<id>`: what edges name.")
    id = serializers.IntegerField()
    external = serializers.BooleanField(help_text="A dataset no scan has seen (an external asset).")
    type = serializers.CharField(help_text="table, view, column, …; dataset or field for an external asset.")
    qualified_name = serializers.CharField()
    data_source_id = serializers.IntegerField(allow_null=True)
    data_source = serializers.CharField(allow_null=True)
    sensitivity = serializers.CharField()
    depth = serializers.IntegerField(help_text="Hops from the asset asked about.")


class EdgeSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null for a path through hidden nodes.")
    source = serializers.CharField()
    target = serializers.CharField()
    origin = serializers.ChoiceField(choices=LineageEdge.Origin.choices, allow_null=True)
    direct = serializers.BooleanField(help_text="The target's values are the source's, untransformed.")
    level = serializers.ChoiceField(choices=LineageEdge.Level.choices, allow_null=True)
    through_hidden = serializers.BooleanField(help_text="A path through nodes you may not see, collapsed.")


class GraphSerializer(serializers.Serializer):
    asset = serializers.IntegerField()
    nodes = NodeSerializer(many=True)
    edges = EdgeSerializer(many=True)
    hidden_nodes = serializers.IntegerField(help_text="Nodes reached that you may not see: counted, not named.")


class ImpactOwnerSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["user", "group"])
    owner_type = serializers.CharField()


class ImpactNodeSerializer(NodeSerializer):
    owners = ImpactOwnerSerializer(many=True)


class ImpactSerializer(serializers.Serializer):
    asset = serializers.IntegerField()
    downstream = ImpactNodeSerializer(many=True)
    hidden_nodes = serializers.IntegerField()


class StatementEdgeSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The qualified name of the asset the source table was mapped to, or "
                                             "of the external asset kept for it (`<source name>/<name as written>`).")
    source_id = serializers.IntegerField(allow_null=True, help_text="That asset's or external asset's id (null for "
                                                                    "an external asset a dry run did not create).")
    source_external = serializers.BooleanField()
    target = serializers.CharField()
    target_id = serializers.IntegerField(allow_null=True)
    target_external = serializers.BooleanField()


class StatementSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    line = serializers.IntegerField()
    kind = serializers.CharField()
    targets = serializers.ListField(child=serializers.CharField(), help_text="The tables or views it writes.")
    table_edges = StatementEdgeSerializer(many=True, help_text="The script's end-to-end edges into this statement's "
                                                               "targets (temporary tables collapsed).")
    column_edges = serializers.IntegerField(help_text="Column-level edges into its targets.")
    error = serializers.CharField(allow_null=True, help_text="Why it could not be read; null when it was.")
    error_line = serializers.IntegerField(allow_null=True, help_text="The line of the script the error is on.")


class RecordedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    refreshed = serializers.IntegerField()
    external_assets_created = serializers.IntegerField()


class SqlOutputSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    statements = StatementSerializer(many=True)
    table_edges = serializers.IntegerField()
    column_edges = serializers.IntegerField()
    external_tables = serializers.ListField(child=serializers.CharField(),
                                            help_text="Tables no scan has seen, kept as external assets: "
                                                      "`<source name>/<name as written>`.")
    unresolved_columns = serializers.ListField(child=serializers.CharField(),
                                               help_text="Columns of known tables the catalog does not hold: "
                                                         "left out.")
    recorded = RecordedSerializer()


# --- views -------------------------------------------------------------------------------------------------------


class ImpactCSVRenderer(renderers.BaseRenderer):
    """Selects CSV for impact analysis (``?format=csv`` or ``Accept: text/csv``); errors render as the problem
    JSON they are."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data, renderer_context=renderer_context)


IMPACT_CSV_FIELDS = ("key", "id", "external", "type", "qualified_name", "data_source", "sensitivity", "depth",
                     "owners")


NOT_VISIBLE = OpenApiResponse(description="No such asset, or not one you may see.")


class LineageViewSet(PostFormPageMixin, RestrictedViewSetMixin, viewsets.ViewSet):
    """The lineage of the assets you may see: upstream and downstream, at table and column level."""

    schema = SingleObjectSchema()  # the graph is one object, not a list
    queryset = LineageEdge.objects.all()  # whose permissions decide (view to read, add to record)
    action_permissions = {"list": "view", "impact": "view", "sql": "add"}

    def get_serializer(self, *args, **kwargs):
        """What POST /lineage/sql/ takes, for the browsable API's form and OPTIONS (the only action with a body;
        the graph and impact analysis read query parameters)."""
        return SqlInputSerializer(*args, context={"request": self.request}, **kwargs)

    def post_form_page(self, action: str) -> dict:
        return {**super().post_form_page(action), "example": {
            "data_source": 1, "dialect": "postgres", "default_schema": "public", "dry_run": True,
            "sql": "INSERT INTO report (email) SELECT email FROM customers;"},
            "limits": {"characters": services.MAX_SQL_CHARS, "statements": services.MAX_SQL_STATEMENTS,
                       "seconds_per_statement": services.STATEMENT_SECONDS,
                       "seconds_per_script": services.SCRIPT_SECONDS}}

    def perform_content_negotiation(self, request, force=False):
        """A format impact analysis does not offer is a 400 naming ``format`` (DRF answers 404)."""
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            offered = ", ".join(renderer.format for renderer in self.get_renderers())
            raise ValidationError({api_settings.URL_FORMAT_OVERRIDE: f"Choose one of: {offered}."},
                                  code="invalid") from None

    def _asset(self, pk: int):
        asset = asset_list(user=self.request.user).filter(pk=pk).first()
        if asset is None:
            raise NotFound("No such asset.")
        return asset

    @extend_schema(parameters=[GraphQuerySerializer], responses={200: GraphSerializer, 404: NOT_VISIBLE},
                   description="The lineage around an asset: its nodes (assets and external assets) and edges up "
                               "to `depth` hops upstream, downstream or both. Nodes you may not see are counted "
                               "in `hidden_nodes` and never named; a path through them shows as one edge "
                               "`through_hidden` between the visible nodes at its ends.")
    def list(self, request):
        query = GraphQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        asset = self._asset(params["asset"])
        graph = selectors.lineage_graph(user=request.user, asset=asset, direction=params["direction"],
                                        depth=params["depth"], columns=params["columns"])
        nodes = [_public(node) for node in graph.nodes.values()]
        return Response({"asset": asset.pk, "nodes": nodes, "edges": graph.edges, "hidden_nodes": graph.hidden_count})

    @extend_schema(
        parameters=[ImpactQuerySerializer,
                    OpenApiParameter("format", enum=["json", "csv"], default="json",
                                     description="json (the default) or csv; or ask with the Accept header.")],
        responses={(200, "application/json"): ImpactSerializer, (200, "text/csv"): OpenApiTypes.STR,
                   404: NOT_VISIBLE},
        description="Impact analysis: everything downstream of an asset (at column level too), nearest first, "
                    "with its sensitivity and owners. Nodes you may not see are counted in `hidden_nodes` (in "
                    "CSV, the `Racine-Hidden-Nodes` header), never listed.")
    # The project's renderers (JSON, and the browsable page a browser asks for) and CSV.
    @action(detail=False, methods=["get"], renderer_classes=[*api_settings.DEFAULT_RENDERER_CLASSES, ImpactCSVRenderer])
    def impact(self, request):
        """Impact analysis: everything downstream of `asset` (column level too), nearest first, with its sensitivity
        and owners. As CSV: `?format=csv` (the GET button's menu: csv), or `Accept: text/csv`."""
        query = ImpactQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        asset = self._asset(query.validated_data["asset"])
        graph, rows = selectors.lineage_impact(user=request.user, asset=asset, depth=query.validated_data["depth"])
        downstream = [{**_public(row), "owners": row["owners"]} for row in rows]
        if request.accepted_renderer.format == "csv":
            response = HttpResponse(_impact_csv(downstream), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="impact-{asset.pk}.csv"'
            response["Racine-Hidden-Nodes"] = str(graph.hidden_count)
            return response
        return Response({"asset": asset.pk, "downstream": downstream, "hidden_nodes": graph.hidden_count})

    def browsable_example(self, method: str) -> dict | None:
        """The body the browsable API's form on /lineage/sql/ starts with (config.renderers): a dry run on the first
        source the user sees, in its dialect, reading one of its tables, so that POST shows an answer at once."""
        # Asked after the form is drawn, when the view's action is again the page's own (a GET: none).
        if self.action_map.get(method.lower()) != "sql":
            return None
        source = datasource_list(user=self.request.user).order_by("pk").first()
        if source is None:
            return None
        table = (asset_list(user=self.request.user).filter(data_source=source, type="table", removed_at__isnull=True)
                 .order_by("qualified_name").values_list("name", flat=True).first())
        read = table if table and table.isidentifier() and table.islower() else "orders"
        return {"data_source": source.pk, "dialect": definition_dialect(source) or "postgres",
                "sql": f"CREATE TABLE {read}_copy AS SELECT * FROM {read}", "dry_run": True}

    @extend_schema(request=SqlInputSerializer, responses={200: SqlOutputSerializer, 413: OpenApiResponse(
        description=f"The SQL is longer than {services.MAX_SQL_CHARS:,} characters or holds more than "
                    f"{services.MAX_SQL_STATEMENTS:,} statements.")},
        description="Record lineage from SQL that ran on a data source: one statement or a script (a query log, "
                    "dbt's compiled models). Each statement is reported with its line, kind and target, and the "
                    "edges recorded into it; a statement that cannot be read gives its line and reason and the "
                    "others are still recorded. Tables and columns are matched to the source's assets by name; "
                    "names no scan has seen become external assets. Submitting the same SQL again records "
                    "nothing new (it refreshes when the edges were last seen). A statement read for more than "
                    f"{services.STATEMENT_SECONDS:g} s is reported as taking too long and the others are read; "
                    f"after {services.SCRIPT_SECONDS:g} s for the whole script the statements left are reported "
                    "unread.")
    @action(detail=False, methods=["post"])
    def sql(self, request):
        """Record lineage from SQL that ran on a data source: POST its `data_source`, `dialect` and `sql` (one
        statement or a script); `dry_run` reports what would be recorded and records nothing."""
        data = SqlInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        try:
            recording = services.lineage_sql_record(acting_user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            too_large = [error for error in getattr(exc, "error_dict", {}).get("sql", [])
                         if error.code == services.TOO_LARGE]
            if too_large:
                raise ContentTooLarge(too_large[0].messages[0]) from None
            raise
        return Response(SqlOutputSerializer({
            "dry_run": recording.dry_run, "statements": recording.statements, "table_edges": recording.table_edges,
            "column_edges": recording.column_edges, "external_tables": recording.external_tables,
            "unresolved_columns": recording.unresolved_columns,
            "recorded": {"created": recording.result.created, "refreshed": recording.result.refreshed,
                         "external_assets_created": recording.result.external_created}}).data)


def _public(node: dict) -> dict:
    return {name: node[name] for name in NodeSerializer().fields}


def _impact_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(IMPACT_CSV_FIELDS)
    for row in rows:
        owners = "; ".join(f"{owner['name']} ({owner['owner_type']})" for owner in row["owners"])
        values = {**row, "owners": owners, "external": "yes" if row["external"] else "no"}
        writer.writerow([spreadsheet_cell(values[name]) for name in IMPACT_CSV_FIELDS])
    return out.getvalue()


def register(router) -> None:
    router.register("lineage", LineageViewSet, basename="lineage")
