"""Shapes of data sources in the API. A source's secret is write-only: ``password`` goes in, only ``has_secret``
comes out."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.base import ScopedRelationsMixin
from accounts.selectors import workspace_list
from sources.models import DataSource
from sources.openlineage import MAX_NAMESPACE_LENGTH, MAX_NAMESPACES, namespaces_in_use

# Fields a data source had before its curation moved to its catalog asset: a client still sending them is told
# where they went (a 400), rather than having them dropped without a word as unknown fields are.
MOVED_TO_CURATION = ("description", "owners")
MOVED_MESSAGE = ("A data source's description and owners are curation, on its catalog asset: find it with "
                 "GET /api/v1/assets/?type=source&data_source={id}, then change it with PATCH "
                 "/api/v1/assets/{asset id}/curation/.")


class DataSourceSerializer(ScopedRelationsMixin, serializers.ModelSerializer):
    """Input and output of a data source. ``workspace`` accepts only workspaces the caller can see, so an id
    outside their scope is refused exactly like one that does not exist; whether they may add a source there is
    the service's rule (403). Its description, owners, tags and certification are curation, on its catalog asset
    (``/api/v1/assets/?type=source``, ``/api/v1/assets/{id}/curation/``)."""

    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=False, max_length=4096,
        style={"input_type": "password"},
        help_text="Write-only. Omit to keep the stored secret; an empty string clears it. Changing engine, host, "
                  "port, database, username or options without the right to read the secret drops it, unless "
                  "the password is entered again in the same request.")
    has_secret = serializers.BooleanField(read_only=True)
    options = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False,
                                    help_text="Driver options from the engine's allowed list.")
    openlineage_namespaces = serializers.ListField(
        child=serializers.CharField(max_length=MAX_NAMESPACE_LENGTH), max_length=MAX_NAMESPACES, required=False,
        help_text="The OpenLineage namespaces this source's datasets are named in (postgres://db.example.com:5432, "
                  "snowflake://org-account, bigquery). Empty: the one its connection settings give, where Racine "
                  "can tell it (PostgreSQL, MySQL / MariaDB).")
    openlineage_namespaces_in_use = serializers.SerializerMethodField(
        help_text="The namespaces OpenLineage events are matched against: those declared, else the derived one.")
    scoped_relations = {"workspace": workspace_list}

    class Meta:
        model = DataSource
        fields = ["id", "workspace", "name", "engine", "host", "port", "database", "username", "password",
                  "has_secret", "options", "openlineage_namespaces", "openlineage_namespaces_in_use",
                  "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "has_secret", "created_by", "created_at", "updated_at"]
        # Uniqueness is the service's rule (full_clean, same 400); DRF's validator would run a query first.
        validators = []

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_openlineage_namespaces_in_use(self, source: DataSource) -> list[str]:
        return namespaces_in_use(source)

    def validate(self, attrs):
        sent = self.initial_data if isinstance(self.initial_data, dict) else {}
        moved = [name for name in MOVED_TO_CURATION if name in sent]
        if moved:
            raise serializers.ValidationError({name: [MOVED_MESSAGE] for name in moved})
        return attrs


class DataSourceUpdateSerializer(DataSourceSerializer):
    class Meta(DataSourceSerializer.Meta):
        read_only_fields = [*DataSourceSerializer.Meta.read_only_fields, "workspace"]


class ConnectionTestSerializer(serializers.Serializer):
    """The answer of a connection test: ``ok`` with what the server reported, or ``ok: false`` and a message
    that never carries the secret."""

    ok = serializers.BooleanField()
    server_version = serializers.CharField(required=False)
    current_user = serializers.CharField(required=False)
    database = serializers.CharField(required=False)
    read_only = serializers.BooleanField(required=False)
    statement_timeout_s = serializers.FloatField(required=False, allow_null=True)
    error = serializers.CharField(required=False)
