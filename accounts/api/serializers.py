from rest_framework import serializers

from accounts.api.base import ScopedRelationsMixin
from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.roles import Role
from accounts.selectors import membership_user_choices, workspace_list


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff", "last_login", "date_joined"]
        read_only_fields = ["id", "username", "is_staff", "last_login", "date_joined"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser",
                  "last_login", "date_joined"]
        read_only_fields = ["id", "is_staff", "is_superuser", "last_login", "date_joined"]


class UserUpdateSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        read_only_fields = [*UserSerializer.Meta.read_only_fields, "username"]


class WorkspaceSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(max_length=100, required=False, allow_blank=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "description", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class MembershipSerializer(ScopedRelationsMixin, serializers.ModelSerializer):
    """Input and output of a membership. ``workspace`` accepts only workspaces the caller can see, so an id
    outside their scope is refused exactly like one that does not exist."""

    scoped_relations = {"workspace": workspace_list, "user": membership_user_choices}

    username = serializers.CharField(source="user.username", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "workspace", "role", "created_at", "updated_at"]
        read_only_fields = ["id", "username", "created_at", "updated_at"]
        # Uniqueness is the service's rule (with a clearer message); DRF's validator would run a query first.
        validators = []


class MembershipUpdateSerializer(MembershipSerializer):
    class Meta(MembershipSerializer.Meta):
        read_only_fields = [*MembershipSerializer.Meta.read_only_fields, "user", "workspace"]


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    workspace = serializers.IntegerField(source="workspace_id", read_only=True, allow_null=True)
    object_type = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "event", "actor", "actor_label", "workspace", "object_type", "object_id",
                  "object_repr", "changes", "extra", "request_id", "ip", "user_agent"]
        read_only_fields = fields

    def get_object_type(self, obj) -> str | None:
        content_type = obj.content_type
        return f"{content_type.app_label}.{content_type.model}" if content_type else None
