"""List filters of the data source endpoint. Relations are filtered by id (NumberFilter), not by choice: see
catalog.api.filters."""
import django_filters

from config.filters import FilterSet
from sources.models import DataSource


class DataSourceFilterSet(FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    engine = django_filters.MultipleChoiceFilter(choices=DataSource.Engine.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = DataSource
        fields = ["workspace", "engine", "name"]
