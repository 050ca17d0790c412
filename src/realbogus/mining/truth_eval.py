"""How well a suspicion ranking finds the injected mislabels, and the same for cleanlab.

Only this module reads ground truth (simulated data knows which labels are wrong); the
miner (``ranking``, ``tables``, ``gallery``) never does.

Every method is reduced to one *suspicion* score per sample (higher = label more likely
wrong) and judged the same way:

* auprc: average precision of the suspicion score for "given label is wrong";
* precision / recall at the budget: the ``budget`` most suspicious samples are the ones a
  person would review (equal scores broken by row index, as in ``ranking.rank_order``);
* recall at a target precision (default 0.9): the largest recall of any cut of the ranking
  whose precision is at least the target, and the cut size that reaches it;
* for cleanlab's ``find_label_issues`` also its own flagged set (n_flagged,
  precision_flagged, recall_flagged), which ignores the budget.

Split by direction (subset = samples with that given label; "given0_true1": labelled
non-artifact but truly an artifact, "given1_true0" the reverse) and by mislabel mechanism
(subset = the correctly labelled samples plus that mechanism's mislabels, so precision and
AUPRC say how well that mechanism is told apart from correct labels; recall counts that
mechanism's mislabels found).

cleanlab's methods (:mod:`realbogus.mining.cleanlab_methods`) get exactly the miner's inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from realbogus.metrics import DEFAULT_INTERVAL_LEVEL, DEFAULT_RESAMPLES, percentile_interval, stratified_bootstrap_rows
from realbogus.mining._inputs import check_given_labels, check_rank_score, check_rows
from realbogus.mining.cleanlab_methods import (  # noqa: F401 -- CLEANLAB_METHODS and the rest stay importable here
    CLEANLAB_METHODS,
    ENSEMBLE_QUALITY_METHODS,
    FIND_LABEL_ISSUES_FILTERS,
    cleanlab_suspicion,
    member_pred_probs,
)
from realbogus.mining.ranking import rank_order

CORRECT_MECHANISM = "none"
DIRECTIONS: dict[str, int] = {"given0_true1": 0, "given1_true0": 1}  # name -> given label
OUR_METHOD = "ensemble_disagreement"


@dataclass(frozen=True)
class Truth:
    """Checked ground truth of N samples.

    true_labels: (N,) 0/1.  mechanism: (N,) str, why the given label is wrong, "none"
    where it is right.  is_mislabelled: (N,) bool, given label != true label.
    """

    true_labels: np.ndarray
    mechanism: np.ndarray
    is_mislabelled: np.ndarray


def check_truth(*, given_labels: np.ndarray, true_labels: np.ndarray, mechanism: Sequence[str] | np.ndarray) -> Truth:
    """Check the truth against the given labels: a mechanism must name every mislabel
    and only mislabels ("none" exactly where given == true)."""
    given = check_given_labels(given_labels)
    truth = check_given_labels(true_labels, name="true_labels")
    if truth.shape != given.shape:
        raise ValueError(f"true_labels: {truth.shape[0]} values, expected one per sample ({given.shape[0]})")
    mechanisms = np.asarray(mechanism)
    if mechanisms.shape != given.shape or mechanisms.dtype.kind not in "UO":
        raise ValueError(
            f"mechanism: expected ({given.shape[0]},) strings, got shape {mechanisms.shape}, dtype {mechanisms.dtype}"
        )
    mechanisms = mechanisms.astype(str)
    is_mislabelled = given != truth
    inconsistent = np.flatnonzero(is_mislabelled == (mechanisms == CORRECT_MECHANISM))
    if inconsistent.size:
        row = int(inconsistent[0])
        raise ValueError(
            f"mechanism: row {row} has given label {given[row]}, true label {truth[row]} and mechanism "
            f"{str(mechanisms[row])!r}; expected {CORRECT_MECHANISM!r} exactly where the labels agree "
            f"({inconsistent.size} inconsistent row(s))"
        )
    return Truth(true_labels=truth, mechanism=mechanisms, is_mislabelled=is_mislabelled)


def _subset_scores(
    *, suspicion: np.ndarray, positive: np.ndarray, in_subset: np.ndarray, selected: np.ndarray
) -> dict[str, float | int]:
    """AUPRC and at-budget numbers on one subset of samples (bool masks, all (N,))."""
    n_positive = int((positive & in_subset).sum())
    n_selected = int((selected & in_subset).sum())
    n_found = int((selected & positive & in_subset).sum())
    has_both = 0 < n_positive < int(in_subset.sum())
    auprc = average_precision_score(positive[in_subset], suspicion[in_subset]) if has_both else np.nan
    return {
        "n_mislabelled": n_positive,
        "n_selected": n_selected,
        "n_found": n_found,
        "auprc": float(auprc),
        "precision_at_budget": n_found / n_selected if n_selected else float("nan"),
        "recall_at_budget": n_found / n_positive if n_positive else float("nan"),
    }


def _recall_at_precision(*, suspicion: np.ndarray, positive: np.ndarray, target_precision: float) -> tuple[float, int]:
    """(largest recall of a ranking cut with precision >= target, that cut's size)."""
    n_positive = int(positive.sum())
    if n_positive == 0:
        return float("nan"), 0
    found = np.cumsum(positive[rank_order(rank_score=suspicion)])
    cut_sizes = np.arange(1, found.size + 1)
    good_enough = np.flatnonzero(found / cut_sizes >= target_precision)
    if good_enough.size == 0:
        return 0.0, 0
    best = good_enough[np.argmax(found[good_enough])]  # first cut reaching the best recall
    return float(found[best] / n_positive), int(cut_sizes[best])


def evaluate_suspicion(
    *,
    suspicion: np.ndarray,
    given_labels: np.ndarray,
    true_labels: np.ndarray,
    mechanism: Sequence[str] | np.ndarray,
    budget: int,
    flagged: np.ndarray | None = None,
    target_precision: float = 0.9,
) -> pd.DataFrame:
    """Tidy evaluation of one suspicion ranking: one row per subset.

    suspicion: (N,) higher = given label more likely wrong.  given_labels, true_labels:
    (N,) 0/1.  mechanism: (N,) str ("none" where the label is right).  budget: how many
    of the most suspicious samples are reviewed.  flagged: optional (N,) bool, a method's
    own flagged set.  Rows: subset_kind "all" (subset "all"), "direction" (given0_true1,
    given1_true0), "mechanism" (each mislabel mechanism, sorted).  Columns: subset_kind,
    subset, n_mislabelled, n_selected, n_found, auprc, precision_at_budget,
    recall_at_budget, and on the "all" row also recall_at_target_precision,
    cut_at_target_precision, n_flagged, precision_flagged, recall_flagged.
    """
    given = check_given_labels(given_labels)
    truth = check_truth(given_labels=given, true_labels=true_labels, mechanism=mechanism)
    score = check_rank_score(suspicion, n_samples=given.shape[0], name="suspicion")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 0:
        raise ValueError(f"budget must be a non-negative integer number of samples, got {budget!r}")
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f"target_precision must be in (0, 1], got {target_precision}")
    selected = np.zeros(given.shape[0], dtype=bool)
    selected[rank_order(rank_score=score)[: int(budget)]] = True
    positive = truth.is_mislabelled
    everything = np.ones_like(selected)

    overall = {"subset_kind": "all", "subset": "all"}
    overall.update(_subset_scores(suspicion=score, positive=positive, in_subset=everything, selected=selected))
    recall, cut = _recall_at_precision(suspicion=score, positive=positive, target_precision=target_precision)
    overall.update(
        {"target_precision": target_precision, "recall_at_target_precision": recall, "cut_at_target_precision": cut}
    )
    if flagged is not None:
        flags = np.asarray(flagged)
        if flags.shape != given.shape or flags.dtype != bool:
            raise ValueError(
                f"flagged: expected a ({given.shape[0]},) bool mask, got shape {flags.shape}, dtype {flags.dtype}"
            )
        n_flagged, n_flagged_right = int(flags.sum()), int((flags & positive).sum())
        overall.update(
            {
                "n_flagged": n_flagged,
                "precision_flagged": n_flagged_right / n_flagged if n_flagged else float("nan"),
                "recall_flagged": n_flagged_right / int(positive.sum()) if positive.any() else float("nan"),
            }
        )
    records = [overall]
    for direction, direction_label in DIRECTIONS.items():
        record = {"subset_kind": "direction", "subset": direction}
        in_subset = given == direction_label
        record.update(_subset_scores(suspicion=score, positive=positive, in_subset=in_subset, selected=selected))
        records.append(record)
    correct = truth.mechanism == CORRECT_MECHANISM
    for mechanism_name in sorted(set(truth.mechanism[~correct].tolist())):
        of_mechanism = truth.mechanism == mechanism_name
        record = {"subset_kind": "mechanism", "subset": mechanism_name}
        in_subset = correct | of_mechanism
        record.update(_subset_scores(suspicion=score, positive=of_mechanism, in_subset=in_subset, selected=selected))
        records.append(record)
    return pd.DataFrame.from_records(records)


def _wide_row(method: str, evaluation: pd.DataFrame) -> dict[str, object]:
    """One method's tidy evaluation as one flat record: overall columns, then
    ``<metric>[<kind>=<subset>]`` for each direction and mechanism."""
    overall = evaluation[evaluation["subset_kind"] == "all"].iloc[0].drop(["subset_kind", "subset"])
    record: dict[str, object] = {"method": method, **overall.to_dict()}
    for _, row in evaluation[evaluation["subset_kind"] != "all"].iterrows():
        for metric in ("n_mislabelled", "n_selected", "n_found", "auprc", "precision_at_budget", "recall_at_budget"):
            record[f"{metric}[{row['subset_kind']}={row['subset']}]"] = row[metric]
    return record


def compare_with_cleanlab(
    *,
    rank_score: np.ndarray,
    given_labels: np.ndarray,
    member_scores: np.ndarray,
    true_labels: np.ndarray,
    mechanism: Sequence[str] | np.ndarray,
    budget: int,
    target_precision: float = 0.9,
    our_flagged: np.ndarray | None = None,
    our_method: str = OUR_METHOD,
    pool: np.ndarray | None = None,
    cleanlab_scores: Mapping[str, tuple[np.ndarray, np.ndarray | None]] | None = None,
) -> pd.DataFrame:
    """Our ranking and cleanlab's five methods, judged alike; one row per method.

    rank_score: (N,) our ensemble-disagreement score.  given_labels: (N,) 0/1.
    member_scores: (N, M) the cross-fitted artifact scores both methods get.
    true_labels: (N,) 0/1.  mechanism: (N,) str.  budget: review budget.  our_flagged:
    optional (N,) bool flagged set of ours (e.g. at least one strong vote).  our_method:
    the first row's name (the miner's ``mine.method``).  pool: optional (N,) bool, the
    samples a review round may choose from (not reviewed before): every method scores all
    N samples (cleanlab estimates its thresholds on all of them) and is judged on the pool
    only, where the labels are still the release's (``true_labels`` and ``mechanism``
    need to agree with ``given_labels`` there only).  cleanlab_scores: ``cleanlab_suspicion``'s
    result for these inputs, if the caller already has it (it is not computed again).
    Columns: method (``our_method`` first, then ``CLEANLAB_METHODS``), the overall
    numbers of ``evaluate_suspicion`` (auprc, precision_at_budget, recall_at_budget,
    recall_at_target_precision, cut_at_target_precision, n_flagged, precision_flagged,
    recall_flagged, ...), and ``<metric>[direction=...]`` / ``<metric>[mechanism=...]``.
    """
    methods: list[tuple[str, np.ndarray, np.ndarray | None]] = [(our_method, rank_score, our_flagged)]
    if cleanlab_scores is None:
        cleanlab_scores = cleanlab_suspicion(given_labels=given_labels, member_scores=member_scores)
    methods += [(name, suspicion, flagged) for name, (suspicion, flagged) in cleanlab_scores.items()]
    chosen = np.ones(len(rank_score), dtype=bool) if pool is None else np.asarray(pool, dtype=bool)
    if chosen.shape != (len(rank_score),):
        raise ValueError(f"pool: expected a ({len(rank_score)},) bool mask, got shape {chosen.shape}")
    records = []
    for method, suspicion, flagged in methods:
        evaluation = evaluate_suspicion(
            suspicion=np.asarray(suspicion)[chosen],
            given_labels=np.asarray(given_labels)[chosen],
            true_labels=np.asarray(true_labels)[chosen],
            mechanism=np.asarray(mechanism)[chosen],
            budget=budget,
            flagged=None if flagged is None else np.asarray(flagged)[chosen],
            target_precision=target_precision,
        )
        records.append(_wide_row(method, evaluation))
    return pd.DataFrame.from_records(records)


class _RankedForResampling:
    """One ranking sorted once, so that its AUPRC on any bootstrap resample, given as how
    often each sample was drawn, costs two cumulative sums instead of a sort."""

    def __init__(self, *, positive: np.ndarray, score: np.ndarray) -> None:
        self.order = np.argsort(-score, kind="mergesort")
        ranked = score[self.order]
        # The last position of each run of equal scores: ties are one threshold, as in sklearn.
        self.group_ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), ranked.size - 1]
        self.positive = positive[self.order].astype(np.float64)

    def average_precision(self, counts: np.ndarray) -> float:
        """``sklearn.metrics.average_precision_score`` of the resample that drew sample i
        ``counts[i]`` times: the sum over thresholds of (recall step) x precision."""
        drawn = counts[self.order].astype(np.float64)
        true_positives = np.cumsum(drawn * self.positive)[self.group_ends]
        selected = np.cumsum(drawn)[self.group_ends]
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(selected > 0, true_positives / selected, 0.0)
        recall = true_positives / true_positives[-1]
        return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def auprc_margin_interval(*, is_mislabelled: np.ndarray, ours: np.ndarray, theirs: np.ndarray,
                          level: float = DEFAULT_INTERVAL_LEVEL, resamples: int = DEFAULT_RESAMPLES,
                          seed: int = 0) -> tuple[float, float] | None:
    """(low, high): interval of AUPRC(ours) - AUPRC(theirs) from the sampling of the samples
    judged, or None when they hold no mislabelled sample or no correct one.

    A paired, stratified bootstrap: each resample draws the mislabelled and the correctly
    labelled samples with replacement (as many of each as there are), and both rankings are
    judged on the same resample, so what the two share (the hard samples both rank high)
    cancels and the interval is that of the margin itself.
    """
    positive = np.asarray(is_mislabelled, dtype=bool)
    if positive.all() or not positive.any():
        return None
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if not ours.shape == theirs.shape == positive.shape:
        raise ValueError(f"is_mislabelled, ours and theirs must have one entry per sample; got shapes "
                         f"{positive.shape}, {ours.shape}, {theirs.shape}")
    if not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise ValueError(f"resamples must be a whole number >= 1; got {resamples!r}")
    rankings = [_RankedForResampling(positive=positive, score=score) for score in (ours, theirs)]
    rng = np.random.default_rng(seed)
    margins = np.empty(resamples)
    for k in range(resamples):
        counts = np.bincount(stratified_bootstrap_rows(positive, rng=rng), minlength=positive.size)
        margins[k] = rankings[0].average_precision(counts) - rankings[1].average_precision(counts)
    low, high = percentile_interval(margins, level=level)
    return float(low), float(high)


def truth_annotations(
    *, rows: np.ndarray, given_labels: np.ndarray, true_labels: np.ndarray, mechanism: Sequence[str] | np.ndarray
) -> list[str]:
    """One line per candidate row saying what the truth says of it, for the gallery's
    ``annotations``: "truth 0: MISLABELLED (bad_ccd)" or "truth 1: label correct"."""
    truth = check_truth(given_labels=given_labels, true_labels=true_labels, mechanism=mechanism)
    selected = check_rows(rows, n_samples=truth.true_labels.shape[0])
    lines = []
    for row in selected:
        if truth.is_mislabelled[row]:
            lines.append(f"truth {truth.true_labels[row]}: MISLABELLED ({truth.mechanism[row]})")
        else:
            lines.append(f"truth {truth.true_labels[row]}: label correct")
    return lines


def comparison_as_records(comparison: pd.DataFrame) -> list[Mapping[str, object]]:
    """``compare_with_cleanlab``'s table as JSON-ready records (NaN -> None)."""

    def plain(value: object) -> object:
        if isinstance(value, np.generic):
            value = value.item()
        return None if isinstance(value, float) and np.isnan(value) else value

    return [{key: plain(value) for key, value in record.items()} for record in comparison.to_dict(orient="records")]
