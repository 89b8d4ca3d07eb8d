"""Start-up cost of the detection engine's reference data (places and people), cold and warm cache.

Each run is a fresh process: it imports the engine, then times ``reference.load_all()`` alone and reads its
resident memory after (VmRSS) and at peak (VmHWM). ``off``: no cache (every process builds); ``cold``: an empty
cache folder (the process builds and writes); ``warm``: the folder the cold run filled.

    .venv/bin/python -m bench.detection.reference_load [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

_CHILD = """
import json, time
from scanning.detection import reference
started = time.perf_counter()
reference.load_all()
seconds = time.perf_counter() - started
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"seconds": seconds, "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                  "peak_mb": int(status["VmHWM"].split()[0]) / 1024}))
"""


def _run(cache_dir: str) -> dict:
    env = {**os.environ, "RACINE_REFERENCE_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(runs: list[dict]) -> str:
    def fmt(k: str, digits: int) -> str:
        values = sorted(r[k] for r in runs)
        return f"{statistics.median(values):.{digits}f} ({values[0]:.{digits}f}–{values[-1]:.{digits}f})"

    return f"load {fmt('seconds', 2)} s, RSS {fmt('rss_mb', 0)} MB, peak {fmt('peak_mb', 0)} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    results: dict[str, list[dict]] = {"off": [], "cold": [], "warm": []}
    for _ in range(runs):
        results["off"].append(_run("off"))
        with tempfile.TemporaryDirectory() as folder:
            results["cold"].append(_run(folder))
            results["warm"].append(_run(folder))
    for kind, values in results.items():
        print(f"{kind:4}: {_summary(values)}  (median, min–max of {runs})")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
