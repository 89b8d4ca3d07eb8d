"""Search at 500,000 assets, and what keeping its index costs a scan.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/racine_bench_catalog \\
        .venv/bin/python -m bench.catalog.run [--sources 20] [--tables 250] [--rounds 5] [--scan-reps 3] [--reuse]

Drops and recreates the database named in ``DATABASE_URL`` (PostgreSQL), migrates it, and writes the catalog
set-based (``INSERT … SELECT`` over ``generate_series``, never the ORM row by row): four workspaces of
``--sources / 4`` sources each, a source being one database, four schemas of ``--tables`` tables of 24 columns
(20 × (1 + 4 × 250 × 25) = 500,100 assets by default). Names are a business noun and an attribute
(``customer_email``; every fifth source in camelCase, ``customerEmail``), so an exact name recurs in a few dozen
places and a word in thousands. A third of the columns carry a steward's description, a third a source comment;
each workspace has 40 glossary terms (an attribute's business name, two synonyms, an abbreviation) linked to a
tenth of the columns, 30 tags on 15% of them, PII classifications suggested on the e-mail and phone columns and
owners on a twentieth of the tables. Then ``catalog.search.documents_rebuild`` indexes everything (timed).

``--reuse`` measures the catalog an earlier run left in that database instead (no drop, no build: a
measurement in a minute rather than ten; a scan measured before leaves its sources in it).

Search is measured through ``catalog.selectors.asset_search`` — what ``GET /api/v1/search/`` runs: the count (exact
up to ``catalog.search.COUNT_EXACT_UP_TO``, then that bound, marked "+" below) and the first page of 50 — as a data
steward of one workspace (a quarter of the catalog) and as a superuser, over a fixed set of queries (exact names,
prefixes, synonyms, typos, words), ``--rounds`` times each; then the facet counts of the same queries. It prints p50
/ p95 / p99 per persona, and the CPU time per search.

Last, the cost of index maintenance during a scan: ``--scan-reps`` times, a first scan of a new source of 50,000
columns (2,000 tables of 25) written by ``scanning.sync.CatalogSync`` in its batches, as a run writes it, with the
search documents maintained and without (``catalog.search``'s refresh replaced by nothing), alternately, into the
500,000-asset catalog. It prints each arm's median and spread and the ratio, in wall-clock time and in CPU time (this
process and its PostgreSQL backend, read from /proc: the database must run on the same machine), which other
sessions' load disturbs much less.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.setup import fresh_django_on_postgres  # noqa: E402  (after the path is set)

NOUNS = ("customer", "order", "invoice", "payment", "shipment", "product", "supplier", "employee", "account",
         "contract", "ticket", "campaign", "lead", "store", "warehouse", "refund", "subscription", "patient",
         "visit", "claim", "policy", "vehicle", "booking", "member", "partner", "device", "session", "review",
         "coupon", "basket", "delivery", "return", "branch", "loan", "transfer", "card", "merchant", "driver",
         "course", "student")
ATTRIBUTES = ("id", "email", "phone", "first_name", "last_name", "birth_date", "address", "postcode", "city",
              "country", "created_at", "updated_at", "status", "total", "amount", "currency", "vat_number", "iban",
              "notes", "score", "date", "reference", "channel", "quantity")
TABLE_SUFFIXES = ("history", "archive", "daily", "staging", "details", "lines", "events", "snapshot", "log",
                  "summary", "audit", "current", "import", "export", "backup", "stats", "queue", "items", "raw",
                  "clean", "v2", "legacy", "mart", "fact", "dim")
SCHEMAS = ("sales", "finance", "ops", "marketing")
SENTENCES = ("Kept for the retention period required by law.", "Filled in by the checkout form.",
             "Copied nightly from the operational database.", "Used by the finance team for month-end reports.",
             "Entered by the customer service agent during the call.", "Deprecated: use the new reference instead.",
             "Sent to the payment provider, never stored in clear elsewhere.", "Derived from the address lookup.")
SYNONYMS = {  # attribute → (business name, two synonyms, abbreviation)
    "email": ("Electronic mail", "inbox", "contact address", "EML"),
    "phone": ("Telephone number", "mobile", "callback number", "TEL"),
    "address": ("Postal address", "mailing location", "street line", "ADR"),
    "postcode": ("Postal code", "zip", "postal zone", "ZIP"),
    "birth_date": ("Date of birth", "birthday", "natal day", "DOB"),
    "iban": ("Bank account number", "bank details", "account identifier", "IBAN"),
    "vat_number": ("Tax identifier", "fiscal code", "tax registration", "VAT"),
    "total": ("Gross amount", "grand total", "sum due", "GRS"),
}
QUERIES = {
    "exact": ["customer_email", "invoice_total", "shipmentDate", "patient_birth_date"],
    "prefix": ["cust", "invoice_to", "shipm", "warehouse_st"],
    "synonym": ["inbox", "fiscal code", "birthday", "zip"],
    "typo": ["custmer_emial", "invoce_totl", "shipmnet_date", "pateint_phone"],
    "words": ["email", "customer address", "retention"],
}
SCAN_TABLES, SCAN_COLUMNS = 2_000, 25


def cpu_seconds() -> float:
    """CPU time of this process and of its PostgreSQL backend (on the same machine): other sessions' load
    lengthens wall-clock times much more than it does CPU times, so both are printed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    # /proc/<pid>/stat: utime and stime are the 14th and 15th fields, the 12th and 13th after the command's ")".
    fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    return time.process_time() + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def sql_array(values) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def build(sources_total: int, tables: int) -> dict:
    """Workspaces, sources, assets, terms, tags, classifications, owners — set-based; returns what is measured."""
    from django.db import connection

    from accounts.actors import SYSTEM
    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import membership_create, organization_ensure, workspace_ensure
    from catalog.models import Classification
    from sources.models import DataSource

    organization, _ = organization_ensure()
    workspaces = [workspace_ensure(organization=organization, name=f"Workspace {n}")[0] for n in range(4)]
    steward = User.objects.create_user(username="steward", password=None)
    membership_create(user=steward, workspace=workspaces[0], role=Role.DATA_STEWARD, acting_user=SYSTEM)
    superuser = User.objects.create_superuser(username="admin", email="admin@example.org", password=None)
    for n in range(sources_total):
        DataSource.objects.create(workspace=workspaces[n % 4], name=f"source {n}", engine=DataSource.Engine.POSTGRESQL,
                                  host="db.example.org", database=f"db{n}")
    nouns, attributes, suffixes = sql_array(NOUNS), sql_array(ATTRIBUTES), sql_array(TABLE_SUFFIXES)
    camel = ("regexp_replace(initcap(replace({0}, '_', ' ')), ' ', '', 'g')")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        def run(sql, params=()):
            # The statements use SQL's % (modulo): doubled where parameters are bound.
            cursor.execute(sql.replace("%", "%%").replace("%%s", "%s") if params else sql, params or None)

        common = ("properties, profile, fingerprint, sensitivity, first_seen_at, changed_at, data_type, "
                  "source_description, description")
        defaults = "'{}'::jsonb, '{}'::jsonb, '', '', now(), now()"
        run(f"""INSERT INTO catalog_asset (data_source_id, type, parent_id, qualified_name, name, {common})
                SELECT s.id, 'database', NULL, s.database, s.database, {defaults}, '', '', ''
                FROM catalog_datasource s""")
        run(f"""INSERT INTO catalog_asset (data_source_id, type, parent_id, qualified_name, name, {common})
                SELECT d.data_source_id, 'schema', d.id, d.qualified_name || '.' || sc, sc, {defaults}, '', '', ''
                FROM catalog_asset d CROSS JOIN unnest({sql_array(SCHEMAS)}) sc WHERE d.type = 'database'""")
        # Table t of a schema: a noun and a suffix; camelCase in every fifth source.
        snake_table = (f"({nouns})[1 + (t + sc.id * 7) % {len(NOUNS)}] || '_' || "
                       f"({suffixes})[1 + (t / {len(NOUNS)} + sc.id) % {len(TABLE_SUFFIXES)}]")
        run(f"""INSERT INTO catalog_asset (data_source_id, type, parent_id, qualified_name, name, row_count,
                                           {common})
                SELECT sc.data_source_id, 'table', sc.id, sc.qualified_name || '.' || n.name || '_' || t,
                       n.name || '_' || t, 1000 + t, {defaults}, '', '', ''
                FROM catalog_asset sc CROSS JOIN generate_series(1, %s) t
                CROSS JOIN LATERAL (SELECT CASE WHEN sc.data_source_id % 5 = 0 THEN {camel.format(snake_table)}
                                                ELSE {snake_table} END AS name) n
                WHERE sc.type = 'schema'""", [tables])
        # Column c of a table: the table's noun (or a neighbour's) and an attribute.
        snake_column = (f"({nouns})[1 + (tb.id / 3 + c / 8) % {len(NOUNS)}] || '_' || "
                        f"({attributes})[1 + (c + tb.id) % {len(ATTRIBUTES)}]")
        run(f"""INSERT INTO catalog_asset (data_source_id, type, parent_id, qualified_name, name, ordinal, {common})
                SELECT tb.data_source_id, 'column', tb.id, tb.qualified_name || '.' || n.name, n.name, c,
                       '{{}}'::jsonb, '{{}}'::jsonb, '', '', now(), now(),
                       (ARRAY['bigint', 'text', 'date', 'numeric(12,2)'])[1 + c % 4],
                       CASE WHEN (tb.id + c) % 3 = 1 THEN ({sql_array(SENTENCES)})[1 + (tb.id + c) % {len(SENTENCES)}]
                            ELSE '' END,
                       CASE WHEN (tb.id + c) % 3 = 2 THEN ({sql_array(SENTENCES)})[1 + (tb.id * c) % {len(SENTENCES)}]
                            ELSE '' END
                FROM catalog_asset tb CROSS JOIN generate_series(1, 24) c
                CROSS JOIN LATERAL (SELECT CASE WHEN tb.data_source_id % 5 = 0 THEN {camel.format(snake_column)}
                                                ELSE {snake_column} END AS name) n
                WHERE tb.type = 'table'
                ON CONFLICT (data_source_id, qualified_name) DO NOTHING""")
        for workspace in workspaces:
            for name, first, second, abbreviation in SYNONYMS.values():
                run("""INSERT INTO catalog_glossaryterm (workspace_id, name, definition, synonyms, abbreviations,
                                                         status, created_at, updated_at)
                       VALUES (%s, %s, '', %s::jsonb, %s::jsonb, 'approved', now(), now())""",
                    [workspace.pk, name, f'["{first}", "{second}"]', f'["{abbreviation}"]'])
            for n in range(32):  # terms no column links: a glossary is larger than what is linked
                run("""INSERT INTO catalog_glossaryterm (workspace_id, name, definition, synonyms, abbreviations,
                                                         status, created_at, updated_at)
                       VALUES (%s, %s, '', '["alias"]'::jsonb, '[]'::jsonb, 'approved', now(), now())""",
                    [workspace.pk, f"Business term {n}"])
            run("""INSERT INTO catalog_tag (workspace_id, name, description, created_at, updated_at)
                   SELECT %s, 'tag ' || n, '', now(), now() FROM generate_series(1, 30) n""", [workspace.pk])
        # A tenth of the columns linked to their attribute's term; 15% tagged.
        for attribute, (name, *_rest) in SYNONYMS.items():
            run("""INSERT INTO catalog_glossarytermasset (term_id, asset_id, linked_at)
                    SELECT g.id, a.id, now() FROM catalog_asset a
                    JOIN catalog_datasource s ON s.id = a.data_source_id
                    JOIN catalog_glossaryterm g ON g.workspace_id = s.workspace_id AND g.name = %s
                    WHERE a.type = 'column' AND a.id % 10 < 4
                      AND (a.name LIKE %s OR lower(a.name) LIKE %s)""",
                [name, f"%_{attribute}", "%" + attribute.replace("_", "")])
        run("""INSERT INTO catalog_assettag (asset_id, tag_id, added_at)
               SELECT a.id, (SELECT t.id FROM catalog_tag t WHERE t.workspace_id = s.workspace_id
                             ORDER BY t.id OFFSET a.id % 30 LIMIT 1), now()
               FROM catalog_asset a JOIN catalog_datasource s ON s.id = a.data_source_id
               WHERE a.type = 'column' AND a.id % 20 < 3""")
        for pattern, classification in (("%mail", "PII.EMAIL"), ("%phone", "PII.PHONE")):
            run("""INSERT INTO catalog_assetclassification (asset_id, classification_id, status, source, confidence,
                                                            evidence, evidence_fingerprint, decision_note,
                                                            created_at, updated_at)
                   SELECT a.id, %s, CASE WHEN a.id % 4 = 0 THEN 'confirmed' ELSE 'suggested' END, 'scan', 0.9,
                          '{}'::jsonb, '', '', now(), now()
                   FROM catalog_asset a WHERE a.type = 'column' AND lower(a.name) LIKE %s""",
                [Classification.objects.get(name=classification).pk, pattern])
        run("""INSERT INTO catalog_assetowner (asset_id, user_id, owner_type, added_at)
               SELECT a.id, %s, 'steward', now() FROM catalog_asset a
               JOIN catalog_datasource s ON s.id = a.data_source_id
               WHERE a.type = 'table' AND s.workspace_id = %s AND a.id % 20 = 0""", [steward.pk, workspaces[0].pk])
        cursor.execute("SELECT count(*) FROM catalog_asset")
        assets = cursor.fetchone()[0]
    print(f"catalog: {assets:,} assets written in {time.perf_counter() - started:.1f} s", flush=True)
    return {"steward": steward, "superuser": superuser, "assets": assets, "workspace": workspaces[0]}


def built() -> dict:
    """What ``build`` returned, read back from a database it built (``--reuse``)."""
    from accounts.models import User, Workspace
    from catalog.models import Asset

    return {"steward": User.objects.get(username="steward"), "superuser": User.objects.get(username="admin"),
            "assets": Asset.objects.count(), "workspace": Workspace.objects.get(name="Workspace 0")}


def reused_django_on_postgres() -> None:
    """Django set up on the database ``DATABASE_URL`` names as it is (migrated, not dropped)."""
    from bench.api.run import production_environment

    os.environ.update(production_environment(port=0))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def measure_search(personas: dict, rounds: int) -> None:
    from accounts.models import User
    from catalog.selectors import asset_search

    for label, user in personas.items():
        searches, facets, cpu, counts = [], [], [], {}
        for round_number in range(rounds + 1):  # the first round warms caches and is not counted
            for queries in QUERIES.values():
                for text in queries:
                    fresh = User.objects.get(pk=user.pk)  # a request's user: grants read again, in the time
                    cpu_started = cpu_seconds()
                    started = time.perf_counter()
                    results = asset_search(user=fresh, text=text)
                    count = results.count()
                    results[0:50]
                    middle = time.perf_counter()
                    cpu_used = cpu_seconds() - cpu_started
                    results.facets()
                    ended = time.perf_counter()
                    if round_number:
                        searches.append((middle - started) * 1000)
                        cpu.append(cpu_used * 1000)
                        facets.append((ended - middle) * 1000)
                    counts[text] = f"{count:,}{'' if results.count_is_exact else '+'}"
        print(f"search as {label:<9} {len(searches)} searches: p50 {percentile(searches, .5):6.1f} ms  "
              f"p95 {percentile(searches, .95):6.1f} ms  p99 {percentile(searches, .99):6.1f} ms  "
              f"max {max(searches):6.1f} ms", flush=True)
        print(f"  CPU (this process and its PostgreSQL backend) per search: p50 {percentile(cpu, .5):6.1f} ms  "
              f"p95 {percentile(cpu, .95):6.1f} ms  max {max(cpu):6.1f} ms", flush=True)
        print(f"facets as {label:<9} {len(facets)} counts:   p50 {percentile(facets, .5):6.1f} ms  "
              f"p95 {percentile(facets, .95):6.1f} ms  p99 {percentile(facets, .99):6.1f} ms  "
              f"max {max(facets):6.1f} ms", flush=True)
        print("  results per query: " + ", ".join(f"{text} {count}" for text, count in counts.items()),
              flush=True)


def scan_stream(number: int):
    from sources.connectors import SchemaObject

    database = f"scan{number}"
    yield SchemaObject("database", (database,))
    yield SchemaObject("schema", (database, "public"))
    for t in range(SCAN_TABLES):
        table = f"{NOUNS[t % len(NOUNS)]}_{TABLE_SUFFIXES[t // len(NOUNS) % len(TABLE_SUFFIXES)]}_{t}"
        yield SchemaObject("table", (database, "public", table))
        for c in range(SCAN_COLUMNS):
            column = f"{NOUNS[(t + c) % len(NOUNS)]}_{ATTRIBUTES[c % len(ATTRIBUTES)]}_{c}"
            yield SchemaObject("column", (database, "public", table, column), data_type="text", ordinal=c + 1,
                               description=SENTENCES[c % len(SENTENCES)] if c % 3 == 0 else "")


@contextmanager
def search_indexing(enabled: bool):
    from catalog import search

    if enabled:
        yield
        return
    with mock.patch.object(search, "documents_refresh", lambda **kwargs: None), \
            mock.patch.object(search, "documents_add", lambda **kwargs: None), \
            mock.patch.object(search, "documents_remove", lambda **kwargs: None):
        yield


def scan_once(workspace, number: int, *, indexed: bool) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one scan."""
    from django.conf import settings
    from django.utils import timezone

    from scanning.models import Scan, ScanRuleSet, ScanRun
    from scanning.sync import CatalogSync
    from sources.models import DataSource

    source = DataSource.objects.create(workspace=workspace, name=f"scan {number}", engine=DataSource.Engine.POSTGRESQL,
                                       host="db.example.org", database=f"scan{number}")
    rule_set = ScanRuleSet.objects.create(workspace=workspace, name=f"scan {number}", detection_enabled=False)
    scan = Scan.objects.create(data_source=source, rule_set=rule_set, name=f"scan {number}")
    run = ScanRun.objects.create(scan=scan, data_source=source, status=ScanRun.Status.RUNNING,
                                 started_at=timezone.now())
    batch_size = settings.RACINE_SCAN_BATCH_SIZE
    with search_indexing(indexed):
        cpu_started = cpu_seconds()
        started = time.perf_counter()
        sync = CatalogSync(run)
        batch = []
        for obj in scan_stream(number):
            batch.append(obj)
            if len(batch) == batch_size:
                sync.apply(batch)
                batch = []
        if batch:
            sync.apply(batch)
        sync.finish()
        return time.perf_counter() - started, cpu_seconds() - cpu_started


def measure_scan(workspace, repetitions: int) -> None:
    times, cpu = {True: [], False: []}, {True: [], False: []}
    number = 0
    for repetition in range(repetitions):
        order = (True, False) if repetition % 2 == 0 else (False, True)
        for indexed in order:
            number += 1
            wall, used = scan_once(workspace, number, indexed=indexed)
            times[indexed].append(wall)
            cpu[indexed].append(used)
    columns = SCAN_TABLES * SCAN_COLUMNS
    for indexed, label in ((False, "without search indexing"), (True, "with search indexing")):
        values = times[indexed]
        print(f"scan of {columns:,} columns {label:<24} median {statistics.median(values):6.2f} s "
              f"({min(values):.2f}–{max(values):.2f}), CPU median {statistics.median(cpu[indexed]):6.2f} s "
              f"({min(cpu[indexed]):.2f}–{max(cpu[indexed]):.2f})", flush=True)
    ratio = statistics.median(times[True]) / statistics.median(times[False])
    cpu_ratio = statistics.median(cpu[True]) / statistics.median(cpu[False])
    print(f"scan slowdown with indexing: {100 * (ratio - 1):+.1f}% wall clock, {100 * (cpu_ratio - 1):+.1f}% CPU "
          "(median over median)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=20, help="data sources (a multiple of 4)")
    parser.add_argument("--tables", type=int, default=250, help="tables per schema")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scan-reps", type=int, default=3)
    parser.add_argument("--skip-search", action="store_true", help="only the scan's cost")
    parser.add_argument("--skip-scan", action="store_true", help="only search")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the catalog an earlier run built in this database (no drop, no build)")
    args = parser.parse_args()

    if args.reuse:
        reused_django_on_postgres()
    else:
        fresh_django_on_postgres()
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}, cores: {os.cpu_count()}", flush=True)
    if args.reuse:
        world = built()
    else:
        world = build(args.sources, args.tables)

        from catalog import search

        started = time.perf_counter()
        search.documents_rebuild()
        print(f"index: {world['assets']:,} documents built in {time.perf_counter() - started:.1f} s", flush=True)
        vacuum()
    if not args.skip_search:
        measure_search({"steward": world["steward"], "superuser": world["superuser"]}, args.rounds)
    if not args.skip_scan:
        measure_scan(world["workspace"], args.scan_reps)
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)


if __name__ == "__main__":
    main()
