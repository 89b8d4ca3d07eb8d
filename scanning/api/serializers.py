"""Shapes of rule sets, scans, runs and drift in the API. Relation inputs accept only objects the caller can see,
so an id outside their scope is refused exactly like one that does not exist."""
from rest_framework import serializers

from accounts.api.base import ScopedRelationsMixin
from accounts.selectors import workspace_list
from config.serializers import ModelSerializer
from scanning.models import AssetChange, Scan, ScanRuleSet, ScanRun
from scanning.selectors import rule_set_list
from sources.selectors import datasource_list


def _strings(help_text: str):
    return serializers.ListField(child=serializers.CharField(max_length=1000), required=False,
                                 help_text=help_text)


class ScanRuleSetSerializer(ScopedRelationsMixin, ModelSerializer):
    include_schemas = _strings("Globs, or regular expressions (RE2 syntax) prefixed with 're:'.")
    exclude_schemas = _strings("Globs, or regular expressions (RE2 syntax) prefixed with 're:'.")
    include_tables = _strings("Match the table name or 'schema.table'.")
    exclude_tables = _strings("Match the table name or 'schema.table'.")
    include_columns = _strings("Match the column name.")
    exclude_columns = _strings("Match the column name.")
    classifications = _strings("Names of the classifications to detect; empty means all active ones.")
    scoped_relations = {"workspace": workspace_list}

    class Meta:
        model = ScanRuleSet
        fields = ["id", "workspace", "name", "description", "include_schemas", "exclude_schemas", "include_tables",
                  "exclude_tables", "include_columns", "exclude_columns", "sample_size", "detection_enabled",
                  "classifications", "profiling_enabled", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # uniqueness is checked by the service (full_clean), with the same 400


class ScanRuleSetUpdateSerializer(ScanRuleSetSerializer):
    class Meta(ScanRuleSetSerializer.Meta):
        read_only_fields = [*ScanRuleSetSerializer.Meta.read_only_fields, "workspace"]


class ScanSerializer(ScopedRelationsMixin, ModelSerializer):
    rule_set = serializers.PrimaryKeyRelatedField(
        queryset=ScanRuleSet.objects.none(), required=False,
        help_text="Defaults to the workspace's 'Default' rule set (everything).")
    schedule = serializers.CharField(
        max_length=100, required=False, allow_blank=True,
        help_text="Cron expression (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'; empty for "
                  "manual runs only.")
    last_run = serializers.SerializerMethodField()
    scoped_relations = {"data_source": datasource_list, "rule_set": rule_set_list}

    class Meta:
        model = Scan
        fields = ["id", "data_source", "rule_set", "name", "schedule", "enabled", "last_run", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "last_run", "created_by", "created_at", "updated_at"]
        validators = []

    def get_last_run(self, scan) -> int | None:
        if hasattr(scan, "last_run_id"):  # annotated by the viewset's queryset: no query per row
            return scan.last_run_id
        run = scan.runs.order_by("-queued_at").only("pk").first()
        return run.pk if run else None


class ScanUpdateSerializer(ScanSerializer):
    class Meta(ScanSerializer.Meta):
        read_only_fields = [*ScanSerializer.Meta.read_only_fields, "data_source"]


class ScanRunSerializer(serializers.ModelSerializer):
    """A run's state. For a scan, ``progress_total`` is the size of the source at its last successful run (unknown
    on a first run), so ``progress_percent`` is an estimate and null when there is nothing to compare with; in the
    detection phase, and for a detection on demand (``trigger`` = detection, ``scan`` null, ``targets`` the assets
    asked for), progress counts tables."""

    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                                help_text="Null for scheduled runs and deleted users.")
    targets = serializers.ListField(child=serializers.IntegerField(), read_only=True,
                                    help_text="Detection on demand: the assets asked for.")
    progress_percent = serializers.SerializerMethodField()
    duration_s = serializers.SerializerMethodField()

    class Meta:
        model = ScanRun
        fields = ["id", "scan", "data_source", "status", "trigger", "requested_by", "phase", "progress_done",
                  "progress_total", "progress_percent", "objects_seen", "added", "changed", "removed", "unchanged",
                  "columns_classified", "queued_at", "started_at", "heartbeat_at", "finished_at", "duration_s",
                  "cancel_requested", "attempts", "error", "targets"]
        read_only_fields = fields

    def get_progress_percent(self, run) -> float | None:
        if run.status == ScanRun.Status.SUCCEEDED:
            return 100.0
        if not run.progress_total:
            return None
        # The total is last run's size: a source that grew since would pass 100 before the run ends.
        return round(min(100.0, 100.0 * run.progress_done / run.progress_total), 1)

    def get_duration_s(self, run) -> float | None:
        duration = run.duration
        return round(duration.total_seconds(), 3) if duration is not None else None


class AssetChangeSerializer(serializers.ModelSerializer):
    qualified_name = serializers.CharField(source="asset.qualified_name", read_only=True)
    asset_type = serializers.CharField(source="asset.type", read_only=True)

    class Meta:
        model = AssetChange
        fields = ["id", "run", "asset", "qualified_name", "asset_type", "kind", "changes", "created_at"]
        read_only_fields = fields
