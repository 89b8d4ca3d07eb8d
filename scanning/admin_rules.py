"""Custom classification rules in the stewards' back office, with a preview page: paste values, see which ones
the rule matches and whether it would classify such a column. Pasted values are never stored or logged (the page
is not cached either); every write goes through scanning.services (audit row included)."""
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.cache import never_cache

from accounts.admin import ServiceAdminMixin
from accounts.selectors import workspaces_allowing
from catalog.selectors import active_classification_list
from scanning.detection import VALIDATORS
from scanning.models import ClassificationRule
from scanning.services import classifications as services

MAX_PASTE_CHARS = 200_000


class ClassificationRuleForm(forms.ModelForm):
    validator = forms.ChoiceField(choices=[("", "—"), *((key, key) for key in sorted(VALIDATORS))], required=False)

    class Meta:
        model = ClassificationRule
        fields = ["workspace", "classification", "description", "column_name_regex", "value_regex", "validator",
                  "min_match_share", "min_distinct", "enabled"]


class PreviewForm(forms.Form):
    column_name = forms.CharField(required=False, max_length=512,
                                  help_text="Optional: a column name to check the rule's column-name pattern.")
    values = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "autocomplete": "off"}),
                             max_length=MAX_PASTE_CHARS, strip=False,
                             help_text=f"One value per line, at most {services.MAX_PREVIEW_VALUES} lines. They are "
                                       "not saved.")


@admin.register(ClassificationRule)
class ClassificationRuleAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ClassificationRuleForm
    list_display = ["__str__", "workspace", "classification", "column_name_regex", "value_regex", "validator",
                    "min_match_share", "enabled"]
    list_filter = ["enabled"]
    search_fields = ["description", "column_name_regex", "value_regex", "classification__name"]
    list_select_related = ["workspace", "classification"]
    change_form_template = "admin/scanning/classificationrule/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return ["workspace"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs["queryset"] = workspaces_allowing(user=request.user, perm="scanning.add_classificationrule")
        if db_field.name == "classification":
            kwargs["queryset"] = active_classification_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.RULE_FIELDS if name in form.cleaned_data}
        if change:
            self.run_service(request, services.classification_rule_update, rule=self.stored(obj),
                             acting_user=request.user,
                             **{name: value for name, value in fields.items() if name in form.changed_data})
        else:
            created = self.run_service(request, services.classification_rule_create,
                                       workspace=form.cleaned_data["workspace"], acting_user=request.user, **fields)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self.run_service(request, services.classification_rule_delete, rule=obj, acting_user=request.user)

    def get_urls(self):
        preview = self.admin_site.admin_view(never_cache(self.preview_view))
        return [path("<int:object_id>/preview/", preview, name="scanning_classificationrule_preview"),
                *super().get_urls()]

    def preview_view(self, request, object_id: int):
        rule = get_object_or_404(self.get_queryset(request).select_related("classification"), pk=object_id)
        if not self.has_view_permission(request, rule):
            raise PermissionDenied
        report, error = None, None
        form = PreviewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            values = form.cleaned_data["values"].splitlines()
            try:
                report = services.classification_rule_preview(rule=rule, values=values,
                                                              column_name=form.cleaned_data["column_name"])
            except ValidationError as exc:
                error = "; ".join(exc.messages)
            else:
                for entry in report["results"]:
                    entry["line"] = entry["index"] + 1
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": rule,
            "title": f"Preview {rule}",
            "form": form,
            "report": report,
            "error": error,
        }
        return TemplateResponse(request, "admin/scanning/classificationrule/preview.html", context)
