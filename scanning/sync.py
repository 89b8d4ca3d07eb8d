"""Applying a run's stream of schema objects to the catalog, and recording the drift.

Guarantees:

- Bulk: each connector batch costs a handful of statements (its known assets, the new rows, the changed rows, the
  drift rows, the run's counters), never one per object. The assets are read and written by catalog's bulk writer
  (``catalog.bulk.AssetWriter``); the drift rows and the run's counters are this module's.
- Consistent: each batch commits with its drift rows and the run's counters in one transaction. A run killed
  half-way leaves the catalog as it was plus whole batches, each with the drift that explains it, and counters
  that match the rows written; objects are marked removed only by a run that read the whole source.
- Write only what changed: an object whose fingerprint is unchanged costs no write, so an unchanged rescan
  writes nothing but the run's own row. A fingerprint that moved while every scanned field stayed equal (a
  connector that learnt to hash differently) refreshes the fingerprint and records no drift.
- Bounded memory: a run holds one batch, never the source. Each batch reads its own known assets (containers by
  name on the unique (data source, qualified name) index, columns with their table's other columns on the parent
  index), so the stream may come in any order that puts parents first; what the run has met is a bitmap of asset
  ids; the assets nobody met are found at the end by one streamed pass over the source's live assets. (Holding
  every known asset by name cost about 0.6 KB per object: 279 MB for a rescan of 264,000 objects.)
- Never delete: an object that vanished gets ``removed_at``; if it comes back it is un-removed (drift: added).
- Idempotent: re-applying the same stream (a retried run) finds everything already known and writes nothing new;
  an object that appears twice in one stream is applied once.
- Baseline: a run that finds no asset of its source older than itself records no drift: "everything was added"
  tells nobody anything. "Older than itself" (first seen before the run started) keeps a retried first scan —
  the same run claimed again, with the batches of its first attempt already written — a baseline too. Once any
  earlier run has written assets, drift is recorded, even if that run failed later (in detection, or killed
  half-way): the catalog showed those assets, so what the next run adds, changes or removes is news.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from itertools import islice

from django.db import connection, transaction
from django.utils import timezone

from catalog.bulk import MAX_PARAMETERS, SCANNED_FIELDS, AssetWriter, Known, NewAsset, copy_rows, scanned_values
from catalog.models import Asset
from core import runs
from scanning.models import AssetChange, ScanRun
from sources.connectors import SchemaObject, qualified_name
from sources.connectors.names import quote_part

logger = logging.getLogger("racine.scanning")

# A row estimate is not drift, but a catalog that still shows last year's table size is wrong: refresh it when
# it moved by more than this share.
ROW_COUNT_REFRESH_SHARE = 0.10
# Containers whose qualified name is remembered for their children's names (a bounded cache, see CatalogSync).
NAME_CACHE_SIZE = 256
# Live assets read per fetch, and at most marked removed per transaction, when finish() looks for removed ones.
REMOVAL_PAGE = 1_000


class RunStopped(Exception):
    """The run was cancelled or taken away (failed by the reaper) while this worker was writing."""


def _row_count_moved(before: int | None, after: int | None) -> bool:
    if after is None or before == after:
        return False
    if before is None or before == 0:
        return True
    return abs(after - before) / abs(before) > ROW_COUNT_REFRESH_SHARE


class SeenIds:
    """The primary keys a run has met, as a bitmap over the id range: one bit per id, so a source of a million
    assets costs about 125 KB where a ``set`` of ints would cost 60 MB. Ids come from the asset table's one
    sequence, so the range is the source's, widened by whatever other sources inserted meanwhile."""

    __slots__ = ("_base", "_bits")

    def __init__(self) -> None:
        self._base: int | None = None
        self._bits = bytearray()

    def add(self, pk: int) -> bool:
        """Remember ``pk``; False if it was remembered already."""
        if self._base is None:
            self._base = pk
        offset = pk - self._base
        if offset < 0:
            grow = (-offset + 7) // 8
            self._bits[:0] = bytes(grow)
            self._base -= grow * 8
            offset = pk - self._base
        byte, bit = offset >> 3, 1 << (offset & 7)
        if byte >= len(self._bits):
            self._bits.extend(bytes(byte + 1 - len(self._bits)))
        if self._bits[byte] & bit:
            return False
        self._bits[byte] |= bit
        return True

    def __contains__(self, pk: int) -> bool:
        if self._base is None or pk < self._base:
            return False
        byte = (pk - self._base) >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << ((pk - self._base) & 7)))


class CatalogSync:
    """One run's writer. Feed it batches with :meth:`apply`, then call :meth:`finish` once the source was read
    completely."""

    def __init__(self, run: ScanRun):
        self.run = run
        self.source_id = run.data_source_id
        self.now = timezone.now()
        self.postgresql = connection.vendor == "postgresql"
        self.assets = AssetWriter(data_source_id=self.source_id, now=self.now)
        # The source's own asset (catalog.source_assets) before anything else: the parent of the databases the run
        # may add, and in step with the source even if the source's event has not been delivered yet.
        self.assets.root_pk()
        live, older = self.assets.census(since=run.started_at or self.now)
        self.baseline = not older
        # Assets live when the run started, and how many of them the stream has shown so far: when the two meet,
        # nothing was removed and finish() need not look.
        self._live_at_start = live
        self._live_seen = 0
        self.seen = SeenIds()
        self.counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
        self.objects_seen = 0
        # Qualified names of recently met containers (database, schema, table, view), by path: a child's name is
        # its parent's plus one part. Connectors yield a table's columns together, so a few hundred entries serve
        # nearly every look-up; when full it is emptied, and a missing parent's name is computed from its parts.
        self._names: dict[tuple[str, ...], str] = {}
        # Detection reads the tables whose columns are new or changed (or every table on a baseline).
        self.tables_to_sample: set[int] = set()
        self._first_new_pk: int | None = None  # the first asset this run inserted

    # -- per batch -------------------------------------------------------------------------------------------
    def _remember(self, path: tuple[str, ...], name: str) -> str:
        if len(self._names) >= NAME_CACHE_SIZE:
            self._names.clear()
        self._names[path] = name
        return name

    def _container_name(self, path: tuple[str, ...]) -> str:
        name = self._names.get(path)
        return name if name is not None else self._remember(path, qualified_name(path))

    def _parent_name(self, path: tuple[str, ...]) -> str | None:
        return self._container_name(path[:-1]) if len(path) > 1 else None

    def _created_by_this_run(self, pk: int) -> bool:
        # Keys come from the asset table's one ascending sequence, and only this run writes this source's assets.
        return self._first_new_pk is not None and pk >= self._first_new_pk

    def _known(self, objects: dict[str, tuple[SchemaObject, str | None]]) -> dict[str, Known]:
        """The source's assets among the batch's ``objects`` (name to object and parent name), and their parents.

        Containers (a few in a hundred) are looked up by name; columns are read with their table's other columns,
        where the rows lie together. A column that is not among them is new if its table is new in this batch or
        was added by this run (which linked every child it wrote); otherwise it is looked up by name still, so
        that a row whose parent link is missing is found, not inserted twice."""
        names, tables = set(), set()
        for name, (obj, parent) in objects.items():
            if parent is not None:
                names.add(parent)
                if obj.kind == Asset.Type.COLUMN:
                    tables.add(parent)
            if obj.kind != Asset.Type.COLUMN:
                names.add(name)
        known = self.assets.read(names, tables)

        def surely_new(parent: str | None) -> bool:
            if parent in known:
                return self._created_by_this_run(known[parent].pk)
            return parent in objects  # the table is new in this batch

        unexplained = [name for name, (obj, parent) in objects.items()
                       if obj.kind == Asset.Type.COLUMN and name not in known and not surely_new(parent)]
        if unexplained:
            known.update(self.assets.read(unexplained))
        return known

    def apply(self, batch: Sequence[SchemaObject]) -> None:
        objects: dict[str, tuple[SchemaObject, str | None]] = {}
        for obj in batch:
            path = obj.path
            parent = self._parent_name(path)
            name = quote_part(path[0]) if parent is None else f"{parent}.{quote_part(path[-1])}"
            if name in objects:
                continue  # the stream repeated an object within the batch
            objects[name] = (obj, parent)
            if obj.kind != Asset.Type.COLUMN:
                self._remember(path, name)
        known_by_name = self._known(objects)
        pks = {name: known.pk for name, known in known_by_name.items()}
        new: list[NewAsset] = []
        changed: list[tuple[Known, SchemaObject]] = []
        recount: list[tuple[int, int]] = []
        seen = self.seen
        unchanged = 0
        for name, (obj, parent) in objects.items():
            known = known_by_name.get(name)
            if known is None:
                new.append(NewAsset(name, parent, obj))
                continue
            if not seen.add(known.pk):
                continue  # the stream repeated an object of an earlier batch: it was applied already
            if not known.removed:
                self._live_seen += 1
            if known.removed or known.fingerprint != obj.fingerprint():
                changed.append((known, obj))
            else:
                unchanged += 1
                if obj.row_estimate is not None and _row_count_moved(known.row_count, obj.row_estimate):
                    recount.append((known.pk, obj.row_estimate))
        self.counts["unchanged"] += unchanged
        self.objects_seen += len(batch)
        with transaction.atomic():
            drift = self._insert(new, pks) + self._update(changed)
            if recount:
                self.assets.write_fields(["row_count"], recount)
            if drift and not self.baseline:
                self._record(drift)
            self._checkpoint()

    def _insert(self, new: list[NewAsset], pks: dict[str, int]) -> list[tuple[int, str, dict]]:
        """Write the ``new`` assets; ``pks`` (name to primary key) holds their parents, and gains them."""
        if not new:
            return []
        new_pks = self.assets.insert(new, pks)
        if self._first_new_pk is None:
            self._first_new_pk = min(new_pks)
        for pk, asset in zip(new_pks, new, strict=True):
            self.seen.add(pk)
            self._note_for_detection(asset.obj.kind, pk, pks.get(asset.parent) if asset.parent is not None else None)
        self.counts["added"] += len(new)
        return [(pk, AssetChange.Kind.ADDED, {}) for pk in new_pks]

    def _update(self, changed: list[tuple[Known, SchemaObject]]) -> list[tuple[int, str, dict]]:
        if not changed:
            return []
        current = self.assets.current([known.pk for known, _ in changed])
        rows, refingerprinted, drift = [], [], []
        for known, obj in changed:
            before = current[known.pk]
            after = scanned_values(obj)
            differences = {field: [before[field], after[field]] for field in SCANNED_FIELDS
                           if before[field] != after[field]}
            if not differences and not known.removed:
                # Same definition, another hash: no drift, no change time; remember the new fingerprint.
                refingerprinted.append((known.pk, obj.fingerprint()))
                self.counts["unchanged"] += 1
                continue
            kind = AssetChange.Kind.ADDED if known.removed else AssetChange.Kind.CHANGED
            rows.append((known.pk, after, obj))
            drift.append((known.pk, kind, differences if kind == AssetChange.Kind.CHANGED else {}))
            self.counts["added" if known.removed else "changed"] += 1
            self._note_for_detection(obj.kind, known.pk, before["parent_id"])
        if rows:
            self.assets.write_changed(rows)
        if refingerprinted:
            self.assets.write_fields(["fingerprint"], refingerprinted)
        return drift

    def _record(self, drift: list[tuple[int, str, dict]]) -> None:
        if self.postgresql:
            copy_rows(AssetChange, ["run", "asset", "kind", "changes", "created_at"],
                      ((self.run.pk, pk, kind, json.dumps(changes, ensure_ascii=False, default=str), self.now)
                       for pk, kind, changes in drift))
            return
        AssetChange.objects.bulk_create(
            [AssetChange(run=self.run, asset_id=pk, kind=kind, changes=changes, created_at=self.now)
             for pk, kind, changes in drift], batch_size=MAX_PARAMETERS // 6)

    def _note_for_detection(self, kind: str, pk: int, parent_pk: int | None) -> None:
        if kind == Asset.Type.COLUMN and parent_pk is not None:
            self.tables_to_sample.add(parent_pk)

    def _checkpoint(self) -> None:
        """Counters and heartbeat in the batch's transaction; stop if the run was cancelled or reaped."""
        if not runs.heartbeat(ScanRun, self.run.pk, objects_seen=self.objects_seen,
                              progress_done=self.objects_seen, **self.counts):
            raise RunStopped()  # rolls this batch back with the transaction

    # -- end of run ------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Mark what the complete read did not see as removed, in pages of ``REMOVAL_PAGE``, each in one
        transaction with its drift. Skipped when every asset live at the start was seen."""
        if self._live_seen < self._live_at_start:
            live = self.assets.live_pks(page=REMOVAL_PAGE)  # one pass over the source's live assets
            while page := list(islice(live, REMOVAL_PAGE)):
                gone = [pk for pk in page if pk not in self.seen]
                if gone:
                    self._remove(gone)
                if self._live_seen + self.counts["removed"] >= self._live_at_start:
                    break  # every unseen asset is marked: the rest of the pass would find nothing
        logger.info("catalog synced", extra={"scan_run": self.run.pk, "vendor": connection.vendor, **self.counts})

    def _remove(self, gone: list[int]) -> None:
        with transaction.atomic():
            self.assets.mark_removed(gone)
            if not self.baseline:
                self._record([(pk, AssetChange.Kind.REMOVED, {}) for pk in gone])
            self.counts["removed"] += len(gone)
            self._checkpoint()
