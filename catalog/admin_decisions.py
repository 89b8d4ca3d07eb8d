"""What a page needs to show the review queue's decision buttons (``admin/catalog/includes/decision_buttons.html``,
posted through ``decision_form.html`` to catalog.admin_review's decide view): the review queue, a classification's
page and an asset's page (catalog.admin_assets) take it from here, so none of them imports another."""
from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html_join

from accounts.permissions import has_any_grant
from catalog.models import AssetClassification
from catalog.selectors import active_classification_list

DECIDE_URL = "admin:catalog_assetclassification_decide"


def decision_context(request) -> dict:
    """Whether the user may decide at all (each row still says whether they may decide it), where decisions are
    posted, where to come back, and the "change to…" choices (the active classifications the user may see),
    rendered once for every row's select."""
    may_decide = has_any_grant(request.user, AssetClassification, "confirm")
    context = {"may_decide": may_decide, "decide_url": reverse(DECIDE_URL), "next_url": request.get_full_path()}
    if may_decide:
        choices = list(active_classification_list(user=request.user).values_list("pk", "name"))
        context["change_to_options"] = format_html_join("", '<option value="{}">{}</option>', choices)
    return context
