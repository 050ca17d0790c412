"""The `mine` and `mine_truth` stages' work, kept apart so mining never sees the truth.

``mine_ensemble`` reads only the cross-fitted scores, the given labels and the stamps;
``evaluate_mining`` is the only place that reads the simulated truth.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.mining.gallery import write_candidate_gallery
from realbogus.mining.ranking import candidate_table, disagreement_ranking, select_candidates, write_candidates_csv
from realbogus.mining.tables import cross_member_placement, member_category_table, plot_cross_member_placement
from realbogus.stage_tables import check_stamps_in_id_order

RANKING_FILE = "ranking.parquet"
CANDIDATES_FILE = "candidates.csv"


@dataclass(frozen=True)
class EnsembleScores:
    """Cross-fitted scores of every member, aligned on ``ids`` (ascending).

    member_scores: (N, M) artifact scores; given_labels: (N,) the labels mined.
    """

    ids: np.ndarray
    given_labels: np.ndarray
    member_names: tuple[str, ...]
    member_scores: np.ndarray


def read_crossfit_scores(paths: Mapping[str, str | os.PathLike[str]]) -> EnsembleScores:
    """Read ``{member: crossfit parquet}``; all must hold the same ids and labels."""
    ids = labels = None
    columns = []
    for member, path in paths.items():
        table = pd.read_parquet(path).sort_values("id")
        if table["artifact_score"].isna().any():
            raise ValueError(f"{path}: {int(table['artifact_score'].isna().sum())} samples have no cross-fitted score")
        if ids is None:
            ids, labels = table["id"].to_numpy(), table["label"].to_numpy()
        elif not np.array_equal(ids, table["id"].to_numpy()) or not np.array_equal(labels, table["label"].to_numpy()):
            raise ValueError(f"{path}: ids or labels differ from {next(iter(paths.values()))}; re-run crossfit")
        columns.append(table["artifact_score"].to_numpy(dtype=np.float64))
    if ids is None:
        raise ValueError("no cross-fitted scores given: the ensemble has no members")
    return EnsembleScores(ids=ids, given_labels=labels.astype(np.int64), member_names=tuple(paths),
                          member_scores=np.column_stack(columns))


def mine_ensemble(*, scores: EnsembleScores, stamps: np.ndarray, rows: np.ndarray, out_dir: str | os.PathLike[str],
                  reports_dir: str | os.PathLike[str], budget: int, weighting: str = "auc", rank_by: str = "mean",
                  gallery_size: int = 24, placement_reference: Sequence[str] | None = None) -> dict[str, Any]:
    """Rank every sample by ensemble disagreement and write the candidates for review.

    rows: (N,) row of each id in ``stamps`` (for the gallery).
    Writes out_dir/ranking.parquet (id, rank_score, strong_votes, mean_disagreement),
    out_dir/candidates.csv (the top ``budget``), and under reports_dir the per-member
    category table, the cross-member placement table and plots, and the gallery.
    Returns a summary dict for tracking.
    """
    out_dir, reports_dir = Path(out_dir), Path(reports_dir)
    stamps = _stamps_by_position(stamps, rows)  # before anything is written
    ranking = disagreement_ranking(given_labels=scores.given_labels, member_scores=scores.member_scores,
                                   weighting=weighting, rank_by=rank_by)
    chosen = select_candidates(rank_score=ranking.rank_score, budget=budget)
    candidates = candidate_table(ids=scores.ids, given_labels=scores.given_labels, member_scores=scores.member_scores,
                                 member_names=scores.member_names, rank_score=ranking.rank_score, rows=chosen)
    # The review page indexes stamps.npy by `row`: use the stamp rows, not positions.
    candidates["row"] = rows[chosen]
    with atomic_path(out_dir, is_dir=True, command="mine") as temporary:
        pd.DataFrame({"id": scores.ids, "rank_score": ranking.rank_score, "strong_votes": ranking.strong_votes,
                      "mean_disagreement": ranking.mean_disagreement}).to_parquet(temporary / RANKING_FILE, index=False)
        write_candidates_csv(table=candidates, path=temporary / CANDIDATES_FILE)

    reports_dir.mkdir(parents=True, exist_ok=True)
    categories = member_category_table(given_labels=scores.given_labels, member_scores=scores.member_scores,
                                       member_names=scores.member_names)
    _write_csv(categories, reports_dir / "member_categories.csv")
    references = list(placement_reference or scores.member_names)
    placement = cross_member_placement(given_labels=scores.given_labels, member_scores=scores.member_scores,
                                       member_names=scores.member_names, reference_members=references)
    _write_csv(placement, reports_dir / "placement.csv")
    if len(scores.member_names) > 1:
        for reference in references:
            plot_cross_member_placement(placement=placement, reference_member=reference,
                                        path=reports_dir / f"placement_{reference}.png")
    write_candidate_gallery(path=reports_dir / "gallery.png", stamps=stamps,
                            rows=chosen[:gallery_size], ids=scores.ids, given_labels=scores.given_labels,
                            member_scores=scores.member_scores, member_names=scores.member_names)
    return {"n_samples": int(len(scores.ids)), "n_candidates": int(len(chosen)), "budget": int(budget),
            "candidates_given0": int((scores.given_labels[chosen] == 0).sum()),
            "candidates_given1": int((scores.given_labels[chosen] == 1).sum()),
            **{f"weight_{name}": float(weight) for name, weight in zip(scores.member_names, ranking.member_weights)},
            **{f"auc_{name}": float(value) for name, value in zip(scores.member_names, ranking.member_auc)}}


def evaluate_mining(*, scores: EnsembleScores, rank_score: np.ndarray, truth: pd.DataFrame, budget: int,
                    stamps: np.ndarray, rows: np.ndarray, reports_dir: str | os.PathLike[str],
                    gallery_size: int = 24) -> pd.DataFrame:
    """Our ranking and cleanlab's methods against the simulated truth (reads the truth).

    truth: id, true_label, mislabel_mechanism for (at least) every mined id.
    Writes reports_dir/comparison.csv and gallery_truth.png; returns the comparison.
    """
    from realbogus.mining.truth_eval import compare_with_cleanlab, truth_annotations

    reports_dir = Path(reports_dir)
    stamps = _stamps_by_position(stamps, rows)  # before anything is written
    aligned = truth.set_index("id").reindex(scores.ids)
    if aligned["true_label"].isna().any():
        raise ValueError(f"the truth table lacks {int(aligned['true_label'].isna().sum())} of the mined ids")
    true_labels = aligned["true_label"].to_numpy(dtype=np.int64)
    mechanism = aligned["mislabel_mechanism"].astype(str).to_numpy()
    comparison = compare_with_cleanlab(rank_score=rank_score, given_labels=scores.given_labels,
                                       member_scores=scores.member_scores, true_labels=true_labels,
                                       mechanism=mechanism, budget=budget)
    reports_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(comparison, reports_dir / "comparison.csv")
    top = select_candidates(rank_score=rank_score, budget=budget)[:gallery_size]
    write_candidate_gallery(path=reports_dir / "gallery_truth.png", stamps=stamps,
                            rows=top, ids=scores.ids, given_labels=scores.given_labels,
                            member_scores=scores.member_scores, member_names=scores.member_names,
                            annotations=truth_annotations(rows=top, given_labels=scores.given_labels,
                                                          true_labels=true_labels, mechanism=mechanism))
    return comparison


def _stamps_by_position(stamps: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The stamp array indexed like the mined arrays (ingest writes stamps in id order)."""
    check_stamps_in_id_order(rows=rows, n_stamps=len(stamps), where="mined ids vs stamps.npy")
    return stamps


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, lineterminator="\n", float_format="%.6g")
