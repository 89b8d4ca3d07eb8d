"""How long does the review queue (catalog.admin_review) take to draw with a catalog of 50,000 columns?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_review \\
        .venv/bin/python -m bench.backoffice.review_queue [--columns 50000] [--requests 30]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL only), migrates it and writes the steward's
home's catalog (``bench.home.run.build``: five sources, four in workspace A; a fifth of the columns classified, two
thirds of those suggested), then gives every classification a detection's evidence and a confidence between 0.50
and 0.99, so the page draws evidence in words and sorts on varied values.

Then it asks in process (Django's test client, production settings: DEBUG off), ``--requests`` times per page and
persona after one warm-up request, for the queue as a steward opens it (grouped by table), sorted by confidence,
filtered by a source, and its last page, and prints the median server time, its spread (min–max), the number of
queries and the suggestions the persona sees (all sources).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.api.run import production_environment, recreate_database  # noqa: E402  (after the path is set)
from bench.home.run import build, reference_ms  # noqa: E402

EVIDENCE = {"match_share": 0.9667, "values_sampled": 200, "non_null": 180, "distinct": 41, "name_signal": "email",
            "validator": "email", "type_family": "text", "masked_examples": ["j***@e***.com", "a***@b***.org"],
            "reasons": ["97% of values valid (email)", "column name 'email'"], "custom_rule": False,
            "alternatives": [{"classification": "PII.USERNAME", "confidence": 0.41}]}


def with_evidence() -> None:
    from django.db import connection
    from django.db.models import F, FloatField, Value
    from django.db.models.functions import Cast, Mod

    from catalog.models import AssetClassification

    AssetClassification.objects.update(evidence=EVIDENCE, confidence=Value(0.5) + Cast(
        Mod(F("id"), Value(50)), FloatField()) / Value(100.0))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(personas: dict, requests: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.selectors import visible
    from catalog.admin_review import PAGE_SIZE
    from catalog.models import AssetClassification
    from sources.models import DataSource
    from tests.support.personas import verified_client

    # Production serves the admin's static files from collectstatic's manifest, which a checkout has not built.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    queue = reverse("admin:catalog_assetclassification_review")
    source = DataSource.objects.filter(workspace__name="A").order_by("pk").first()
    print(f"\nGET {queue} (the review queue), server time in process over {requests} requests; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"  {'(reference: a count of every asset)':<60}{reference_ms(requests):8.1f} ms")
    print(f"  {'persona':<20}{'page':<22}{'median ms':>10}{'min–max':>16}{'queries':>9}{'waiting':>9}")
    for label, user in personas.items():
        client = verified_client(user)
        # The test client records no template context outside a test run: the persona's queue counted here.
        waiting = visible(AssetClassification.objects.filter(status="suggested"), user=user).count()
        pages = {"grouped by table": "", "by confidence": "?o=-confidence", f"source {source.name}":
                 f"?source={source.pk}", "last page": f"?p={-(-waiting // PAGE_SIZE)}"}
        for page, query in pages.items():
            assert client.get(queue + query).status_code == 200, (label, page)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(queue + query)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, (label, page)
            spread = f"{min(times) * 1000:.1f}–{max(times) * 1000:.1f}"
            print(f"  {label:<20}{page:<22}{statistics.median(times) * 1000:10.1f}{spread:>16}{len(queries):>9}"
                  f"{waiting:>9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database the benchmark may drop and recreate")
    os.environ.update(production_environment(port=0))
    recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    personas = build(args.columns, runs_per_source=1)
    with_evidence()
    measure(personas, args.requests)


if __name__ == "__main__":
    main()
