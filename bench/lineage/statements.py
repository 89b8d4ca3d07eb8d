"""Realistic generated statements for the throughput bench: ETL shapes seen in query logs and dbt models.

Deterministic (seeded), several dialects, each statement a write with joins, CTEs, CASE, aggregates or window
functions, so both engines do table- and column-level work. The engine is not imported here.
"""
from __future__ import annotations

import random

SEED = 14
DIALECTS = ("postgres", "mysql", "snowflake", "bigquery", "tsql", "spark")
TABLES = ("orders", "customers", "payments", "products", "order_lines", "shipments", "invoices", "events")
COLUMNS = ("id", "customer_id", "amount", "status", "created_at", "country", "email", "quantity", "price", "region")


def _expression(rng: random.Random, alias: str) -> str:
    column = rng.choice(COLUMNS)
    shape = rng.randrange(6)
    if shape == 0:
        return f"{alias}.{column}"
    if shape == 1:
        return f"SUM({alias}.{column})"
    if shape == 2:
        return f"CASE WHEN {alias}.status = 'paid' THEN {alias}.{column} ELSE 0 END"
    if shape == 3:
        return f"ROW_NUMBER() OVER (PARTITION BY {alias}.customer_id ORDER BY {alias}.created_at)"
    if shape == 4:
        return f"COALESCE({alias}.{column}, {alias}.{rng.choice(COLUMNS)})"
    return f"UPPER({alias}.{column})"


def _select(rng: random.Random, width: int) -> str:
    first, second = rng.sample(TABLES, 2)
    items = [f"{_expression(rng, rng.choice('ab'))} AS c{i}" for i in range(width)]
    grouped = any("SUM(" in item for item in items)
    sql = (f"SELECT {', '.join(items)}\nFROM {first} a\nJOIN {second} b ON b.customer_id = a.customer_id\n"
           f"WHERE a.created_at >= '2024-01-01'")
    if grouped:
        sql = sql.replace("SUM(", "MAX(")
    return sql


def generated_statements(count: int) -> list[dict]:
    rng = random.Random(SEED)
    statements = []
    for number in range(count):
        dialect = DIALECTS[number % len(DIALECTS)]
        width = rng.randint(3, 10)
        body = _select(rng, width)
        shape = number % 4
        if shape == 0:
            sql = f"INSERT INTO mart_{number} ({', '.join(f'c{i}' for i in range(width))})\n{body}"
        elif shape == 1:
            sql = f"CREATE TABLE mart_{number} AS\nWITH base AS (\n{body}\n)\nSELECT * FROM base"
        elif shape == 2:
            sql = f"CREATE VIEW v_{number} AS\n{body}\nUNION ALL\n{_select(rng, width)}"
        else:
            sql = (f"INSERT INTO mart_{number} ({', '.join(f'c{i}' for i in range(width))})\n"
                   f"SELECT {', '.join(f'x.c{i}' for i in range(width))} FROM (\n{body}\n) x")
        statements.append({"sql": sql, "dialect": dialect})
    return statements
