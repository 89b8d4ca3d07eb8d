"""Scanning API: rule sets, scans, runs and drift, detection on demand, and the scan action on a data source.

Views are thin: shape in, one service call, shape out. A service's PermissionDenied is a 403 (the object was
already found visible, else 404) and its ValidationError a 400 with field errors, through the API's one exception
handler (config.problems); here: a scan already running → 409 naming the active run, a finished run → 409 on
cancel.
"""
from __future__ import annotations

from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.base import RestrictedModelViewSet, RestrictedReadOnlyModelViewSet, RestrictedViewSetMixin
from catalog.models import Asset
from catalog.selectors import asset_list
from config.problems import Conflict
from scanning import services
from scanning.api import filters, serializers
from scanning.models import AssetChange, Scan, ScanRuleSet, ScanRun
from scanning.selectors import asset_change_list
from scanning.services.detection import MAX_DETECT_ASSETS
from sources.models import DataSource

CONFLICT_RESPONSE = OpenApiResponse(description="Problem details; for a scan already queued or running, the "
                                                "member `run` holds the active run's id.")


def already_running(exc: services.ScanAlreadyRunning) -> Conflict:
    return Conflict(str(exc), code="scan_already_running", extra={"run": exc.run.pk if exc.run is not None else None})


def _request_run(*, scan: Scan, acting_user) -> ScanRun:
    try:
        return services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.API,
                                         acting_user=acting_user)
    except services.ScanAlreadyRunning as exc:
        raise already_running(exc) from None


def queued(run: ScanRun) -> Response:
    return Response(serializers.ScanRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class DataSourceScanViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    """``/data-sources/{id}/scan/``: scanning's action on a data source, next to sources' own routes."""

    queryset = DataSource.objects.all()
    # Authorised by the service (run on the source's scan, or run_scan in its workspace when the default scan must
    # be created first): the view only needs the source to be visible (else 404).
    action_permissions = {"scan": "view"}

    @extend_schema(request=None, responses={202: serializers.ScanRunSerializer, 409: CONFLICT_RESPONSE},
                   description="Queue a run of the source's default scan (created on first use with the "
                               "workspace's default rule set). Needs the right to run scans.")
    @action(detail=True, methods=["post"], url_path="scan", url_name="run")
    def scan(self, request, pk=None):
        source = self.get_object()
        scan = services.scan_default(data_source=source, acting_user=request.user)
        return queued(_request_run(scan=scan, acting_user=request.user))


class ScanRuleSetViewSet(RestrictedModelViewSet):
    """What scans read: include / exclude patterns, sampling, detection and profiling."""

    queryset = ScanRuleSet.objects.select_related("workspace")
    serializer_class = serializers.ScanRuleSetSerializer
    filterset_class = filters.ScanRuleSetFilterSet
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.ScanRuleSetUpdateSerializer
        return serializers.ScanRuleSetSerializer

    def perform_create(self, serializer):
        serializer.instance = services.rule_set_create(acting_user=self.request.user,
                                                       **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.rule_set_update(rule_set=serializer.instance,
                                                       acting_user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.rule_set_delete(rule_set=instance, acting_user=self.request.user)


class ScanViewSet(RestrictedModelViewSet):
    """A data source scanned with a rule set, on an optional cron schedule (kept in step with a beat entry)."""

    queryset = Scan.objects.select_related("data_source", "rule_set").annotate(
        last_run_id=Subquery(ScanRun.objects.filter(scan=OuterRef("pk")).order_by("-queued_at").values("pk")[:1]))
    serializer_class = serializers.ScanSerializer
    filterset_class = filters.ScanFilterSet
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "updated_at"]
    action_permissions = {"run": "run"}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.ScanUpdateSerializer
        return serializers.ScanSerializer

    def perform_create(self, serializer):
        serializer.instance = services.scan_create(acting_user=self.request.user,
                                                   **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.scan_update(scan=serializer.instance,
                                                   acting_user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.scan_delete(scan=instance, acting_user=self.request.user)

    @extend_schema(request=None, responses={202: serializers.ScanRunSerializer, 409: CONFLICT_RESPONSE},
                   description="Queue a run of this scan. 409 when its data source already has a queued or "
                               "running run (one at a time per source).")
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        return queued(_request_run(scan=self.get_object(), acting_user=request.user))


class ScanRunViewSet(RestrictedReadOnlyModelViewSet):
    """Runs — scans and detections asked for on demand (``trigger`` = detection): status, progress, counters,
    timings and the error if any. Read-only, except cancelling."""

    queryset = ScanRun.objects.select_related("requested_by")
    serializer_class = serializers.ScanRunSerializer
    filterset_class = filters.ScanRunFilterSet
    ordering_fields = ["queued_at", "started_at", "finished_at", "status"]
    # Cancelling is authorised by the service — on a scan's run, ``run`` on its scan; on a detection, ``classify``
    # on every asset it was asked for — which the viewset's model-level check on ScanRun cannot express: the view
    # only needs the run to be visible (else 404), and the service's PermissionDenied becomes 403.
    action_permissions = {"cancel": "view", "changes": "view"}

    @extend_schema(request=None, responses={200: serializers.ScanRunSerializer, 409: CONFLICT_RESPONSE},
                   description="Cancel a queued run at once, or ask a running one to stop after its current "
                               "batch. 409 when the run has already finished.")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = self.get_object()
        try:
            run = services.scan_run_cancel(run=run, acting_user=request.user)
        except services.RunNotCancellable as exc:
            raise Conflict(str(exc), code="run_not_cancellable") from None
        return Response(serializers.ScanRunSerializer(run).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("PaginatedRunChangeList", fields={
            "count": drf_serializers.IntegerField(),
            "next": drf_serializers.URLField(allow_null=True),
            "previous": drf_serializers.URLField(allow_null=True),
            "results": serializers.AssetChangeSerializer(many=True)}),
        parameters=[
            OpenApiParameter("kind", str, many=True, enum=AssetChange.Kind.values,
                             description="added, changed or removed"),
            OpenApiParameter("asset", int, description="Only this asset's change."),
            OpenApiParameter("page", {"type": "integer", "minimum": 1}),
            OpenApiParameter("page_size", {"type": "integer", "minimum": 1})],
        description="The drift this run recorded (added, changed and removed assets), paginated.")
    @action(detail=True, methods=["get"])
    def changes(self, request, pk=None):
        run = self.get_object()
        filterset = filters.AssetChangeFilterSet(request.query_params, request=request,
                                                 queryset=asset_change_list(user=request.user, run=run))
        if not filterset.is_valid():
            raise exceptions.ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(serializers.AssetChangeSerializer(page, many=True).data)


class AssetChangeViewSet(RestrictedReadOnlyModelViewSet):
    """Drift recorded by runs, across runs."""

    queryset = AssetChange.objects.select_related("asset")
    serializer_class = serializers.AssetChangeSerializer
    filterset_class = filters.AssetChangeFilterSet
    ordering_fields = ["id", "created_at", "kind"]


class DetectSerializer(drf_serializers.Serializer):
    assets = drf_serializers.ListField(
        child=drf_serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_DETECT_ASSETS,
        help_text="Columns, tables or views, schemas, or a database (the whole source), all of one data source.")


class DetectionViewSet(RestrictedViewSetMixin, viewsets.GenericViewSet):
    """Detection on demand ("detect again"): re-run detection on assets the caller may classify."""

    queryset = Asset.objects.select_related("parent", "data_source")
    serializer_class = DetectSerializer
    action_permissions = {"create": "classify"}

    @extend_schema(request=DetectSerializer, responses={202: serializers.ScanRunSerializer, 409: CONFLICT_RESPONSE},
                   description="Re-run detection on columns, tables or views, schemas or a whole source (its "
                               "database asset), as a run on the detection queue: the answer is the queued run "
                               "(`/scan-runs/{id}/` shows its progress; it can be cancelled there). Needs "
                               "`classify` on every asset; 404 when one is not visible; 409 when the source has "
                               "a scan or detection queued or running. Authorised before anything connects.")
    def create(self, request):
        data = DetectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = set(data.validated_data["assets"])
        assets = list(asset_list(user=request.user).select_related("parent").filter(pk__in=wanted))
        if len(assets) != len(wanted):
            raise exceptions.NotFound("No such asset.")
        try:
            run = services.detection_run_request(assets=assets, acting_user=request.user)
        except services.ScanAlreadyRunning as exc:
            raise already_running(exc) from None
        return queued(run)
