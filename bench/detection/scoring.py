"""Column-by-column scoring: precision, recall and F1 per classification and overall (micro-averaged).

A prediction equal to the expected label is a TP for it. A wrong-class prediction is a FP for the predicted class
and a FN for the expected one. A prediction on a column expected to be None is a FP; no prediction on a labelled
column is a FN.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(
    pairs: list[tuple[str | None, str | None]], classes: set[str] | None = None
) -> tuple[dict[str, Counts], Counts]:
    """``pairs`` of (expected, predicted). Only ``classes`` (when given) are counted; other labels count as None."""
    per: dict[str, Counts] = defaultdict(Counts)
    for expected, predicted in pairs:
        if classes is not None:
            expected = expected if expected in classes else None
            predicted = predicted if predicted in classes else None
        if expected is not None:
            per[expected]  # noqa: B018 - every expected class gets a row even with no hit
        if predicted == expected:
            if expected is not None:
                per[expected].tp += 1
            continue
        if predicted is not None:
            per[predicted].fp += 1
        if expected is not None:
            per[expected].fn += 1
    total = Counts(sum(c.tp for c in per.values()), sum(c.fp for c in per.values()), sum(c.fn for c in per.values()))
    return dict(per), total
