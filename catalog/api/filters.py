"""List filters of catalog endpoints.

Relations are filtered by id with NumberFilter, not ModelChoiceFilter: a choice filter answers 400 for an id
that does not exist and 200 for one that does, which would reveal other workspaces' objects. Classifications are
organization-wide reference data every member reads, so ``classification`` names them and refuses unknown names.
"""
import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q

from catalog.models import (
    Asset,
    AssetCertification,
    AssetClassification,
    AssetOwner,
    AssetPropertyValue,
    AssetTag,
    Classification,
    GlossaryTermAsset,
    PropertyDefinition,
)
from catalog.properties import any_of, carrying, value_from_query_text
from catalog.services import COUNTING_STATUSES
from config.filters import FilterSet

# Both describe one classification row of the asset (PII.EMAIL *and* confirmed), so they are applied together.
CLASSIFICATION_FILTERS = ("classification", "classification_status")


class AssetFilterSet(FilterSet):
    data_source = django_filters.NumberFilter(field_name="data_source_id")
    # distinct=False: the filter is on the asset's own column, so it cannot duplicate rows, and the default
    # SELECT DISTINCT over every column would sort the whole visible catalog.
    type = django_filters.MultipleChoiceFilter(choices=Asset.Type.choices, distinct=False)
    parent = django_filters.NumberFilter(field_name="parent_id")
    qualified_name = django_filters.CharFilter(lookup_expr="icontains")
    sensitivity = django_filters.MultipleChoiceFilter(
        choices=Asset.Sensitivity.choices, distinct=False,
        help_text="The asset's sensitivity (the highest of its classifications or of those below it); repeat for "
                  "any of several.")
    classification = django_filters.ModelMultipleChoiceFilter(
        field_name="classifications__classification", to_field_name="name", queryset=Classification.objects.all(),
        help_text="Assets carrying this classification (its name, e.g. PII.EMAIL), suggested or confirmed unless "
                  "classification_status says otherwise; repeat for any of several.")
    classification_status = django_filters.MultipleChoiceFilter(
        field_name="classifications__status", choices=AssetClassification.Status.choices,
        help_text="Assets with a classification in this status (with classification: that classification in this "
                  "status); repeat for any of several.")
    # Curation: ids, as for data_source and parent (an id from elsewhere selects nothing, it is not refused); each
    # an EXISTS, so that an asset is listed once whatever the number of its links.
    tag = django_filters.NumberFilter(method="filter_tag", help_text="Assets carrying this tag (its id).")
    term = django_filters.NumberFilter(method="filter_term",
                                       help_text="Assets linked to this glossary term (its id).")
    owner = django_filters.NumberFilter(
        method="filter_owner", help_text="Assets this user (their id) owns, named or through one of their groups, "
                                         "in any capacity.")
    certification = django_filters.ChoiceFilter(
        method="filter_certification", choices=[*AssetCertification.Status.choices, ("none", "None")],
        help_text="certified or deprecated assets, or none: those with neither.")
    property = django_filters.CharFilter(
        method="filter_property",
        help_text="Assets carrying a custom property: name:value (a property of several choices: one of them), or "
                  "its name alone for any value. Numbers, yes/no (true or false) and dates (YYYY-MM-DD) are read by "
                  "the property's type.")
    removed = django_filters.BooleanFilter(field_name="removed_at", lookup_expr="isnull", exclude=True,
                                           initial="false",
                                           help_text="false (the default): only assets present at the last scan; "
                                                     "true: only assets a scan no longer found.")

    class Meta:
        model = Asset
        fields = ["data_source", "type", "parent", "qualified_name", "sensitivity", "classification",
                  "classification_status", "tag", "term", "owner", "certification", "property", "removed"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(Exists(AssetTag.objects.filter(asset=OuterRef("pk"), tag_id=value)))

    def filter_term(self, queryset, name, value):
        return queryset.filter(Exists(GlossaryTermAsset.objects.filter(asset=OuterRef("pk"), term_id=value)))

    def filter_owner(self, queryset, name, value):
        owners = AssetOwner.objects.filter(Q(user_id=value) | Q(group__user=value), asset=OuterRef("pk"))
        return queryset.filter(Exists(owners))

    def filter_certification(self, queryset, name, value):
        if value == "none":
            return queryset.exclude(Exists(AssetCertification.objects.filter(asset=OuterRef("pk"))))
        return queryset.filter(Exists(AssetCertification.objects.filter(asset=OuterRef("pk"), status=value)))

    def filter_property(self, queryset, name, value):
        # Names are per workspace: each workspace's definition of the name reads the value by its own type, and one
        # that cannot read it matches nothing (no 400, which would tell that another workspace has the name).
        key, colon, wanted = value.partition(":")
        rows = AssetPropertyValue.objects.filter(definition__name=key.strip())
        if colon:
            definitions = PropertyDefinition.objects.filter(name=key.strip())
            cleaned = [(definition, value_from_query_text(definition, wanted)) for definition in definitions]
            rows = rows.filter(any_of(carrying(definition, found) for definition, found in cleaned
                                      if found is not None))
        return queryset.filter(Exists(rows.filter(asset=OuterRef("pk"))))

    @classmethod
    def filter_one(cls, queryset, name: str, value: str):
        """``queryset`` filtered by the filter ``name`` alone, read from ``value`` as the list reads its query
        string (the admin's asset lists offer the same filters, catalog.admin_filters); ``ValueError`` for a value
        it cannot read."""
        filterset = cls({name: value}, queryset)
        field = filterset.form.fields[name]
        try:
            cleaned = field.clean(field.widget.value_from_datadict({name: value}, {}, name))
        except ValidationError as refused:
            raise ValueError("; ".join(refused.messages)) from None
        return filterset.filters[name].filter(queryset, cleaned)

    def filter_queryset(self, queryset):
        values = self.form.cleaned_data
        for name, value in values.items():
            if name not in CLASSIFICATION_FILTERS:
                queryset = self.filters[name].filter(queryset, value)
        return classified(queryset, classifications=values.get("classification"),
                          statuses=values.get("classification_status"))


def classified(queryset, *, classifications, statuses):
    """Assets with one classification row matching both conditions; an EXISTS, so no asset is listed twice."""
    if not classifications and not statuses:
        return queryset
    rows = AssetClassification.objects.filter(asset=OuterRef("pk"), status__in=statuses or COUNTING_STATUSES)
    if classifications:
        rows = rows.filter(classification__in=classifications)
    return queryset.filter(Exists(rows))
