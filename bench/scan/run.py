"""Scan benchmark: how fast, and in how much memory, Racine reads a 50,000-column catalog.

    python -m bench.scan.build_db            # once: builds racine_bench_scan
    python -m bench.scan.run --part floor    # the connector-level parts
    python -m bench.scan.run --part iter-schema --repeat 5

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

from bench.scan.build_db import DATABASE

DEFAULT_URL = os.environ.get("RACINE_BENCH_POSTGRES_URL", f"postgresql://postgres@127.0.0.1:5432/{DATABASE}")


@dataclass
class Context:
    url: str
    started: float = 0.0

    def ready(self) -> None:
        """Call when setup (connections) is done: the clock starts here."""
        self.started = time.perf_counter()

    def settings(self):
        from scanning.connectors import ConnectionSettings
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

    from scanning.connectors import postgresql as pg
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
    from scanning.connectors import connector_for
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


# -- driver ----------------------------------------------------------------------------------------------------

def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_child(name: str, url: str) -> None:
    ctx = Context(url=url)
    baseline = _peak_rss_mb()
    result = PARTS[name].run(ctx)
    elapsed = time.perf_counter() - ctx.started
    result.update(seconds=elapsed, peak_rss_mb=_peak_rss_mb(), baseline_rss_mb=baseline)
    print(json.dumps(result))


def run_part(name: str, url: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-m", "bench.scan.run", "--child", name, "--url", url],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"part {name} failed:\n{out.stderr}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    times = [r["seconds"] for r in runs]
    return {"part": name, "median_s": statistics.median(times), "best_s": min(times),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "objects": runs[0]["objects"],
            "queries": runs[0].get("queries", ""), "note": runs[0].get("note", "")}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Racine scan benchmark")
    parser.add_argument("--part", action="append", default=[],
                        help=f"a part or a group; parts: {', '.join(PARTS)}; groups: floor, all")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_URL, help="the benchmark database (built by bench.scan.build_db)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child, args.url)
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
    rows = [run_part(name, args.url, args.repeat) for name in dict.fromkeys(wanted)]
    floor = next((r["median_s"] for r in rows if r["part"] == "catalog-queries"), None)
    header = f"{'part':<16} {'median s':>9} {'best s':>8} {'x floor':>8} {'peak RSS MB':>12} {'objects':>8} {'queries':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r['median_s'] / floor:.1f}" if floor else ""
        print(f"{r['part']:<16} {r['median_s']:>9.3f} {r['best_s']:>8.3f} {ratio:>8} {r['peak_rss_mb']:>12.1f}"
              f" {r['objects']:>8} {r['queries']!s:>8}")
    for r in rows:
        print(f"  {r['part']}: {PARTS[r['part']].description}")


if __name__ == "__main__":
    main()
