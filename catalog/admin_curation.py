"""Curation in the stewards' back office: on every asset page, what stewards say about the asset (description,
owners, tags, glossary terms, certification) and its curation history; a page to edit it; and the asset lists'
action "Curate selected assets…". The views are thin: they read through catalog.selectors and write through
catalog.asset_curation (``asset_curation_set`` for one asset, ``assets_curate`` for many), whose services authorise
(the curation rule: catalog.curation.may_curate), validate and audit.

The sections are contributed to the asset pages like any app's (catalog.admin_assets); the edit page and the action
come with ``CurationAdminMixin``, a base of catalog.admin.AssetAdmin.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.safestring import mark_safe

from accounts.admin import add_service_errors, admin_error_text
from accounts.fields import DESCRIPTION_MAX_LENGTH, NOTE_MAX_LENGTH
from accounts.models import AuditEvent
from accounts.permissions import has_any_grant
from accounts.wording import counted
from catalog import asset_curation, curation
from catalog.admin_assets import HistoryEntry, asset_url, breadcrumbs, change_urls, section
from catalog.admin_readable import value_text
from catalog.markdown import render_markdown
from catalog.models import Asset, AssetCertification, AssetOwner, GlossaryTerm
from catalog.selectors import (
    asset_curatable_list,
    asset_curation_history,
    asset_curation_list,
    glossary_term_list,
    owner_group_choices,
    owner_user_choices,
    tag_list,
)
from config.request_id import current_request_id

CURATION_HISTORY_SHOWN = 50
OWNER_TYPES = AssetOwner.OwnerType
# What the bulk form's certification choice asks of the service: a status, "end", or nothing.
END_CERTIFICATION = "end"


def curation_url(asset: Asset) -> str:
    return reverse(f"admin:catalog_{asset.type}asset_curation", args=[asset.pk])


def _term_urls():
    return change_urls(lambda term: "admin:catalog_glossaryterm_change")


def _certification(asset: Asset) -> AssetCertification | None:
    try:
        return asset.certification
    except AssetCertification.DoesNotExist:
        return None


def _owner_name(owner: AssetOwner) -> str:
    return owner.user.get_username() if owner.user_id else f"{owner.group.name} (group)"


# --- the asset page's sections -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OwnersOfType:
    label: str
    names: list[str]


@section(key="curation", title="Curation", template="admin/catalog/curation/section.html", order=5)
def curation_section(request, asset):
    """The stewards' word on the asset, with an "Edit curation" link for who may curate it: five queries (the
    asset with its certification, its owners, tags and terms, and whether the user may curate it) whatever it
    holds."""
    curated = asset_curation_list(user=request.user).filter(pk=asset.pk).first()
    if curated is None:
        return None
    owners = list(curated.owners.all())
    by_type = [OwnersOfType(label, [_owner_name(owner) for owner in owners if owner.owner_type == value])
               for value, label in OWNER_TYPES.choices]
    term_url = _term_urls()
    may_curate = asset_curatable_list(user=request.user).filter(pk=asset.pk).exists()
    return {
        # Sanitised by catalog.markdown (markdown-it without raw HTML, then nh3's allow-list): safe to insert.
        "description_html": mark_safe(render_markdown(curated.description)),  # noqa: S308
        "source_description": curated.source_description,
        "owners": [group for group in by_type if group.names],
        "tags": [tag.name for tag in curated.tags.all()],
        "terms": [(term, term_url(term)) for term in curated.glossary_terms.all()],
        "certification": _certification(curated),
        "edit_url": curation_url(asset) if may_curate else "",
    }


_OWNER_LABEL = re.compile(r"^(user|group):(.*) \((\w+)\)$")


def _owner_words(label) -> str:
    """``user:alice (technical)``, as catalog.curation records an owner, read as "alice as technical owner"."""
    found = _OWNER_LABEL.match(str(label or ""))
    if found is None:
        return value_text(label)
    kind, name, owner_type = found.groups()
    capacity = OWNER_TYPES(owner_type).label.lower() if owner_type in OWNER_TYPES.values else owner_type
    return f"{name}{' (group)' if kind == 'group' else ''} as {capacity}"


def _moment(value) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    return date_format(moment, "DATETIME_FORMAT") if moment is not None else value_text(value)


def _pair(changes: dict, field: str) -> tuple:
    """The (before, after) an audit row records of ``field``."""
    value = changes.get(field)
    return tuple(value) if isinstance(value, (list, tuple)) and len(value) == 2 else (None, value)


def _property_words(name: str, changes: dict, extra: dict) -> str:
    """catalog.properties records ``{"properties": [before, after]}``, each ``{name: value}`` or null, and the
    definition's label in ``extra``: "set Retention to 3 years (was 1 year)", "cleared Retention"."""
    before, after = (value if isinstance(value, dict) else {} for value in _pair(changes, "properties"))
    label = extra.get("label") or next(iter(after or before), "a property")
    was = f" (was {value_text(next(iter(before.values())))})" if before else ""
    if name.endswith("cleared"):
        return f"cleared {label}{was}"
    return f"set {label} to {value_text(next(iter(after.values()), None))}{was}"


def curation_words(event: AuditEvent) -> str:
    """What an audit row of an asset says was done, as a sentence's predicate ("added the tag pii")."""
    changes, name = event.changes or {}, event.event
    if name == "asset.changed":
        return "changed the " + " and the ".join(field.replace("_", " ") for field in changes)
    if name in ("asset.owner_added", "asset.owner_removed"):
        before, after = _pair(changes, "owners")
        return f"added {_owner_words(after)}" if name.endswith("added") else f"removed {_owner_words(before)}"
    if name in ("asset.tag_added", "asset.tag_removed"):
        before, after = _pair(changes, "tags")
        return f"added the tag {after}" if name.endswith("added") else f"removed the tag {before}"
    if name == "asset.term_linked":
        implied = (event.extra or {}).get("classification")
        return f"linked the term {_pair(changes, 'terms')[1]}" + (
            f", which confirmed {implied} on it" if implied else "")
    if name == "asset.term_unlinked":
        return f"unlinked the term {_pair(changes, 'terms')[0]}"
    if name in ("asset.certified", "asset.deprecated"):
        expires = _pair(changes, "certification_expires_at")[1]
        return name.removeprefix("asset.") + (f" until {_moment(expires)}" if expires else "")
    if name in ("asset.property_set", "asset.property_cleared"):
        return _property_words(name, changes, event.extra or {})
    if name in ("asset.certification_ended", "asset.certification_expired"):
        what = "deprecation" if _pair(changes, "certification_status")[0] == "deprecated" else "certification"
        return f"ended its {what}" if name.endswith("ended") else f"its {what} expired"
    extra = event.extra or {}
    if name == "suggestion.withdrawn":
        # catalog.suggestions, on the curated asset: its own suggestions made moot, or copies of its old text.
        return f"withdrew {_count(extra.get('count'), 'open suggestion')} that this curation made moot"
    if name == "asset_classification.detected":
        # scanning's detection, on the table (or column) it ran on: what it suggested for the columns.
        done = [f"{verb} {_count(extra.get(key), 'classification')}" for key, verb in (
            ("suggested", "suggested"), ("resuggested", "suggested again"), ("removed", "withdrew"))
            if extra.get(key)]
        return "detection " + (", ".join(done) if done else "refreshed its suggestions")
    return name.rsplit(".", 1)[-1].replace("_", " ")


def _count(number, noun: str) -> str:
    number = number if isinstance(number, int) else 0
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _note(event: AuditEvent) -> str:
    changes, extra = event.changes or {}, event.extra or {}
    note = changes.get("certification_note", [None, None])[1] or extra.get("reason") or ""
    return "" if note == "expired" else str(note)


@section(key="curation-history", title="Curation history", template="admin/catalog/curation/history.html",
         order=45)
def curation_history_section(request, asset):
    """Who changed the asset's curation, what and when, newest first, from the audit trail (one query)."""
    events = asset_curation_history(user=request.user, asset=asset, limit=CURATION_HISTORY_SHOWN)
    return {"entries": [HistoryEntry(event.created_at, event.actor_label or "system", curation_words(event),
                                     _note(event)) for event in events],
            "more": len(events) == CURATION_HISTORY_SHOWN}


# --- editing one asset's curation ------------------------------------------------------------------------------

def _owner_field(name: str) -> str:
    return f"owners_{name}"


class CertificationFields(forms.Form):
    certification_note = forms.CharField(label="Note", required=False, max_length=NOTE_MAX_LENGTH,
                                         widget=forms.TextInput(attrs={"size": 60}))
    certification_expires_at = forms.DateTimeField(
        label="Expires", required=False, help_text="Optional: it ends by itself then.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))


def _multiple(queryset, label: str, **kwargs) -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(queryset=queryset, label=label, required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 6}), **kwargs)


class CurationForm(CertificationFields):
    """One asset's curation as ``asset_curation_set`` takes it. Choices are what the user sees of the asset's
    workspace (members, tags, terms) and the groups; the service checks them again."""

    description = forms.CharField(label="Description", required=False, strip=False,
                                  max_length=DESCRIPTION_MAX_LENGTH,
                                  widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
                                  help_text="Markdown. Raw HTML is shown as text; links keep http, https and mailto.")
    tags = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 6}))
    terms = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Glossary terms",
                                           widget=forms.SelectMultiple(attrs={"size": 6}),
                                           help_text="A term that implies a classification also confirms it on a "
                                                     "column.")
    certification = forms.ChoiceField(choices=[("", "Neither"), *AssetCertification.Status.choices], required=False)

    CERTIFICATION = ("certification", "certification_note", "certification_expires_at")

    def __init__(self, data=None, *, user, asset: Asset):
        self.certification = certification = _certification(asset)
        owners = list(asset.owners.all())
        initial = {
            "description": asset.description,
            "tags": [tag.pk for tag in asset.tags.all()],
            "terms": [term.pk for term in asset.glossary_terms.all()],
            "certification": certification.status if certification else "",
            "certification_note": certification.note if certification else "",
            # To the minute, as the browser's field shows it: an untouched expiry is not a changed one.
            "certification_expires_at": certification.expires_at.replace(second=0, microsecond=0)
            if certification and certification.expires_at else None,
        }
        for owner_type in OWNER_TYPES.values:
            initial[_owner_field(f"{owner_type}_users")] = [o.user_id for o in owners
                                                            if o.owner_type == owner_type and o.user_id]
            initial[_owner_field(f"{owner_type}_groups")] = [o.group_id for o in owners
                                                             if o.owner_type == owner_type and o.group_id]
        super().__init__(data, initial=initial)
        workspace_id = asset.data_source.workspace_id
        members = owner_user_choices(user=user).filter(memberships__workspace_id=workspace_id).order_by("username")
        groups = owner_group_choices(user=user).order_by("name")
        for value, label in OWNER_TYPES.choices:
            self.fields[_owner_field(f"{value}_users")] = _multiple(members, f"{label}s: users")
            self.fields[_owner_field(f"{value}_groups")] = _multiple(groups, f"{label}s: groups")
        self.fields["tags"].queryset = tag_list(user=user).filter(workspace_id=workspace_id)
        # A deprecated term cannot be linked; one linked already stays selectable, so saving keeps it.
        self.fields["terms"].queryset = glossary_term_list(user=user).filter(workspace_id=workspace_id).filter(
            ~Q(status=GlossaryTerm.Status.DEPRECATED) | Q(pk__in=initial["terms"])).prefetch_related(None)
        self.order_fields(["description", *(name for name in self.fields if name.startswith("owners_")), "tags",
                           "terms", *self.CERTIFICATION])

    def owner_rows(self):
        """The owner fields as (type, users field, groups field), for the template's grid."""
        return [(label, self[_owner_field(f"{value}_users")], self[_owner_field(f"{value}_groups")])
                for value, label in OWNER_TYPES.choices]

    def arguments(self) -> dict:
        """The cleaned form as ``asset_curation_set``'s keyword arguments: the certification only when it was
        changed (an unchanged one whose expiry has just passed must not be refused as "in the past")."""
        data = self.cleaned_data
        owners = [{"owner_type": value, kind: principal} for value in OWNER_TYPES.values
                  for kind in ("user", "group") for principal in data[_owner_field(f"{value}_{kind}s")]]
        arguments = {"description": data["description"], "owners": owners, "tags": list(data["tags"]),
                     "terms": list(data["terms"])}
        if set(self.CERTIFICATION) & set(self.changed_data):
            expires_at = data["certification_expires_at"]
            if "certification_expires_at" not in self.changed_data and self.certification is not None:
                expires_at = self.certification.expires_at  # as stored, to the second
            arguments["certification"] = ({"status": data["certification"], "note": data["certification_note"],
                                           "expires_at": expires_at} if data["certification"] else None)
        return arguments


def curation_view(request, model_admin, object_id):
    """The "Edit curation" page of one asset: 404 outside the user's scope, 403 for who may not curate it."""
    asset = model_admin.get_object(request, object_id)
    if asset is None:
        raise Http404("No such asset.")
    if not curation.may_curate(request.user, asset):
        raise PermissionDenied
    curated = asset_curation_list(user=request.user).get(pk=asset.pk)
    form = CurationForm(request.POST if request.method == "POST" else None, user=request.user, asset=curated)
    if form.is_valid():
        try:
            asset_curation.asset_curation_set(asset=curated, acting_user=request.user, **form.arguments())
        except ValidationError as exc:
            add_service_errors(form, exc)
        except PermissionDenied as exc:  # e.g. a term whose classification the user may not confirm
            form.add_error(None, admin_error_text(exc) or "You may not make this change.")
        else:
            model_admin.message_user(request, f"The curation of {asset.title} was saved.", messages.SUCCESS)
            return HttpResponseRedirect(asset_url(asset) + "#asset-curation")
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Curation of {asset.title}",
        "asset": asset,
        "asset_crumbs": breadcrumbs(request, asset),
        "form": form,
        "media": model_admin.media + form.media,
        "cancel_url": asset_url(asset),
        "workspace": asset.data_source.workspace,
        # An empty list of choices says why, and where its choices are made, instead of an empty box.
        "no_choices": {"members": not form.fields[_owner_field(f"{OWNER_TYPES.values[0]}_users")].queryset.exists(),
                       "tags": not form.fields["tags"].queryset.exists(),
                       "terms": not form.fields["terms"].queryset.exists()},
    }
    return TemplateResponse(request, "admin/catalog/curation/edit.html", context)


# --- curating the selected assets of a list ------------------------------------------------------------------

class BulkCurationForm(CertificationFields):
    """What to change on every selected asset. Owners are added in one capacity and removed in every one; choices
    are what the user sees of the selection's workspaces, and the service checks each asset again."""

    owner_users_add = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Add users",
                                                     widget=forms.SelectMultiple(attrs={"size": 5}))
    owner_groups_add = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Add groups",
                                                      widget=forms.SelectMultiple(attrs={"size": 5}))
    owner_type = forms.ChoiceField(choices=OWNER_TYPES.choices, label="As", initial=OWNER_TYPES.BUSINESS)
    owner_users_remove = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Remove users",
                                                        widget=forms.SelectMultiple(attrs={"size": 5}))
    owner_groups_remove = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Remove groups",
                                                         widget=forms.SelectMultiple(attrs={"size": 5}))
    tags_add = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Add tags",
                                              widget=forms.SelectMultiple(attrs={"size": 5}))
    tags_remove = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Remove tags",
                                                 widget=forms.SelectMultiple(attrs={"size": 5}))
    terms_add = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Link terms",
                                               widget=forms.SelectMultiple(attrs={"size": 5}))
    terms_remove = forms.ModelMultipleChoiceField(queryset=None, required=False, label="Unlink terms",
                                                  widget=forms.SelectMultiple(attrs={"size": 5}))
    certification = forms.ChoiceField(required=False, label="Certification", choices=[
        ("", "Leave as it is"), (AssetCertification.Status.CERTIFIED, "Certify"),
        (AssetCertification.Status.DEPRECATED, "Deprecate"), (END_CERTIFICATION, "End the certification or "
                                                                                 "deprecation")])

    def __init__(self, data=None, *, user, workspace_ids: set[int]):
        super().__init__(data)
        members = (owner_user_choices(user=user).filter(memberships__workspace_id__in=workspace_ids)
                   .distinct().order_by("username"))
        groups = owner_group_choices(user=user).order_by("name")
        tags = tag_list(user=user).filter(workspace_id__in=workspace_ids)
        terms = glossary_term_list(user=user).filter(workspace_id__in=workspace_ids).prefetch_related(None)
        for name, queryset in (("owner_users_add", members), ("owner_users_remove", members),
                               ("owner_groups_add", groups), ("owner_groups_remove", groups),
                               ("tags_add", tags), ("tags_remove", tags), ("terms_remove", terms),
                               ("terms_add", terms.exclude(status=GlossaryTerm.Status.DEPRECATED))):
            self.fields[name].queryset = queryset

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in self.fields if name != "owner_type"):
            raise ValidationError("Choose something to change: owners, tags, terms or the certification.")
        return cleaned

    def arguments(self) -> dict:
        """The cleaned form as ``assets_curate``'s keyword arguments (a part with nothing chosen is left out)."""
        data = self.cleaned_data
        added = [{"owner_type": data["owner_type"], "user": user} for user in data["owner_users_add"]]
        added += [{"owner_type": data["owner_type"], "group": group} for group in data["owner_groups_add"]]
        removed = [{"owner_type": value, kind: principal} for value in OWNER_TYPES.values
                   for kind, chosen in (("user", data["owner_users_remove"]), ("group", data["owner_groups_remove"]))
                   for principal in chosen]
        arguments = {}
        for name, add, remove in (("owners", added, removed),
                                  ("tags", list(data["tags_add"]), list(data["tags_remove"])),
                                  ("terms", list(data["terms_add"]), list(data["terms_remove"]))):
            if add or remove:
                arguments[name] = {"add": add, "remove": remove}
        status = data["certification"]
        if status == END_CERTIFICATION:
            arguments["certification"] = None
        elif status:
            arguments["certification"] = {"status": status, "note": data["certification_note"],
                                          "expires_at": data["certification_expires_at"]}
        return arguments


# How the audit rows of one bulk request are reported: event → (singular, plural).
CHANGE_WORDS = {
    "asset.owner_added": ("owner added", "owners added"),
    "asset.owner_removed": ("owner removed", "owners removed"),
    "asset.tag_added": ("tag added", "tags added"),
    "asset.tag_removed": ("tag removed", "tags removed"),
    "asset.term_linked": ("term linked", "terms linked"),
    "asset.term_unlinked": ("term unlinked", "terms unlinked"),
    "asset.certified": ("asset certified", "assets certified"),
    "asset.deprecated": ("asset deprecated", "assets deprecated"),
    "asset.certification_ended": ("certification ended", "certifications ended"),
    # A linked term that implies a classification confirms it: created confirmed, or a suggestion confirmed.
    "asset_classification.created": ("classification confirmed", "classifications confirmed"),
    "asset_classification.confirmed": ("classification confirmed", "classifications confirmed"),
}


def _changes_made(request_id: str | None) -> str:
    """What the request's audit rows say changed ("3 owners added, 12 terms linked"): a repeated request
    writes none, so this is what changed, not what was asked."""
    if not request_id:
        return ""
    made = Counter(CHANGE_WORDS[event] for event in AuditEvent.objects.filter(
        request_id=request_id, event__in=CHANGE_WORDS).values_list("event", flat=True))
    return ", ".join(counted(made[words], *words) for words in dict.fromkeys(CHANGE_WORDS.values()) if made[words])


@admin.action(description="Curate selected assets…", permissions=["curate"])
def curate_selected(modeladmin, request, queryset):
    """A form for what to change on the selected assets, then ``assets_curate`` in one transaction. Refusals
    (the cap, assets the user may not curate, a tag of another workspace) are messages; nothing changes then."""
    cap = asset_curation.MAX_BULK_ASSETS
    selected = list(queryset.order_by("pk").values_list("pk", "data_source__workspace_id")[:cap + 1])
    if len(selected) > cap:
        modeladmin.message_user(request, f"At most {cap:,} assets can be curated at once: narrow the selection "
                                         "with the filters.", messages.ERROR)
        return None
    ids = [pk for pk, _ in selected]
    form = BulkCurationForm(request.POST if "apply" in request.POST else None, user=request.user,
                            workspace_ids={workspace for _, workspace in selected})
    if form.is_valid():
        selection = {"admin": modeladmin.model._meta.verbose_name_plural, "filters": request.GET.dict()}
        try:
            count = asset_curation.assets_curate(assets=queryset, acting_user=request.user, selection=selection,
                                                 **form.arguments()).assets
        except (PermissionDenied, ValidationError) as exc:
            said = admin_error_text(exc)
            if "nothing was changed" not in said.lower():
                said += " Nothing was changed."
            modeladmin.message_user(request, said, messages.ERROR)
            return None
        changed = _changes_made(current_request_id())
        modeladmin.message_user(request, f"{counted(count, 'asset')} curated: {changed or 'nothing to change'}.",
                                messages.SUCCESS if changed else messages.INFO)
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": opts,
        "title": f"Curate {counted(len(ids), str(opts.verbose_name), str(opts.verbose_name_plural))}",
        "form": form,
        "ids": ids,
        "examples": [asset.title for asset in queryset.select_related(None).order_by("qualified_name")
                     .only("type", "name", "qualified_name")[:10]],
        "action": "curate_selected",
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
        # As on the "Edit curation" page: an empty list of choices says why and where they are made.
        "no_choices": {"members": not form.fields["owner_users_add"].queryset.exists(),
                       "tags": not form.fields["tags_add"].queryset.exists(),
                       "terms": not form.fields["terms_add"].queryset.exists()},
    }
    return TemplateResponse(request, "admin/catalog/curation/bulk.html", context)


class CurationAdminMixin:
    """The asset pages' curation: the "Edit curation" page (``<id>/curation/``) and the bulk action."""

    def get_urls(self):
        opts = self.model._meta

        def view(request, object_id):
            return curation_view(request, self, object_id)

        return [path("<path:object_id>/curation/", self.admin_site.admin_view(view),
                     name=f"{opts.app_label}_{opts.model_name}_curation"), *super().get_urls()]

    def has_curate_permission(self, request) -> bool:
        """May the user curate any asset: a role that changes assets, or owning one."""
        return has_any_grant(request.user, Asset, "change") or asset_curatable_list(user=request.user).exists()
