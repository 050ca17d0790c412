"""Rank samples by how likely their given label is wrong, from cross-fitted ensemble scores.

The paper's finding (Ayyar et al. 2022, section 5): samples that several independently
trained models *strongly* mis-classify (category 1: labelled artifact, score < 0.1;
category 6: labelled non-artifact, score >= 0.9) are mostly mislabelled.  The ranking score
turns that into one float per sample, higher = more suspicious:

    disagreement d_ij = s_ij if given label is 0 else 1 - s_ij        (in [0, 1])
    strong_ij         = 1 if member j puts sample i in category 1 or 6 else 0
    w_j               = member quality from cross-fitted AUC against the *given* labels,
                        max(2 AUC_j - 1, 0), rescaled to mean 1 over members
    mean_disagreement_i = sum_j w_j d_ij / sum_j w_j                   (in [0, 1])

Two rankings, chosen by ``rank_by``:

* "strong_votes" (the paper's reading): rank_score_i = sum_j w_j strong_ij +
  mean_disagreement_i, the (quality-weighted) number of members that strongly disagree
  with the given label first, the margin ordering samples with the same strong votes.
  With equal weights the order is exactly "count first, then margin".
* "mean" (the default): rank_score_i = mean_disagreement_i alone.  On the pipeline's own
  cross-fitted forest + CNN scores it ranked the injected mislabels better (AUPRC 0.78
  vs 0.74 on the default simulated release, 0.74 vs 0.71 at 1% noise, 0.78 vs 0.72 at 3%;
  benchmarks/bench_mining.py, docs/mining.md): the strong-vote count is a coarse step
  that lets a sample two members doubt at 0.91 jump ahead of one they doubt at 0.99 and
  0.89.  It is the same information the count uses, without the step.

A member no better than chance gets weight 0 and is ignored.

The scores must be cross-fitted (from a model that never trained on the sample): a model
scoring its own training data has memorised the given labels and agrees with the errors.
Nothing here reads ground truth; every function takes only given labels and scores.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from realbogus.atomic import atomic_path
from realbogus.mining._categories import STRONG_DISAGREEMENT, member_categories
from realbogus.mining._inputs import (
    check_given_labels,
    check_ids,
    check_member_names,
    check_member_scores,
    check_rank_score,
    check_rows,
)

MemberWeighting = Literal["auc", "equal"]
MEMBER_WEIGHTINGS: tuple[str, ...] = ("auc", "equal")
RankBy = Literal["mean", "strong_votes"]
RANK_BY: tuple[str, ...] = ("mean", "strong_votes")

# candidates.csv: fixed leading columns, then score_<member> for every member, then
# cat_<member> for every member (the review page reads these names).
CANDIDATE_LEADING_COLUMNS: tuple[str, ...] = ("id", "row", "given_label", "rank", "rank_score")
SCORE_COLUMN_PREFIX = "score_"
CATEGORY_COLUMN_PREFIX = "cat_"
# Six decimals resolve every category boundary (0.1, 0.5, 0.9) and keep the file stable.
CSV_FLOAT_FORMAT = "%.6f"


@dataclass(frozen=True)
class DisagreementRanking:
    """The ranking score and the parts it is made of.

    rank_score: (N,) float, higher = given label more likely wrong.
    strong_votes: (N,) int, number of members placing the sample in category 1 or 6.
    weighted_strong_votes: (N,) float, the same count with each member's quality weight.
    mean_disagreement: (N,) float in [0, 1], quality-weighted mean of d_ij.
    member_auc: (M,) float, each member's cross-fitted AUC against the given labels
        (artifact = positive class here, since the scores are artifact scores); NaN when
        the weighting did not need it.
    member_weights: (M,) float, the weights used, mean 1 over members.
    """

    rank_score: np.ndarray
    strong_votes: np.ndarray
    weighted_strong_votes: np.ndarray
    mean_disagreement: np.ndarray
    member_auc: np.ndarray
    member_weights: np.ndarray


def label_disagreement(*, given_labels: np.ndarray, member_scores: np.ndarray) -> np.ndarray:
    """(N, M) float in [0, 1]: how far each member's artifact score is from the given label.

    given_labels: (N,) 0/1 (1 = artifact).  member_scores: (N, M) artifact scores.
    0 = the member fully agrees with the given label, 1 = it fully contradicts it.
    """
    labels = check_given_labels(given_labels)
    scores = check_member_scores(member_scores, n_samples=labels.shape[0])
    as_float64 = scores.astype(np.float64)
    return np.where((labels == 1)[:, None], 1.0 - as_float64, as_float64)


def member_quality_weights(
    *, given_labels: np.ndarray, member_scores: np.ndarray, weighting: MemberWeighting = "auc"
) -> tuple[np.ndarray, np.ndarray]:
    """(weights (M,), auc (M,)): how much each member's vote counts, and its AUC.

    weighting "auc": w_j = max(2 AUC_j - 1, 0) (the Gini coefficient), where AUC_j is the
    member's AUC against the *given* labels on its cross-fitted scores.  Label noise lowers
    every member's AUC alike, so the weights still order members by quality; a member at
    or below chance gets 0.  "equal": every member counts 1.  Weights are rescaled to mean
    1, so the weighted strong-vote count reads as a number of members.
    """
    labels = check_given_labels(given_labels)
    scores = check_member_scores(member_scores, n_samples=labels.shape[0])
    n_members = scores.shape[1]
    if weighting not in MEMBER_WEIGHTINGS:
        raise ValueError(f"weighting must be one of {MEMBER_WEIGHTINGS}, got {weighting!r}")
    if weighting == "equal":
        return np.ones(n_members), np.full(n_members, np.nan)
    if np.unique(labels).size < 2:
        raise ValueError(
            "member weighting 'auc' needs both given labels (0 and 1) present to compute each "
            "member's AUC; use weighting='equal' for a single-class sample set"
        )
    auc = np.array([roc_auc_score(labels, scores[:, member]) for member in range(n_members)])
    raw = np.clip(2.0 * auc - 1.0, 0.0, None)
    if not (raw > 0).any():
        raise ValueError(
            f"no ensemble member beats chance against the given labels (AUC per member: "
            f"{np.round(auc, 4).tolist()}); are the scores artifact scores (1 = artifact)?"
        )
    return raw * (n_members / raw.sum()), auc


def disagreement_ranking(
    *, given_labels: np.ndarray, member_scores: np.ndarray, weighting: MemberWeighting = "auc",
    rank_by: RankBy = "mean",
) -> DisagreementRanking:
    """The ensemble-disagreement ranking of N samples (see the module docstring).

    given_labels: (N,) int 0/1, 1 = artifact.  member_scores: (N, M) cross-fitted artifact
    scores, one column per ensemble member.  weighting: "auc" or "equal".  rank_by:
    "mean" or "strong_votes".
    """
    if rank_by not in RANK_BY:
        raise ValueError(f"rank_by must be one of {RANK_BY}, got {rank_by!r}")
    labels = check_given_labels(given_labels)
    scores = check_member_scores(member_scores, n_samples=labels.shape[0])
    weights, auc = member_quality_weights(given_labels=labels, member_scores=scores, weighting=weighting)
    disagreement = label_disagreement(given_labels=labels, member_scores=scores)
    categories = member_categories(given_labels=labels, member_scores=scores)
    strong_category = np.where(labels == 1, STRONG_DISAGREEMENT[1], STRONG_DISAGREEMENT[0])
    strong = categories == strong_category[:, None]
    weighted_strong_votes = strong.astype(np.float64) @ weights
    mean_disagreement = disagreement @ weights / weights.sum()
    return DisagreementRanking(
        rank_score=weighted_strong_votes + mean_disagreement if rank_by == "strong_votes" else mean_disagreement,
        strong_votes=strong.sum(axis=1).astype(np.int64),
        weighted_strong_votes=weighted_strong_votes,
        mean_disagreement=mean_disagreement,
        member_auc=auc,
        member_weights=weights,
    )


def ensemble_rank_score(
    *, given_labels: np.ndarray, member_scores: np.ndarray, weighting: MemberWeighting = "auc",
    rank_by: RankBy = "mean",
) -> np.ndarray:
    """(N,) float ranking score, higher = given label more likely wrong (module docstring)."""
    return disagreement_ranking(
        given_labels=given_labels, member_scores=member_scores, weighting=weighting, rank_by=rank_by
    ).rank_score


def rank_order(*, rank_score: np.ndarray) -> np.ndarray:
    """(N,) row indices from most to least suspicious.

    Equal scores are broken by row index, lowest first, so the order (and every file made
    from it) is the same on every run and platform.
    """
    score = check_rank_score(rank_score)
    # lexsort sorts by the last key first: descending score, then ascending row.
    return np.lexsort((np.arange(score.shape[0]), -score)).astype(np.int64)


def select_candidates(*, rank_score: np.ndarray, budget: int, min_rank_score: float | None = None) -> np.ndarray:
    """(K,) row indices of the review candidates, most suspicious first, K <= budget.

    budget: how many samples a person can review (>= 0); fewer are returned when there
    are fewer samples, or fewer with ``rank_score >= min_rank_score`` when that is given
    (e.g. 1.0 keeps only samples at least one member strongly disputes with equal weights).
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 0:
        raise ValueError(f"budget must be a non-negative integer number of samples, got {budget!r}")
    score = check_rank_score(rank_score)
    order = rank_order(rank_score=score)[: int(budget)]
    if min_rank_score is not None:
        order = order[score[order] >= float(min_rank_score)]
    return order


def candidate_table(
    *,
    ids: np.ndarray,
    given_labels: np.ndarray,
    member_scores: np.ndarray,
    member_names: Sequence[str],
    rank_score: np.ndarray,
    rows: np.ndarray,
) -> pd.DataFrame:
    """The review candidates as a table, one row per candidate in the order of ``rows``.

    ids: (N,) detection IDs.  given_labels: (N,) 0/1.  member_scores: (N, M).
    member_names: (M,).  rank_score: (N,).  rows: (K,) selected row indices, most
    suspicious first (``select_candidates``).  Columns: id, row, given_label, rank (1 =
    most suspicious), rank_score, then score_<member> for every member, then cat_<member>
    (category 1..6 of the sample under that member).
    """
    labels = check_given_labels(given_labels)
    n_samples = labels.shape[0]
    detection_ids = check_ids(ids, n_samples=n_samples)
    scores = check_member_scores(member_scores, n_samples=n_samples)
    names = check_member_names(member_names, n_members=scores.shape[1])
    score = check_rank_score(rank_score, n_samples=n_samples)
    selected = check_rows(rows, n_samples=n_samples)
    categories = member_categories(given_labels=labels[selected], member_scores=scores[selected])
    columns: dict[str, np.ndarray] = {
        "id": detection_ids[selected],
        "row": selected,
        "given_label": labels[selected],
        "rank": np.arange(1, selected.size + 1, dtype=np.int64),
        "rank_score": score[selected],
    }
    for member, name in enumerate(names):
        columns[f"{SCORE_COLUMN_PREFIX}{name}"] = scores[selected, member].astype(np.float64)
    for member, name in enumerate(names):
        columns[f"{CATEGORY_COLUMN_PREFIX}{name}"] = categories[:, member].astype(np.int64)
    return pd.DataFrame(columns)


def write_candidates_csv(*, table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``candidate_table``'s output to ``path`` (candidates.csv), whole or not at all.

    Floats are written with six decimals and "\\n" line ends, so the same candidates give a
    byte-identical file on every run.
    """
    missing = [column for column in CANDIDATE_LEADING_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"candidate table lacks column(s) {missing}; build it with candidate_table()")
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n")
