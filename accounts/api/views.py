"""Identity and access API: the caller, users, workspaces, memberships and the audit trail.

Every viewset inherits the restricted base (accounts.permissions), so scope is never opt-in; writes go through
accounts.services, which authorise against the parent workspace and write the audit event.
"""
from __future__ import annotations

import csv
import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import services
from accounts.api import filters, serializers
from accounts.api.base import RestrictedModelViewSet, RestrictedReadOnlyModelViewSet
from accounts.authentication import require_verified_session
from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.spreadsheets import spreadsheet_cell
from config.schema import SingleObjectSchema


class MeViewSet(viewsets.ViewSet):
    """The calling user's own profile."""

    schema = SingleObjectSchema()

    @extend_schema(responses=serializers.MeSerializer)
    def list(self, request):
        return Response(serializers.MeSerializer(request.user).data)


class UserViewSet(RestrictedModelViewSet):
    """Accounts. Workspace admins see the members of their workspaces; only superusers create or change
    accounts (everyone else grants access through memberships)."""

    queryset = User.objects.order_by("username")
    serializer_class = serializers.UserSerializer
    filterset_class = filters.UserFilterSet
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["username", "date_joined", "last_login"]
    action_permissions = {"reset_mfa": "change"}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.UserUpdateSerializer
        return serializers.UserSerializer

    def perform_create(self, serializer):
        serializer.instance = services.user_create(acting_user=self.request.user,
                                                   **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(user=serializer.instance,
                                                   acting_user=self.request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.user_delete(user=instance, acting_user=self.request.user)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"], url_path="reset-mfa", url_name="reset-mfa")
    def reset_mfa(self, request, pk=None):
        """Remove the user's second factor (a lost device) and end their sessions; they enrol again at their next
        login. Superusers, from a session verified by their own second factor."""
        require_verified_session(request)
        services.mfa_reset(user=self.get_object(), acting_user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkspaceViewSet(RestrictedModelViewSet):
    """Workspaces. Creating one is an organization-level act (superusers); workspace admins edit their own."""

    queryset = Workspace.objects.all()
    serializer_class = serializers.WorkspaceSerializer
    filterset_class = filters.WorkspaceFilterSet
    search_fields = ["name", "slug", "description"]
    ordering_fields = ["name", "created_at"]

    def perform_create(self, serializer):
        serializer.instance = services.workspace_create(acting_user=self.request.user,
                                                        **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.workspace_update(workspace=serializer.instance,
                                                        acting_user=self.request.user, **serializer.validated_data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(
        description="Problem details: the workspace still holds data sources, rule sets or custom rules; the member "
                    "`blocked_by` counts them by kind.")})
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.workspace_delete(workspace=instance, acting_user=self.request.user)


class MembershipViewSet(RestrictedModelViewSet):
    """Who holds which role in which workspace. Workspace admins manage their workspace's memberships; the
    organization-wide auditor role is granted by superusers only."""

    queryset = Membership.objects.select_related("user", "workspace")
    serializer_class = serializers.MembershipSerializer
    filterset_class = filters.MembershipFilterSet
    search_fields = ["user__username", "user__email"]
    ordering_fields = ["created_at", "role"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.MembershipUpdateSerializer
        return serializers.MembershipSerializer

    def perform_create(self, serializer):
        serializer.instance = services.membership_create(acting_user=self.request.user,
                                                         **serializer.validated_data)

    def perform_update(self, serializer):
        role = serializer.validated_data.get("role", serializer.instance.role)
        serializer.instance = services.membership_change_role(membership=serializer.instance,
                                                              role=role, acting_user=self.request.user)

    def perform_destroy(self, instance):
        services.membership_delete(membership=instance, acting_user=self.request.user)


class _Echo:
    def write(self, value):
        return value


CSV_COLUMNS = ["id", "created_at", "event", "actor", "actor_label", "workspace", "object_type", "object_id",
               "object_repr", "changes", "extra", "request_id", "ip", "user_agent"]


class AuditEventViewSet(RestrictedReadOnlyModelViewSet):
    """The audit trail, read-only. Auditors read all of it; workspace admins their workspaces' events."""

    queryset = AuditEvent.objects.select_related("content_type")
    serializer_class = serializers.AuditEventSerializer
    filterset_class = filters.AuditEventFilterSet
    search_fields = ["event", "actor_label", "object_repr"]
    ordering_fields = ["created_at", "event"]
    action_permissions = {"export": "view"}

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)}, filters=True,
                   description="The same events as the list (same filters and scope), as a streamed CSV file.")
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request):
        queryset = self.filter_queryset(self.get_queryset()).order_by("created_at", "id")
        writer = csv.writer(_Echo())
        serializer = serializers.AuditEventSerializer

        def rows():
            yield writer.writerow(CSV_COLUMNS)
            for event in queryset.iterator(chunk_size=2000):
                data = serializer(event).data
                yield writer.writerow([_csv_cell(data[column]) for column in CSV_COLUMNS])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response


def _csv_cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return spreadsheet_cell(value)
