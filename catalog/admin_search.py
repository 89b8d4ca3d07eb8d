"""The admin header's search box: the catalog's search (catalog.search: names, terms and synonyms, tags,
classifications, owners, descriptions; typos forgiven), in the user's scope, a page at a time, with the API's
facets beside the results: each value a link that narrows them (another value of the same facet widens again).

A thin view over ``catalog.selectors.asset_search``, served by the admin site (``config.urls`` wraps it in
``admin_view``: staff with a verified second factor only)."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from catalog import search
from catalog.admin_assets import asset_url
from catalog.selectors import asset_search, search_filters

PAGE_SIZE = 50
MIN_LENGTH = 2
# The facets as the page titles them, in the order it shows them.
FACET_TITLES = {"type": "Type", "sensitivity": "Sensitivity", "classification": "Classification",
                "certification": "Certification", "tag": "Tag", "term": "Glossary term", "owner": "Owner",
                "source": "Source", "schema": "Schema"}


class AssetSearchForm(forms.Form):
    q = forms.CharField(label="Search assets", min_length=MIN_LENGTH, max_length=200,
                        error_messages={"min_length": f"Type at least {MIN_LENGTH} characters to search."})


def _facet_links(request, facets: dict[str, list[dict]], chosen: dict[str, list[str]]) -> list[dict]:
    """Each facet with values, its values as links: one not chosen adds it to the filters, a chosen one takes it
    away; the page number is dropped, as the results change."""
    shown = []
    for name, title in FACET_TITLES.items():
        values = []
        for item in facets.get(name, []):
            query = request.GET.copy()
            query.pop("page", None)
            selected = item["value"] in chosen.get(name, [])
            others = [value for value in chosen.get(name, []) if value != item["value"]]
            query.setlist(name, others if selected else [*others, item["value"]])
            values.append({**item, "selected": selected, "url": f"?{query.urlencode()}"})
        if values:
            shown.append({"name": name, "title": title, "values": values})
    return shown


def breakable_name(name: str) -> str:
    """``name`` with a line-break opportunity after each dot, as the asset lists show qualified names: one too long
    for its cell wraps between its parts, not in the middle of one ("customer_order" / "s.email")."""
    return mark_safe(escape(name).replace(".", ".<wbr>"))  # noqa: S308 — escaped first


def asset_search_view(request):
    # Unbound without a query: the empty page says what the box does instead of "this field is required".
    form = AssetSearchForm(request.GET if request.GET.get("q", "").strip() else None)
    chosen = {name: request.GET.getlist(name) for name in search.FACETS if request.GET.getlist(name)}
    page, results, facets = None, [], []
    if form.is_valid():
        try:
            filters = search_filters(user=request.user, values=chosen)
            found = asset_search(user=request.user, text=form.cleaned_data["q"], filters=filters)
            page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        except ValidationError as refused:  # nothing searchable in it ("!!"), or a filter value out of sight
            for field, errors in refused.message_dict.items():
                form.add_error("q", [f"{FACET_TITLES[field]}: {error}" if field in FACET_TITLES else error
                                     for error in errors])
        else:
            results = [{"asset": asset, "url": asset_url(asset), "why": asset.search_found_by,
                        "name": breakable_name(asset.title)} for asset in page.object_list]
            facets = _facet_links(request, found.facets(), chosen)
    query = request.GET.get("q", "").strip()
    context = {
        **admin.site.each_context(request),
        "title": f"Assets matching “{query}”" if page is not None else "Search assets",
        "form": form,
        "search_query": query,
        "page": page,
        "page_query": _without_page(request),
        "results": results,
        "count_is_exact": page is None or page.paginator.object_list.count_is_exact,
        "facets": facets,
        "filtered": bool(chosen),
        "unfiltered_url": "?" + _only_query(request),
        "min_length": MIN_LENGTH,
    }
    return TemplateResponse(request, "admin/catalog/asset_search.html", context)


def _without_page(request) -> str:
    """The query string without its page number: the pages' links keep the words and the facets chosen."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _only_query(request) -> str:
    query = request.GET.copy()
    for name in [*search.FACETS, "page"]:
        query.pop(name, None)
    return query.urlencode()
