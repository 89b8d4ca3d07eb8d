"""How long do a table's page (200 columns) and the column list take to draw with a catalog of 50,000 columns?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_backoffice \\
        .venv/bin/python -m bench.backoffice.table_page [--columns 50000] [--width 200] [--requests 30]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL only) and builds the steward's home's
world (``bench.home.run.build``: five sources, at least ``--columns`` columns, a fifth classified, runs and drift).
Then it adds to workspace A's first source one table of ``--width`` columns as a scan leaves it: every column
profiled, one in five classified with the detection engine's evidence (two thirds suggested, one third confirmed),
one in four changed by a rescan (type and properties before/after), a few removed.

It asks, in process (Django's test client, production settings: DEBUG off), ``--requests`` times per persona
after one warm-up request, for the table's page, one classified column's page and the column list, and prints the
median server time, its spread (min–max) and the number of queries: a data steward of A, the auditor (every
workspace) and a superuser.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.home.run import (  # noqa: E402  (after the path is set, as the other benches)
    build,
    fresh_database,
    reference_ms,
    serve_static_from_the_checkout,
    server_times,
)

EVIDENCE = {"match_share": 0.96, "values_sampled": 1000, "non_null": 940, "distinct": 912, "type_family": "text",
            "name_signal": "email", "validator": "email", "masked_examples": ["j***@e***.com", "m***@x***.org"],
            "reasons": ["column name says email", "96% of values valid (email)"], "custom_rule": False,
            "alternatives": [{"classification": "PII.USERNAME", "confidence": 0.52}]}
PROFILE = {"sampled": 1000, "null_ratio": 0.06, "distinct_in_sample": 912, "distinct_estimate": 48200,
           "min_length": 7, "max_length": 64}


def wide_table(width: int):
    """A table of ``width`` columns under workspace A's first schema, with its classifications and drift; the
    table and one classified column."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Asset, AssetClassification, Classification
    from scanning.models import AssetChange, ScanRun

    now = timezone.now()
    schema = Asset.objects.filter(type=Asset.Type.SCHEMA, data_source__workspace__slug="a").order_by("pk").first()
    source = schema.data_source
    table = Asset.objects.create(data_source=source, parent=schema, type=Asset.Type.TABLE, name="wide_orders",
                                 qualified_name=f"{schema.qualified_name}.wide_orders", row_count=4_800_000,
                                 properties={"primary_key": ["col_000"], "foreign_keys": []})
    columns = Asset.objects.bulk_create(
        Asset(data_source=source, parent=table, type=Asset.Type.COLUMN, name=f"col_{index:03}",
              qualified_name=f"{table.qualified_name}.col_{index:03}", data_type="character varying(255)",
              is_nullable=index % 3 != 0, ordinal=index + 1, profile=PROFILE,
              properties={"primary_key": index == 0},
              sensitivity="confidential" if index % 5 == 0 else "",
              removed_at=now - timedelta(days=1) if index % 50 == 49 else None)
        for index in range(width))
    email = Classification.objects.get(name="PII.EMAIL")
    AssetClassification.objects.bulk_create(
        AssetClassification(asset=column, classification=email, confidence=0.93, evidence=EVIDENCE,
                            status="confirmed" if index % 3 == 0 else "suggested")
        for index, column in enumerate(columns[::5]))
    run = ScanRun.objects.filter(data_source=source).order_by("-queued_at").first()
    AssetChange.objects.bulk_create(
        AssetChange(run=run, asset=column, kind="changed", created_at=now,
                    changes={"data_type": ["character varying(120)", "character varying(255)"],
                             "properties": [{"primary_key": False}, {"primary_key": True}]})
        for column in columns[::4])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return table, columns[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=200, help="runs per source")
    parser.add_argument("--width", type=int, default=200, help="columns of the table whose page is drawn")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    fresh_database()
    personas = build(args.columns, args.runs)
    table, column = wide_table(args.width)

    from django.urls import reverse

    serve_static_from_the_checkout()
    print(f"\nserver time in process over {args.requests} requests; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  {'(reference: a count of every asset)':<48}{reference_ms(args.requests):8.1f} ms")
    pages = {f"the table's page ({args.width} columns)": reverse("admin:catalog_tableasset_change", args=[table.pk]),
             "a classified column's page": reverse("admin:catalog_columnasset_change", args=[column.pk]),
             "the column list": reverse("admin:catalog_columnasset_changelist")}
    for label, path in pages.items():
        print(f"\nGET {path} ({label})")
        server_times(personas, path, args.requests)


if __name__ == "__main__":
    main()
