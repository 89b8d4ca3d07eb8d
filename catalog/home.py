"""The catalog's panels of the steward's home (accounts.home): the review queue, and the sensitive data found, by
sensitivity, by source and by classification, drawn as charts beside the numbers. Every number links to the admin
list that shows the same rows."""
from __future__ import annotations

from django.urls import reverse

from accounts.home import Bar, Segment, bar_chart, change_url, changelist_url, panel
from accounts.permissions import has_any_grant
from catalog.models import Asset, AssetClassification, Suggestion
from catalog.selectors import (
    classification_counts,
    open_suggestion_count,
    review_queue_summary,
    sensitive_column_counts,
)

# Highest first: the order of the tables, the bars' segments and the legends.
LEVELS = [Asset.Sensitivity.RESTRICTED, Asset.Sensitivity.CONFIDENTIAL, Asset.Sensitivity.INTERNAL,
          Asset.Sensitivity.PUBLIC]
STATUSES = [AssetClassification.Status.CONFIRMED, AssetClassification.Status.SUGGESTED]
SOURCES_SHOWN = 15
CLASSIFICATIONS_SHOWN = 15
COLUMN_LIST = "catalog.columnasset"
CLASSIFICATION_LIST = "catalog.assetclassification"


@panel(key="review", title="Review queue", template="admin/home/review.html", order=30)
def review_panel(request):
    user = request.user
    if not has_any_grant(user, AssetClassification, "view"):
        return None
    count, oldest = review_queue_summary(user=user)
    return {"count": count,
            "url": changelist_url(CLASSIFICATION_LIST, status__exact=AssetClassification.Status.SUGGESTED),
            "queue_url": reverse("admin:catalog_assetclassification_review"),  # catalog.admin_review
            "oldest": oldest, "oldest_url": change_url(oldest) if oldest is not None else None,
            "may_decide": has_any_grant(user, AssetClassification, "confirm")}


def _columns_url(**filters) -> str:
    return changelist_url(COLUMN_LIST, removed="no", **filters)


@panel(key="sensitive", title="Sensitive data found", template="admin/home/sensitive.html", order=60)
def sensitive_panel(request):
    user = request.user
    if not has_any_grant(user, Asset, "view"):
        return None
    by_source: dict[int, dict] = {}
    for row in sensitive_column_counts(user=user):
        source = by_source.setdefault(row["data_source_id"], {"id": row["data_source_id"],
                                                              "name": row["data_source__name"], "counts": {}})
        source["counts"][row["sensitivity"]] = row["count"]
    levels = [{"level": level, "label": level.label,
               "count": sum(source["counts"].get(level, 0) for source in by_source.values()),
               "url": _columns_url(sensitivity__exact=level)} for level in LEVELS]
    sources = sorted(by_source.values(),
                     key=lambda source: ([-source["counts"].get(level, 0) for level in LEVELS], source["name"]))
    for source in sources:
        source["cells"] = [{"key": level, "count": source["counts"].get(level, 0),
                            "url": _columns_url(data_source=source["id"], sensitivity__exact=level)}
                           for level in LEVELS]
        source["url"] = _columns_url(data_source=source["id"])
    shown = sources[:SOURCES_SHOWN]
    data = {
        "levels": levels, "total": sum(level["count"] for level in levels), "sources": shown,
        "more_sources": len(sources) - len(shown),
        "sources_chart": bar_chart("Classified columns per source, by sensitivity", [
            Bar(source["name"], source["url"], tuple(
                Segment(cell["count"], f"level-{cell['key']}", cell["key"].label, cell["url"])
                for cell in source["cells"]))
            for source in shown], [(f"level-{level}", level.label) for level in LEVELS]),
    }
    if has_any_grant(user, AssetClassification, "view"):
        data.update(_by_classification(user))
    return data


def _by_classification(user) -> dict:
    by_classification: dict[int, dict] = {}
    for row in classification_counts(user=user):
        entry = by_classification.setdefault(row["classification_id"], {
            "id": row["classification_id"], "name": row["classification__name"], "counts": {}})
        entry["counts"][row["status"]] = row["count"]
    entries = sorted(by_classification.values(),
                     key=lambda entry: (-sum(entry["counts"].values()), entry["name"]))
    for entry in entries:
        entry["cells"] = [{"key": status, "count": entry["counts"].get(status, 0),
                           "url": changelist_url(CLASSIFICATION_LIST, classification__exact=entry["id"],
                                                 status__exact=status)} for status in STATUSES]
    shown = entries[:CLASSIFICATIONS_SHOWN]
    return {
        "classifications": shown, "more_classifications": len(entries) - len(shown),
        "statuses": [status.label for status in STATUSES],
        "classifications_chart": bar_chart("Classifications found, confirmed and suggested", [
            Bar(entry["name"], changelist_url(CLASSIFICATION_LIST, classification__exact=entry["id"]), tuple(
                Segment(cell["count"], f"status-{cell['key']}", cell["key"].label, cell["url"])
                for cell in entry["cells"]))
            for entry in shown], [(f"status-{status}", status.label) for status in STATUSES]),
    }


@panel(key="suggestions", title="Suggestions from the data", template="admin/home/suggestions.html",
       order=32)
def suggestions_panel(request):
    """How many suggestions (terms, descriptions; catalog.suggestions) wait for a curator, linking their list."""
    user = request.user
    if not has_any_grant(user, Suggestion, "view"):
        return None
    return {"count": open_suggestion_count(user=user),
            "url": changelist_url("catalog.suggestion", status=Suggestion.Status.OPEN)}
