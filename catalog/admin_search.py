"""The admin header's search box: the catalog's search (catalog.search: names, terms and synonyms, tags,
classifications, owners, descriptions; typos forgiven), in the user's scope, a page at a time.

A thin view over ``catalog.selectors.asset_search``, served by the admin site (``config.urls`` wraps it in
``admin_view``: staff with a verified second factor only)."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.template.response import TemplateResponse

from catalog.admin_assets import asset_url
from catalog.selectors import asset_search

PAGE_SIZE = 50
MIN_LENGTH = 2
class AssetSearchForm(forms.Form):
    q = forms.CharField(label="Search assets", min_length=MIN_LENGTH, max_length=200,
                        error_messages={"min_length": f"Type at least {MIN_LENGTH} characters to search."})


def asset_search_view(request):
    # Unbound without a query: the empty page says what the box does instead of "this field is required".
    form = AssetSearchForm(request.GET if request.GET.get("q", "").strip() else None)
    page, results = None, []
    if form.is_valid():
        try:
            found = asset_search(user=request.user, text=form.cleaned_data["q"])
            page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        except ValidationError as refused:  # nothing searchable in it ("!!"): said under the box
            form.add_error("q", refused.message_dict.get("q", refused.messages))
        else:
            results = [{"asset": asset, "url": asset_url(asset), "why": asset.search_found_by}
                       for asset in page.object_list]
    query = request.GET.get("q", "").strip()
    context = {
        **admin.site.each_context(request),
        "title": f"Assets matching “{query}”" if page is not None else "Search assets",
        "form": form,
        "search_query": query,
        "page": page,
        "results": results,
        "count_is_exact": page is None or page.paginator.object_list.count_is_exact,
        "min_length": MIN_LENGTH,
    }
    return TemplateResponse(request, "admin/catalog/asset_search.html", context)
