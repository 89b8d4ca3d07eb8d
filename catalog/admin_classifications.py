"""Classifications in the stewards' back office: the list of kinds of data, and their applications to assets
with the stewards' decisions (confirm / reject / change to another one, through the review queue of
catalog.admin_review, the buttons on a classification's page, or actions). Every write goes through
catalog.services, so the audit trail and the sensitivity roll-up are the same as through the API."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import path, reverse

from accounts.admin import RestrictedAdminMixin, ServiceAdminMixin, admin_error_text
from accounts.permissions import has_any_grant, has_perm
from accounts.wording import counted
from catalog import admin_review, services
from catalog.admin_decisions import decision_context
from catalog.admin_readable import evidence_of
from catalog.lineage.selectors import evidences_seen_by
from catalog.models import Asset, AssetClassification, Classification
from catalog.selectors import active_classification_list, asset_list
from config.pagination import EstimatedCountPaginator


@admin.register(Classification)
class ClassificationAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["name", "category", "sensitivity", "is_builtin", "is_active"]
    list_filter = ["category", "sensitivity", "is_builtin", "is_active"]
    search_fields = ["name", "category", "description"]
    fields = ["name", "category", "sensitivity", "description", "is_active", "is_builtin"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_builtin:
            return ["name", "category", "description", "is_builtin"]
        return ["is_builtin"]

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data
                  if name in services.CLASSIFICATION_FIELDS}
        if change:
            self.run_service(request, services.classification_update, classification=self.stored(obj),
                             acting_user=request.user, **fields)
        else:
            created = self.run_service(request, services.classification_create, acting_user=request.user,
                                       **{name: form.cleaned_data[name] for name in services.CLASSIFICATION_FIELDS
                                          if name in form.cleaned_data})
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self.run_service(request, services.classification_delete, classification=obj, acting_user=request.user)



@admin.register(AssetClassification)
class AssetClassificationAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Suggestions and decisions. Select one or many and confirm or reject them; add one to classify by hand."""

    list_display = ["asset", "classification", "status", "source", "confidence", "decided_by", "decided_at"]
    list_filter = ["status", "source", "classification__category"]
    search_fields = ["asset__qualified_name", "classification__name"]
    list_select_related = ["asset", "classification", "decided_by"]
    # Typeahead on the qualified name (AssetLookupAdmin below answers it, in the user's classify scope).
    autocomplete_fields = ["asset"]
    change_form_template = "admin/catalog/review/change_form.html"
    change_list_template = "admin/catalog/review/change_list.html"
    show_full_result_count = False
    paginator = EstimatedCountPaginator  # one suggestion per sensitive column: grows with the catalog
    actions = ["confirm_selected", "reject_selected"]
    # The evidence is shown in words above the fields (review/change_form.html), not as JSON.
    readonly_fields = ["status", "source", "confidence", "decided_by", "decided_at", "created_at", "updated_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["asset", "classification", "decision_note"]
        return ["asset", "classification", *self.readonly_fields, "decision_note"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Decisions are the actions' job (they audit and roll sensitivity up); the page itself only shows.
        return ["asset", "classification", "decision_note", *self.readonly_fields]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "classification":
            kwargs["queryset"] = active_classification_list(user=request.user)
        elif db_field.name == "asset":  # as the API's manual classification: assets still in their source
            kwargs["queryset"] = asset_list(user=request.user, present_only=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(lambda request: view(request, self))

        return [path("review/", wrap(admin_review.queue_view), name="catalog_assetclassification_review"),
                path("review/decide/", wrap(admin_review.decide_view), name="catalog_assetclassification_decide"),
                *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"review_url": reverse(admin_review.REVIEW_URL),
                                                 **(extra_context or {})})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:  # the evidence in words and the review queue's decision buttons, for this one
            context.update(decision_context(request), readable_evidence=evidence_of(
                evidences_seen_by([obj.evidence], user=request.user)[0]))
            context["may_decide"] = has_perm(request.user, "confirm", obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "asset" and formfield is not None:
            # No add/change/view links beside the typeahead: the asset admin behind it has no pages (each asset
            # type has its own) and scans create assets.
            widget = formfield.widget
            widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
            widget.can_view_related = False
        return formfield

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            return form

        class ManualClassificationForm(form):
            # The service's rules, checked here so a refusal is a form error rather than a failed save.
            def clean(self):
                cleaned = super().clean()
                asset = cleaned.get("asset")
                if asset is not None and not has_perm(request.user, "classify", asset):
                    raise ValidationError({"asset": "You may not classify this asset."})
                return cleaned

        return ManualClassificationForm

    def has_confirm_permission(self, request):
        return has_any_grant(request.user, AssetClassification, "confirm")

    def has_delete_permission(self, request, obj=None):
        return False  # a wrong classification is rejected (and remembered), not deleted

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = self.run_service(request, services.asset_classification_create, asset=form.cleaned_data["asset"],
                       classification=form.cleaned_data["classification"], acting_user=request.user,
                       note=form.cleaned_data.get("decision_note", ""))
        obj.pk = created.pk

    def _decide(self, request, queryset, decision: str) -> None:
        try:
            rows = services.asset_classifications_decide(asset_classifications=list(queryset), decision=decision,
                                                         acting_user=request.user)
        except (PermissionDenied, ValidationError) as exc:
            self.message_user(request, admin_error_text(exc) + " Nothing was changed.",
                              messages.ERROR)
            return
        self.message_user(request, f"{counted(len(rows), 'classification')} {decision}.", messages.SUCCESS)

    @admin.action(description="Confirm the selected classifications", permissions=["confirm"])
    def confirm_selected(self, request, queryset):
        self._decide(request, queryset, AssetClassification.Status.CONFIRMED)

    @admin.action(description="Reject the selected classifications", permissions=["confirm"])
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, AssetClassification.Status.REJECTED)


@admin.register(Asset)
class AssetLookupAdmin(RestrictedAdminMixin, admin.ModelAdmin):
    """Answers the manual classification's typeahead (Django's autocomplete view asks the admin of the related
    model): the assets the user may classify and that are still in their source, found by qualified name. It has
    no pages of its own — each asset type has its own (catalog.admin) — and no entry on the home."""

    search_fields = ["qualified_name"]

    def get_urls(self):
        return []

    def get_model_perms(self, request):
        return {}  # not listed on the home or in the sidebar

    def get_queryset(self, request):
        # asset_list scopes to the classify grant, as the service that will receive the choice.
        return asset_list(user=request.user, action="classify", present_only=True)

    def has_view_permission(self, request, obj=None):
        return has_any_grant(request.user, Asset, "classify")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
