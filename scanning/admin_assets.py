"""Scanning's part of an asset's page (catalog.admin_assets): the drift scans saw of the asset and of what it holds,
as before/after rows. The catalog reads this module itself (its ``admin_assets`` modules), so it names nothing
of scanning."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from accounts.permissions import has_any_grant
from catalog.admin_assets import asset_urls, change_urls, section
from catalog.admin_readable import Difference, differences
from scanning.models import AssetChange
from scanning.selectors import asset_change_history

DRIFT_SHOWN = 20  # the latest; the drift list has the rest (50 rows cost a table page 19 ms of CPU)


@dataclass(frozen=True)
class DriftRow:
    change: AssetChange
    asset_url: str
    run_url: str
    differences: list[Difference]
    itself: bool  # the change is of the page's asset, not of something in it


@section(key="drift", title="Drift seen by scans", template="admin/scanning/asset_drift.html", order=40)
def drift_section(request, asset):
    if not has_any_grant(request.user, AssetChange, "view"):
        return None
    changes, more = asset_change_history(user=request.user, asset=asset, limit=DRIFT_SHOWN)
    url, run_url = asset_urls(), change_urls(lambda run: "admin:scanning_scanrun_change")
    rows = [DriftRow(change, url(change.asset), run_url(change.run),
                     differences(change.changes), change.asset_id == asset.pk) for change in changes]
    return {"rows": rows, "more": more,
            "list_url": reverse("admin:scanning_assetchange_changelist") + "?" + urlencode({"q": asset.qualified_name})}
