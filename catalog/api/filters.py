"""List filters of catalog endpoints.

Relations are filtered by id with NumberFilter, not ModelChoiceFilter: a choice filter answers 400 for an id
that does not exist and 200 for one that does, which would reveal other workspaces' objects.
"""
import django_filters

from catalog.models import Asset


class AssetFilterSet(django_filters.FilterSet):
    data_source = django_filters.NumberFilter(field_name="data_source_id")
    # distinct=False: the filter is on the asset's own column, so it cannot duplicate rows, and the default
    # SELECT DISTINCT over every column would sort the whole visible catalog.
    type = django_filters.MultipleChoiceFilter(choices=Asset.Type.choices, distinct=False)
    parent = django_filters.NumberFilter(field_name="parent_id")
    qualified_name = django_filters.CharFilter(lookup_expr="icontains")
    removed = django_filters.BooleanFilter(field_name="removed_at", lookup_expr="isnull", exclude=True,
                                           help_text="true: only assets a scan no longer found; false: only "
                                                     "present ones.")

    class Meta:
        model = Asset
        fields = ["data_source", "type", "parent", "qualified_name", "removed"]
