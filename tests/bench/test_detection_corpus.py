"""The detection benchmark's corpus is the same in every process, so its figures can be compared run to run."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIGEST = ("import hashlib, json; from bench.detection.corpus import build_corpus; "
          "print(hashlib.sha256(json.dumps([(c.sample.column_name, c.sample.table_name, c.sample.data_type, "
          "[repr(v) for v in c.sample.values], c.expected) for c in build_corpus()]).encode()).hexdigest())")


def _digest(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-c", DIGEST], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_corpus_does_not_depend_on_the_hash_seed():
    # Regression: Faker's it_IT cities come from a set, whose order changes with PYTHONHASHSEED.
    assert _digest("1") == _digest("2")
