"""The admin header's search box: assets found by name or qualified name, in the user's scope, a page at a time.

A thin view over ``catalog.selectors.asset_search`` (which full-text search will replace) served by the admin site
(``config.urls`` wraps it in ``admin_view``: staff with a verified second factor only)."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.urls import reverse

from catalog.selectors import asset_search

PAGE_SIZE = 50
MIN_LENGTH = 2


class AssetSearchForm(forms.Form):
    q = forms.CharField(label="Search assets", min_length=MIN_LENGTH, max_length=200,
                        error_messages={"min_length": f"Type at least {MIN_LENGTH} characters to search."})


def asset_url(asset) -> str:
    """The admin page of ``asset``: each type has its own (catalog.admin registers one proxy per type)."""
    return reverse(f"admin:catalog_{asset.type}asset_change", args=[asset.pk])


def asset_search_view(request):
    # Unbound without a query: the empty page says what the box does instead of "this field is required".
    form = AssetSearchForm(request.GET if request.GET.get("q", "").strip() else None)
    page, results = None, []
    if form.is_valid():
        found = asset_search(user=request.user, text=form.cleaned_data["q"])
        page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        results = [{"asset": asset, "url": asset_url(asset)} for asset in page.object_list]
    query = request.GET.get("q", "").strip()
    context = {
        **admin.site.each_context(request),
        "title": f"Assets matching “{query}”" if page is not None else "Search assets",
        "form": form,
        "search_query": query,
        "page": page,
        "results": results,
        "min_length": MIN_LENGTH,
    }
    return TemplateResponse(request, "admin/catalog/asset_search.html", context)
