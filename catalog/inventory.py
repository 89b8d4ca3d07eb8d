"""The inventory of sensitive data: where personal and other sensitive data lives, one row per column that carries
a sensitivity (source, qualified name, data type, classifications with their status, sensitivity, the source's
owners — those of its own asset, catalog.source_assets —, when the source was last scanned), as CSV or JSON.

Read through the asset selector with the asset list's filter set, so an export shows exactly the columns the
same user would page through in ``/api/v1/assets/?type=column`` with the same filters. Streamed: rows are read
in chunks (one query for the chunk's classifications, one for its sources' owners), whatever the catalog's size.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse

from accounts.models import User
from accounts.spreadsheets import spreadsheet_cell
from catalog.api.filters import AssetFilterSet
from catalog.models import Asset, AssetClassification, AssetOwner
from catalog.selectors import asset_list
from catalog.services import COUNTING_STATUSES
from config.filters import check_filters

FIELDS = ("id", "data_source", "qualified_name", "data_type", "classifications", "sensitivity", "owners",
          "last_scanned")
CHUNK_SIZE = 1000
# When each data source was last scanned: scanning knows, and it sits above the catalog, so it registers the
# reader here (scanning.apps). Without one the column stays empty.
LastScannedReader = Callable[[set[int]], dict[int, datetime]]
_last_scanned_reader: LastScannedReader | None = None


def register_last_scanned(reader: LastScannedReader) -> None:
    global _last_scanned_reader
    _last_scanned_reader = reader


def sensitive_columns(*, user: User | None, filters) -> QuerySet[Asset]:
    """The columns with a sensitivity among the assets the asset list shows ``user`` for ``filters`` (query
    parameters: its filters and their defaults, so removed columns only when asked for). Raises the API's
    ValidationError (a 400 naming the filter) for a value the list would refuse."""
    filterset = AssetFilterSet(filters, asset_list(user=user))
    check_filters(filterset)
    return of_columns(filterset.qs)


def of_columns(assets: QuerySet[Asset]) -> QuerySet[Asset]:
    """The inventory's rows among ``assets`` (already restricted to what the reader may view), in a stable order."""
    classifications = (AssetClassification.objects.filter(status__in=COUNTING_STATUSES)
                       .select_related("classification").order_by("classification__name"))
    return (assets.filter(type=Asset.Type.COLUMN).exclude(sensitivity="")
            .select_related("data_source")
            .prefetch_related(Prefetch("classifications", queryset=classifications))
            .order_by("data_source_id", "qualified_name"))


def source_owners(data_source_ids: set[int]) -> dict[int, list[str]]:
    """The owners of each source (of its own asset), any capacity: usernames, and groups as ``name (group)``,
    sorted; one query."""
    found: dict[int, list[str]] = defaultdict(list)
    for source_id, username, group in (AssetOwner.objects.filter(asset__data_source_id__in=data_source_ids,
                                                                 asset__type=Asset.Type.SOURCE)
                                       .values_list("asset__data_source_id", "user__username", "group__name")):
        name = username or f"{group} (group)"
        if name not in found[source_id]:
            found[source_id].append(name)
    return {source_id: sorted(found.get(source_id, ())) for source_id in data_source_ids}


def rows(columns: QuerySet[Asset]) -> Iterator[dict]:
    """One dict per column (``FIELDS``), read ``CHUNK_SIZE`` at a time."""
    last_scanned: dict[int, datetime] = {}
    owners: dict[int, list[str]] = {}
    columns = columns.iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(columns, CHUNK_SIZE)):
        unknown = {column.data_source_id for column in chunk} - set(owners)
        if unknown:
            owners.update(source_owners(unknown))
        if unknown and _last_scanned_reader is not None:
            last_scanned.update(_last_scanned_reader(unknown))
        for column in chunk:
            yield {
                "id": column.pk,
                "data_source": column.data_source.name,
                "qualified_name": column.qualified_name,
                "data_type": column.data_type,
                "classifications": [{"name": row.classification.name, "status": row.status}
                                    for row in column.classifications.all()],
                "sensitivity": column.sensitivity,
                "owners": owners[column.data_source_id],
                "last_scanned": last_scanned.get(column.data_source_id),
            }


# --- formats -------------------------------------------------------------------------------------------------------

def csv_lines(records: Iterable[dict]) -> Iterator[str]:
    """The header, then one line per row: lists joined with "; ", classifications as ``NAME (status)``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([spreadsheet_cell(value) for value in values])
        return buffer.getvalue()

    yield line(FIELDS)
    for record in records:
        yield line(_flat(record)[name] for name in FIELDS)


def _flat(record: dict) -> dict:
    last_scanned = record["last_scanned"]
    return {**record,
            "classifications": "; ".join(f"{row['name']} ({row['status']})" for row in record["classifications"]),
            "owners": "; ".join(record["owners"]),
            "last_scanned": last_scanned.isoformat() if last_scanned else ""}


def json_chunks(records: Iterable[dict]) -> Iterator[str]:
    """A JSON array, one row at a time."""
    encoder = DjangoJSONEncoder()
    separator = "["
    for record in records:
        yield separator + encoder.encode(record)
        separator = ",\n"
    yield "[]" if separator == "[" else "]"


FORMATS: dict[str, tuple[str, Callable[[Iterable[dict]], Iterator[str]]]] = {
    "csv": ("text/csv; charset=utf-8", csv_lines),
    "json": ("application/json", json_chunks),
}


def streaming_response(columns: QuerySet[Asset], fmt: str) -> StreamingHttpResponse:
    """The inventory of ``columns`` (``sensitive_columns`` or ``of_columns``) as a download in ``fmt``."""
    content_type, write = FORMATS[fmt]
    response = StreamingHttpResponse(write(rows(columns)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="sensitive-data-inventory.{fmt}"'
    return response
