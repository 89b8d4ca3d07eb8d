"""One timing harness for both engines: imports nothing but the standard library, so the peer's venv runs it too.

`time_engine(analyse, statements, repetitions)` runs every statement through `analyse(sql, dialect)` once per
repetition and returns the statements per second of each repetition. A statement the engine fails on still
counts (its time is spent); the number of failures is reported beside the speed.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable


def time_engine(analyse: Callable[[str, str], object], statements: list[dict], repetitions: int) -> dict:
    rates, failures = [], 0
    for _ in range(repetitions):
        failures = 0
        started = time.perf_counter()
        for statement in statements:
            try:
                analyse(statement["sql"], statement["dialect"])
            except Exception:  # the peer raises on what it cannot read; that statement's time still counts
                failures += 1
        rates.append(len(statements) / (time.perf_counter() - started))
    return {"rates": rates, "failures": failures}


def _sqllineage(sql: str, dialect: str) -> object:
    from sqllineage.runner import LineageRunner  # only in the peer's venv (bench/lineage/requirements.txt)

    peer_dialect = {"spark": "sparksql", "databricks": "databricks", "tsql": "tsql"}.get(dialect, dialect)
    runner = LineageRunner(sql, dialect=peer_dialect, silent_mode=True)
    return runner.source_tables, runner.get_column_lineage()  # table and column level, as Racine's engine gives


if __name__ == "__main__":  # the peer's side: python harness.py STATEMENTS.json REPETITIONS
    with open(sys.argv[1]) as handle:
        loaded = json.load(handle)
    print(json.dumps(time_engine(_sqllineage, loaded, int(sys.argv[2]))))
