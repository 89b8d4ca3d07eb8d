"""Applying a run's stream of schema objects to the catalog, and recording the drift.

Guarantees:

- Bulk: each connector batch costs a handful of statements (inserts per tree level, one bulk update, the drift
  rows, the run's counters), never one per object.
- Consistent: each batch commits with its drift rows and the run's counters in one transaction. A run killed
  half-way leaves the catalog as it was plus whole batches, each with the drift that explains it; objects are
  marked removed only by a run that read the whole source.
- Write only what changed: an object whose fingerprint is unchanged costs no write, so an unchanged rescan
  writes nothing but the run's own row.
- Never delete: an object that vanished gets ``removed_at``; if it comes back it is un-removed.
- Idempotent: re-applying the same stream (a retried run) finds everything already known and writes nothing new.
- The first scan of a source is its baseline and records no drift: "everything was added" tells nobody anything.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Asset
from scanning.connectors import SchemaObject, qualified_name
from scanning.models import AssetChange, ScanRun

logger = logging.getLogger("racine.scanning")

# The scanned fields compared for drift; everything else on an asset belongs to stewards or to detection.
SCANNED_FIELDS = ("type", "data_type", "is_nullable", "default", "source_description", "ordinal", "properties")
# A row estimate is not drift, but a catalog that still shows last year's table size is wrong: refresh it when
# it moved by more than this share.
ROW_COUNT_REFRESH_SHARE = 0.10
# Stay under PostgreSQL's 65,535 bind parameters per statement.
MAX_PARAMETERS = 60_000


class RunStopped(Exception):
    """The run was cancelled or taken away (failed by the reaper) while this worker was writing."""


@dataclass(slots=True)
class Known:
    pk: int
    fingerprint: str
    removed: bool
    row_count: int | None


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _scanned_values(obj: SchemaObject) -> dict:
    return {
        "type": obj.kind,
        "data_type": obj.data_type[:255],
        "is_nullable": obj.is_nullable,
        "default": obj.default,
        "source_description": obj.description,
        "ordinal": obj.ordinal,
        "properties": dict(obj.properties),
    }


def _row_count_moved(before: int | None, after: int | None) -> bool:
    if after is None or before == after:
        return False
    if before is None or before == 0:
        return True
    return abs(after - before) / abs(before) > ROW_COUNT_REFRESH_SHARE


class CatalogSync:
    """One run's writer. Feed it batches with :meth:`apply`, then call :meth:`finish` once the source was read
    completely."""

    def __init__(self, run: ScanRun):
        self.run = run
        self.source_id = run.data_source_id
        self.now = timezone.now()
        self.known: dict[str, Known] = {}
        rows = (Asset.objects.filter(data_source_id=self.source_id)
                .values_list("qualified_name", "pk", "fingerprint", "removed_at", "row_count"))
        for name, pk, fingerprint, removed_at, row_count in rows.iterator(chunk_size=10_000):
            self.known[name] = Known(pk, fingerprint, removed_at is not None, row_count)
        self.baseline = not self.known
        self.seen: set[str] = set()
        self.counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
        self.objects_seen = 0
        # Detection reads the tables whose columns are new or changed (or every table on a baseline).
        self.tables_to_sample: set[int] = set()

    # -- per batch -------------------------------------------------------------------------------------------
    def apply(self, batch: Sequence[SchemaObject]) -> None:
        new: list[SchemaObject] = []
        changed: list[tuple[Known, SchemaObject]] = []
        recount: list[tuple[int, int]] = []
        for obj in batch:
            name = obj.qualified_name
            self.seen.add(name)
            known = self.known.get(name)
            if known is None:
                new.append(obj)
            elif known.removed or known.fingerprint != obj.fingerprint():
                changed.append((known, obj))
            else:
                self.counts["unchanged"] += 1
                if _row_count_moved(known.row_count, obj.row_estimate):
                    recount.append((known.pk, obj.row_estimate))
                    known.row_count = obj.row_estimate
        self.objects_seen += len(batch)
        with transaction.atomic():
            drift = self._insert(new) + self._update(changed)
            if recount:
                self._recount(recount)
            if drift and not self.baseline:
                AssetChange.objects.bulk_create(drift, batch_size=MAX_PARAMETERS // 6)
            self._checkpoint()

    def _parent_pk(self, obj: SchemaObject) -> int | None:
        if len(obj.path) < 2:
            return None
        parent = self.known.get(qualified_name(obj.parent_path))
        return parent.pk if parent else None

    def _insert(self, objects: list[SchemaObject]) -> list[AssetChange]:
        if not objects:
            return []
        by_depth: dict[int, list[SchemaObject]] = defaultdict(list)
        for obj in objects:
            by_depth[len(obj.path)].append(obj)
        drift = []
        batch_size = MAX_PARAMETERS // (len(SCANNED_FIELDS) + 10)
        # Parents first, so that children find their parent's new primary key.
        for depth in sorted(by_depth):
            rows = [Asset(data_source_id=self.source_id, parent_id=self._parent_pk(obj),
                          qualified_name=obj.qualified_name, name=obj.name[:512], row_count=obj.row_estimate,
                          fingerprint=obj.fingerprint(), first_seen_at=self.now, changed_at=self.now,
                          **_scanned_values(obj))
                    for obj in by_depth[depth]]
            Asset.objects.bulk_create(rows, batch_size=batch_size)
            for row in rows:
                self.known[row.qualified_name] = Known(row.pk, row.fingerprint, False, row.row_count)
                self._note_for_detection(row.type, row.pk, row.parent_id)
                drift.append(AssetChange(run=self.run, asset_id=row.pk, kind=AssetChange.Kind.ADDED,
                                         created_at=self.now))
        self.counts["added"] += len(objects)
        return drift

    def _update(self, changed: list[tuple[Known, SchemaObject]]) -> list[AssetChange]:
        if not changed:
            return []
        current = {row["pk"]: row for row in Asset.objects.filter(pk__in=[known.pk for known, _ in changed])
                   .values("pk", "parent_id", *SCANNED_FIELDS)}
        assets, drift = [], []
        for known, obj in changed:
            before = current[known.pk]
            after = _scanned_values(obj)
            differences = {field: [before[field], after[field]] for field in SCANNED_FIELDS
                           if before[field] != after[field]}
            kind = AssetChange.Kind.ADDED if known.removed else AssetChange.Kind.CHANGED
            assets.append(Asset(pk=known.pk, fingerprint=obj.fingerprint(), removed_at=None, changed_at=self.now,
                                row_count=obj.row_estimate, **after))
            drift.append(AssetChange(run=self.run, asset_id=known.pk, kind=kind,
                                     changes=differences if kind == AssetChange.Kind.CHANGED else {},
                                     created_at=self.now))
            self.counts["added" if known.removed else "changed"] += 1
            known.fingerprint, known.removed, known.row_count = obj.fingerprint(), False, obj.row_estimate
            self._note_for_detection(obj.kind, known.pk, before["parent_id"])
        Asset.objects.bulk_update(assets, [*SCANNED_FIELDS, "fingerprint", "removed_at", "changed_at", "row_count"],
                                  batch_size=500)
        return drift

    def _recount(self, recount: list[tuple[int, int]]) -> None:
        Asset.objects.bulk_update([Asset(pk=pk, row_count=rows) for pk, rows in recount], ["row_count"],
                                  batch_size=1000)

    def _note_for_detection(self, kind: str, pk: int, parent_pk: int | None) -> None:
        if kind == Asset.Type.COLUMN and parent_pk is not None:
            self.tables_to_sample.add(parent_pk)

    def _checkpoint(self) -> None:
        """Counters and heartbeat in the batch's transaction; stop if the run was cancelled or reaped."""
        still_ours = ScanRun.objects.filter(
            pk=self.run.pk, status=ScanRun.Status.RUNNING, cancel_requested=False,
        ).update(heartbeat_at=timezone.now(), objects_seen=self.objects_seen, progress_done=self.objects_seen,
                 **self.counts)
        if not still_ours:
            raise RunStopped()  # rolls this batch back with the transaction

    # -- end of run ------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Mark what the complete read did not see as removed, in bulk."""
        gone = [known.pk for name, known in self.known.items() if not known.removed and name not in self.seen]
        for chunk in _chunks(gone, 5_000):
            with transaction.atomic():
                Asset.objects.filter(pk__in=chunk).update(removed_at=self.now)
                if not self.baseline:
                    AssetChange.objects.bulk_create(
                        [AssetChange(run=self.run, asset_id=pk, kind=AssetChange.Kind.REMOVED, created_at=self.now)
                         for pk in chunk], batch_size=MAX_PARAMETERS // 6)
                self.counts["removed"] += len(chunk)
                self._checkpoint()
        logger.info("catalog synced", extra={"scan_run": self.run.pk, "vendor": connection.vendor, **self.counts})
