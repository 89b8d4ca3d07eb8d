"""A workspace's worth of what the steward's home counts (sources, runs, classified columns, suggestions, drift),
built from a declared recipe, so the tests derive what each persona must see from the recipe, not from the page.

Each kind also gets rows the home must NOT count (a removed column, a rejected suggestion, a run failed or drift
seen before the 7-day window), so a count that forgets a condition is caught."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import product

from django.conf import settings
from django.utils import timezone

from catalog.models import Asset, AssetClassification
from scanning.models import AssetChange, ScanRun
from tests.catalog.classification_factories import asset_tree, builtin
from tests.catalog.factories import AssetChangeFactory, DataSourceFactory, ScanFactory, ScanRunFactory

LEVELS = ("restricted", "confidential", "internal", "public")


@dataclass(frozen=True)
class Recipe:
    """What one source holds. ``columns``: sensitivity → how many present columns have it."""

    name: str
    columns: dict[str, int]
    suggested: int = 0
    confirmed: int = 0
    failed_runs: int = 0
    stuck_running: bool = False
    drift: dict[str, int] | None = None


@dataclass
class Built:
    recipes: list[Recipe]

    def expected(self) -> dict[str, int]:
        """What the home must count for these recipes."""
        counts = {f"sensitive-{level}": sum(recipe.columns.get(level, 0) for recipe in self.recipes)
                  for level in LEVELS}
        counts["review"] = sum(recipe.suggested for recipe in self.recipes)
        counts["runs-failed"] = sum(recipe.failed_runs for recipe in self.recipes)
        counts["runs-stuck_running"] = sum(recipe.stuck_running for recipe in self.recipes)
        counts["runs-stuck_queued"] = 0
        for kind in ("added", "changed", "removed"):
            counts[f"drift-{kind}"] = sum((recipe.drift or {}).get(kind, 0) for recipe in self.recipes)
        counts["sources"] = len(self.recipes)
        return counts


def build_source(workspace, recipe: Recipe, *, now=None):
    """One data source as ``recipe`` says, with a succeeded last run unless it is stuck."""
    now = now or timezone.now()
    source = DataSourceFactory(workspace=workspace, name=recipe.name)
    scan = ScanFactory(data_source=source, name=f"{recipe.name} nightly")
    long_ago = now - timedelta(days=10)
    # Outside the window: a failure and drift of ten days ago count nowhere.
    old = ScanRunFactory(scan=scan, status=ScanRun.Status.FAILED, error="old failure", queued_at=long_ago,
                         started_at=long_ago, finished_at=long_ago)
    AssetChangeFactory(run=old, kind=AssetChange.Kind.REMOVED, created_at=long_ago)
    for index in range(recipe.failed_runs):
        at = now - timedelta(days=2, minutes=index)
        ScanRunFactory(scan=scan, status=ScanRun.Status.FAILED, error="connection refused", queued_at=at,
                       started_at=at, finished_at=at)
    recent = now - timedelta(hours=1)
    if recipe.stuck_running:
        silent_since = now - timedelta(seconds=settings.RACINE_SCAN_HEARTBEAT_TIMEOUT + 60)
        last = ScanRunFactory(scan=scan, status=ScanRun.Status.RUNNING, queued_at=recent, started_at=recent,
                              heartbeat_at=silent_since)
    else:
        last = ScanRunFactory(scan=scan, status=ScanRun.Status.SUCCEEDED, queued_at=recent, started_at=recent,
                              finished_at=recent)
    for kind, count in (recipe.drift or {}).items():
        for _ in range(count):
            AssetChangeFactory(run=last, kind=kind, created_at=recent, asset__data_source=source)

    names = [f"{level}_{index}" for level, count in recipe.columns.items() for index in range(count)]
    # Plus one column classified restricted but removed since, and one never classified: neither counts.
    *_, columns = asset_tree(source, columns=dict.fromkeys([*names, "gone", "plain"], "text"))
    for name in names:
        columns[name].sensitivity = name.rsplit("_", 1)[0]
    columns["gone"].sensitivity, columns["gone"].removed_at = Asset.Sensitivity.RESTRICTED, recent
    Asset.objects.bulk_update(list(columns.values()), ["sensitivity", "removed_at"])

    statuses = ([AssetClassification.Status.SUGGESTED] * recipe.suggested
                + [AssetClassification.Status.CONFIRMED] * recipe.confirmed
                + [AssetClassification.Status.REJECTED])  # a rejected one counts nowhere
    kinds = ["PII.EMAIL", "PII.PHONE", "PII.PERSON_NAME", "FINANCIAL.IBAN"]
    pairs = product([columns[name] for name in [*names, "plain"]], kinds)  # (asset, classification) is unique
    for index, (status, (column, kind)) in enumerate(zip(statuses, pairs, strict=False)):
        AssetClassification.objects.create(asset=column, classification=builtin(kind), status=status,
                                           confidence=0.8, created_at=now - timedelta(days=index + 1))
    return source


def build_workspace(workspace, recipes: list[Recipe]) -> Built:
    for recipe in recipes:
        build_source(workspace, recipe)
    return Built(recipes)


WORKSPACE_A = [
    Recipe("HR database", {"restricted": 3, "confidential": 2, "internal": 1}, suggested=3, confirmed=2,
           failed_runs=1, drift={"added": 2, "changed": 1}),
    Recipe("Web shop", {"confidential": 1, "public": 2}, suggested=1, stuck_running=True, drift={"removed": 1}),
]
WORKSPACE_B = [
    Recipe("CRM", {"restricted": 4}, suggested=2, confirmed=1, failed_runs=2, drift={"added": 5}),
]
