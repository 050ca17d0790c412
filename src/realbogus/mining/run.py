"""The `mine` and `mine_truth` stages' work, kept apart so mining never sees the truth.

``mine_round`` (and ``mine_ensemble``, one round with no review history) reads only the
cross-fitted scores, the labels mined, the review ledger of earlier rounds, the features
and the stamps; ``evaluate_rounds`` and ``evaluate_mining`` are the only places that read
the simulated truth.
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
from realbogus.mining.cleanlab_methods import CLEANLAB_METHODS
from realbogus.mining.evidence import (
    EvidenceConfig,
    base_suspicion,
    combined_rank_score,
    difficulty_regions,
    ensemble_margin_area,
    regional_reliability,
    reliability_weighted_disagreement,
    review_context,
    review_outcome_probability,
)
from realbogus.mining.gallery import write_candidate_gallery
from realbogus.mining.ranking import (
    candidate_table,
    disagreement_ranking,
    label_disagreement,
    select_candidates,
    write_candidates_csv,
)
from realbogus.mining.rounds import CORRECTED, UNDECIDED, empty_reviews, read_round_labels, reviewed_mask
from realbogus.mining.tables import cross_member_placement, member_category_table, plot_cross_member_placement
from realbogus.stage_tables import check_stamps_in_id_order

RANKING_FILE = "ranking.parquet"
CANDIDATES_FILE = "candidates.csv"
MARGIN_AREA_COLUMN = "margin_area"  # written by the cross-fit (realbogus.training_runs)
OUR_METHOD = "ensemble_disagreement"


@dataclass(frozen=True)
class EnsembleScores:
    """Cross-fitted scores of every member, aligned on ``ids`` (ascending).

    member_scores: (N, M) artifact scores; given_labels: (N,) the labels mined (the ones
    the members trained on); margin_areas: (N, M) each member's area under the margin of
    the sample over its training (``crossfit``'s ``margin_area`` column), NaN where the
    member recorded none.
    """

    ids: np.ndarray
    given_labels: np.ndarray
    member_names: tuple[str, ...]
    member_scores: np.ndarray
    margin_areas: np.ndarray | None = None


def read_crossfit_scores(paths: Mapping[str, str | os.PathLike[str]]) -> EnsembleScores:
    """Read ``{member: crossfit parquet}``; all must hold the same ids and labels."""
    ids = labels = None
    columns, areas = [], []
    for member, path in paths.items():
        table = pd.read_parquet(path).sort_values("id")
        if table["artifact_score"].isna().any():
            raise ValueError(f"{path}: {int(table['artifact_score'].isna().sum())} samples have no cross-fitted score")
        if ids is None:
            ids, labels = table["id"].to_numpy(), table["label"].to_numpy()
        elif not np.array_equal(ids, table["id"].to_numpy()) or not np.array_equal(labels, table["label"].to_numpy()):
            raise ValueError(f"{path}: ids or labels differ from {next(iter(paths.values()))}; re-run crossfit")
        columns.append(table["artifact_score"].to_numpy(dtype=np.float64))
        areas.append(table[MARGIN_AREA_COLUMN].to_numpy(dtype=np.float64) if MARGIN_AREA_COLUMN in table
                     else np.full(len(table), np.nan))
    if ids is None:
        raise ValueError("no cross-fitted scores given: the ensemble has no members")
    margin_areas = np.column_stack(areas)
    return EnsembleScores(ids=ids, given_labels=labels.astype(np.int64), member_names=tuple(paths),
                          member_scores=np.column_stack(columns),
                          margin_areas=margin_areas if np.isfinite(margin_areas).any() else None)


def mine_ensemble(*, scores: EnsembleScores, stamps: np.ndarray, rows: np.ndarray, out_dir: str | os.PathLike[str],
                  reports_dir: str | os.PathLike[str], budget: int, weighting: str = "auc", rank_by: str = "mean",
                  gallery_size: int = 24, placement_reference: Sequence[str] | None = None) -> dict[str, Any]:
    """One round with no review history and no evidence beyond the scores (see :func:`mine_round`)."""
    return mine_round(scores=scores, reviews=empty_reviews(), features=None, stamps=stamps, rows=rows,
                      out_dir=out_dir, reports_dir=reports_dir, budget=budget, weighting=weighting, rank_by=rank_by,
                      evidence=EvidenceConfig(training_dynamics=0.0, review_model=False), gallery_size=gallery_size,
                      placement_reference=placement_reference)


@dataclass(frozen=True)
class RoundRanking:
    """The ranking of one round: rank_score (N,) and what went into it, all (N,).

    reviewed: sent to review by an earlier round (never a candidate again); margin_area:
    the members' weighted area under the margin (NaN without one); review_probability:
    P(label wrong) from the review model (NaN before there is one).
    """

    rank_score: np.ndarray
    strong_votes: np.ndarray
    mean_disagreement: np.ndarray
    margin_area: np.ndarray
    review_probability: np.ndarray
    reviewed: np.ndarray
    member_auc: np.ndarray
    member_weights: np.ndarray


def rank_round(*, scores: EnsembleScores, reviews: pd.DataFrame, features: np.ndarray | None,
               method: str = OUR_METHOD, weighting: str = "auc", rank_by: str = "mean",
               evidence: EvidenceConfig = EvidenceConfig(), seed: int = 0,
               difficulty: np.ndarray | None = None) -> RoundRanking:
    """Score every sample of one round (truth-free).

    reviews: the ledger of earlier rounds (``realbogus.mining.rounds``).  features: (N, F)
    the autoScan feature matrix in ``scores.ids`` order, for the review model (None: the
    model reads the member scores only).  method: ``ensemble_disagreement`` (ours: the
    disagreement ranking with the evidence of :mod:`realbogus.mining.evidence`) or one of
    cleanlab's (``CLEANLAB_METHODS``: cleanlab re-run on this round's scores, nothing else).
    difficulty: (N,) the release's difficulty proxy (``evidence.reliability_proxy``) whose
    regions weight each member's doubt by its reliability there; needed when
    ``evidence.reliability`` > 0.
    """
    labels = scores.given_labels
    ranking = disagreement_ranking(given_labels=labels, member_scores=scores.member_scores,
                                   weighting=weighting, rank_by=rank_by)
    reviewed = reviewed_mask(ids=scores.ids, reviews=reviews)
    n_samples = len(labels)
    margin = np.full(n_samples, np.nan)
    review_probability = np.full(n_samples, np.nan)
    if method == OUR_METHOD:
        if scores.margin_areas is not None:
            margin = ensemble_margin_area(margin_areas=scores.margin_areas, member_weights=ranking.member_weights)
        disagreement = ranking.mean_disagreement
        if evidence.reliability > 0.0:
            if difficulty is None:
                raise ValueError(f"mine.evidence.reliability is {evidence.reliability} but no difficulty proxy "
                                 f"({evidence.reliability_proxy}) was given to weight the members by region")
            doubt = label_disagreement(given_labels=labels, member_scores=scores.member_scores)
            reliability = regional_reliability(disagreement=doubt, regions=difficulty_regions(
                given_labels=labels, proxy=difficulty, bins=evidence.reliability_bins), trust=evidence.reliability_trust)
            disagreement = reliability_weighted_disagreement(disagreement=doubt, reliability=reliability,
                                                             member_weights=ranking.member_weights,
                                                             strength=evidence.reliability)
        # strong_votes ranks by votes + mean disagreement: the evidence enters through the mean.
        base = (ranking.rank_score - ranking.mean_disagreement) + base_suspicion(
            mean_disagreement=disagreement, margin_area=margin,
            training_dynamics=evidence.training_dynamics)
        probability = None
        if evidence.review_model and len(reviews):
            probability = _review_probability(scores=scores, reviews=reviews, features=features,
                                              evidence=evidence, seed=seed)
        if probability is not None:
            review_probability = probability
        rank_score = combined_rank_score(base=base, review_probability=probability)
    elif method in CLEANLAB_METHODS:
        from realbogus.mining.cleanlab_methods import cleanlab_suspicion

        rank_score = cleanlab_suspicion(given_labels=labels, member_scores=scores.member_scores)[method][0]
    else:
        raise ValueError(f"mine.method must be {OUR_METHOD!r} or one of {list(CLEANLAB_METHODS)}, got {method!r}")
    return RoundRanking(rank_score=np.asarray(rank_score, dtype=np.float64), strong_votes=ranking.strong_votes,
                        mean_disagreement=ranking.mean_disagreement, margin_area=margin,
                        review_probability=review_probability, reviewed=reviewed,
                        member_auc=ranking.member_auc, member_weights=ranking.member_weights)


def _review_probability(*, scores: EnsembleScores, reviews: pd.DataFrame, features: np.ndarray | None,
                        evidence: EvidenceConfig, seed: int) -> np.ndarray | None:
    """P(label wrong) for every sample from the decided reviews of earlier rounds.

    A reviewed sample is described with the label it had when reviewed (its old label),
    every other sample with its current label: the question is the same for both, "is this
    label wrong, given what the members and the features say?"."""
    decided = reviews[reviews["outcome"] != UNDECIDED].set_index("id")
    position = pd.Series(np.arange(len(scores.ids)), index=scores.ids)
    rows = position.reindex(decided.index).to_numpy()
    if np.isnan(rows.astype(np.float64)).any():
        raise ValueError("the review ledger names ids that have no cross-fitted score")
    rows = rows.astype(np.int64)
    labels_asked = scores.given_labels.copy()
    labels_asked[rows] = decided["old_label"].to_numpy(dtype=np.int64)
    context = review_context(labels=labels_asked, member_scores=scores.member_scores, features=features)
    return review_outcome_probability(context=context, reviewed_rows=rows,
                                      label_was_wrong=(decided["outcome"] == CORRECTED).to_numpy(),
                                      config=evidence, seed=seed)


def select_round_candidates(*, ranking: RoundRanking, budget: int) -> np.ndarray:
    """(K,) rows of the ``budget`` most suspicious samples not reviewed before, best first."""
    pool = np.flatnonzero(~ranking.reviewed)
    return pool[select_candidates(rank_score=ranking.rank_score[pool], budget=budget)]


def mine_round(*, scores: EnsembleScores, reviews: pd.DataFrame, features: np.ndarray | None, stamps: np.ndarray,
               rows: np.ndarray, out_dir: str | os.PathLike[str], reports_dir: str | os.PathLike[str], budget: int,
               method: str = OUR_METHOD, weighting: str = "auc", rank_by: str = "mean",
               evidence: EvidenceConfig = EvidenceConfig(), gallery_size: int = 24,
               placement_reference: Sequence[str] | None = None, seed: int = 0,
               difficulty: np.ndarray | None = None) -> dict[str, Any]:
    """Rank every sample of one review round and write the candidates for review.

    rows: (N,) row of each id in ``stamps`` (for the gallery).  reviews: the ledger of
    earlier rounds; their samples are never candidates again.  Writes
    out_dir/ranking.parquet (id, rank_score, strong_votes, mean_disagreement, margin_area,
    review_probability, reviewed), out_dir/candidates.csv (the top ``budget`` of the
    samples not reviewed before), and under reports_dir the per-member category table, the
    cross-member placement table and plots, and the gallery.  Returns a summary dict.
    """
    out_dir, reports_dir = Path(out_dir), Path(reports_dir)
    stamps = _stamps_by_position(stamps, rows)  # before anything is written
    ranking = rank_round(scores=scores, reviews=reviews, features=features, method=method, weighting=weighting,
                         rank_by=rank_by, evidence=evidence, seed=seed, difficulty=difficulty)
    chosen = select_round_candidates(ranking=ranking, budget=budget)
    candidates = candidate_table(ids=scores.ids, given_labels=scores.given_labels, member_scores=scores.member_scores,
                                 member_names=scores.member_names, rank_score=ranking.rank_score, rows=chosen)
    # The review page indexes stamps.npy by `row`: use the stamp rows, not positions.
    candidates["row"] = rows[chosen]
    with atomic_path(out_dir, is_dir=True, command="mine") as temporary:
        pd.DataFrame({"id": scores.ids, "rank_score": ranking.rank_score, "strong_votes": ranking.strong_votes,
                      "mean_disagreement": ranking.mean_disagreement, "margin_area": ranking.margin_area,
                      "review_probability": ranking.review_probability, "reviewed": ranking.reviewed,
                      }).to_parquet(temporary / RANKING_FILE, index=False)
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
            "reviewed_before": int(ranking.reviewed.sum()), "method": method,
            "review_model": bool(np.isfinite(ranking.review_probability).any()),
            "candidates_given0": int((scores.given_labels[chosen] == 0).sum()),
            "candidates_given1": int((scores.given_labels[chosen] == 1).sum()),
            **{f"weight_{name}": float(weight) for name, weight in zip(scores.member_names, ranking.member_weights)},
            **{f"auc_{name}": float(value) for name, value in zip(scores.member_names, ranking.member_auc)}}


@dataclass(frozen=True)
class RoundsEvaluation:
    """``evaluate_rounds``'s result.

    rounds: one row per round, method and subset (subset_kind all / direction /
    mechanism): n_mislabelled (in the round's pool), n_selected, n_found, auprc,
    precision_at_budget, recall_at_budget; on the miner's "all" rows also cumulative_found
    and cumulative_recall (of the release's mislabelled samples, this and earlier rounds).
    headline: JSON-ready numbers for metrics.json; per round (and for the first at the top
    level) also ``auprc_margin_low`` / ``_high``, the 90 % interval of the miner's AUPRC minus
    the best cleanlab method's from the sampling of the pool's samples
    (``truth_eval.auprc_margin_interval``).
    """

    rounds: pd.DataFrame
    headline: dict[str, Any]


def evaluate_rounds(*, rounds: Sequence[Any], rounds_dir: str | os.PathLike[str], members: Sequence[str], miner: str,
                    truth: pd.DataFrame, stamps: np.ndarray, rows: np.ndarray,
                    reports_dir: str | os.PathLike[str], gallery_size: int = 24) -> RoundsEvaluation:
    """Every review round's mining against the simulated truth (reads the truth).

    rounds: the checked ``mine.rounds`` (``realbogus.mining.rounds.review_rounds``); each
    round's folder under ``rounds_dir`` holds start/ (the labels and ledger it started
    from), crossfit/<member>.parquet and mine/ranking.parquet.  In round k the pool is the
    samples no earlier round reviewed; the miner's ranking and cleanlab's five methods
    (re-run on round k's cross-fitted scores) are judged on that pool at round k's budget.
    truth: id, given_label, true_label, mislabel_mechanism.  rows: (N,) the stamps.npy row
    of each id, ids ascending.  Writes reports_dir/rounds.csv and, per round,
    reports_dir/comparison/<round>.csv and gallery_truth_<round>.png.
    """
    from realbogus.mining.truth_eval import auprc_margin_interval, cleanlab_suspicion, compare_with_cleanlab, truth_annotations

    reports_dir, rounds_dir = Path(reports_dir), Path(rounds_dir)
    stamps = _stamps_by_position(stamps, rows)  # before anything is written
    indexed_truth = truth.set_index("id")
    n_mislabelled = int((truth["true_label"] != truth["given_label"]).sum())
    tables, headline_rounds, cumulative_found = [], [], 0
    for review_round in rounds:
        folder = rounds_dir / review_round.name
        scores = read_crossfit_scores({member: folder / "crossfit" / f"{member}.parquet" for member in members})
        rank_score = pd.read_parquet(folder / "mine" / RANKING_FILE).set_index("id")["rank_score"].reindex(scores.ids)
        if rank_score.isna().any():
            raise ValueError(f"{folder / 'mine' / RANKING_FILE}: ranks other ids than {folder / 'crossfit'}; "
                             "re-run the round")
        _, reviews = read_round_labels(folder / "start")
        pool = ~reviewed_mask(ids=scores.ids, reviews=reviews)
        aligned = indexed_truth.reindex(scores.ids)
        if aligned["true_label"].isna().any():
            raise ValueError(f"the truth table lacks {int(aligned['true_label'].isna().sum())} of the mined ids")
        true_labels = aligned["true_label"].to_numpy(dtype=np.int64)
        mechanism = aligned["mislabel_mechanism"].astype(str).to_numpy()
        cleanlab_scores = cleanlab_suspicion(given_labels=scores.given_labels, member_scores=scores.member_scores)
        comparison = compare_with_cleanlab(
            rank_score=rank_score.to_numpy(dtype=np.float64), given_labels=scores.given_labels,
            member_scores=scores.member_scores, true_labels=true_labels, mechanism=mechanism,
            budget=review_round.budget, our_method=miner, pool=pool, cleanlab_scores=cleanlab_scores)
        comparison.insert(0, "round", review_round.name)
        comparison.insert(2, "miner", np.arange(len(comparison)) == 0)
        _write_csv(comparison, reports_dir / "comparison" / f"{review_round.name}.csv")
        miner_row, others = comparison.iloc[0], comparison.iloc[1:]
        cumulative_found += int(miner_row["n_found"])
        tidy = _tidy_comparison(comparison)
        is_miner_total = tidy["miner"] & (tidy["subset"] == "all")
        tidy["cumulative_found"] = np.where(is_miner_total, cumulative_found, np.nan)
        tidy["cumulative_recall"] = tidy["cumulative_found"] / n_mislabelled if n_mislabelled else np.nan
        tables.append(tidy)
        # The best cleanlab method by AUPRC (undefined, NaN, when the pool has no mislabel left).
        best = others.loc[others["auprc"].fillna(-1.0).idxmax()]
        # Is the margin over it more than the sampling of this pool's samples would give?
        margin = auprc_margin_interval(is_mislabelled=(true_labels != scores.given_labels)[pool],
                                       ours=rank_score.to_numpy(dtype=np.float64)[pool],
                                       theirs=cleanlab_scores[str(best["method"])][0][pool])
        headline_rounds.append({
            "round": review_round.name, "budget": review_round.budget, "pool": int(pool.sum()),
            "mislabelled_in_pool": int(miner_row["n_mislabelled"]),
            **{f"miner_{key}": _finite_or_none(miner_row[key])
               for key in ("auprc", "precision_at_budget", "recall_at_budget")},
            "best_cleanlab_method": str(best["method"]), "best_cleanlab_auprc": _finite_or_none(best["auprc"]),
            "best_cleanlab_precision_at_budget": _finite_or_none(best["precision_at_budget"]),
            "auprc_margin_low": None if margin is None else margin[0],
            "auprc_margin_high": None if margin is None else margin[1],
            "cumulative_found": cumulative_found,
            "cumulative_recall": cumulative_found / n_mislabelled if n_mislabelled else None})
        # The round's top candidates, with what the truth says of each (judged in the pool,
        # where the labels are still the release's).
        in_pool = select_candidates(rank_score=rank_score.to_numpy()[pool], budget=min(gallery_size, review_round.budget))
        annotations = truth_annotations(rows=in_pool, given_labels=scores.given_labels[pool],
                                        true_labels=true_labels[pool], mechanism=mechanism[pool])
        write_candidate_gallery(path=reports_dir / "comparison" / f"gallery_truth_{review_round.name}.png",
                                stamps=stamps, rows=np.flatnonzero(pool)[in_pool], ids=scores.ids,
                                given_labels=scores.given_labels, member_scores=scores.member_scores,
                                member_names=scores.member_names, annotations=annotations)
    table = pd.concat(tables, ignore_index=True)
    _write_csv(table, reports_dir / "rounds.csv")
    first = headline_rounds[0]
    headline = {"truth_available": True, "n_mislabelled": n_mislabelled, "miner": miner,
                # The first round under the names the one-round pipeline used (reports/summary.md).
                "budget": first["budget"], "ours_auprc": first["miner_auprc"],
                "ours_precision_at_budget": first["miner_precision_at_budget"],
                "ours_recall_at_budget": first["miner_recall_at_budget"],
                "best_cleanlab_auprc": first["best_cleanlab_auprc"],
                "best_cleanlab_method": first["best_cleanlab_method"],
                "auprc_margin_low": first["auprc_margin_low"], "auprc_margin_high": first["auprc_margin_high"],
                "cumulative_recall": headline_rounds[-1]["cumulative_recall"],
                "rounds": headline_rounds}
    return RoundsEvaluation(rounds=table, headline=headline)


def _finite_or_none(value: Any) -> float | None:
    """A JSON-ready number: None for NaN (a metric undefined on this pool, e.g. AUPRC with
    no mislabelled sample left in it)."""
    number = float(value)
    return number if np.isfinite(number) else None


def _tidy_comparison(comparison: pd.DataFrame) -> pd.DataFrame:
    """``compare_with_cleanlab``'s wide rows as one row per (method, subset)."""
    metrics = ("n_mislabelled", "n_selected", "n_found", "auprc", "precision_at_budget", "recall_at_budget")
    subsets = sorted({column[column.index("[") + 1:-1] for column in comparison.columns if "[" in column})
    records = []
    for _, row in comparison.iterrows():
        base = {"round": row["round"], "method": row["method"], "miner": bool(row["miner"])}
        records.append({**base, "subset_kind": "all", "subset": "all", **{key: row[key] for key in metrics}})
        for subset in subsets:
            kind, name = subset.split("=", 1)
            records.append({**base, "subset_kind": kind, "subset": name,
                            **{key: row.get(f"{key}[{subset}]", np.nan) for key in metrics}})
    return pd.DataFrame.from_records(records)


def _stamps_by_position(stamps: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The stamp array indexed like the mined arrays (ingest writes stamps in id order)."""
    check_stamps_in_id_order(rows=rows, n_stamps=len(stamps), where="mined ids vs stamps.npy")
    return stamps


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, lineterminator="\n", float_format="%.6g")
