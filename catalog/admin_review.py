"""The review queue: the suggestions waiting for a steward, grouped by data source and table, each with its evidence
in words, decided in one click (confirm, reject, change to another classification), one by one or in bulk.

The page reads through the generic selector (``accounts.selectors.visible``), so it lists what the user may see;
every decision goes through catalog.services, which checks the grant on each row, audits and rolls sensitivity up.
The decision buttons are a template include (``admin/catalog/includes/decision_buttons.html``) tied by the HTML
``form`` attribute to one form of the page (``decision_form.html``), so other pages — a column's page, whose own
change form must not be nested — show the same buttons with ``catalog.admin_decisions.decision_context``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import groupby

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, Window
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.admin import admin_error_text
from accounts.permissions import has_any_grant
from accounts.selectors import visible
from accounts.wording import counted
from catalog import services
from catalog.admin_assets import asset_urls, change_urls
from catalog.admin_decisions import decision_context
from catalog.admin_readable import evidence_of
from catalog.lineage.selectors import evidences_seen_by
from catalog.models import Asset, AssetClassification
from catalog.selectors import active_classification_list
from sources.selectors import datasource_list

REVIEW_URL = "admin:catalog_assetclassification_review"
PAGE_SIZE = 50
# Rows of one table stay together in every order, so each page reads as groups: by table (the surest first within
# it), or by confidence across tables, a table's heading repeated where its rows resume.
ORDERINGS = {
    "table": ("asset__data_source_id", "asset__parent_id", "-confidence", "asset_id", "pk"),
    "-confidence": ("-confidence", "asset__data_source_id", "asset__parent_id", "asset_id", "pk"),
    "confidence": ("confidence", "asset__data_source_id", "asset__parent_id", "asset_id", "pk"),
}
ORDER_LABELS = {"table": "By table", "-confidence": "Highest confidence first",
                "confidence": "Lowest confidence first"}
SHOWN_FIELDS = ("status", "source", "confidence", "evidence", "created_at", "classification__name",
                *(f"asset__{name}" for name in ("name", "type", "data_type", "qualified_name", "data_source_id",
                                                "parent_id", "data_source__name", "parent__name", "parent__type",
                                                "parent__qualified_name")))
DECISIONS = {"confirm": AssetClassification.Status.CONFIRMED, "reject": AssetClassification.Status.REJECTED}
SELECTED = "selected"
# A row or classification id as posted: ASCII digits ("²" passes str.isdigit but not int()) that fit a bigint.
ROW_ID = re.compile(r"[0-9]{1,18}")
# A page number: one whose rows' offset still fits the database's bigint.
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")


def _row_id(text: str) -> int | None:
    return int(text) if ROW_ID.fullmatch(text) else None


# --- the queue ---------------------------------------------------------------------------------------------------


class QueueFilter(forms.Form):
    source = forms.ModelChoiceField(queryset=None, required=False, empty_label="All sources")
    classification = forms.ModelChoiceField(queryset=None, required=False, empty_label="All classifications")
    o = forms.ChoiceField(choices=list(ORDER_LABELS.items()), required=False, label="Order")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = datasource_list(user=user).order_by("name")
        self.fields["classification"].queryset = active_classification_list(user=user)


@dataclass(frozen=True)
class Group:
    source: str
    table: Asset | None
    table_url: str
    rows: list


def queue_view(request, model_admin):
    """The suggestions the user may see, a page of them at a time, grouped by source and table."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    user = request.user
    params = QueueFilter(request.GET, user=user)
    if not params.is_valid():
        return HttpResponseBadRequest("; ".join(f"{name}: {' '.join(errors)}"
                                                for name, errors in params.errors.items()),
                                      content_type="text/plain; charset=utf-8")
    chosen = params.cleaned_data
    queue = visible(AssetClassification.objects.filter(status=AssetClassification.Status.SUGGESTED), user=user)
    if chosen["source"] is not None:
        queue = queue.filter(asset__data_source=chosen["source"])
    if chosen["classification"] is not None:
        queue = queue.filter(classification=chosen["classification"])
    order = chosen["o"] or "table"
    page, ids = _page_of_ids(queue.order_by(*ORDERINGS[order]), request.GET.get("p"))
    shown = AssetClassification.objects.select_related("classification", "asset__data_source", "asset__parent")
    rows = sorted(shown.only(*SHOWN_FIELDS).filter(pk__in=ids), key=lambda row: ids.index(row.pk))
    decisions = decision_context(request)
    # A user may decide in one workspace and only read another: buttons on the rows they may decide.
    decidable = set(visible(AssetClassification.objects.filter(pk__in=ids), user=user, action="confirm")
                    .values_list("pk", flat=True)) if decisions["may_decide"] else set()
    asset_url, change_url = asset_urls(), change_urls(lambda row: "admin:catalog_assetclassification_change")
    seen = evidences_seen_by([row.evidence for row in rows], user=user)
    for row, evidence in zip(rows, seen, strict=True):
        row.may_decide = row.pk in decidable
        row.readable = evidence_of(evidence)
        row.asset_url = asset_url(row.asset)
        row.change_url = change_url(row)
    groups = [Group(source=rows_of[0].asset.data_source.name, table=rows_of[0].asset.parent,
                    table_url=asset_url(rows_of[0].asset.parent) if rows_of[0].asset.parent else "", rows=rows_of)
              for rows_of in (list(grouped) for _, grouped in
                              groupby(rows, key=lambda row: (row.asset.data_source_id, row.asset.parent_id)))]
    query = request.GET.copy()
    query.pop("p", None)
    context = {
        **model_admin.admin_site.each_context(request),
        **decisions,
        "opts": model_admin.model._meta,
        "title": "Review queue",
        "filters": params,
        "orderings": [(key, label, _with(query, o=key), key == order) for key, label in ORDER_LABELS.items()],
        "page": page,
        "groups": groups,
        "count": page.paginator.count,
        "query": query.urlencode(),
        "changelist_url": reverse("admin:catalog_assetclassification_changelist") + "?status__exact=suggested",
    }
    return TemplateResponse(request, "admin/catalog/review/queue.html", context)


def _page_of_ids(ordered, number) -> tuple[Page, list[int]]:
    """The page ``number`` of ``ordered``'s ids, and the page (for its links) over their total.

    The sort reads every visible suggestion before it keeps fifty: it reads their ids alone, and the page's rows
    are fetched by id afterwards with what they show (sorting the wide rows, evidence and names, was 2.6 times
    slower). The total comes with the ids (a window count) instead of a second pass over the same rows; a number
    past the end, or not a number, is answered with the last or the first page, as Paginator.get_page does."""
    number = int(number) if PAGE_NUMBER.fullmatch(str(number)) else 1
    counted = ordered.annotate(total=Window(Count("pk"))).values_list("pk", "total")
    window = list(counted[(number - 1) * PAGE_SIZE:number * PAGE_SIZE])
    total = window[0][1] if window else ordered.count()
    page = Paginator(range(total), PAGE_SIZE).get_page(number)
    if not window and total:  # past the end: the last page
        window = list(counted[page.start_index() - 1:page.end_index()])
    return page, [pk for pk, _ in window]


def _with(query, **values) -> str:
    query = query.copy()
    for name, value in values.items():
        query[name] = value
    return query.urlencode()


# --- decisions ---------------------------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    """What a decision button posts: ``decide`` is ``<confirm|reject|change>:<row id | "selected">``; a bulk
    decision takes the ticked rows (``selected``); a change takes its classification from ``to_<row id>`` or
    ``to_selected``."""

    decide = forms.RegexField(regex=rf"^(confirm|reject|change):({ROW_ID.pattern}|selected)$")
    selected = forms.TypedMultipleChoiceField(coerce=int, required=False)
    note = forms.CharField(required=False, strip=True)
    next = forms.CharField(required=False)

    def __init__(self, data, *, user):
        super().__init__(data)
        self.user = user
        self.fields["selected"].choices = [(value, value) for value in data.getlist("selected")
                                           if _row_id(value) is not None]
        self.fields["selected"].error_messages["invalid_choice"] = "A ticked row is not a row id."

    def clean(self):
        cleaned = super().clean()
        if "decide" not in cleaned:
            return cleaned
        verb, target = cleaned["decide"].split(":")
        cleaned["verb"] = verb
        cleaned["ids"] = (cleaned.get("selected") or []) if target == SELECTED else [int(target)]
        if not cleaned["ids"]:
            raise ValidationError("Tick the suggestions to decide first.", code="nothing_selected")
        if verb == "change":
            chosen = _row_id(self.data.get(f"to_{target}", ""))
            classification = (active_classification_list(user=self.user).filter(pk=chosen).first()
                              if chosen is not None else None)
            if classification is None:
                raise ValidationError("Pick the classification to change to.", code="no_classification")
            cleaned["classification"] = classification
        return cleaned


def _back(request, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = fallback
    return HttpResponseRedirect(target)


@require_POST
def decide_view(request, model_admin):
    """Apply one decision button: parse it, find the rows in the user's scope, hand them to the service."""
    user = request.user
    if not has_any_grant(user, AssetClassification, "confirm"):
        raise PermissionDenied
    form = DecisionForm(request.POST, user=user)
    fallback = reverse(REVIEW_URL)
    if not form.is_valid():
        if {"decide", "selected"} & set(form.errors):  # not what a button of ours sends
            return HttpResponseBadRequest("; ".join(f"{name}: {' '.join(errors)}"
                                                    for name, errors in form.errors.items()),
                                          content_type="text/plain; charset=utf-8")
        model_admin.message_user(request, " ".join(form.non_field_errors()), messages.ERROR)
        return _back(request, fallback)
    decision = form.cleaned_data
    rows = list(visible(AssetClassification.objects.select_related("classification", "asset"), user=user)
                .filter(pk__in=decision["ids"]))
    if len(rows) != len(set(decision["ids"])):
        model_admin.message_user(request, "Some of these classifications are no longer there or not yours to see "
                                          "(a rescan may have changed them). Nothing was changed.", messages.ERROR)
        return _back(request, fallback)
    try:
        if decision["verb"] == "change":
            services.asset_classifications_change(asset_classifications=rows, acting_user=user,
                                                  classification=decision["classification"],
                                                  note=decision["note"])
            done = f"changed to {decision['classification'].name}"
        else:
            services.asset_classifications_decide(asset_classifications=rows, acting_user=user,
                                                  decision=DECISIONS[decision["verb"]], note=decision["note"])
            done = DECISIONS[decision["verb"]].label.lower()
    except (PermissionDenied, ValidationError) as exc:
        model_admin.message_user(request, admin_error_text(exc) + " Nothing was changed.", messages.ERROR)
        return _back(request, fallback)
    # One row: "PII.EMAIL on shop.public.customers.email: confirmed."; several: "9 classifications confirmed."
    said = (f"{rows[0].classification.name} on {rows[0].asset.qualified_name}: {done}" if len(rows) == 1
            else f"{counted(len(rows), 'classification')} {done}")
    model_admin.message_user(request, f"{said[0].upper()}{said[1:]}.", messages.SUCCESS)
    return _back(request, fallback)
