"""How long does the review queue (catalog.admin_review) take to draw with a catalog of 50,000 columns?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_review \\
        .venv/bin/python -m bench.backoffice.review_queue [--columns 50000] [--requests 30]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL only), migrates it and writes the steward's
home's catalog (``bench.home.run.build``: five sources, four in workspace A; a fifth of the columns classified, two
thirds of those suggested), then gives every classification a detection's evidence and a confidence between 0.50
and 0.99, so the page draws evidence in words and sorts on varied values.

Then it asks in process (``bench.home.run.server_times``: Django's test client, production settings, DEBUG off),
``--requests`` times per page and persona after one warm-up request, for the queue as a steward opens it (grouped
by table), sorted by confidence, filtered by a source, and a page deep in the queue, and prints the median server
time, its spread (min–max), the median CPU time and the number of queries.
"""
from __future__ import annotations

import argparse
import os
import sys
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

EVIDENCE = {"match_share": 0.9667, "values_sampled": 200, "non_null": 180, "distinct": 41, "name_signal": "email",
            "validator": "email", "type_family": "text", "masked_examples": ["j***@e***.com", "a***@b***.org"],
            "reasons": ["97% of values valid (email)", "column name 'email'"], "custom_rule": False,
            "alternatives": [{"classification": "PII.USERNAME", "confidence": 0.41}]}
DEEP_PAGE = 100  # 5,000 suggestions in: the steward of A sees 5,600


def with_evidence() -> None:
    from django.db import connection
    from django.db.models import F, FloatField, Value
    from django.db.models.functions import Cast, Mod

    from catalog.models import AssetClassification

    AssetClassification.objects.update(evidence=EVIDENCE, confidence=Value(0.5) + Cast(
        Mod(F("id"), Value(50)), FloatField()) / Value(100.0))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    fresh_database()
    personas = build(args.columns, runs_per_source=1)
    with_evidence()

    from django.urls import reverse

    from sources.models import DataSource

    serve_static_from_the_checkout()
    queue = reverse("admin:catalog_assetclassification_review")
    source = DataSource.objects.filter(workspace__slug="a").order_by("pk").first()
    print(f"\nserver time in process over {args.requests} requests; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  {'(reference: a count of every asset)':<48}{reference_ms(args.requests):8.1f} ms")
    pages = {"grouped by table": "", "highest confidence first": "?o=-confidence",
             f"source {source.name}": f"?source={source.pk}", f"page {DEEP_PAGE}": f"?p={DEEP_PAGE}"}
    for label, query in pages.items():
        print(f"\nGET {queue}{query} (the review queue, {label})")
        server_times(personas, queue + query, args.requests)


if __name__ == "__main__":
    main()
