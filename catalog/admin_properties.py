"""Custom properties in the stewards' back office: each workspace's definitions (a page of their own), and a
"Properties" section on every asset's page (catalog.admin_assets) that shows the asset's values and lets who may
curate it edit them. Every write goes through catalog.properties (checks and audit rows included), as through the
API."""
from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from accounts.admin import ServiceAdminMixin, ServiceValidatedForm, admin_error_text, workspace_field_kwargs
from accounts.permissions import has_any_grant
from accounts.wording import counted
from catalog import curation, properties
from catalog.admin_assets import asset_url, section
from catalog.models import Asset, AssetPropertyValue, PropertyDefinition
from catalog.selectors import asset_list, asset_property_value_list, property_definition_list

Type = PropertyDefinition.Type
VALUES_URL = "admin:catalog_propertydefinition_asset_values"


class PropertyDefinitionForm(ServiceValidatedForm):
    """Allowed values one per line; asset types as boxes to tick. The service's own checks (a choice still in use,
    a type that cannot change) show on their fields."""

    validate = staticmethod(properties.property_definition_check)
    allowed_values = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 40}), required=False,
        help_text="For a choice: the values offered, one per line, in the order shown.")
    applies_to = forms.MultipleChoiceField(
        choices=Asset.Type.choices, widget=forms.CheckboxSelectMultiple, required=False,
        help_text="The asset types that may carry it; none ticked: every type.")

    class Meta:
        model = PropertyDefinition
        fields = ["workspace", "name", "label", "help_text", "type", "allowed_values", "applies_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["allowed_values"] = "\n".join(self.instance.allowed_values)

    def clean_allowed_values(self):
        return [line.strip() for line in self.cleaned_data["allowed_values"].splitlines() if line.strip()]


@admin.register(PropertyDefinition)
class PropertyDefinitionAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = PropertyDefinitionForm
    list_display = ["label", "name", "type", "applies_to_shown", "workspace"]
    list_filter = ["type"]
    search_fields = ["name", "label", "help_text"]
    list_select_related = ["workspace"]

    @admin.display(description="applies to")
    def applies_to_shown(self, definition):
        return ", ".join(Asset.Type(kind).label.lower() for kind in definition.applies_to) or "every asset"

    def get_readonly_fields(self, request, obj=None):
        return ["workspace", "name"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs.update(workspace_field_kwargs(user=request.user, perm="catalog.add_propertydefinition"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in properties.DEFINITION_FIELDS if name in form.cleaned_data}
        if change:
            self.run_service(request, properties.property_definition_update, definition=self.stored(obj),
                             acting_user=request.user, **{name: value for name, value in fields.items()
                                                          if name in form.changed_data})
        else:
            created = self.run_service(request, properties.property_definition_create,
                                       workspace=form.cleaned_data["workspace"], acting_user=request.user, **fields)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self.run_service(request, properties.property_definition_delete, definition=obj, acting_user=request.user)

    def get_deleted_objects(self, objs, request):
        # Django's would list every value that protects a definition, one query and line each: a count says it.
        objs = list(objs)
        carried = AssetPropertyValue.objects.filter(definition__in=objs).count()
        protected = [f"Its values on {counted(carried, 'asset')}: clear them first (on the assets' pages, or by "
                     "bulk curation)."] if carried else []
        return [str(obj) for obj in objs], {PropertyDefinition._meta.verbose_name_plural: len(objs)}, set(), protected

    def get_urls(self):
        values = self.admin_site.admin_view(self.asset_values_view)
        return [path("asset/<int:asset_id>/", values, name="catalog_propertydefinition_asset_values"),
                *super().get_urls()]

    def asset_values_view(self, request, asset_id: int):
        """The Properties section's form, posted: the asset's values set through the service, then back to its
        page with what happened."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        asset = get_object_or_404(asset_list(user=request.user), pk=asset_id)
        form = AssetPropertiesForm(request.POST, definitions=applicable_definitions(request.user, asset))
        if not form.is_valid():
            self.message_user(request, " ".join(f"{form.fields[name].label}: {' '.join(errors)}" if name in form.fields
                                                else " ".join(errors) for name, errors in form.errors.items()),
                              messages.ERROR)
        else:
            try:
                properties.asset_properties_set(asset=asset, values=form.values(), acting_user=request.user)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, admin_error_text(exc) + " Nothing was changed.", messages.ERROR)
            else:
                self.message_user(request, f"The properties of {asset.name} are saved.", messages.SUCCESS)
        return HttpResponseRedirect(f"{asset_url(asset)}#asset-properties")


# --- the section of an asset's page ------------------------------------------------------------------------------


def applicable_definitions(user, asset: Asset) -> list[PropertyDefinition]:
    """The properties of the asset's workspace that its type may carry, by label."""
    definitions = property_definition_list(user=user).filter(workspace_id=asset.data_source.workspace_id)
    return [definition for definition in definitions.order_by("label", "name")
            if not definition.applies_to or asset.type in definition.applies_to]


def _form_field(definition: PropertyDefinition) -> forms.Field:
    common = {"label": definition.label, "help_text": definition.help_text, "required": False}
    if definition.type == Type.NUMBER:
        return forms.DecimalField(**common)
    if definition.type == Type.BOOLEAN:
        return forms.NullBooleanField(widget=forms.Select(choices=[("unknown", "—"), ("true", "Yes"),
                                                                   ("false", "No")]), **common)
    if definition.type == Type.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if definition.type == Type.URL:
        return forms.URLField(max_length=properties.URL_MAX_LENGTH, assume_scheme="https", **common)
    if definition.type == Type.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *((value, value) for value in definition.allowed_values)],
                                 **common)
    if definition.type == Type.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=[(value, value) for value in definition.allowed_values],
                                         widget=forms.CheckboxSelectMultiple, **common)
    return forms.CharField(max_length=properties.TEXT_MAX_LENGTH, **common)


def _initial(definition: PropertyDefinition, value):
    if value is None:
        return None
    if definition.type == Type.DATE:
        return datetime.date.fromisoformat(value)
    if definition.type == Type.NUMBER:
        return decimal.Decimal(str(value))
    return value


class AssetPropertiesForm(forms.Form):
    """One field per property, typed by its definition (``property_<name>``); an empty field clears it. ``shown``
    names the properties the page showed: only those are written, so a post without them (or a property defined
    since the page was drawn) clears nothing."""

    shown = forms.MultipleChoiceField(widget=forms.MultipleHiddenInput,
                                      error_messages={"required": "Nothing was posted: open the page again."})

    def __init__(self, *args, definitions: list[PropertyDefinition], values: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.definitions = definitions
        self.fields["shown"].choices = [(definition.name, definition.label) for definition in definitions]
        self.initial["shown"] = [definition.name for definition in definitions]
        for definition in definitions:
            name = f"property_{definition.name}"
            self.fields[name] = _form_field(definition)
            self.initial[name] = _initial(definition, (values or {}).get(definition.pk))

    def values(self) -> dict:
        shown = set(self.cleaned_data["shown"])
        return {definition.name: self.cleaned_data[f"property_{definition.name}"] for definition in self.definitions
                if definition.name in shown}


@dataclass(frozen=True)
class PropertyRow:
    definition: PropertyDefinition
    stored: AssetPropertyValue | None
    shown: str
    field: object  # the form's BoundField, for who may edit


def shown_value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


@section(key="properties", title="Properties", template="admin/catalog/asset/properties.html", order=30)
def properties_section(request, asset):
    """The asset's custom properties: each one its type may carry, with its value, who set it and when; a form
    to edit them for who may curate the asset. Shown when the workspace defines some, or to who may define them.
    Three queries whatever the number of properties."""
    user = request.user
    definitions = applicable_definitions(user, asset)
    may_define = has_any_grant(user, PropertyDefinition, "add")
    if not definitions and not may_define:
        return None
    stored = {row.definition_id: row for row in asset_property_value_list(user=user, asset=asset)}
    form = None
    if definitions and curation.may_curate(user, asset):
        form = AssetPropertiesForm(definitions=definitions, values={pk: row.value for pk, row in stored.items()})
    rows = [PropertyRow(definition, stored.get(definition.pk),
                        shown_value(stored[definition.pk].value) if definition.pk in stored else "",
                        form[f"property_{definition.name}"] if form is not None else None)
            for definition in definitions]
    return {"rows": rows, "form": form, "post_url": reverse(VALUES_URL, args=[asset.pk]),
            "define_url": reverse("admin:catalog_propertydefinition_add") if may_define else ""}
