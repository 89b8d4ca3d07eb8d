"""The catalog in the stewards' back office: assets, one page per type (proxy models). Scans write assets; here a
steward reads them and curates them (catalog.admin_curation: description, owners, tags, terms, certification, one asset
or the selected ones, through catalog.asset_curation, audit rows included). An asset's page says where it sits and
what it holds (catalog.admin_assets)."""
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from accounts.admin import ContributedAdminMixin, RestrictedAdminMixin
from accounts.permissions import has_any_grant
from catalog import admin_assets, inventory
from catalog.admin_curation import CurationAdminMixin, curate_selected
from catalog.admin_filters import CURATION_FILTERS
from catalog.admin_lineage import LineageAdminMixin
from catalog.admin_readable import NOT_PROFILED, profile_facts, property_facts
from catalog.models import (
    Asset,
    ColumnAsset,
    DatabaseAsset,
    RoutineAsset,
    SchemaAsset,
    SourceAsset,
    TableAsset,
    ViewAsset,
)
from catalog.selectors import asset_list, asset_search
from config.pagination import EstimatedCountPaginator
from sources.admin import VisibleDataSourceFilter


class RemovedFilter(admin.SimpleListFilter):
    """Present assets unless asked otherwise: a table dropped from its source is history, not part of the
    catalog a steward works on (the lists showed removed tables as live)."""

    title = "present in the source"
    parameter_name = "removed"
    PRESENT, REMOVED, ALL = "no", "yes", "all"

    def lookups(self, request, model_admin):
        return [(self.PRESENT, "Present"), (self.REMOVED, "Removed"), (self.ALL, "Present and removed")]

    def value(self):
        return super().value() if super().value() in (self.REMOVED, self.ALL) else self.PRESENT

    def choices(self, changelist):
        # Without Django's "All" entry: no parameter means present, and "all" is one of the lookups.
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, queryset):
        if self.value() == self.REMOVED:
            return queryset.filter(removed_at__isnull=False)
        if self.value() == self.PRESENT:
            return queryset.filter(removed_at__isnull=True)
        return queryset


def _inventory_action(fmt: str):
    @admin.action(description=f"Export the sensitive columns of the selected assets ({fmt.upper()})",
                  permissions=["view"])
    def export(modeladmin, request, queryset):
        """The inventory (catalog.inventory) of the selected columns and of the columns under the selected
        tables, views, schemas, databases and sources, read through the asset selector like the API's export. A
        column sits at most four levels under what was selected (source, database, schema, table); the action is
        offered on every asset list, so a selected source or database must not export an empty file."""
        levels = [queryset.values("pk")]
        for _ in range(3):
            levels.append(Asset.objects.filter(parent__in=levels[-1]).values("pk"))
        within = Q(pk__in=levels[0])
        for level in levels:
            within |= Q(parent__in=level)
        columns = asset_list(user=request.user).filter(within)
        return inventory.streaming_response(inventory.of_columns(columns), fmt)

    export.__name__ = f"export_inventory_{fmt}"
    return export


class AssetAdmin(CurationAdminMixin, LineageAdminMixin, ContributedAdminMixin, RestrictedAdminMixin, admin.ModelAdmin):
    """Scanning contributes its "detect again" action (see ``ContributedAdminMixin``). Nothing on the page itself
    is edited: scans write the fields, stewards curate through the "Edit curation" page (``CurationAdminMixin``)."""

    list_display = ["qualified_name_shown", "data_source", "data_type", "sensitivity", "row_count", "changed_at",
                    "removed_at"]
    # The API's curation filters too (catalog.admin_filters), offering what the user sees.
    list_filter = [VisibleDataSourceFilter, RemovedFilter, "sensitivity", *CURATION_FILTERS]
    search_fields = ["qualified_name", "description"]  # shows the search box; the search is get_search_results
    list_select_related = ["data_source"]  # not the parent: the list does not show it (100 rows and a join less)
    # A count(*) over a million columns on every page view is not worth it: no unfiltered total, and the
    # filtered one estimated when large.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    change_form_template = "admin/catalog/asset/change_form.html"

    class Media:
        css = {"all": ["racine/assets.css", "racine/curation.css"]}  # the lists' and the pages' (long names wrap)

    # The JSON fields are shown through catalog.admin_readable (``properties_shown``, ``profile_shown``); the
    # description and the source's comment in the curation section (catalog.admin_curation).
    fields = ["qualified_name", "name", "type", "data_source", "parent_shown", "data_type", "is_nullable", "default",
              "ordinal", "sensitivity", "row_count", "properties_shown", "profile_shown", "first_seen_at",
              "changed_at", "removed_at"]
    readonly_fields = fields
    actions = [curate_selected, *(_inventory_action(fmt) for fmt in inventory.FORMATS)]
    # What a column has and a table, schema or database has not (and the reverse).
    COLUMN_ONLY = {"data_type", "is_nullable", "default", "ordinal", "profile_shown"}
    NOT_COLUMN = {"row_count"}

    def get_list_display(self, request):
        # Each type's list shows what that type has (a column no row count, a table no data type), and the
        # removal time only when removed assets are listed: the lists fit a 1400 px window.
        hidden = self.NOT_COLUMN if self.model is ColumnAsset else {"data_type"}
        if request.GET.get(RemovedFilter.parameter_name) not in (RemovedFilter.REMOVED, RemovedFilter.ALL):
            hidden = {*hidden, "removed_at"}
        return [name for name in super().get_list_display(request) if name not in hidden]

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        hidden = self.NOT_COLUMN if obj.type == Asset.Type.COLUMN else self.COLUMN_ONLY
        return [name for name in self.fields if name not in hidden and (name != "removed_at" or obj.removed_at)]

    @admin.display(description="qualified name", ordering="qualified_name")
    def qualified_name_shown(self, obj):
        # A line-break opportunity after each dot: a name too long for its cell wraps between its parts, not in the
        # middle of one ("customer_orders.customer_" / "id").
        return mark_safe(escape(obj.qualified_name).replace(".", ".<wbr>"))  # noqa: S308 — escaped first

    @admin.display(description="in")
    def parent_shown(self, obj):
        # The breadcrumbs read the parent (catalog.admin_assets.breadcrumbs): no query of its own.
        if obj.parent_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', admin_assets.asset_url(obj.parent), obj.parent.title)

    # Not "properties": the page's Properties section holds the stewards' custom properties, a different thing.
    @admin.display(description="read from the source")
    def properties_shown(self, obj):
        return render_to_string("admin/catalog/asset/facts.html", {"facts": property_facts(obj.properties)})

    @admin.display(description="profile of the last sample")
    def profile_shown(self, obj):
        if not obj.profile:
            return NOT_PROFILED
        return render_to_string("admin/catalog/asset/facts.html", {"facts": profile_facts(obj.profile)})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(asset_crumbs=admin_assets.breadcrumbs(request, obj),
                           asset_sections=admin_assets.sections_for(request, obj),
                           # Every field is read-only: a Save button would save nothing.
                           show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def action_checkbox(self, obj):
        # Django's renders a form widget through the template engine, once a row: a third of the column list's
        # time on a page of 100 columns. The same input, written directly.
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" '
                           'aria-label="Select this object for an action - {}">',
                           helpers.ACTION_CHECKBOX_NAME, obj.pk, obj)

    def get_search_results(self, request, queryset, search_term):
        """The search box finds what the header's search finds (catalog.search), within the list's filters and
        in the list's order; a term with nothing searchable in it finds nothing and says why."""
        if not search_term.strip():
            return queryset, False
        try:
            found = asset_search(user=request.user, text=search_term)
        except ValidationError as refused:
            self.message_user(request, "; ".join(refused.messages), messages.WARNING)
            return queryset.none(), False
        return queryset.filter(pk__in=found.ids()), False

    def has_add_permission(self, request):
        return False  # scans create assets

    def has_delete_permission(self, request, obj=None):
        return False  # assets are never deleted: a vanished object is marked removed by the next scan

    def has_classify_permission(self, request):
        return has_any_grant(request.user, Asset, "classify")


# One page per asset type.
for proxy in (DatabaseAsset, SchemaAsset, TableAsset, ViewAsset, RoutineAsset, ColumnAsset):
    admin.site.register(proxy, AssetAdmin)


@admin.register(SourceAsset)
class SourceAssetAdmin(AssetAdmin):
    """The data sources' own assets (catalog.source_assets): a list to select, curate and export them like any
    assets; each one's page is its data source's, where its sections are (catalog.admin_sources)."""

    list_display = ["name", "data_source", "sensitivity", "first_seen_at"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        asset = self.get_object(request, unquote(object_id))
        if asset is None:  # Django's answer for an id outside the user's scope
            return super().change_view(request, object_id, form_url, extra_context)
        return redirect(admin_assets.asset_url(asset))

# Their admins, and the suggestions' and properties' sections of the asset pages, register themselves.
from catalog import admin_classifications, admin_glossary, admin_properties, admin_suggestions  # noqa: E402,F401
