"""Applying a run's stream of schema objects to the catalog, and recording the drift.

Guarantees:

- Bulk: each connector batch costs a handful of statements (the new rows, the changed rows, the drift rows, the
  run's counters), never one per object. On PostgreSQL new rows are streamed with ``COPY`` under primary keys
  drawn from the table's own sequence beforehand (so children know their parent's key without a round trip per
  tree level), and changed rows are written by one ``UPDATE … FROM unnest(…)``; elsewhere the ORM's bulk
  operations do the same work.
- Consistent: each batch commits with its drift rows and the run's counters in one transaction. A run killed
  half-way leaves the catalog as it was plus whole batches, each with the drift that explains it, and counters
  that match the rows written; objects are marked removed only by a run that read the whole source.
- Write only what changed: an object whose fingerprint is unchanged costs no write, so an unchanged rescan
  writes nothing but the run's own row. A fingerprint that moved while every scanned field stayed equal (a
  connector that learnt to hash differently) refreshes the fingerprint and records no drift.
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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone

from catalog.models import Asset
from scanning.connectors import SchemaObject, qualified_name
from scanning.connectors.names import quote_part
from scanning.models import AssetChange, ScanRun

logger = logging.getLogger("racine.scanning")

# The scanned fields compared for drift; everything else on an asset belongs to stewards or to detection.
SCANNED_FIELDS = ("type", "data_type", "is_nullable", "default", "source_description", "ordinal", "properties")
# A row estimate is not drift, but a catalog that still shows last year's table size is wrong: refresh it when
# it moved by more than this share.
ROW_COUNT_REFRESH_SHARE = 0.10
# Stay under PostgreSQL's 65,535 bind parameters per statement.
MAX_PARAMETERS = 60_000
# The fields a write of a changed object sets (its scanned fields plus the bookkeeping of the change).
UPDATED_FIELDS = (*SCANNED_FIELDS, "fingerprint", "removed_at", "changed_at", "row_count")

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


def _column(model, field_name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _copy(model, fields: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Stream ``rows`` into ``model``'s table with PostgreSQL's COPY (inside the caller's transaction)."""
    columns = ", ".join(_column(model, name) for name in fields)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {_table(model)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# Array types for unnest() in bulk updates on PostgreSQL, per field.
_PG_ARRAY_TYPES = {"id": "bigint[]", "type": "text[]", "data_type": "text[]", "is_nullable": "boolean[]",
                   "default": "text[]", "source_description": "text[]", "ordinal": "integer[]",
                   "properties": "jsonb[]", "fingerprint": "text[]", "row_count": "bigint[]"}


def _pg_bulk_update(fields: Sequence[str], rows: Sequence[Sequence], constants: dict) -> None:
    """``UPDATE catalog_asset SET field = v.field, … FROM unnest(arrays) v WHERE id = v.id``: one statement for
    any number of rows. ``rows`` are ``(pk, *values of fields)``; ``constants`` are set on every row."""
    names = ["id", *fields]
    assignments = [f"{_column(Asset, name)} = v.{connection.ops.quote_name(name)}" for name in fields]
    assignments += [f"{_column(Asset, name)} = %s" for name in constants]
    aliases = ", ".join(connection.ops.quote_name(name) for name in names)
    arrays = ", ".join(f"%s::{_PG_ARRAY_TYPES[name]}" for name in names)
    statement = (f"UPDATE {_table(Asset)} SET {', '.join(assignments)} FROM unnest({arrays}) AS v({aliases}) "
                 f"WHERE {_table(Asset)}.{_column(Asset, 'id')} = v.\"id\"")
    columns = [list(values) for values in zip(*rows, strict=True)]
    if "properties" in fields:
        at = names.index("properties")
        columns[at] = [json.dumps(value) for value in columns[at]]
    with connection.cursor() as cursor:
        # SET's placeholders come before FROM's: the constants first, then the arrays.
        cursor.execute(statement, [*constants.values(), *columns])


# The asset fields a scan fills in, in the order of the rows streamed by COPY; every other field gets its model
# default (so a field added to Asset later is covered without touching this list).
COPY_FIELDS = ("id", "data_source", "parent", "qualified_name", "name", "type", "data_type", "is_nullable", "default",
               "source_description", "ordinal", "row_count", "properties", "fingerprint", "first_seen_at",
               "changed_at")


def _copy_default_fields() -> list:
    return [field for field in Asset._meta.concrete_fields if field.name not in COPY_FIELDS]


class CatalogSync:
    """One run's writer. Feed it batches with :meth:`apply`, then call :meth:`finish` once the source was read
    completely."""

    def __init__(self, run: ScanRun):
        self.run = run
        self.source_id = run.data_source_id
        self.now = timezone.now()
        self.postgresql = connection.vendor == "postgresql"
        self.known: dict[str, Known] = {}
        # Read with a plain cursor: the ORM's per-row machinery costs more than the query on a 50k-object source.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_column(Asset, 'qualified_name')}, {_column(Asset, 'id')}, {_column(Asset, 'fingerprint')},"
                f" {_column(Asset, 'removed_at')} IS NOT NULL, {_column(Asset, 'row_count')} FROM {_table(Asset)}"
                f" WHERE {_column(Asset, 'data_source')} = %s", [self.source_id])
            while rows := cursor.fetchmany(10_000):
                for name, pk, fingerprint, removed, row_count in rows:
                    self.known[name] = Known(pk, fingerprint, bool(removed), row_count)
        started = run.started_at or self.now
        self.baseline = not self.known or not Asset.objects.filter(
            data_source_id=self.source_id, first_seen_at__lt=started).exists()
        self.seen: set[str] = set()
        self.counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
        self.objects_seen = 0
        # Qualified names of the containers (database, schema, table, view) seen so far, by path: a child's name is
        # its parent's plus one part, and its parent's primary key is one dictionary look-up away.
        self._names: dict[tuple[str, ...], str] = {}
        # Detection reads the tables whose columns are new or changed (or every table on a baseline).
        self.tables_to_sample: set[int] = set()
        self._sequence: str | None = None

    # -- per batch -------------------------------------------------------------------------------------------
    def _name(self, path: tuple[str, ...]) -> str:
        if len(path) > 1:
            parent = self._names.get(path[:-1])
            if parent is not None:
                return f"{parent}.{quote_part(path[-1])}"
            return qualified_name(path)
        return quote_part(path[0])

    def apply(self, batch: Sequence[SchemaObject]) -> None:
        new: list[tuple[str, SchemaObject]] = []
        changed: list[tuple[Known, SchemaObject]] = []
        recount: list[tuple[int, int]] = []
        seen, known_by_name, names = self.seen, self.known, self._names
        unchanged = 0
        for obj in batch:
            name = self._name(obj.path)
            if name in seen:
                continue  # the stream repeated an object: it was applied already
            seen.add(name)
            if obj.kind != "column":
                names[obj.path] = name
            known = known_by_name.get(name)
            if known is None:
                new.append((name, obj))
            elif known.removed or known.fingerprint != obj.fingerprint():
                changed.append((known, obj))
            else:
                unchanged += 1
                if obj.row_estimate is not None and _row_count_moved(known.row_count, obj.row_estimate):
                    recount.append((known.pk, obj.row_estimate))
                    known.row_count = obj.row_estimate
        self.counts["unchanged"] += unchanged
        self.objects_seen += len(batch)
        with transaction.atomic():
            drift = self._insert(new) + self._update(changed)
            if recount:
                self._recount(recount)
            if drift and not self.baseline:
                self._record(drift)
            self._checkpoint()

    def _parent_pk(self, path: tuple[str, ...]) -> int | None:
        if len(path) < 2:
            return None
        parent = self._names.get(path[:-1])
        known = self.known.get(parent if parent is not None else qualified_name(path[:-1]))
        return known.pk if known else None

    def _insert(self, objects: list[tuple[str, SchemaObject]]) -> list[tuple[int, str, dict]]:
        if not objects:
            return []
        pks = self._insert_copy(objects) if self.postgresql else self._insert_orm(objects)
        self.counts["added"] += len(objects)
        return [(pk, AssetChange.Kind.ADDED, {}) for pk in pks]

    def _allocate(self, count: int) -> list[int]:
        """``count`` primary keys from the asset table's own sequence, in one round trip."""
        with connection.cursor() as cursor:
            if self._sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                               [Asset._meta.db_table, Asset._meta.get_field("id").column])
                self._sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self._sequence, count])
            return [row[0] for row in cursor.fetchall()]

    def _insert_copy(self, objects: list[tuple[str, SchemaObject]]) -> list[int]:
        pks = self._allocate(len(objects))
        # COPY writes text: a JSON default ({} for Asset.profile) must be serialised, psycopg cannot adapt a dict.
        defaults = tuple(json.dumps(field.get_default()) if isinstance(field, models.JSONField)
                         else field.get_default() for field in _copy_default_fields())
        known, source_id, now, note = self.known, self.source_id, self.now, self.tables_to_sample
        rows = []
        for pk, (name, obj) in zip(pks, objects, strict=True):
            parent_pk = self._parent_pk(obj.path)
            fingerprint = obj.fingerprint()
            # In the order of COPY_FIELDS.
            rows.append((pk, source_id, parent_pk, name, obj.path[-1][:512], obj.kind, obj.data_type[:255],
                         obj.is_nullable, obj.default, obj.description, obj.ordinal, obj.row_estimate,
                         json.dumps(obj.properties, ensure_ascii=False), fingerprint, now, now, *defaults))
            known[name] = Known(pk, fingerprint, False, obj.row_estimate)
            if parent_pk is not None and obj.kind == Asset.Type.COLUMN:
                note.add(parent_pk)
        _copy(Asset, [*COPY_FIELDS, *(field.name for field in _copy_default_fields())], rows)
        return pks

    def _insert_orm(self, objects: list[tuple[str, SchemaObject]]) -> list[int]:
        by_depth: dict[int, list[tuple[str, SchemaObject]]] = defaultdict(list)
        for name, obj in objects:
            by_depth[len(obj.path)].append((name, obj))
        pks = []
        batch_size = MAX_PARAMETERS // (len(SCANNED_FIELDS) + 10)
        # Parents first, so that children find their parent's new primary key.
        for depth in sorted(by_depth):
            rows = [Asset(data_source_id=self.source_id, parent_id=self._parent_pk(obj.path), qualified_name=name,
                          name=obj.name[:512], row_count=obj.row_estimate, fingerprint=obj.fingerprint(),
                          first_seen_at=self.now, changed_at=self.now, **_scanned_values(obj))
                    for name, obj in by_depth[depth]]
            Asset.objects.bulk_create(rows, batch_size=batch_size)
            for row in rows:
                self.known[row.qualified_name] = Known(row.pk, row.fingerprint, False, row.row_count)
                self._note_for_detection(row.type, row.pk, row.parent_id)
                pks.append(row.pk)
        return pks

    def _update(self, changed: list[tuple[Known, SchemaObject]]) -> list[tuple[int, str, dict]]:
        if not changed:
            return []
        current = {row["pk"]: row for row in Asset.objects.filter(pk__in=[known.pk for known, _ in changed])
                   .values("pk", "parent_id", *SCANNED_FIELDS)}
        rows, refingerprinted, drift = [], [], []
        for known, obj in changed:
            before = current[known.pk]
            after = _scanned_values(obj)
            differences = {field: [before[field], after[field]] for field in SCANNED_FIELDS
                           if before[field] != after[field]}
            if not differences and not known.removed:
                # Same definition, another hash: no drift, no change time; remember the new fingerprint.
                refingerprinted.append((known.pk, obj.fingerprint()))
                known.fingerprint = obj.fingerprint()
                self.counts["unchanged"] += 1
                continue
            kind = AssetChange.Kind.ADDED if known.removed else AssetChange.Kind.CHANGED
            rows.append((known.pk, after, obj))
            drift.append((known.pk, kind, differences if kind == AssetChange.Kind.CHANGED else {}))
            self.counts["added" if known.removed else "changed"] += 1
            known.fingerprint, known.removed, known.row_count = obj.fingerprint(), False, obj.row_estimate
            self._note_for_detection(obj.kind, known.pk, before["parent_id"])
        if rows:
            self._write_changed(rows)
        if refingerprinted:
            self._write_fields(["fingerprint"], refingerprinted)
        return drift

    def _write_changed(self, rows: list[tuple[int, dict, SchemaObject]]) -> None:
        if self.postgresql:
            fields = [*SCANNED_FIELDS, "fingerprint", "row_count"]
            for chunk in _chunks(rows, 5_000):
                _pg_bulk_update(fields, [(pk, *(after[f] for f in SCANNED_FIELDS), obj.fingerprint(),
                                          obj.row_estimate) for pk, after, obj in chunk],
                                {"removed_at": None, "changed_at": self.now})
            return
        assets = [Asset(pk=pk, fingerprint=obj.fingerprint(), removed_at=None, changed_at=self.now,
                        row_count=obj.row_estimate, **after) for pk, after, obj in rows]
        Asset.objects.bulk_update(assets, list(UPDATED_FIELDS), batch_size=500)

    def _write_fields(self, fields: list[str], rows: list[tuple]) -> None:
        """Set ``fields`` on the assets of ``rows`` (``(pk, *values)``) without touching ``changed_at``."""
        if self.postgresql:
            for chunk in _chunks(rows, 10_000):
                _pg_bulk_update(fields, chunk, {})
            return
        Asset.objects.bulk_update([Asset(pk=pk, **dict(zip(fields, values, strict=True))) for pk, *values in rows],
                                  fields, batch_size=1000)

    def _recount(self, recount: list[tuple[int, int]]) -> None:
        self._write_fields(["row_count"], recount)

    def _record(self, drift: list[tuple[int, str, dict]]) -> None:
        if self.postgresql:
            _copy(AssetChange, ["run", "asset", "kind", "changes", "created_at"],
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
                    self._record([(pk, AssetChange.Kind.REMOVED, {}) for pk in chunk])
                self.counts["removed"] += len(chunk)
                self._checkpoint()
        if gone:
            gone_pks = set(gone)
            for known in self.known.values():
                if known.pk in gone_pks:
                    known.removed = True
        logger.info("catalog synced", extra={"scan_run": self.run.pk, "vendor": connection.vendor, **self.counts})
