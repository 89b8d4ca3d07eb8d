"""The glossary and the tags in the stewards' back office: each workspace's terms (definition rendered as Markdown,
synonyms, abbreviations, related terms, parent, stewards, the classification a term implies, the assets linked),
their import from a CSV or JSON file (a dry run shows the plan, a confirmation applies it) and export, and the tags.

Pages are scoped like every admin (``RestrictedAdminMixin``); every write goes through catalog.glossary and
catalog.curation, which authorise, validate and audit. Choices (workspaces, parents, related terms, stewards,
classifications) come from selectors, so no page names a row of a workspace the user is not in.
"""
from __future__ import annotations

import secrets

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.admin import (
    ServiceAdminMixin,
    add_service_errors,
    admin_error_text,
    workspace_field_kwargs,
)
from accounts.permissions import has_any_grant
from accounts.selectors import workspace_list, workspaces_allowing
from accounts.wording import counted
from catalog import curation, glossary
from catalog.admin_assets import asset_urls
from catalog.markdown import markdown_as_plain_text, render_markdown
from catalog.models import Asset, GlossaryTerm, Tag
from catalog.selectors import active_classification_list, asset_list, glossary_term_list, owner_user_choices
from config.serializers import is_id_text

LINKED_ASSETS_SHOWN = 50
IMPORT_SESSION_KEY = "racine_glossary_import"
IMPORT_ERRORS_SHOWN = 200
IMPORT_URL = "admin:catalog_glossaryterm_import"


class VisibleWorkspaceFilter(admin.SimpleListFilter):
    """Filter by workspace, offering only the workspaces the user sees (a plain related filter would name every
    workspace of the organization)."""

    title = "workspace"
    parameter_name = "workspace"

    def lookups(self, request, model_admin):
        return [(str(workspace.pk), workspace.name) for workspace in workspace_list(user=request.user)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(workspace_id=int(value)) if is_id_text(value) else queryset


class ParentTermFilter(admin.SimpleListFilter):
    """The narrower terms of one term, offering the visible terms that have some."""

    title = "parent term"
    parameter_name = "parent"

    def lookups(self, request, model_admin):
        parents = (glossary_term_list(user=request.user).prefetch_related(None).select_related(None)
                   .filter(children__isnull=False).distinct().order_by("name"))
        return [(str(term.pk), term.name) for term in parents]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(parent_id=int(value)) if is_id_text(value) else queryset


def _assets_count(queryset):
    return queryset.annotate(assets_linked=Count("asset_links", distinct=True))


# --- tags ----------------------------------------------------------------------------------------------------------

@admin.register(Tag)
class TagAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Tags of the workspaces; a tag's page lists the assets that carry it (tagging is done from the assets' side)."""

    change_form_template = "admin/catalog/curation/glossary_change_form.html"
    list_display = ["name", "workspace", "description_shown", "assets_shown"]
    list_filter = [VisibleWorkspaceFilter]
    search_fields = ["name", "description"]
    list_select_related = ["workspace"]

    def get_queryset(self, request):
        return _assets_count(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        return ["workspace", "name", "description"]

    @admin.display(description="description", ordering="description")
    def description_shown(self, obj):
        return markdown_as_plain_text(obj.description)

    def get_readonly_fields(self, request, obj=None):
        return ["workspace"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs.update(workspace_field_kwargs(user=request.user, perm="catalog.add_tag"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="assets", ordering="assets_linked")
    def assets_shown(self, tag):
        return tag.assets_linked

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["linked_assets"], context["more_assets"] = _linked_assets(request.user, tag_links__tag=obj)
            context.update(linked_id="tag-assets", linked_title="Assets tagged",
                           linked_empty="No asset carries this tag yet: add it from an asset's curation, or to "
                                        "several at once with an asset list's action “Curate selected assets…”.")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in curation.TAG_FIELDS}
        if change:
            self.run_service(request, curation.tag_update, tag=self.stored(obj), acting_user=request.user, **fields)
        else:
            created = self.run_service(request, curation.tag_create, workspace=form.cleaned_data["workspace"],
                                       acting_user=request.user, **fields)
            obj.pk = created.pk

    def delete_model(self, request, obj):
        self.run_service(request, curation.tag_delete, tag=obj, acting_user=request.user)


# --- glossary terms ------------------------------------------------------------------------------------------------

class WordsField(forms.CharField):
    """Synonyms or abbreviations as a steward types them: one a line (a synonym may hold a comma)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]

    def has_changed(self, initial, data):
        return list(initial or []) != self.to_python(data)


class GlossaryTermForm(forms.ModelForm):
    synonyms = WordsField(required=False, help_text="One a line.")
    abbreviations = WordsField(required=False, help_text="One a line.")

    class Meta:
        model = GlossaryTerm
        fields = ["workspace", "name", "status", "definition", "synonyms", "abbreviations", "parent",
                  "related_terms", "stewards", "classification"]
        widgets = {"definition": forms.Textarea(attrs={"rows": 8, "cols": 80})}
        help_texts = {"definition": "Markdown. Raw HTML is shown as text; links keep http, https and mailto.",
                      # An empty list otherwise leaves a newcomer (a superuser is a member of nothing) guessing.
                      "stewards": "Members of the term's workspace: a workspace admin gives users a role there "
                                  "under Memberships."}

    def clean_synonyms(self):
        return self._checked_words("synonyms")

    def clean_abbreviations(self):
        return self._checked_words("abbreviations")

    def _checked_words(self, name: str) -> list[str]:
        # The service's bounds (how many, how long), so that a refusal is a form error, not a failed save (a 500).
        try:
            return glossary.checked_words(self.cleaned_data[name], name)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict[name]) from None

    def _post_clean(self):
        super()._post_clean()
        # The service's hierarchy rule (same workspace, no cycle), so that a refusal is a form error, not a failed
        # save.
        if "parent" in self.cleaned_data and self.instance.workspace_id is not None:
            try:
                glossary.check_hierarchy(self.instance, self.cleaned_data["parent"])
            except ValidationError as exc:
                add_service_errors(self, exc)


def _export_action(fmt: str):
    @admin.action(description=f"Export the selected terms ({fmt.upper()})", permissions=["view"])
    def export(modeladmin, request, queryset):
        """The selected terms as the file ``glossary import`` reads back (catalog.glossary.glossary_export)."""
        terms = queryset.select_related("parent", "classification").prefetch_related("related_terms", "stewards")
        content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        response = HttpResponse(glossary.glossary_export(terms=terms.order_by("name"), fmt=fmt),
                                content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="glossary.{fmt}"'
        return response

    export.__name__ = f"export_glossary_{fmt}"
    return export


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Terms, one workspace's glossary or several. The page shows the definition rendered, and the assets linked
    (linking is done from the assets' side: their curation)."""

    form = GlossaryTermForm
    list_display = ["name", "workspace", "status", "parent", "classification", "synonyms_shown", "assets_shown"]
    list_filter = ["status", VisibleWorkspaceFilter, ParentTermFilter]
    search_fields = ["name", "definition"]
    list_select_related = ["workspace", "parent", "classification"]
    change_list_template = "admin/catalog/curation/glossary_change_list.html"
    change_form_template = "admin/catalog/curation/glossary_change_form.html"
    actions = [_export_action(fmt) for fmt in glossary.PARSERS]
    readonly_fields = ["definition_preview", "synonyms_shown", "abbreviations_shown"]

    class Media:
        css = {"all": ["racine/curation.css"]}

    def get_queryset(self, request):
        return _assets_count(super().get_queryset(request))

    def get_fieldsets(self, request, obj=None):
        main = ["workspace", "name", "status", "definition"]
        if obj is not None:
            main.append("definition_preview")
        # A reader's page shows the words as text (the model's JSON field would be shown as JSON).
        words = (["synonyms", "abbreviations"] if obj is None or self.has_change_permission(request, obj)
                 else ["synonyms_shown", "abbreviations_shown"])
        return [(None, {"fields": main}),
                ("Words and relations", {"fields": [*words, "parent", "related_terms", "stewards",
                                                    "classification"]})]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["workspace", *self.readonly_fields]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            return form
        workspace_id = obj.workspace_id

        class TermOfItsWorkspace(form):
            # The relations' choices: what the user sees of the term's own workspace (the service refuses the rest).
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                for name in ("parent", "related_terms"):
                    if name in self.fields:
                        self.fields[name].queryset = self.fields[name].queryset.filter(
                            workspace_id=workspace_id).exclude(pk=obj.pk)
                if "stewards" in self.fields:
                    self.fields["stewards"].queryset = self.fields["stewards"].queryset.filter(
                        memberships__workspace_id=workspace_id)

        return TermOfItsWorkspace

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workspace":
            kwargs.update(workspace_field_kwargs(user=request.user, perm="catalog.add_glossaryterm"))
        elif db_field.name == "parent":
            kwargs["queryset"] = glossary_term_list(user=request.user).prefetch_related(None).order_by("name")
        elif db_field.name == "classification":
            kwargs["queryset"] = active_classification_list(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "related_terms":
            kwargs["queryset"] = glossary_term_list(user=request.user).prefetch_related(None).order_by("name")
        elif db_field.name == "stewards":
            kwargs["queryset"] = owner_user_choices(user=request.user).order_by("username")
        kwargs["widget"] = forms.SelectMultiple(attrs={"size": 6})
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="synonyms")
    def synonyms_shown(self, term):
        return ", ".join(term.synonyms) or "—"

    @admin.display(description="abbreviations")
    def abbreviations_shown(self, term):
        return ", ".join(term.abbreviations) or "—"

    @admin.display(description="assets", ordering="assets_linked")
    def assets_shown(self, term):
        return term.assets_linked

    @admin.display(description="preview")
    def definition_preview(self, term):
        if not term.definition:
            return "—"
        # Sanitised by catalog.markdown (markdown-it without raw HTML, then nh3's allow-list): safe to insert.
        return format_html('<div class="glossary-preview markdown">{}</div>',
                           mark_safe(render_markdown(term.definition)))  # noqa: S308

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["linked_assets"], context["more_assets"] = _linked_assets(request.user, term_links__term=obj)
            context.update(linked_id="term-assets", linked_title="Assets linked",
                           linked_empty="No asset linked yet: link the term from an asset's curation.")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in form.changed_data if name in glossary.TERM_FIELDS}
        relations = {name: list(data[name]) for name in glossary.TERM_RELATIONS if name in form.changed_data}
        if change:
            self.run_service(request, glossary.glossary_term_update, term=self.stored(obj),
                             acting_user=request.user, **relations, **fields)
        else:
            created = self.run_service(request, glossary.glossary_term_create, workspace=data["workspace"],
                                       acting_user=request.user, **relations, **fields)
            obj.pk = created.pk

    def save_related(self, request, form, formsets, change):
        """The service set the related terms and stewards (and audited them): nothing is left to save."""

    def delete_model(self, request, obj):
        self.run_service(request, glossary.glossary_term_delete, term=obj, acting_user=request.user)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(lambda request: import_view(request, self)),
                     name="catalog_glossaryterm_import"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"import_url": reverse(IMPORT_URL) if may_import(request.user)
                                                 else "", **(extra_context or {})})


def _linked_assets(user, **carrying) -> tuple[list[tuple[str, Asset]], bool]:
    """The first assets carrying a term or a tag (``term_links__term=…`` / ``tag_links__tag=…``) that ``user`` may
    see, with their pages' URLs (one query), and whether there are more."""
    assets = list(asset_list(user=user).filter(**carrying).order_by("qualified_name")
                  [:LINKED_ASSETS_SHOWN + 1])
    url = asset_urls()
    return [(url(asset), asset) for asset in assets[:LINKED_ASSETS_SHOWN]], len(assets) > LINKED_ASSETS_SHOWN


# --- import --------------------------------------------------------------------------------------------------------

IMPORT_PERMS = ("catalog.add_glossaryterm", "catalog.change_glossaryterm")


def importable_workspaces(user):
    """The workspaces ``user`` may import a glossary into: adding and changing terms there (the service's rule)."""
    adding = workspaces_allowing(user=user, perm=IMPORT_PERMS[0])
    return adding.filter(pk__in=workspaces_allowing(user=user, perm=IMPORT_PERMS[1]).values("pk")).order_by("name")


def may_import(user) -> bool:
    return has_any_grant(user, GlossaryTerm, "add") and has_any_grant(user, GlossaryTerm, "change")


class GlossaryImportForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=None, empty_label=None)
    file = forms.FileField(error_messages={"required": "Choose the file to import."},
                           help_text="CSV (a header naming the columns, lists separated by ';') or JSON (a list of "
                                     "terms, or {\"terms\": […]}), as the export writes it. Columns: "
                                     + ", ".join(glossary.COLUMNS) + ".")
    format = forms.ChoiceField(choices=[("", "From the file's name"), ("csv", "CSV"), ("json", "JSON")],
                               required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = importable_workspaces(user)

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        if upload.size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise ValidationError({"file": f"At most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes per file."})
        fmt = cleaned.get("format") or upload.name.rsplit(".", 1)[-1].lower()
        if fmt not in glossary.PARSERS:
            raise ValidationError({"format": "Name the format: the file's name ends neither in .csv nor .json."})
        try:
            cleaned["text"] = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": "The file is not UTF-8 text."}) from None
        cleaned["format"] = fmt
        return cleaned


def _plan_rows(plan) -> list[dict]:
    return [{**item, "fields": ", ".join(name.replace("_", " ") for name in item.get("fields", []))}
            for item in plan.items]


def _refusal(rejected: glossary.ImportRejected) -> dict:
    """Every problem of a refused file, up to ``IMPORT_ERRORS_SHOWN`` (a file of 10,000 bad rows is not a page
    of 10,000 rows), and how many more there are."""
    return {"errors": rejected.errors[:IMPORT_ERRORS_SHOWN],
            "errors_more": max(0, len(rejected.errors) - IMPORT_ERRORS_SHOWN)}


def import_view(request, model_admin):
    """Upload → dry run (the plan, per term: created, updated with what, unchanged) → confirm → applied. The file
    waits in the session between the dry run and the confirmation, so the steward does not pick it again."""
    if not may_import(request.user):
        raise PermissionDenied
    user = request.user
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta,
               "title": "Import a glossary", "media": model_admin.media}
    if request.method == "POST" and "confirm" in request.POST:
        pending = request.session.get(IMPORT_SESSION_KEY) or {}
        if not pending or request.POST.get("confirm") != pending.get("token"):
            model_admin.message_user(request, "This import is no longer waiting: upload the file again.",
                                     messages.ERROR)
            return HttpResponseRedirect(reverse(IMPORT_URL))
        workspace = importable_workspaces(user).filter(pk=pending["workspace"]).first()
        try:
            if workspace is None:
                raise PermissionDenied("You may no longer import into this workspace.")
            plan = glossary.glossary_import(workspace=workspace, data=pending["data"], fmt=pending["format"],
                                            acting_user=user)
        except glossary.ImportRejected as rejected:
            del request.session[IMPORT_SESSION_KEY]
            context.update(form=GlossaryImportForm(user=user), **_refusal(rejected))
            return TemplateResponse(request, "admin/catalog/curation/glossary_import.html", context)
        except (PermissionDenied, ValidationError) as exc:
            del request.session[IMPORT_SESSION_KEY]
            model_admin.message_user(request, admin_error_text(exc) + " Nothing was imported.", messages.ERROR)
            return HttpResponseRedirect(reverse(IMPORT_URL))
        del request.session[IMPORT_SESSION_KEY]
        model_admin.message_user(request, f"Glossary imported into {workspace.name}: "
                                          f"{counted(plan.count('create'), 'term')} created, "
                                          f"{plan.count('update')} updated, {plan.count('unchanged')} unchanged.",
                                 messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:catalog_glossaryterm_changelist")
                                    + f"?{VisibleWorkspaceFilter.parameter_name}={workspace.pk}")
    form = GlossaryImportForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = glossary.glossary_import(workspace=data["workspace"], data=data["text"], fmt=data["format"],
                                            acting_user=user, dry_run=True)
        except glossary.ImportRejected as rejected:
            context.update(_refusal(rejected))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            token = secrets.token_urlsafe(16)
            request.session[IMPORT_SESSION_KEY] = {"token": token, "workspace": data["workspace"].pk,
                                                   "format": data["format"], "data": data["text"]}
            context.update(plan=_plan_rows(plan), token=token, workspace=data["workspace"],
                           summary={"created": plan.count("create"), "updated": plan.count("update"),
                                    "unchanged": plan.count("unchanged")})
    context["form"] = form
    return TemplateResponse(request, "admin/catalog/curation/glossary_import.html", context)
