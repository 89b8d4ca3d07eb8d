"""List filters of scanning endpoints; relations by id (NumberFilter), see catalog.api.filters for why."""
import django_filters

from config.filters import DateTimeFromToRangeFilter, FilterSet
from scanning.models import AssetChange, Scan, ScanRuleSet, ScanRun


class ScanRuleSetFilterSet(FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ScanRuleSet
        fields = ["workspace", "name", "detection_enabled", "profiling_enabled"]


class ScanFilterSet(FilterSet):
    data_source = django_filters.NumberFilter(field_name="data_source_id")
    rule_set = django_filters.NumberFilter(field_name="rule_set_id")
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Scan
        fields = ["data_source", "rule_set", "name", "enabled"]


class ScanRunFilterSet(FilterSet):
    scan = django_filters.NumberFilter(field_name="scan_id")
    data_source = django_filters.NumberFilter(field_name="data_source_id")
    status = django_filters.MultipleChoiceFilter(choices=ScanRun.Status.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=ScanRun.Trigger.choices)
    queued_at = DateTimeFromToRangeFilter(
        help_text="queued_at_after / queued_at_before (ISO 8601).")

    class Meta:
        model = ScanRun
        fields = ["scan", "data_source", "status", "trigger", "queued_at"]


class AssetChangeFilterSet(FilterSet):
    run = django_filters.NumberFilter(field_name="run_id")
    asset = django_filters.NumberFilter(field_name="asset_id")
    kind = django_filters.MultipleChoiceFilter(choices=AssetChange.Kind.choices)

    class Meta:
        model = AssetChange
        fields = ["run", "asset", "kind"]
