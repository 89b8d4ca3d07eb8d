"""Custom classification rules in the stewards' back office, with a preview page: paste values or pick a real
column of a source (sampled now, shown masked), see which values the rule matches and whether it would classify
such a column — for a saved rule, or for conditions being tried before saving. Values are never stored or logged
(the page is not cached either); every write goes through scanning.services (audit row included)."""
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from accounts.admin import ServiceAdminMixin, workspace_field_kwargs
from catalog.selectors import active_classification_list
from scanning.detection import VALIDATORS
from scanning.models import ClassificationRule
from scanning.selectors import sampleable_column_list
from scanning.services import classifications as services
from sources.models import DataSource
from sources.selectors import datasource_list

MAX_PASTE_CHARS = 200_000
PREVIEW_CONDITIONS = ("column_name_regex", "value_regex", "validator", "min_match_share", "min_distinct")


class ClassificationRuleForm(forms.ModelForm):
    validator = forms.ChoiceField(choices=[("", "—"), *((key, key) for key in sorted(VALIDATORS))], required=False)

    class Meta:
        model = ClassificationRule
        fields = ["workspace", "classification", "description", "column_name_regex", "value_regex", "validator",
                  "min_match_share", "min_distinct", "enabled"]


class PreviewForm(forms.Form):
    """A rule's conditions (the saved rule's to start with, to try changes before saving them) and what to run
    them on: pasted values, or a column of a source sampled now."""

    column_name_regex = forms.CharField(required=False, max_length=500, label="Column-name pattern")
    value_regex = forms.CharField(required=False, max_length=1000, label="Value pattern")
    validator = forms.ChoiceField(choices=[("", "—"), *((key, key) for key in sorted(VALIDATORS))], required=False)
    min_match_share = forms.FloatField(min_value=0.0, max_value=1.0, initial=0.8)
    min_distinct = forms.IntegerField(min_value=1, initial=1)
    source = forms.ModelChoiceField(queryset=DataSource.objects.none(), required=False,
                                    help_text="Sample a real column of this source…")
    column = forms.CharField(required=False, max_length=2000, label="Column",
                             help_text="…named by its qualified name, e.g. shop.public.customers.email. "
                                       f"{services.PREVIEW_SAMPLE_SIZE} values are read as a scan reads them and "
                                       "shown masked; nothing is stored.")
    column_name = forms.CharField(required=False, max_length=512,
                                  help_text="With pasted values: a column name to check the column-name pattern.")
    values = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "cols": 80, "autocomplete": "off"}),
                             max_length=MAX_PASTE_CHARS, strip=False, required=False,
                             help_text=f"Or paste values, one per line, at most {services.MAX_PREVIEW_VALUES} "
                                       "lines. They are not saved.")

    def __init__(self, *args, user, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        sources = datasource_list(user=user)
        self.fields["source"].queryset = sources.filter(workspace=workspace) if workspace is not None else sources
        self.user = user

    def clean(self):
        data = super().clean()
        sampled = bool(data.get("source") or data.get("column"))
        if sampled == bool(data.get("values")):
            raise ValidationError("Paste values, or choose a source and one of its columns (not both).")
        if sampled:
            found = sampleable_column_list(user=self.user).filter(
                data_source=data.get("source"), qualified_name=(data.get("column") or "").strip()).first()
            if found is None:
                self.add_error("column", "No column of this source that you may classify has this qualified name.")
            data["sampled_column"] = found
        return data


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
            kwargs.update(workspace_field_kwargs(user=request.user, perm="scanning.add_classificationrule"))
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
        return [path("preview/", preview, name="scanning_classificationrule_try"),
                path("<int:object_id>/preview/", preview, name="scanning_classificationrule_preview"),
                *super().get_urls()]

    def _add_url_with(self, conditions: dict) -> str:
        """The add form with the tried conditions filled in (the admin reads initial values from the query)."""
        query = urlencode({name: conditions[name] for name in PREVIEW_CONDITIONS
                           if conditions.get(name) not in (None, "")})
        return f"{reverse('admin:scanning_classificationrule_add')}?{query}"

    def preview_view(self, request, object_id: int | None = None):
        """Preview a saved rule (``object_id``) or one not saved yet: its conditions as edited on the page."""
        rule = None
        if object_id is not None:
            rule = get_object_or_404(self.get_queryset(request).select_related("classification"), pk=object_id)
            if not self.has_view_permission(request, rule):
                raise PermissionDenied
        elif not self.has_view_permission(request):
            raise PermissionDenied
        initial = {name: getattr(rule, name) for name in PREVIEW_CONDITIONS} if rule is not None else {}
        posted = None
        if request.method == "POST":
            # A condition left out of the post (not one cleared on the page) keeps the rule's own.
            posted = request.POST.copy()
            for name in PREVIEW_CONDITIONS:
                posted.setdefault(name, initial.get(name, PreviewForm.base_fields[name].initial or ""))
        form = PreviewForm(posted, initial=initial, user=request.user,
                           workspace=rule.workspace if rule is not None else None)
        report, error = None, None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            tried = ClassificationRule(classification=rule.classification if rule is not None else None,
                                       **{name: data[name] for name in PREVIEW_CONDITIONS})
            try:
                if data.get("sampled_column") is not None:
                    report = services.classification_rule_preview_column(rule=tried, column=data["sampled_column"],
                                                                         acting_user=request.user)
                else:
                    report = services.classification_rule_preview(rule=tried, values=data["values"].splitlines(),
                                                                  column_name=data["column_name"])
            except ValidationError as exc:
                error = "; ".join(exc.messages)
            else:
                for entry in report["results"]:
                    entry["line"] = entry["index"] + 1
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": rule,
            "title": f"Preview {rule}" if rule is not None else "Try a rule before saving it",
            "form": form,
            "report": report,
            "error": error,
            "add_url": self._add_url_with(form.cleaned_data) if report and rule is None
            and self.has_add_permission(request) else None,
        }
        return TemplateResponse(request, "admin/scanning/classificationrule/preview.html", context)
