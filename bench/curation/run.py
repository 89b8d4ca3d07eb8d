"""How long do a glossary import of 1,000 terms and a bulk curation of thousands of assets take?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_curation \\
        .venv/bin/python -m bench.curation.run [--terms 1000] [--assets 1000 5000] [--rounds 5]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL), migrates it, and makes a workspace with
a data steward. Then, ``--rounds`` times each, in process (production settings), each round in a transaction
rolled back at its end so that every round starts from the same state:

- ``glossary_import`` of a CSV of ``--terms`` new terms (a hierarchy ten wide, each related to the one before,
  a steward each, one in seven implying PII.EMAIL) — the file of tests/catalog/test_glossary_services.py —;
  the same file again (nothing changes); and a file changing every term's definition and parent;
- ``assets_curate`` adding a tag and an owner and certifying each of ``--assets`` columns (a selection by ids);
- ``assets_curate`` linking to each of ``--assets`` columns a term that implies PII.EMAIL (so also classifying
  each: half of them carry a scan's suggestion to confirm), then delivering the domain events it recorded (the
  workers' side: one ``assets.terms_linked`` and one ``classifications.confirmed``) with
  ``core.events.dispatch``.

Prints the median, the spread (min–max) and the statements of each.
"""
from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.setup import fresh_django_on_postgres, workspace_with_members  # noqa: E402  (after the path is set)


class Rollback(Exception):
    """Raised at the end of a round to undo it."""


def glossary_csv(terms: int, *, label: str = "Term number", fan_out: int = 10) -> str:
    rows = [{"name": "Term 0", "definition": "The root.", "status": "approved", "synonyms": "root;origin"}]
    rows += [{"name": f"Term {n}", "definition": f"{label} {n}.", "parent": f"Term {(n - 1) // fan_out}",
              "related_terms": f"Term {n - 1}", "stewards": "steward", "classification": "PII.EMAIL" if n % 7 else ""}
             for n in range(1, terms)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["name", "definition", "synonyms", "parent", "related_terms", "status",
                                             "stewards", "classification"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def timed(rounds: int, prepare, work) -> tuple[list[float], int]:
    """``work(prepared)`` ``rounds`` times, each in a transaction rolled back after it; seconds and statements."""
    from django.db import connection, transaction

    seconds, statements = [], 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    for _ in range(rounds):
        try:
            with transaction.atomic():
                prepared = prepare()
                statements = 0
                with connection.execute_wrapper(count):
                    started = time.perf_counter()
                    work(prepared)
                    seconds.append(time.perf_counter() - started)
                raise Rollback
        except Rollback:
            pass
    return seconds, statements


def drain() -> int:
    """Deliver every pending domain event, as the workers would; how many."""
    from core.events import dispatch

    delivered = 0
    while attempted := dispatch(limit=1000):
        delivered += attempted
    return delivered


def report(label: str, seconds: list[float], statements: int) -> None:
    print(f"{label:<48} median {statistics.median(seconds):7.3f} s  "
          f"({min(seconds):.3f}–{max(seconds):.3f})  {statements} statements", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--assets", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    fresh_django_on_postgres()
    from accounts.models import User
    from accounts.roles import Role
    from catalog import asset_curation, glossary
    from catalog.models import Asset, AssetClassification, Classification, GlossaryTerm, Tag
    from sources.models import DataSource

    workspace, members = workspace_with_members("Bench", {"steward": Role.DATA_STEWARD, "analyst": Role.ANALYST})
    steward, analyst = members["steward"], members["analyst"]
    steward = User.objects.get(pk=steward.pk)
    print(f"uptime: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)

    new = glossary_csv(args.terms)
    changed = glossary_csv(args.terms, label="Changed", fan_out=9)

    def run_import(data):
        glossary.glossary_import(workspace=workspace, data=data, fmt="csv", acting_user=steward)

    report(f"glossary import, {args.terms:,} new terms", *timed(args.rounds, lambda: new, run_import))
    report(f"glossary import, {args.terms:,} terms unchanged",
           *timed(args.rounds, lambda: run_import(new) or new, run_import))
    report(f"glossary import, {args.terms:,} terms changed",
           *timed(args.rounds, lambda: run_import(new) or changed, run_import))

    source = DataSource.objects.create(workspace=workspace, name="shop", engine="postgresql")
    tag = Tag.objects.create(workspace=workspace, name="gold")
    top = max(args.assets)
    Asset.objects.bulk_create(Asset(data_source=source, type=Asset.Type.COLUMN, name=f"c{n}", data_type="text",
                                    qualified_name=f"shop.public.t.c{n}") for n in range(top))
    email = Classification.objects.get(name="PII.EMAIL")
    ids = list(Asset.objects.filter(data_source=source).order_by("pk").values_list("pk", flat=True))
    for count in args.assets:
        def curate(selected):
            asset_curation.assets_curate(
                assets=Asset.objects.filter(pk__in=selected), acting_user=steward, tags={"add": [tag]},
                owners={"add": [{"user": analyst, "owner_type": "business"}]},
                certification={"status": "certified", "note": "bench"})

        report(f"bulk curation, {count:,} assets (tag, owner, certify)",
               *timed(max(1, args.rounds // 2), lambda count=count: ids[:count], curate))

    term = GlossaryTerm.objects.create(workspace=workspace, name="Customer e-mail", definition="Where we write.",
                                       status=GlossaryTerm.Status.APPROVED, classification=email)
    AssetClassification.objects.bulk_create(
        AssetClassification(asset_id=pk, classification=email, confidence=0.9, evidence={},
                            status=AssetClassification.Status.SUGGESTED, source=AssetClassification.Source.SCAN)
        for pk in ids[::2])
    for count in args.assets:
        def link(selected):
            asset_curation.assets_curate(assets=Asset.objects.filter(pk__in=selected), acting_user=steward,
                                         terms={"add": [term]})

        rounds = max(1, args.rounds // 2)
        report(f"bulk curation, {count:,} assets (a classifying term)",
               *timed(rounds, lambda count=count: ids[:count], link))
        report("  then delivering its events (the workers' part)",
               *timed(rounds, lambda count=count: link(ids[:count]), lambda _: drain()))


if __name__ == "__main__":
    main()
