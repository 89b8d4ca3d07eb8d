"""Data sources API: thin views over sources.services. A service's PermissionDenied is a 403 (the object was already
found visible, else 404) and its ValidationError a 400 with field errors, through the API's one exception handler
(config.problems)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.api.base import RestrictedModelViewSet
from sources import services
from sources.api import filters, serializers
from sources.models import DataSource


class DataSourceViewSet(RestrictedModelViewSet):
    """Databases Racine scans. The secret is write-only (``password`` in, ``has_secret`` out). Creating a source
    needs ``sources.add_datasource`` in the target workspace."""

    queryset = DataSource.objects.select_related("workspace", "created_by")
    serializer_class = serializers.DataSourceSerializer
    filterset_class = filters.DataSourceFilterSet
    search_fields = ["name", "host", "database"]
    ordering_fields = ["name", "engine", "created_at", "updated_at"]
    action_permissions = {"test_connection": "test_connection"}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.DataSourceUpdateSerializer
        return serializers.DataSourceSerializer

    def perform_create(self, serializer):
        serializer.instance = services.datasource_create(acting_user=self.request.user,
                                                         **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.datasource_update(data_source=serializer.instance,
                                                         acting_user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.datasource_delete(data_source=instance, acting_user=self.request.user)

    @extend_schema(request=None, responses=serializers.ConnectionTestSerializer,
                   description="Connect to the source with its stored secret, confirm the session is read-only and "
                               "report the server. A failure is still 200, with `ok: false` and a message that "
                               "never carries the secret. One test per user runs at a time: a second one while "
                               "the first is in flight is a 429 problem.")
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request, pk=None):
        source = self.get_object()  # 404 outside scope, 403 without test_connection: before any connection
        try:
            info = services.datasource_test_connection(data_source=source, acting_user=request.user)
        except services.ConnectionTestFailed as exc:
            return Response({"ok": False, "error": str(exc)})
        except services.ConnectionTestBusy as exc:
            raise exceptions.Throttled(detail=str(exc), code="connection_test_in_flight") from None
        return Response({"ok": True, "server_version": info.server_version, "current_user": info.current_user,
                         "database": info.database, "read_only": info.read_only,
                         "statement_timeout_s": info.statement_timeout_s})
