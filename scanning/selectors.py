"""Reads of scanning's objects, always scoped to what ``user`` may see (see accounts.selectors)."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.permissions import restrict
from scanning.models import AssetChange, ScanRuleSet, ScanRun


def rule_set_list(*, user: User | None, action: str = "view") -> QuerySet[ScanRuleSet]:
    return restrict(ScanRuleSet.objects.select_related("workspace"), user, action)


def asset_change_list(*, user: User | None, run: ScanRun) -> QuerySet[AssetChange]:
    """The drift ``run`` recorded that ``user`` may see, in the order it was recorded."""
    return restrict(AssetChange.objects.filter(run=run).select_related("asset").order_by("id"), user, "view")
