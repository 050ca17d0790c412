"""Choose the alert threshold: by a target MDR, a target FPR, or a fixed value (the paper's 0.3).

A detection passes to the alert stream when ``artifact_score < threshold``.  The rule is
applied to one scored, vetted set (the survey's validation split) and the chosen
threshold is then reported on another (its test split), so the numbers are not tuned on
the data they describe.
"""

from __future__ import annotations

import dataclasses

from numpy.typing import ArrayLike

from realbogus.metrics import OperatingPoint, operating_point_at_fpr, operating_point_at_mdr, rates_at, roc_curve

RULES: tuple[str, ...] = ("mdr", "fpr", "fixed")


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """by: "mdr" (lowest FPR with MDR <= target), "fpr" (lowest MDR with FPR <= target) or
    "fixed" (threshold = target).  target: a fraction in [0, 1]."""

    by: str = "mdr"
    target: float = 0.05

    def __post_init__(self) -> None:
        if self.by not in RULES:
            raise ValueError(f"threshold rule 'by' must be one of {RULES}, got {self.by!r}")
        if not 0.0 <= float(self.target) <= 1.0:
            raise ValueError(f"threshold rule target must be in [0, 1], got {self.target!r}")

    def describe(self) -> str:
        return {"mdr": f"lowest FPR with MDR <= {self.target:g}", "fpr": f"lowest MDR with FPR <= {self.target:g}",
                "fixed": f"fixed at {self.target:g}"}[self.by]


def choose_threshold(*, labels: ArrayLike, artifact_score: ArrayLike, rule: ThresholdRule) -> OperatingPoint:
    """The operating point ``rule`` picks on (labels, artifact_score); labels 1 = artifact.

    For "mdr" / "fpr" the threshold is one of the ROC's (no interpolation) and the data
    must hold both classes; for "fixed" the rates are measured at the fixed threshold.
    """
    if rule.by == "fixed":
        rates = rates_at(labels=labels, artifact_score=artifact_score, threshold=rule.target)
        return OperatingPoint(threshold=float(rule.target), tpr=rates.tpr, fpr=rates.fpr, mdr=rates.mdr)
    curve = roc_curve(labels=labels, artifact_score=artifact_score)
    if rule.by == "mdr":
        return operating_point_at_mdr(curve=curve, mdr=rule.target)
    return operating_point_at_fpr(curve=curve, fpr=rule.target)
