"""Detection benchmark: Racine vs Presidio (pattern recognizers), with column names and with names hidden.

    python -m bench.detection.run                 # print the table, write bench/results/detection.md
    python -m bench.detection.run --update-docs   # also replace the "## Detection" section of docs/benchmarks.md
    python -m bench.detection.run --rounds 7 --note "machine shared with …"

Both engines are timed the same way: whole passes over the corpus, interleaved (Racine, Presidio, Racine, …) for
``--rounds`` rounds after one untimed warm-up pass each, so a busy machine slows both alike; each throughput is
printed as the median with its spread (min–max) and the ratio as the ratio of the medians with the range of the
per-round ratios.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.detection.corpus import VALUES_PER_COLUMN, build_corpus, hide_names
from bench.detection.scoring import Counts, score
from scanning.detection import detect_column

ROOT = Path(__file__).resolve().parents[2]
# The classes a column's values alone must reveal (names-hidden target F1 ≥ 0.90).
VALUE_DETECTABLE = {
    "PII.EMAIL", "PII.PHONE", "FINANCIAL.PAYMENT_CARD", "FINANCIAL.IBAN", "NETWORK.IP_ADDRESS",
    "NETWORK.MAC_ADDRESS", "NETWORK.URL", "CREDENTIALS.PASSWORD_HASH", "CREDENTIALS.SECRET",
    "NATIONAL_ID.US_SSN", "NATIONAL_ID.GB_NINO", "NATIONAL_ID.FR_NIR", "NATIONAL_ID.DE_IDNR", "NATIONAL_ID.ES_DNI",
    "NATIONAL_ID.IT_CODICE_FISCALE", "NATIONAL_ID.NL_BSN", "NATIONAL_ID.IN_AADHAAR", "NATIONAL_ID.IN_PAN",
    "NATIONAL_ID.BR_CPF", "NATIONAL_ID.CA_SIN", "NATIONAL_ID.CH_AHV", "NATIONAL_ID.PL_PESEL",
}


@dataclass(frozen=True)
class Spread:
    """Throughputs (columns/s) of the timed passes of one engine, in round order."""

    rates: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def __str__(self) -> str:
        return f"{self.median:.1f} ({min(self.rates):.1f}–{max(self.rates):.1f})"


def interleaved(passes: dict[str, Callable[[], list]], n_columns: int, rounds: int,
                clock: Callable[[], float] = time.perf_counter) -> tuple[dict[str, list], dict[str, Spread]]:
    """Each pass once untimed (warm-up), then once per round in turn (A, B, A, B, …), each timed whole: the
    predictions of the last round and the columns/s of every round, per pass."""
    for run in passes.values():
        run()
    rates: dict[str, list[float]] = {name: [] for name in passes}
    predictions: dict[str, list] = {}
    for _ in range(rounds):
        for name, run in passes.items():
            start = clock()
            predictions[name] = run()
            rates[name].append(n_columns / (clock() - start))
    return predictions, {name: Spread(tuple(values)) for name, values in rates.items()}


def ratio(faster: Spread, slower: Spread) -> tuple[float, float, float]:
    """The ratio of the medians, and the lowest and highest ratio of two passes of the same round."""
    per_round = [a / b for a, b in zip(faster.rates, slower.rates, strict=True)]
    return faster.median / slower.median, min(per_round), max(per_round)


def _racine_pass(columns: Sequence) -> Callable[[], list]:
    def run():
        return [p.classification if p else None for p in (detect_column(c.sample) for c in columns)]
    return run


def _presidio_pass(analyzer, columns: Sequence, use_name: bool) -> Callable[[], list]:
    from bench.detection.presidio_runner import classify_column

    def run():
        return [classify_column(analyzer, c.sample.column_name, c.sample.values, use_name=use_name) for c in columns]
    return run


def _fmt(c: Counts) -> str:
    return f"{c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {c.tp} | {c.fp} | {c.fn}"


def _machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    try:
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except StopIteration:
        model = platform.processor() or "unknown"
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-presidio", action="store_true", help="skip the Presidio comparison")
    parser.add_argument("--update-docs", action="store_true", help="replace '## Detection' in docs/benchmarks.md")
    parser.add_argument("--misses", action="store_true", help="list every column Racine got wrong")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes of each engine, interleaved (default 5)")
    parser.add_argument("--note", default="", help="a remark printed beside the figures (e.g. the machine's load)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    columns = build_corpus()
    hidden = hide_names(columns)
    runs = {"names": columns, "names hidden": hidden}
    analyzer = None
    if not args.no_presidio:
        from bench.detection.presidio_runner import SUPPORTED, build_analyzer

        analyzer = build_analyzer()
    lines: list[str] = []
    out = lines.append
    out("## Detection")
    out("")
    load_before = os.getloadavg()[0]
    out(f"- Machine: {_machine()}")
    out(f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    out(f"- Command: `python -m bench.detection.run --update-docs --rounds {args.rounds}`")
    n_labelled = sum(c.expected is not None for c in columns)
    out(f"- Corpus: `bench/detection/corpus.py` (seed fixed): {len(columns)} columns × {VALUES_PER_COLUMN} values, "
        f"{n_labelled} labelled with {len({c.expected for c in columns} - {None})} classifications, "
        f"{len(columns) - n_labelled} expected None (hard negatives). Run twice: real-looking column names, "
        "and every column renamed `c1`, `c2`, …")
    out("- Scoring is column by column; a wrong-class prediction is a FP for the predicted class and a FN for the "
        "expected one. Throughput is columns/s at 100 values per column, single process: each engine makes "
        f"{args.rounds} whole passes over the corpus after an untimed warm-up, interleaved (Racine, Presidio, "
        "Racine, …) so both see the same load; shown as the median (min–max) of the passes.")
    if analyzer is not None:
        out("- Presidio: `AnalyzerEngine` with pattern recognizers only over `spacy.blank(\"en\")` (no model); "
            "each value analysed separately (column-name tokens passed as context in the names run), a column "
            "takes the entity found on ≥ 50 % of its non-null values. Presidio is scored only on the "
            f"{len(SUPPORTED)} classifications its recognizers map to; Racine is shown on that same subset too.")
    out("- Engine notes: one classification per national identifier, `NATIONAL_ID.<ISO country>_<identifier>` "
        "(`NATIONAL_ID.US_SSN`, `NATIONAL_ID.FR_NIR`, …); custom rules that match take precedence over built-ins "
        "(`DetectionSettings.custom_rules_take_precedence`); defaults: value-only share ≥ 0.8, with a name signal "
        "≥ 0.6, plausible share ≥ 0.7, min confidence 0.5. Bare hex digests count as password hashes without "
        "a name only under an opaque name in a table of people or accounts (`TableContext`); glued names "
        "(`BILLINGPOSTALCODE`) are split into known words before matching; the names-hidden "
        "false positive is the corpus's Gravatar md5 column in `users`, which that rule cannot tell apart. "
        "The corpus is generated by the project and the "
        "engine's rules are general (no corpus-specific name lists), but perfect scores on a self-made corpus "
        "overstate real-world accuracy; expect lower figures on public sample databases.")
    out("")
    summary = []
    for label, cols in runs.items():
        passes = {"racine": _racine_pass(cols)}
        if analyzer is not None:
            passes["presidio"] = _presidio_pass(analyzer, cols, use_name=(label == "names"))
        predictions, spreads = interleaved(passes, len(cols), args.rounds)
        preds = predictions["racine"]
        pairs = [(c.expected, p) for c, p in zip(cols, preds, strict=True)]
        per, total = score(pairs)
        value_per, value_total = score(pairs, VALUE_DETECTABLE)
        row = {"run": label, "racine": total, "racine_rate": spreads["racine"], "racine_value": value_total,
               "per": per, "value_per": value_per}
        if analyzer is not None:
            ppreds = predictions["presidio"]
            _, ptotal = score([(c.expected, p) for c, p in zip(cols, ppreds, strict=True)], set(SUPPORTED))
            _, rsub = score(pairs, set(SUPPORTED))
            row.update(presidio=ptotal, presidio_rate=spreads["presidio"], racine_sub=rsub)
        summary.append(row)
        out(f"### Racine per classification — {label}")
        out("")
        out("| classification | precision | recall | F1 | TP | FP | FN |")
        out("|---|---|---|---|---|---|---|")
        for name in sorted(per):
            out(f"| {name} | {_fmt(per[name])} |")
        out(f"| **overall** | {_fmt(total)} |")
        out("")
        if args.misses:
            for c, p in zip(cols, preds, strict=True):
                if p != c.expected:
                    print(f"MISS [{label}] {c.sample.table_name}.{c.sample.column_name} expected={c.expected} got={p}",
                          file=sys.stderr)
    out("### Summary")
    out("")
    out("| run | engine | scope | precision | recall | F1 | TP | FP | FN | columns/s, median (min–max) |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    for row in summary:
        out(f"| {row['run']} | Racine | all classifications | {_fmt(row['racine'])} | {row['racine_rate']} |")
        out(f"| {row['run']} | Racine | value-detectable classes | {_fmt(row['racine_value'])} | |")
        if "presidio" in row:
            out(f"| {row['run']} | Racine | Presidio-supported classes | {_fmt(row['racine_sub'])} | |")
            out(f"| {row['run']} | Presidio | Presidio-supported classes | {_fmt(row['presidio'])} | "
                f"{row['presidio_rate']} |")
    out("")
    if analyzer is not None:
        for row in summary:
            median, low, high = ratio(row["racine_rate"], row["presidio_rate"])
            out(f"- {row['run']}: Racine's throughput is {median:.0f}× Presidio's (ratio of the medians; "
                f"{low:.0f}–{high:.0f}× between the two passes of a round).")
    out(f"- Load average (1 min) at the start and the end of the run: {load_before:.2f} / {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores.{' ' + args.note if args.note else ''}")
    out("")
    out("### Targets (issue 5), from this run")
    out("")
    for verdict in _verdicts(summary):
        out(f"- {verdict}")
    text = "\n".join(lines) + "\n"
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "detection.md").write_text(text)
    if args.update_docs:
        _update_docs(ROOT / "docs" / "benchmarks.md", text)
    return 0


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _verdicts(summary: list[dict]) -> list[str]:
    """The acceptance lines of issue 5 that this corpus measures, each with its figure and verdict."""
    named, hidden = summary
    total = named["racine"]
    weakest = min(named["per"].items(), key=lambda item: item[1].f1)
    verdicts = [
        f"precision ≥ 0.97 and recall ≥ 0.93 overall (names): {total.precision:.3f} / {total.recall:.3f} — "
        f"{_met(total.precision >= 0.97 and total.recall >= 0.93)}",
        f"no classification below 0.85 F1 (names): lowest {weakest[0]} {weakest[1].f1:.3f} — "
        f"{_met(weakest[1].f1 >= 0.85)}",
    ]
    if "presidio" in named:
        verdicts.append(f"F1 higher than Presidio's on its classes (names): {named['racine_sub'].f1:.3f} vs "
                        f"{named['presidio'].f1:.3f} — {_met(named['racine_sub'].f1 > named['presidio'].f1)}")
        median, low, high = ratio(named["racine_rate"], named["presidio_rate"])
        verdicts.append(f"throughput ≥ 30× Presidio's pattern-only analyzer (names): {median:.0f}× "
                        f"({low:.0f}–{high:.0f}× per round) — {_met(median >= 30)}")
    below = {name: counts.f1 for name, counts in hidden["value_per"].items() if counts.f1 < 0.90}
    listed = ", ".join(f"{name} {f1:.3f}" for name, f1 in sorted(below.items())) or "none"
    verdicts.append(f"names hidden, every value-detectable classification F1 ≥ 0.90: below it: {listed} — "
                    f"{_met(not below)}")
    return verdicts


def _update_docs(path: Path, section: str) -> None:
    """Replace the '## Detection' section (up to the next '## ' heading), keeping every other section."""
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"^## Detection\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: section + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    path.write_text(updated)


if __name__ == "__main__":
    raise SystemExit(main())
