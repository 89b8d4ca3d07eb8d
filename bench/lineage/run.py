"""SQL lineage throughput, Racine's engine beside sqllineage, same statements, same harness, one run.

    .venv/bin/python -m bench.lineage.run --peer-python /tmp/linengine-bench-venv/bin/python

The peer runs in its own venv (``python -m venv V && V/bin/pip install -r bench/lineage/requirements.txt``): it
pulls sqlfluff and sqlparse, which the product does not need. Statements: the hand-written accuracy corpus
(tests/catalog/lineage/corpus) and generated ETL statements (bench/lineage/statements.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.lineage.harness import time_engine
from bench.lineage.statements import generated_statements
from catalog.lineage import sql_lineage
from tests.catalog.lineage.corpus import load_corpus

ROOT = Path(__file__).resolve().parents[2]


def _racine(sql: str, dialect: str) -> object:
    return sql_lineage(sql, dialect=dialect)


def _summary(label: str, result: dict, count: int) -> str:
    rates = result["rates"]
    return (f"  {label:<11} {statistics.median(rates):>9.1f} stmt/s  (min {min(rates):.1f}, max {max(rates):.1f}, "
            f"{len(rates)} runs)  failures {result['failures']}/{count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-python", required=True, help="python of the venv holding sqllineage")
    parser.add_argument("--generated", type=int, default=200, help="generated statements besides the corpus")
    parser.add_argument("--repetitions", type=int, default=5, help="runs of Racine's engine")
    parser.add_argument("--peer-repetitions", type=int, default=3, help="runs of sqllineage (slow)")
    arguments = parser.parse_args()

    statements = [{"sql": case.sql, "dialect": case.dialect} for case in load_corpus()]
    statements += generated_statements(arguments.generated)
    racine = time_engine(_racine, statements, arguments.repetitions)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(statements, handle)
    try:
        completed = subprocess.run(
            [arguments.peer_python, str(ROOT / "bench" / "lineage" / "harness.py"), handle.name,
             str(arguments.peer_repetitions)], capture_output=True, text=True, check=True)
    finally:
        os.unlink(handle.name)
    peer = json.loads(completed.stdout.strip().splitlines()[-1])

    print(f"SQL lineage throughput: {len(statements)} statements ({len(statements) - arguments.generated} corpus, "
          f"{arguments.generated} generated), table and column level")
    print(f"  machine: {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(_summary("racine", racine, len(statements)))
    print(_summary("sqllineage", peer, len(statements)))
    ratio = statistics.median(racine["rates"]) / statistics.median(peer["rates"])
    print(f"  ratio: {ratio:.1f}x (target >= 20x)")
    sys.exit(0)


if __name__ == "__main__":
    main()
