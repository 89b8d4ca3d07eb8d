"""Applying a run's stream of schema objects to the catalog, and recording the drift.

Guarantees:

- Bulk: each connector batch costs a handful of statements (its known assets, the new rows, the changed rows, the
  drift rows, the run's counters), never one per object. On PostgreSQL new rows are streamed with ``COPY`` under
  primary keys drawn from the table's own sequence beforehand (so children know their parent's key without a round
  trip per tree level), and changed rows are written by one ``UPDATE … FROM unnest(…)``; elsewhere the ORM's bulk
  operations do the same work.
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
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from django.db import connection, models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from catalog.models import Asset
from core import runs
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
# Names looked up per statement where a list cannot be bound as one array (SQLite's IN (…)).
LOOKUP_CHUNK = 500
# Containers whose qualified name is remembered for their children's names (a bounded cache, see CatalogSync).
NAME_CACHE_SIZE = 256
# Live assets read per fetch, and at most marked removed per transaction, when finish() looks for removed ones.
REMOVAL_PAGE = 1_000
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
        started = run.started_at or self.now
        existing = Asset.objects.filter(data_source_id=self.source_id).aggregate(
            live=Count("pk", filter=Q(removed_at__isnull=True)), older=Count("pk", filter=Q(first_seen_at__lt=started)))
        self.baseline = not existing["older"]
        # Assets live when the run started, and how many of them the stream has shown so far: when the two meet,
        # nothing was removed and finish() need not look.
        self._live_at_start = existing["live"]
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
        self._sequence: str | None = None
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

    def _read(self, names: Collection[str], tables: Collection[str] = ()) -> dict[str, Known]:
        """The source's assets named ``names``, and every child of those named ``tables`` (some of ``names``), by
        name, in one statement: one probe of the unique (data source, qualified name) index per name, one range of
        the parent index per table.

        On PostgreSQL the names travel as JSON text (json.dumps writes it in C; Django's client-side binding would
        quote an array literal in Python) and each one's rows are read by a LATERAL subquery that cannot be
        flattened (LIMIT 1, OFFSET 0): a join over "= ANY(names)" is planned on statistics, which a catalog just
        filled by a first scan does not have (the planner then expects a few dozen rows and filters the whole
        source, once per batch), and a tuned one may prefer a sequential scan."""
        asset, pk, parent = _table(Asset), _column(Asset, "id"), _column(Asset, "parent")
        fields = (f"{_column(Asset, 'qualified_name')} AS name, {pk} AS pk, {_column(Asset, 'fingerprint')},"
                  f" {_column(Asset, 'removed_at')} IS NOT NULL, {_column(Asset, 'row_count')}")
        named = f"{_column(Asset, 'data_source')} = {int(self.source_id)} AND {_column(Asset, 'qualified_name')}"
        with connection.cursor() as cursor:
            if self.postgresql:
                probe = (f"SELECT a.* FROM json_array_elements_text(%s::json) AS wanted(name) CROSS JOIN LATERAL"
                         f" (SELECT {fields} FROM {asset} WHERE {named} = wanted.name LIMIT 1) AS a")
                params = [json.dumps(list(names), ensure_ascii=False)]
                if tables:
                    probe = (f"WITH probed AS MATERIALIZED ({probe}) SELECT * FROM probed UNION ALL SELECT c.* FROM"
                             f" probed JOIN json_array_elements_text(%s::json) AS tables(name) USING (name)"
                             f" CROSS JOIN LATERAL (SELECT {fields} FROM {asset} WHERE {parent} = probed.pk"
                             f" OFFSET 0) AS c")
                    params.append(json.dumps(list(tables), ensure_ascii=False))
                cursor.execute(probe, params)
                rows = cursor.fetchall()
            else:
                rows = []
                for chunk in _chunks(list(names), LOOKUP_CHUNK):
                    cursor.execute(f"SELECT {fields} FROM {asset} WHERE {named} IN ({', '.join(['%s'] * len(chunk))})",
                                   chunk)
                    rows += cursor.fetchall()
                for chunk in _chunks(list(tables), LOOKUP_CHUNK):
                    cursor.execute(f"SELECT {fields} FROM {asset} WHERE {parent} IN (SELECT {pk} FROM {asset} WHERE"
                                   f" {named} IN ({', '.join(['%s'] * len(chunk))}))", chunk)
                    rows += cursor.fetchall()
        return {name: Known(pk, fingerprint, bool(removed), row_count)
                for name, pk, fingerprint, removed, row_count in rows}

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
        known = self._read(names, tables)

        def surely_new(parent: str | None) -> bool:
            if parent in known:
                return self._created_by_this_run(known[parent].pk)
            return parent in objects  # the table is new in this batch

        unexplained = [name for name, (obj, parent) in objects.items()
                       if obj.kind == Asset.Type.COLUMN and name not in known and not surely_new(parent)]
        if unexplained:
            known.update(self._read(unexplained))
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
        new: list[tuple[str, SchemaObject]] = []
        changed: list[tuple[Known, SchemaObject]] = []
        recount: list[tuple[int, int]] = []
        seen = self.seen
        unchanged = 0
        for name, (obj, _) in objects.items():
            known = known_by_name.get(name)
            if known is None:
                new.append((name, obj))
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
                self._recount(recount)
            if drift and not self.baseline:
                self._record(drift)
            self._checkpoint()

    def _parent_pk(self, path: tuple[str, ...], pks: dict[str, int]) -> int | None:
        parent = self._parent_name(path)
        return pks.get(parent) if parent is not None else None

    def _insert(self, objects: list[tuple[str, SchemaObject]], pks: dict[str, int]) -> list[tuple[int, str, dict]]:
        """Write the new ``objects``; ``pks`` (name to primary key) holds their parents, and gains them."""
        if not objects:
            return []
        new_pks = self._insert_copy(objects, pks) if self.postgresql else self._insert_orm(objects, pks)
        if self._first_new_pk is None:
            self._first_new_pk = min(new_pks)
        self.counts["added"] += len(objects)
        return [(pk, AssetChange.Kind.ADDED, {}) for pk in new_pks]

    def _allocate(self, count: int) -> list[int]:
        """``count`` primary keys from the asset table's own sequence, in one round trip."""
        with connection.cursor() as cursor:
            if self._sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                               [Asset._meta.db_table, Asset._meta.get_field("id").column])
                self._sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self._sequence, count])
            return [row[0] for row in cursor.fetchall()]

    def _insert_copy(self, objects: list[tuple[str, SchemaObject]], pks: dict[str, int]) -> list[int]:
        new_pks = self._allocate(len(objects))
        # COPY writes text: a JSON default ({} for Asset.profile) must be serialised, psycopg cannot adapt a dict.
        defaults = tuple(json.dumps(field.get_default()) if isinstance(field, models.JSONField)
                         else field.get_default() for field in _copy_default_fields())
        source_id, now, note, seen = self.source_id, self.now, self.tables_to_sample, self.seen
        rows = []
        # In stream order, so that a parent new in this batch has its key before its children look for it.
        for pk, (name, obj) in zip(new_pks, objects, strict=True):
            parent_pk = self._parent_pk(obj.path, pks)
            # In the order of COPY_FIELDS.
            rows.append((pk, source_id, parent_pk, name, obj.path[-1][:512], obj.kind, obj.data_type[:255],
                         obj.is_nullable, obj.default, obj.description, obj.ordinal, obj.row_estimate,
                         json.dumps(obj.properties, ensure_ascii=False), obj.fingerprint(), now, now, *defaults))
            pks[name] = pk
            seen.add(pk)
            if parent_pk is not None and obj.kind == Asset.Type.COLUMN:
                note.add(parent_pk)
        _copy(Asset, [*COPY_FIELDS, *(field.name for field in _copy_default_fields())], rows)
        return new_pks

    def _insert_orm(self, objects: list[tuple[str, SchemaObject]], pks: dict[str, int]) -> list[int]:
        by_depth: dict[int, list[tuple[str, SchemaObject]]] = defaultdict(list)
        for name, obj in objects:
            by_depth[len(obj.path)].append((name, obj))
        new_pks = []
        batch_size = MAX_PARAMETERS // (len(SCANNED_FIELDS) + 10)
        # Parents first, so that children find their parent's new primary key.
        for depth in sorted(by_depth):
            rows = [Asset(data_source_id=self.source_id, parent_id=self._parent_pk(obj.path, pks),
                          qualified_name=name, name=obj.name[:512], row_count=obj.row_estimate,
                          fingerprint=obj.fingerprint(), first_seen_at=self.now, changed_at=self.now,
                          **_scanned_values(obj))
                    for name, obj in by_depth[depth]]
            Asset.objects.bulk_create(rows, batch_size=batch_size)
            for row in rows:
                pks[row.qualified_name] = row.pk
                self.seen.add(row.pk)
                self._note_for_detection(row.type, row.pk, row.parent_id)
                new_pks.append(row.pk)
        return new_pks

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
                self.counts["unchanged"] += 1
                continue
            kind = AssetChange.Kind.ADDED if known.removed else AssetChange.Kind.CHANGED
            rows.append((known.pk, after, obj))
            drift.append((known.pk, kind, differences if kind == AssetChange.Kind.CHANGED else {}))
            self.counts["added" if known.removed else "changed"] += 1
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
        if not runs.heartbeat(ScanRun, self.run.pk, objects_seen=self.objects_seen,
                              progress_done=self.objects_seen, **self.counts):
            raise RunStopped()  # rolls this batch back with the transaction

    # -- end of run ------------------------------------------------------------------------------------------
    def finish(self) -> None:
        """Mark what the complete read did not see as removed, in pages of ``REMOVAL_PAGE``, each in one
        transaction with its drift. Skipped when every asset live at the start was seen."""
        if self._live_seen < self._live_at_start:
            # One pass over the source's live assets, streamed (a server-side cursor on PostgreSQL): a page read
            # per query would be planned on statistics a fresh catalog does not have.
            live = Asset.objects.filter(data_source_id=self.source_id, removed_at__isnull=True).values_list(
                "pk", flat=True).iterator(chunk_size=REMOVAL_PAGE)
            while page := list(islice(live, REMOVAL_PAGE)):
                gone = [pk for pk in page if pk not in self.seen]
                if gone:
                    self._remove(gone)
                if self._live_seen + self.counts["removed"] >= self._live_at_start:
                    break  # every unseen asset is marked: the rest of the pass would find nothing
        logger.info("catalog synced", extra={"scan_run": self.run.pk, "vendor": connection.vendor, **self.counts})

    def _remove(self, gone: list[int]) -> None:
        with transaction.atomic():
            Asset.objects.filter(pk__in=gone).update(removed_at=self.now)
            if not self.baseline:
                self._record([(pk, AssetChange.Kind.REMOVED, {}) for pk in gone])
            self.counts["removed"] += len(gone)
            self._checkpoint()
