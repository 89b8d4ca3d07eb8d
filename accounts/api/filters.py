import django_filters
from django.contrib.contenttypes.models import ContentType

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.roles import Role
from accounts.selectors import workspace_list
from config.filters import DateTimeFromToRangeFilter, FilterSet


class WorkspaceFilterSet(FilterSet):
    class Meta:
        model = Workspace
        fields = {"name": ["exact", "icontains"], "slug": ["exact"]}


# Relations are filtered by id with NumberFilter, not ModelChoiceFilter: a choice filter answers 400 for an id
# that does not exist and 200 for one that does, which would reveal other workspaces' objects.


class MembershipFilterSet(FilterSet):
    role = django_filters.MultipleChoiceFilter(choices=Role.choices)
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    user = django_filters.NumberFilter(field_name="user_id")

    class Meta:
        model = Membership
        fields = ["workspace", "user", "role"]


class UserFilterSet(FilterSet):
    workspace = django_filters.NumberFilter(method="filter_workspace")

    def filter_workspace(self, queryset, name, value):
        # Only among workspaces the caller can see: otherwise ?workspace=<unseen id> told a workspace admin which
        # of their own members also belong to that other workspace.
        visible = workspace_list(user=getattr(self.request, "user", None)).filter(pk=value)
        return queryset.filter(pk__in=Membership.objects.filter(workspace__in=visible).values("user_id"))

    class Meta:
        model = User
        fields = {"username": ["exact", "icontains"], "email": ["exact", "icontains"], "is_active": ["exact"]}


class AuditEventFilterSet(FilterSet):
    event = django_filters.CharFilter(method="filter_event",
                                      help_text="Exact event, or a prefix ending in '.' (e.g. 'membership.').")
    object_type = django_filters.CharFilter(method="filter_object_type", help_text="'app_label.model', e.g. "
                                                                                   "'accounts.workspace'.")
    actor = django_filters.NumberFilter(field_name="actor_id")
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    created_at = DateTimeFromToRangeFilter(
        help_text="created_at_after / created_at_before (ISO 8601).")

    class Meta:
        model = AuditEvent
        fields = ["event", "actor", "workspace", "object_id", "request_id"]

    def filter_event(self, queryset, name, value):
        if value.endswith("."):
            return queryset.filter(event__startswith=value)
        return queryset.filter(event=value)

    def filter_object_type(self, queryset, name, value):
        app_label, _, model = value.lower().partition(".")
        content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
        return queryset.filter(content_type=content_type) if content_type else queryset.none()


