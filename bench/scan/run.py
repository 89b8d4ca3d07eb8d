"""Scan benchmark: how fast, and in how much memory, Racine reads a 50,000-column catalog (or a larger one).

    python -m bench.scan.build_db            # once: builds racine_bench_scan
    python -m bench.scan.run --part floor    # the connector-level parts
    python -m bench.scan.run --part iter-schema --repeat 5
    python -m bench.scan.run --part all      # every part, end to end included, ratios to the floor

    # memory at scale: a 1,000,000-column source (40,000 tables), first scan and rescans
    python -m bench.scan.build_db --tables 40000 --database racine_bench_scan_1m
    python -m bench.scan.run --url postgresql://postgres@127.0.0.1:5432/racine_bench_scan_1m \
        --part catalog-queries --part e2e --repeat 2

The end-to-end parts ("e2e" group) scan into a Racine application database on PostgreSQL: the driver drops and
recreates ``racine_bench_app`` (``--app-url``), migrates it with ``manage.py migrate`` in a child process, and each
part's child process runs the scan through the services (``scan_run_request`` with eager Celery), exactly as a
worker would, with DEBUG off (no query log).

Every part runs in a fresh child process (so its peak RSS is its own), ``--repeat`` times; the table shows the
median and best time and the largest peak RSS. Parts live in a registry: add one with ``@part("name", "what it
measures", groups=("e2e",))``; it receives a :class:`Context` and returns a dict with ``objects`` (and optionally
``queries``, ``note``). Timing covers the function body after ``ctx.ready()`` is called (connections opened
before it are not timed).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from accounts.actors import SYSTEM
from bench.scan.build_db import DATABASE

DEFAULT_URL = os.environ.get("RACINE_BENCH_POSTGRES_URL", f"postgresql://postgres@127.0.0.1:5432/{DATABASE}")


APP_DATABASE = "racine_bench_app"
DEFAULT_APP_URL = os.environ.get("RACINE_BENCH_APP_URL", f"postgresql://postgres@127.0.0.1:5432/{APP_DATABASE}")
# Issue 9: memory does not grow with the source; this holds for a 1,000,000-column source too.
PEAK_RSS_TARGET_MB = 200
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Context:
    url: str
    app_url: str = DEFAULT_APP_URL
    started: float = 0.0
    finished: float | None = None

    def ready(self) -> None:
        """Call when setup (connections) is done: the clock starts here."""
        self.started = time.perf_counter()

    def stop(self) -> None:
        """Call before untimed clean-up (restoring the benchmark database): the clock stops here."""
        self.finished = time.perf_counter()

    def settings(self):
        from sources.connectors import ConnectionSettings
        u = urlparse(self.url)
        return ConnectionSettings(engine="postgresql", host=u.hostname or "127.0.0.1", port=u.port or 5432,
                                  database=u.path.lstrip("/") or DATABASE, username=u.username or "postgres",
                                  password=u.password or "", statement_timeout_s=600)

    def sqlalchemy_url(self) -> str:
        return self.url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class Part:
    name: str
    description: str
    run: Callable[[Context], dict]
    groups: tuple[str, ...] = field(default_factory=tuple)


PARTS: dict[str, Part] = {}


def part(name: str, description: str, *, groups: tuple[str, ...] = ()):
    def register(func: Callable[[Context], dict]):
        PARTS[name] = Part(name, description, func, groups)
        return func
    return register


# -- connector-level parts ("floor" group) ----------------------------------------------------------------------

@part("catalog-queries", "(a) floor: the PostgreSQL connector's catalog queries alone, all rows fetched",
      groups=("floor",))
def catalog_queries(ctx: Context) -> dict:
    import psycopg

    from sources.connectors import postgresql as pg
    conn = psycopg.connect(ctx.url, autocommit=True)
    ctx.ready()
    rows = len(conn.execute(pg.DATABASE_SQL).fetchall())
    schemas = conn.execute(pg.SCHEMAS_SQL).fetchall()
    oids = [row[0] for row in schemas]
    rows += len(schemas)
    rows += len(conn.execute(pg.RELATIONS_SQL, {"schemas": oids}).fetchall())
    rows += len(conn.execute(pg.CONSTRAINTS_SQL, {"schemas": oids}).fetchall())
    with conn.transaction(), conn.cursor(name="floor") as cur:
        cur.execute(pg.COLUMNS_SQL, {"schemas": oids, "relations": None})
        while batch := cur.fetchmany(pg.FETCH_ROWS):
            rows += len(batch)
    conn.close()
    return {"objects": rows, "queries": 5}


@part("iter-schema", "(b) PostgresConnector.iter_schema: SchemaObjects and fingerprints", groups=("floor",))
def iter_schema(ctx: Context) -> dict:
    from sources.connectors import connector_for
    with connector_for(ctx.settings()) as connector:
        connector.test_connection()
        before = connector.queries_executed
        ctx.ready()
        objects = 0
        for batch in connector.iter_schema():
            for obj in batch:
                obj.fingerprint()
            objects += len(batch)
        return {"objects": objects, "queries": connector.queries_executed - before}


def _sqlalchemy(ctx: Context):
    import sqlalchemy as sa
    engine = sa.create_engine(ctx.sqlalchemy_url(), poolclass=sa.pool.NullPool)
    conn = engine.connect()
    counter = {"n": 0}
    sa.event.listen(engine, "before_cursor_execute", lambda *a: counter.__setitem__("n", counter["n"] + 1))
    return engine, conn, sa.inspect(conn), counter


def _user_schemas(inspector) -> list[str]:
    return [s for s in inspector.get_schema_names() if s not in ("information_schema",) and not s.startswith("pg_")]


@part("sqla-per-table", "(c) SQLAlchemy reflection table by table (get_columns / get_pk_constraint / "
      "get_foreign_keys)", groups=("floor",))
def sqla_per_table(ctx: Context) -> dict:
    engine, conn, inspector, counter = _sqlalchemy(ctx)
    ctx.ready()
    objects = 0
    for schema in _user_schemas(inspector):
        for table in inspector.get_table_names(schema=schema):
            objects += 1 + len(inspector.get_columns(table, schema=schema))
            inspector.get_pk_constraint(table, schema=schema)
            inspector.get_foreign_keys(table, schema=schema)
        for view in inspector.get_view_names(schema=schema):
            objects += 1 + len(inspector.get_columns(view, schema=schema))
    conn.close()
    engine.dispose()
    return {"objects": objects, "queries": counter["n"]}


@part("sqla-multi", "(d) SQLAlchemy multi-table reflection (get_multi_columns / pk / foreign keys)",
      groups=("floor",))
def sqla_multi(ctx: Context) -> dict:
    from sqlalchemy.engine.reflection import ObjectKind
    engine, conn, inspector, counter = _sqlalchemy(ctx)
    ctx.ready()
    objects = 0
    for schema in _user_schemas(inspector):
        columns = inspector.get_multi_columns(schema=schema, kind=ObjectKind.ANY)
        inspector.get_multi_pk_constraint(schema=schema)
        inspector.get_multi_foreign_keys(schema=schema)
        objects += len(columns) + sum(len(cols) for cols in columns.values())
    conn.close()
    engine.dispose()
    return {"objects": objects, "queries": counter["n"]}


# -- end-to-end parts ("e2e" group): connector + writes into the application database ------------------------

def app_env(app_url: str, target_url: str) -> dict:
    """A worker's environment: production mode (no query log), eager tasks, the bench application database, and
    the benchmark database's host on the allow list (production refuses targets on this machine otherwise)."""
    from cryptography.fernet import Fernet
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL", "DEBUG")}
    env.update(DATABASE_URL=app_url, DEBUG="false", SECRET_KEY="bench-" + "k" * 60, ALLOWED_HOSTS="localhost",
               RACINE_TARGET_ALLOW=urlparse(target_url).hostname or "127.0.0.1",
               RACINE_ENCRYPTION_KEYS=os.environ.get("RACINE_BENCH_ENCRYPTION_KEY", Fernet.generate_key().decode()),
               LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="config.settings")
    return env


def prepare_app_db(app_url: str) -> None:
    """A fresh, migrated application database for the end-to-end parts."""
    import psycopg
    from psycopg import sql
    u = urlparse(app_url)
    name = u.path.lstrip("/")
    with psycopg.connect(app_url.replace(f"/{name}", "/postgres", 1), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    out = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT,
                         env=app_env(app_url, DEFAULT_URL), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"migrating {name} failed:\n{out.stderr}")


def _bench_source(ctx: Context):
    """Django set up in this process, and the data source for the benchmark database (created once)."""
    import django
    django.setup()
    from accounts.services import organization_ensure, workspace_ensure
    from scanning import services
    from scanning.sync import CatalogSync  # noqa: F401
    from sources import services as source_services
    from sources.connectors import postgresql  # noqa: F401  (imported before the clock starts, like a worker)
    from sources.models import DataSource

    s = ctx.settings()
    organization, _ = organization_ensure()
    workspace, _ = workspace_ensure(organization=organization, name="Bench")
    source = DataSource.objects.filter(workspace=workspace, name="bench").first()
    if source is None:
        source = source_services.datasource_create(workspace=workspace, acting_user=SYSTEM, name="bench",
                                            engine="postgresql", host=s.host, port=s.port, database=s.database,
                                            username=s.username, password=s.password)
        # The schema scan alone: sampling and detection on 2,000 tables are another workload (bench/detection).
        rule_set = services.rule_set_create(workspace=workspace, acting_user=SYSTEM, name="bench: schema only",
                                            detection_enabled=False)
        services.scan_create(data_source=source, acting_user=SYSTEM, name="bench", rule_set=rule_set)
    return source, source.scans.get(name="bench")


def _scan(scan) -> dict:
    from django.db import connection

    from scanning import services
    from scanning.models import ScanRun
    counter = {"n": 0}

    def count(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):  # the application database's statements (COPY streams excepted)
        run = services.scan_run_request(scan=scan, trigger=ScanRun.Trigger.MANUAL, acting_user=SYSTEM)
    run.refresh_from_db()  # eager Celery: the run executed on commit, inside scan_run_request
    if run.status != ScanRun.Status.SUCCEEDED:
        raise SystemExit(f"scan run {run.pk} ended {run.status}: {run.error}")
    return {"objects": run.objects_seen, "queries": counter["n"],
            "note": f"added {run.added}, changed {run.changed}, removed {run.removed}, unchanged {run.unchanged}"}


def _definition_lineage(ctx: Context, *, from_scratch: bool) -> dict:
    source, scan = _bench_source(ctx)
    from django.db import connection

    from catalog.lineage.definitions import definitions_lineage_record
    from catalog.models import DefinitionLineage, LineageEdge, LineageRecord
    _scan(scan)  # untimed; its scan.finished subscriber reads the definitions once, in process (eager Celery)
    if from_scratch:
        DefinitionLineage.objects.filter(asset__data_source=source).delete()
        LineageEdge.objects.filter(workspace=source.workspace).delete()
        LineageRecord.objects.filter(workspace=source.workspace).delete()
    counter = {"n": 0}

    def count(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    ctx.ready()
    with connection.execute_wrapper(count):
        outcome = definitions_lineage_record(data_source=source, acting_user=SYSTEM)
    return {"objects": outcome.read + outcome.unchanged, "queries": counter["n"],
            "note": f"read {outcome.read}, unchanged {outcome.unchanged}, problems {outcome.problems}, "
                    f"edges {LineageEdge.objects.filter(workspace=source.workspace).count()}"}


@part("definition-lineage-first", "(h) lineage of every view definition read (after a first scan)",
      groups=("e2e", "lineage"))
def definition_lineage_first(ctx: Context) -> dict:
    return _definition_lineage(ctx, from_scratch=True)


@part("definition-lineage-unchanged", "(i) lineage after an unchanged rescan: edges refreshed, nothing parsed",
      groups=("e2e", "lineage"))
def definition_lineage_unchanged(ctx: Context) -> dict:
    return _definition_lineage(ctx, from_scratch=False)


def _empty_catalog() -> None:
    from django.db import connection
    with connection.cursor() as cur:  # TRUNCATE, not a cascade of Python deletes: setup, not the measurement
        cur.execute("TRUNCATE catalog_asset CASCADE")


@part("scan-first", "(e) first scan end to end: connector + catalog writes into the app DB (PostgreSQL)",
      groups=("e2e",))
def scan_first(ctx: Context) -> dict:
    _, scan = _bench_source(ctx)
    _empty_catalog()
    ctx.ready()
    return _scan(scan)


@part("scan-unchanged", "(f) rescan of an unchanged source end to end (nothing to write)", groups=("e2e",))
def scan_unchanged(ctx: Context) -> dict:
    _, scan = _bench_source(ctx)
    _scan(scan)  # untimed: brings the catalog level with the source
    ctx.ready()
    return _scan(scan)


# About 1% of the benchmark's 50,000 columns: 250 retyped (varchar(120) -> varchar(121)) and 250 commented.
DRIFT_COLUMNS = 250


def _drift_statements(restore: bool) -> list[str]:
    from bench.scan.build_db import COLUMNS, SCHEMAS, TYPES
    statements = []
    per_schema = DRIFT_COLUMNS // len(SCHEMAS)
    for schema in SCHEMAS:
        retyped = 0
        for i in range(500):
            if retyped == per_schema:
                break
            # the column of table i whose type is varchar(120); c02/c03 are read by views, which pin their type
            # (and c10 is the commented one: a column changed twice counts once)
            c = next((c for c in range(4, COLUMNS) if c != 10 and TYPES[(i + c) % len(TYPES)] == "varchar(120)"),
                     None)
            if c is None:
                continue
            new_type = "varchar(120)" if restore else "varchar(121)"
            statements.append(f"ALTER TABLE {schema}.t{i:04d} ALTER COLUMN c{c:02d} TYPE {new_type}")
            retyped += 1
        for i in range(per_schema):
            comment = "NULL" if restore else "'bench drift'"
            statements.append(f"COMMENT ON COLUMN {schema}.t{i:04d}.c10 IS {comment}")
    return statements


def _apply_drift(ctx: Context, restore: bool) -> None:
    import psycopg
    with psycopg.connect(ctx.url) as conn, conn.transaction():
        for statement in _drift_statements(restore):
            conn.execute(statement)


@part("scan-1pct", "(g) rescan after ~1% of the columns changed (250 retyped, 250 commented), end to end",
      groups=("e2e",))
def scan_one_percent(ctx: Context) -> dict:
    _, scan = _bench_source(ctx)
    _scan(scan)  # untimed: brings the catalog level with the source
    _apply_drift(ctx, restore=False)
    try:
        ctx.ready()
        result = _scan(scan)
        ctx.stop()
    finally:
        _apply_drift(ctx, restore=True)
    return result


RUN_ENDS = 200


@part("run-end", "(h) a scan run's end, per run: the status UPDATE alone (the end before the outbox) against "
      "core.runs.finish (the UPDATE, the run read back, scan.finished and asset.changed recorded, dispatched "
      "after the commit in process)", groups=("e2e",))
def run_end(ctx: Context) -> dict:
    _, scan = _bench_source(ctx)
    from django.utils import timezone

    from core import runs
    from scanning.models import ScanRun

    running = ScanRun.Status.RUNNING

    def new_run() -> int:
        return ScanRun.objects.create(scan=scan, data_source_id=scan.data_source_id, status=running, added=1,
                                      heartbeat_at=timezone.now()).pk

    ctx.ready()
    bare = with_events = 0.0
    for _ in range(RUN_ENDS):
        run_id = new_run()
        started = time.perf_counter()
        ScanRun.objects.filter(pk=run_id, status__in=[running]).update(
            status=ScanRun.Status.SUCCEEDED, finished_at=timezone.now(), phase="", error="")
        bare += time.perf_counter() - started
        run_id = new_run()
        started = time.perf_counter()
        runs.finish(ScanRun, run_id, ScanRun.Status.SUCCEEDED)
        with_events += time.perf_counter() - started
    return {"objects": RUN_ENDS, "events_ms": (with_events - bare) / RUN_ENDS * 1000,
            "note": f"per run: the status UPDATE alone {bare / RUN_ENDS * 1000:.2f} ms, the end with its events "
                    f"{with_events / RUN_ENDS * 1000:.2f} ms"}


# -- driver ----------------------------------------------------------------------------------------------------

def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_child(name: str, url: str, app_url: str) -> None:
    ctx = Context(url=url, app_url=app_url)
    baseline = _peak_rss_mb()
    result = PARTS[name].run(ctx)
    elapsed = (ctx.finished or time.perf_counter()) - ctx.started
    result.update(seconds=elapsed, peak_rss_mb=_peak_rss_mb(), baseline_rss_mb=baseline)
    print(json.dumps(result))


def run_part(name: str, url: str, app_url: str, repeat: int) -> dict:
    runs = []
    env = app_env(app_url, url) if "e2e" in PARTS[name].groups else None
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-m", "bench.scan.run", "--child", name, "--url", url,
                              "--app-url", app_url], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"part {name} failed:\n{out.stderr}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    times = [r["seconds"] for r in runs]
    return {"part": name, "median_s": statistics.median(times), "best_s": min(times),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "objects": runs[0]["objects"],
            "queries": runs[0].get("queries", ""), "note": runs[0].get("note", ""),
            **({"events_ms": statistics.median(r["events_ms"] for r in runs)} if "events_ms" in runs[0] else {})}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Racine scan benchmark")
    parser.add_argument("--part", action="append", default=[],
                        help=f"a part or a group; parts: {', '.join(PARTS)}; groups: floor, e2e, all")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_URL, help="the benchmark database (built by bench.scan.build_db)")
    parser.add_argument("--app-url", default=DEFAULT_APP_URL,
                        help="the application database of the e2e parts (dropped and recreated)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child, args.url, args.app_url)
        return
    wanted: list[str] = []
    for name in args.part or ["floor"]:
        if name in PARTS:
            wanted.append(name)
        else:
            members = [p.name for p in PARTS.values() if name == "all" or name in p.groups]
            if not members:
                parser.error(f"unknown part or group {name!r}")
            wanted += members
    wanted = list(dict.fromkeys(wanted))
    if any("e2e" in PARTS[name].groups for name in wanted):
        prepare_app_db(args.app_url)
    rows = [run_part(name, args.url, args.app_url, args.repeat) for name in wanted]
    floor = next((r["median_s"] for r in rows if r["part"] == "catalog-queries"), None)
    header = (f"{'part':<16} {'median s':>9} {'best s':>8} {'x floor':>8} {'peak RSS MB':>12} {'objects':>8}"
              f" {'queries':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r['median_s'] / floor:.1f}" if floor else ""
        print(f"{r['part']:<16} {r['median_s']:>9.3f} {r['best_s']:>8.3f} {ratio:>8} {r['peak_rss_mb']:>12.1f}"
              f" {r['objects']:>8} {r['queries']!s:>8}")
    for r in rows:
        note = f" [{r['note']}]" if r["note"] else ""
        print(f"  {r['part']}: {PARTS[r['part']].description}{note}")
    for line in target_lines({r["part"]: r for r in rows}, floor):
        print(line)


def target_lines(by_part: dict, floor: float | None) -> list[str]:
    """The issue's acceptance targets, for the parts that were measured in this run."""
    checks = []
    if floor:
        for name, limit in (("scan-first", 20), ("scan-unchanged", 6)):
            if name in by_part:
                ratio = by_part[name]["median_s"] / floor
                checks.append((f"{name} <= {limit}x floor", f"{ratio:.1f}x", ratio <= limit))
    e2e = [r for name, r in by_part.items() if "e2e" in PARTS[name].groups]
    if e2e:
        peak = max(r["peak_rss_mb"] for r in e2e)
        checks.append((f"peak RSS of the scanning process <= {PEAK_RSS_TARGET_MB} MB", f"{peak:.0f} MB",
                       peak <= PEAK_RSS_TARGET_MB))
    if "run-end" in by_part and "scan-unchanged" in by_part:
        # Issue 10: the outbox costs a scan at most 5%; its cost is per run (the end), not per column.
        share = by_part["run-end"]["events_ms"] / 1000 / by_part["scan-unchanged"]["median_s"]
        checks.append(("the events of a run's end <= 5% of an unchanged rescan",
                       f"{by_part['run-end']['events_ms']:.1f} ms = {share:.2%}", share <= 0.05))
    if "scan-first" in by_part and "sqla-per-table" in by_part:
        first, per_table = by_part["scan-first"]["median_s"], by_part["sqla-per-table"]["median_s"]
        checks.append(("first scan end to end < SQLAlchemy per-table reflection alone",
                       f"{first:.2f} s vs {per_table:.2f} s", first < per_table))
    return [f"target: {what}: {value} -> {'met' if ok else 'NOT MET'}" for what, value, ok in checks]


if __name__ == "__main__":
    main()
