"""The bulk writer of a data source's assets: what scans write into the catalog, a batch at a time.

Scanning decides what is new, changed or gone (and records that as drift with its runs); this module is the one
place that reads and writes the asset table in bulk for it. Each call costs a handful of statements, never one
per asset. On PostgreSQL new rows are streamed with ``COPY`` under primary keys drawn from the table's own sequence
beforehand (so children know their parent's key without a round trip per tree level), and changed rows are
written by one ``UPDATE … FROM unnest(…)``; elsewhere the ORM's bulk operations do the same work. Nothing here
opens a transaction: the caller's batch transaction holds the assets with their drift — and their search
documents, which every write here refreshes in the same few statements per batch (catalog.search); a batch's new
assets' documents are built from what the writer holds, not read back from the table.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, models
from django.db.models import Count, Q

from catalog import search
from catalog.models import Asset
from catalog.source_assets import source_asset_ensure
from sources.connectors import SchemaObject
from sources.models import DataSource

# The scanned fields of an asset; everything else on it belongs to stewards or to detection.
SCANNED_FIELDS = ("type", "data_type", "is_nullable", "default", "source_description", "ordinal", "properties")
# Stay under PostgreSQL's 65,535 bind parameters per statement.
MAX_PARAMETERS = 60_000
# Names looked up per statement where a list cannot be bound as one array (SQLite's IN (…)).
LOOKUP_CHUNK = 500
# The fields a write of a changed object sets (its scanned fields plus the bookkeeping of the change).
UPDATED_FIELDS = (*SCANNED_FIELDS, "fingerprint", "removed_at", "changed_at", "row_count")
# The asset fields a scan fills in, in the order of the rows streamed by COPY; every other field gets its model
# default (so a field added to Asset later is covered without touching this list).
COPY_FIELDS = ("id", "data_source", "parent", "qualified_name", "name", "type", "data_type", "is_nullable", "default",
               "source_description", "ordinal", "row_count", "properties", "fingerprint", "first_seen_at",
               "changed_at")
# Containers whose schema the writer remembers for their children's search documents (a bounded cache: when full it
# is emptied, and a missing one is read with the batch's other unknown parents in one statement).
SCHEMA_CACHE_SIZE = 10_000
# Array types for unnest() in bulk updates on PostgreSQL, per field.
_PG_ARRAY_TYPES = {"id": "bigint[]", "type": "text[]", "data_type": "text[]", "is_nullable": "boolean[]",
                   "default": "text[]", "source_description": "text[]", "ordinal": "integer[]",
                   "properties": "jsonb[]", "fingerprint": "text[]", "row_count": "bigint[]"}


@dataclass(slots=True)
class Known:
    """What a scan needs to know of an asset already in the catalog."""

    pk: int
    fingerprint: str
    removed: bool
    row_count: int | None


def scanned_values(obj: SchemaObject) -> dict:
    """The scanned fields of the asset for ``obj``."""
    return {
        "type": obj.kind,
        "data_type": obj.data_type[:255],
        "is_nullable": obj.is_nullable,
        "default": obj.default,
        "source_description": obj.description,
        "ordinal": obj.ordinal,
        "properties": dict(obj.properties),
    }


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _column(model, field_name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def copy_rows(model, fields: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Stream ``rows`` into ``model``'s table with PostgreSQL's COPY (inside the caller's transaction)."""
    columns = ", ".join(_column(model, name) for name in fields)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {_table(model)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


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


def _copy_default_fields() -> list:
    return [field for field in Asset._meta.concrete_fields if field.name not in COPY_FIELDS]


@dataclass(frozen=True, slots=True)
class NewAsset:
    """An asset to insert: its qualified name, its parent's (None for a database: its parent is the source's own
    asset) and what the source said."""

    name: str
    parent: str | None
    obj: SchemaObject


class AssetWriter:
    """Reads and writes one data source's scanned assets in bulk, with ``now`` as the time of every change it
    writes. The source's own asset (catalog.source_assets) is no scanned object: it is the parent of the databases
    the writer inserts, and never counted, compared or marked removed."""

    def __init__(self, *, data_source_id: int, now: datetime):
        self.source_id = data_source_id
        self.now = now
        self.postgresql = connection.vendor == "postgresql"
        self._sequence: str | None = None
        self._root: int | None = None
        # Per container met (primary key): the schema its children's search documents name — itself if it is a
        # schema, its parent if that is one, else none (as catalog.search reads it from the catalog).
        self._schema_of_children: dict[int, int | None] = {}
        self.vocabulary = search.Vocabulary()  # the search words this writer's batches have added

    def _scanned(self):
        return Asset.objects.filter(data_source_id=self.source_id).exclude(type=Asset.Type.SOURCE)

    def root_pk(self) -> int:
        """The source asset's key, the parent of a new database: ensured once per writer (a first scan may come
        before the ``datasource.created`` event's delivery; catalog.source_assets)."""
        if self._root is None:
            self._root = source_asset_ensure(data_source=DataSource.objects.get(pk=self.source_id)).pk
        return self._root

    def _parent_pk(self, asset: NewAsset, pks: dict[str, int]) -> int | None:
        return pks.get(asset.parent) if asset.parent is not None else self.root_pk()

    def census(self, *, since: datetime) -> tuple[int, int]:
        """How many of the source's scanned assets are live, and how many were first seen before ``since``."""
        counts = self._scanned().aggregate(
            live=Count("pk", filter=Q(removed_at__isnull=True)), older=Count("pk", filter=Q(first_seen_at__lt=since)))
        return counts["live"], counts["older"]

    def read(self, names: Collection[str], tables: Collection[str] = ()) -> dict[str, Known]:
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
                for chunk in chunks(list(names), LOOKUP_CHUNK):
                    cursor.execute(f"SELECT {fields} FROM {asset} WHERE {named} IN ({', '.join(['%s'] * len(chunk))})",
                                   chunk)
                    rows += cursor.fetchall()
                for chunk in chunks(list(tables), LOOKUP_CHUNK):
                    cursor.execute(f"SELECT {fields} FROM {asset} WHERE {parent} IN (SELECT {pk} FROM {asset} WHERE"
                                   f" {named} IN ({', '.join(['%s'] * len(chunk))}))", chunk)
                    rows += cursor.fetchall()
        return {name: Known(pk, fingerprint, bool(removed), row_count)
                for name, pk, fingerprint, removed, row_count in rows}

    def current(self, pks: Collection[int]) -> dict[int, dict]:
        """The parent and scanned fields of the assets ``pks``, by primary key."""
        return {row["pk"]: row for row in Asset.objects.filter(pk__in=list(pks))
                .values("pk", "parent_id", *SCANNED_FIELDS)}

    def insert(self, new: Sequence[NewAsset], pks: dict[str, int]) -> list[int]:
        """Write the ``new`` assets, in stream order (parents before their children); their primary keys, in the
        same order. ``pks`` (name to primary key) holds the parents known already, and gains the new assets."""
        if not new:
            return []
        new_pks = self._insert_copy(new, pks) if self.postgresql else self._insert_orm(new, pks)
        self._documents_add(new, new_pks, pks)
        return new_pks

    def _documents_add(self, new: Sequence[NewAsset], new_pks: Sequence[int], pks: dict[str, int]) -> None:
        """The search documents of the assets just inserted, from what this writer holds: their names and comments,
        and the schema each sits in — from the parents inserted with them or remembered, the others read in one
        statement (a rescan adding columns to a table it did not insert)."""
        if len(self._schema_of_children) > SCHEMA_CACHE_SIZE:
            self._schema_of_children.clear()
        under = self._schema_of_children
        parents = [self._parent_pk(asset, pks) for asset in new]
        inserted = set(new_pks)
        unknown = {parent for parent in parents if parent is not None and parent not in inserted
                   and parent not in under}
        for pk, kind, parent, parent_kind in Asset.objects.filter(pk__in=list(unknown)).values_list(
                "pk", "type", "parent_id", "parent__type"):
            under[pk] = pk if kind == Asset.Type.SCHEMA else parent if parent_kind == Asset.Type.SCHEMA else None
        documents = []
        for pk, parent, asset in zip(new_pks, parents, new, strict=True):
            obj = asset.obj
            if obj.kind == Asset.Type.SCHEMA:
                schema = under[pk] = pk
            else:
                schema = under.get(parent) if parent is not None else None
                if obj.kind != Asset.Type.COLUMN:  # a container: its children's schema is its parent if a schema
                    under[pk] = parent if parent is not None and under.get(parent) == parent else None
            documents.append(search.NewAsset(pk, self.source_id, schema, obj.name[:512], asset.name, obj.description))
        search.documents_add(assets=documents, vocabulary=self.vocabulary)

    def _allocate(self, count: int) -> list[int]:
        """``count`` primary keys from the asset table's own sequence, in one round trip."""
        with connection.cursor() as cursor:
            if self._sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                               [Asset._meta.db_table, Asset._meta.get_field("id").column])
                self._sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self._sequence, count])
            return [row[0] for row in cursor.fetchall()]

    def _insert_copy(self, new: Sequence[NewAsset], pks: dict[str, int]) -> list[int]:
        new_pks = self._allocate(len(new))
        # COPY writes text: a JSON default ({} for Asset.profile) must be serialised, psycopg cannot adapt a dict.
        defaults = tuple(json.dumps(field.get_default()) if isinstance(field, models.JSONField)
                         else field.get_default() for field in _copy_default_fields())
        source_id, now = self.source_id, self.now
        rows = []
        # In stream order, so that a parent new in this batch has its key before its children look for it.
        for pk, asset in zip(new_pks, new, strict=True):
            obj = asset.obj
            parent_pk = self._parent_pk(asset, pks)
            # In the order of COPY_FIELDS.
            rows.append((pk, source_id, parent_pk, asset.name, obj.path[-1][:512], obj.kind, obj.data_type[:255],
                         obj.is_nullable, obj.default, obj.description, obj.ordinal, obj.row_estimate,
                         json.dumps(obj.properties, ensure_ascii=False), obj.fingerprint(), now, now, *defaults))
            pks[asset.name] = pk
        copy_rows(Asset, [*COPY_FIELDS, *(field.name for field in _copy_default_fields())], rows)
        return new_pks

    def _insert_orm(self, new: Sequence[NewAsset], pks: dict[str, int]) -> list[int]:
        by_depth: dict[int, list[int]] = defaultdict(list)
        for at, asset in enumerate(new):
            by_depth[len(asset.obj.path)].append(at)
        new_pks: list[int] = [0] * len(new)
        batch_size = MAX_PARAMETERS // (len(SCANNED_FIELDS) + 10)
        # Parents first, so that children find their parent's new primary key.
        for depth in sorted(by_depth):
            at_depth = by_depth[depth]
            rows = [Asset(data_source_id=self.source_id, parent_id=self._parent_pk(new[at], pks),
                          qualified_name=new[at].name, name=new[at].obj.name[:512], row_count=new[at].obj.row_estimate,
                          fingerprint=new[at].obj.fingerprint(), first_seen_at=self.now, changed_at=self.now,
                          **scanned_values(new[at].obj))
                    for at in at_depth]
            Asset.objects.bulk_create(rows, batch_size=batch_size)
            for at, row in zip(at_depth, rows, strict=True):
                pks[row.qualified_name] = row.pk
                new_pks[at] = row.pk
        return new_pks

    def write_changed(self, rows: Sequence[tuple[int, dict, SchemaObject]]) -> None:
        """Rewrite changed assets (``(pk, scanned values, object)``): present again, changed now."""
        if self.postgresql:
            fields = [*SCANNED_FIELDS, "fingerprint", "row_count"]
            for chunk in chunks(rows, 5_000):
                _pg_bulk_update(fields, [(pk, *(after[f] for f in SCANNED_FIELDS), obj.fingerprint(),
                                          obj.row_estimate) for pk, after, obj in chunk],
                                {"removed_at": None, "changed_at": self.now})
        else:
            assets = [Asset(pk=pk, fingerprint=obj.fingerprint(), removed_at=None, changed_at=self.now,
                            row_count=obj.row_estimate, **after) for pk, after, obj in rows]
            Asset.objects.bulk_update(assets, list(UPDATED_FIELDS), batch_size=500)
        # The source's comment may have changed, or the asset come back: its document follows.
        search.documents_refresh(asset_ids=[pk for pk, _, _ in rows])

    def write_fields(self, fields: Sequence[str], rows: Sequence[tuple]) -> None:
        """Set ``fields`` on the assets of ``rows`` (``(pk, *values)``) without touching ``changed_at``: a new
        fingerprint of the same definition, a row estimate refreshed."""
        if self.postgresql:
            for chunk in chunks(rows, 10_000):
                _pg_bulk_update(fields, chunk, {})
            return
        Asset.objects.bulk_update([Asset(pk=pk, **dict(zip(fields, values, strict=True))) for pk, *values in rows],
                                  list(fields), batch_size=1000)

    def live_pks(self, *, page: int) -> Iterator[int]:
        """The source's live scanned assets, streamed (a server-side cursor on PostgreSQL): a page read per query
        would be planned on statistics a fresh catalog does not have."""
        return self._scanned().filter(removed_at__isnull=True).values_list(
            "pk", flat=True).iterator(chunk_size=page)

    def mark_removed(self, pks: Collection[int]) -> None:
        """Assets are never deleted: a vanished one gets ``removed_at``, and is no longer searched."""
        Asset.objects.filter(pk__in=list(pks)).update(removed_at=self.now)
        search.documents_remove(asset_ids=pks)
