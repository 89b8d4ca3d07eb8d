"""Suggestions from the data in the stewards' back office (catalog.suggestions): a "Suggestions" section on an
asset's page with Accept and Dismiss buttons, and a list of the open suggestions a steward may decide in bulk.

Every decision goes through catalog.suggestions (the curation rule, all or none, audited; accepting applies the
suggestion through the curation services). The section's buttons post one form of the page (its ``form``
attribute, as the review queue's buttons do), to this admin's decide view, which comes back to the page.
"""
from __future__ import annotations

import re

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.admin import ReadOnlyAdminMixin, RestrictedAdminMixin, admin_error_text
from accounts.wording import counted
from catalog import suggestions
from catalog.admin_assets import asset_urls, section
from catalog.curation import may_curate
from catalog.markdown import markdown_as_plain_text, render_markdown
from catalog.models import Suggestion
from catalog.selectors import asset_curatable_list, suggestion_list

DECIDE_URL = "admin:catalog_suggestion_decide"
# What a button posts: the verb and the suggestion's id (ASCII digits that fit a bigint).
DECISION = re.compile(r"(accept|dismiss):([0-9]{1,18})")
VERBS = {"accept": Suggestion.Status.ACCEPTED, "dismiss": Suggestion.Status.DISMISSED}
SUGGESTED_SHOWN = 160  # characters of a description in a list row; the asset's section shows it whole


def _refusal(exc: Exception) -> str:
    text = admin_error_text(exc)
    return text if "nothing was changed" in text.lower() else f"{text} Nothing was changed."


def suggested_text(row: Suggestion) -> str:
    if row.kind == Suggestion.Kind.TERM:
        return f"Link the term “{row.term.name}”"
    return f"Describe it as: {markdown_as_plain_text(row.description)}"


def decided_text(row: Suggestion, decision: str) -> str:
    """What a decision did, in a sentence of its own: not the suggested text, which may be a long description in
    Markdown (its asterisks and all) and read "…sign-up. on shop.customers.email: accepted"."""
    asset = row.asset.title
    if decision == Suggestion.Status.DISMISSED:
        return f"Suggestion dismissed on {asset}: it will not be offered again."
    if row.kind == Suggestion.Kind.TERM:
        return f"Suggestion accepted: the term “{row.term.name}” is linked to {asset}."
    return f"Suggestion accepted: {asset} is described as suggested."


class StatusFilter(admin.SimpleListFilter):
    """Open suggestions unless asked otherwise: what waits for a decision is the list's point."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Suggestion.Status.choices, (self.ALL, "All")]

    def value(self):
        return super().value() if super().value() in {*Suggestion.Status.values, self.ALL} else Suggestion.Status.OPEN

    def choices(self, changelist):
        # Without Django's own "All" entry: no parameter means open, and "all" is one of the lookups.
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, queryset):
        return queryset if self.value() == self.ALL else queryset.filter(status=self.value())


@admin.register(Suggestion)
class SuggestionAdmin(ReadOnlyAdminMixin, RestrictedAdminMixin, admin.ModelAdmin):
    """The suggestions the user sees, open ones first; tick some and accept or dismiss them (the curators of
    their assets may)."""

    list_display = ["asset_shown", "suggested", "reason", "status", "created_at"]
    # The asset cell is a link to the asset: as the row's link too it nested two links, which browsers split into
    # an empty one (nothing to click) before it. The suggestion's text leads to the suggestion's page.
    list_display_links = ["suggested"]
    list_filter = [StatusFilter, "kind", "rule"]
    search_fields = ["asset__qualified_name", "term__name"]
    list_select_related = ["asset", "term"]
    actions = ["accept_selected", "dismiss_selected"]
    fields = ["asset_shown", "kind", "rule", "suggested", "reason", "source_shown", "status", "decided_by",
              "decided_at", "created_at"]
    readonly_fields = fields

    class Media:
        css = {"all": ["racine/curation.css"]}

    @admin.display(description="asset", ordering="asset__qualified_name")
    def asset_shown(self, obj):
        return format_html('<a href="{}">{}</a>', self._asset_url(obj.asset), obj.asset.qualified_name)

    @admin.display(description="copied from")
    def source_shown(self, obj):
        if obj.source_asset_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', self._asset_url(obj.source_asset), obj.source_asset.qualified_name)

    @admin.display(description="suggestion")
    def suggested(self, obj):
        return truncatechars(suggested_text(obj), SUGGESTED_SHOWN)

    def _asset_url(self, asset):
        if not hasattr(self, "_asset_urls"):
            self._asset_urls = asset_urls()  # each asset type's URL reversed once, not once a row
        return self._asset_urls(asset)

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(lambda request: view(request, self))

        return [path("decide/", wrap(decide_view), name="catalog_suggestion_decide"), *super().get_urls()]

    def has_curate_permission(self, request):
        # Deciding is curating the suggestion's asset: offered to who may curate some asset (the service checks
        # each one).
        return asset_curatable_list(user=request.user).exists()

    def _decide(self, request, queryset, decision: str) -> None:
        try:
            rows = suggestions.suggestions_decide(suggestions=list(queryset), decision=decision,
                                                  acting_user=request.user)
        except (PermissionDenied, ValidationError, suggestions.AlreadyDecided) as exc:
            self.message_user(request, _refusal(exc), messages.ERROR)
            return
        self.message_user(request, f"{counted(len(rows), 'suggestion')} {decision}.", messages.SUCCESS)

    @admin.action(description="Accept the selected suggestions", permissions=["curate"])
    def accept_selected(self, request, queryset):
        self._decide(request, queryset, Suggestion.Status.ACCEPTED)

    @admin.action(description="Dismiss the selected suggestions", permissions=["curate"])
    def dismiss_selected(self, request, queryset):
        self._decide(request, queryset, Suggestion.Status.DISMISSED)


def _back(request) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("admin:catalog_suggestion_changelist")
    return HttpResponseRedirect(target)


@require_POST
def decide_view(request, model_admin):
    """One button of an asset's "Suggestions" section: accept or dismiss one suggestion, then back to the page."""
    match = DECISION.fullmatch(request.POST.get("decide", ""))
    if match is None:
        return HttpResponseBadRequest("decide: expected accept:<id> or dismiss:<id>",
                                      content_type="text/plain; charset=utf-8")
    verb, pk = match.groups()
    row = suggestion_list(user=request.user).filter(pk=int(pk)).first()
    if row is None:
        model_admin.message_user(request, "This suggestion is no longer there or not yours to see.", messages.ERROR)
        return _back(request)
    try:
        suggestions.suggestions_decide(suggestions=[row], decision=VERBS[verb], acting_user=request.user)
    except (PermissionDenied, ValidationError, suggestions.AlreadyDecided) as exc:
        model_admin.message_user(request, _refusal(exc), messages.ERROR)
        return _back(request)
    model_admin.message_user(request, decided_text(row, VERBS[verb]), messages.SUCCESS)
    return _back(request)


@section(key="suggestions", title="Suggestions", template="admin/catalog/asset/suggestions.html", order=30)
def suggestions_section(request, asset):
    """The open suggestions for the asset, with why, and the buttons for who may curate it: two queries for the
    rows, whatever their number, and the curation rule's."""
    rows = list(suggestion_list(user=request.user).filter(asset=asset, status=Suggestion.Status.OPEN)
                .order_by("kind", "created_at", "pk"))
    if not rows:
        return None
    url = asset_urls()
    # A description as it will read once accepted (sanitised: catalog.markdown).
    shown = [{"row": row, "html": mark_safe(render_markdown(row.description)),  # noqa: S308
              "source_url": url(row.source_asset) if row.source_asset_id else ""} for row in rows]
    return {"rows": shown, "may_decide": may_curate(request.user, asset), "decide_url": reverse(DECIDE_URL),
            "next_url": request.get_full_path()}
