"""cleanlab's label-issue methods on the miner's inputs: the comparison our ranking is judged
against (``truth_eval``) and, with ``mine.method``, an alternative miner.  Truth-free.

cleanlab is given exactly the miner's inputs: the cross-fitted artifact scores s of every
member as pred_probs [P(label 0), P(label 1)] = [1 - s, s].

* find_label_issues (filter_by prune_by_noise_rate, both, confident_learning) takes one
  pred_probs matrix, the mean of the members'.  It returns a flagged mask; to rank every
  sample (needed for AUPRC and a budget cut) flagged samples come first, each group
  ordered by self-confidence (low P(given label) = more suspicious):
  suspicion = flagged + (1 - P(given label)).
* get_label_quality_ensemble_scores (method self_confidence, normalized_margin) takes the
  member list and returns a label quality in [0, 1], low = suspicious; suspicion =
  1 - quality (same order as the negated quality, kept in [0, 1]).  Members are weighted
  by cleanlab's default ("accuracy").
"""

from __future__ import annotations

import numpy as np

from realbogus.mining._inputs import check_given_labels, check_member_scores

FIND_LABEL_ISSUES_FILTERS: tuple[str, ...] = ("prune_by_noise_rate", "both", "confident_learning")
ENSEMBLE_QUALITY_METHODS: tuple[str, ...] = ("self_confidence", "normalized_margin")
CLEANLAB_METHODS: tuple[str, ...] = (
    *(f"cleanlab_find_label_issues_{filter_by}" for filter_by in FIND_LABEL_ISSUES_FILTERS),
    *(f"cleanlab_ensemble_{method}" for method in ENSEMBLE_QUALITY_METHODS),
)


def member_pred_probs(*, member_scores: np.ndarray) -> list[np.ndarray]:
    """One (N, 2) pred_probs matrix per member: columns [P(label 0), P(label 1)] = [1 - s, s]."""
    scores = check_member_scores(member_scores, n_samples=np.asarray(member_scores).shape[0])
    as_float64 = scores.astype(np.float64)
    return [np.column_stack([1.0 - as_float64[:, member], as_float64[:, member]]) for member in range(scores.shape[1])]


def cleanlab_suspicion(
    *, given_labels: np.ndarray, member_scores: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """cleanlab's five methods on the miner's inputs: method -> (suspicion (N,), flagged (N,) bool or None).

    given_labels: (N,) 0/1.  member_scores: (N, M) cross-fitted artifact scores.  See the
    module docstring for how each label-quality output becomes a suspicion score.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_ensemble_scores

    labels = check_given_labels(given_labels)
    scores = check_member_scores(member_scores, n_samples=labels.shape[0])
    per_member = member_pred_probs(member_scores=scores)
    mean_pred_probs = np.mean(per_member, axis=0)
    self_confidence = mean_pred_probs[np.arange(labels.shape[0]), labels]
    methods: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for filter_by in FIND_LABEL_ISSUES_FILTERS:
        # n_jobs=1: the multiprocessing pool costs more than it saves for two classes.
        flagged = np.asarray(find_label_issues(labels, mean_pred_probs, filter_by=filter_by, n_jobs=1), dtype=bool)
        methods[f"cleanlab_find_label_issues_{filter_by}"] = (flagged + (1.0 - self_confidence), flagged)
    for method in ENSEMBLE_QUALITY_METHODS:
        quality = get_label_quality_ensemble_scores(labels, per_member, method=method, verbose=False)
        methods[f"cleanlab_ensemble_{method}"] = (1.0 - np.asarray(quality, dtype=np.float64), None)
    return methods
