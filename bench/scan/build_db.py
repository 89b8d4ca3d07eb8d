"""Build the scan benchmark database: 2,000 tables x 25 columns (50,000 columns) and 200 views on PostgreSQL.

    python -m bench.scan.build_db [--url postgresql://postgres@127.0.0.1:5432/postgres] [--tables 2000]
    python -m bench.scan.build_db --tables 40000 --database racine_bench_scan_1m   # 1,000,000 columns
    python -m bench.scan.build_db --view-every 8 --database racine_bench_scan_views  # 500 views (lineage)

Drops and recreates ``racine_bench_scan`` (or ``--database``). Four schemas of ``tables / 4`` tables each; varied
column types; a primary key on every table, a foreign key on every fourth table (to the previous table), comments
on every fifth table and every seventh column, and a view on every tenth table. DDL is sent in batches of
``TABLES_PER_TRANSACTION`` tables, each in one transaction (2,000 CREATE TABLEs in a single transaction overflow
the default lock table, ``max_locks_per_transaction``).
"""
from __future__ import annotations

import argparse
import os
import time

import psycopg
from psycopg import sql

DATABASE = "racine_bench_scan"
DEFAULT_URL = os.environ.get("RACINE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SCHEMAS = ("sales", "finance", "hr", "ops")
TYPES = ("bigint", "text", "varchar(120)", "numeric(12,2)", "timestamptz", "date", "boolean", "jsonb", "uuid",
         "bytea", "double precision", "smallint", "inet", "char(2)", "integer", "varchar(255)", "text[]",
         "interval", "real", "time", "numeric", "timestamp", "varchar(32)")
COLUMNS = 25
TABLES_PER_TRANSACTION = 500


def ddl(tables: int, view_every: int = 10) -> list[str]:
    """Batches of DDL, each for at most ``TABLES_PER_TRANSACTION`` tables of one schema."""
    batches = []
    per_schema = tables // len(SCHEMAS)
    for schema in SCHEMAS:
        statements = [f"CREATE SCHEMA {schema};"]
        for i in range(per_schema):
            if i and i % TABLES_PER_TRANSACTION == 0:
                batches.append("\n".join(statements))
                statements = []
            name = f"{schema}.t{i:04d}"
            cols = ["id integer PRIMARY KEY"]
            cols.append(f"parent_id integer REFERENCES {schema}.t{i - 1:04d} (id)" if i % 4 == 0 and i
                        else "parent_id integer")
            for c in range(2, COLUMNS):
                nullable = " NOT NULL" if c % 3 == 0 else ""
                cols.append(f"c{c:02d} {TYPES[(i + c) % len(TYPES)]}{nullable}")
            statements.append(f"CREATE TABLE {name} ({', '.join(cols)});")
            if i % 5 == 0:
                statements.append(f"COMMENT ON TABLE {name} IS 'table {i} of {schema}';")
            for c in range(2, COLUMNS, 7):
                statements.append(f"COMMENT ON COLUMN {name}.c{c:02d} IS 'column {c} of {name}';")
            if i % view_every == 0:
                statements.append(f"CREATE VIEW {schema}.v{i:04d} AS SELECT id, parent_id, c02, c03 FROM {name};")
            elif view_every < 10 and i % view_every == view_every // 2:
                # A join with renames, for the lineage read from definitions (bench.scan.run's definition-lineage)
                statements.append(
                    f"CREATE VIEW {schema}.v{i:04d} AS SELECT a.id, a.c02 AS first_value, b.c03 AS parent_value "
                    f"FROM {name} a LEFT JOIN {schema}.t{max(i - 1, 0):04d} b ON b.id = a.parent_id;")
        batches.append("\n".join(statements))
    return batches


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="an admin connection (to any database)")
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--database", default=DATABASE, help="the database to (re)create")
    parser.add_argument("--view-every", type=int, default=10,
                        help="a view on every Nth table; below 10, a join view between them too")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.database)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.database)))
    with psycopg.connect(args.url, dbname=args.database, autocommit=True) as conn:
        for batch in ddl(args.tables, args.view_every):
            with conn.transaction():
                conn.execute(batch)
    views = args.tables // args.view_every * (2 if args.view_every < 10 else 1)
    print(f"built {args.database}: {args.tables} tables x {COLUMNS} columns, about {views} views"
          f" in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
