"""The area under the margin (``mine.evidence.training_dynamics``) on the first review round
of mined releases, against the truth and against cleanlab, printed as JSON.

For each repository given (cross-fitted with ``crossfit.training_dynamics: true``, then
``dvc repro`` of round 1's ``crossfit@`` stages), reads round 1's cross-fitted scores and
margins, the feature table and the simulated truth, and ranks round 1 exactly as
``mine@round1`` would (:func:`realbogus.mining.run.rank_round`) for every margin weight a of
the grid, with the margins of one member at a time or of all members that record one (the
random forest records none), at the release's own reliability setting (params.yaml) and
without it.  Beside it: the best of cleanlab's five methods on the same scores, which reads
the probabilities only.  And the other evidence the issue proposed, agreement between the
members that see the pixels and those that see the features (``views``).

    python benchmarks/mining_margin.py --repo /tmp/a/repo
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from realbogus.feature_models.matrix import read_feature_matrix
from realbogus.mining.cleanlab_methods import cleanlab_suspicion
from realbogus.members import STAMPS, resolve_member
from realbogus.mining.evidence import EvidenceConfig, difficulty_regions, regional_reliability
from realbogus.mining.ranking import disagreement_ranking, label_disagreement
from realbogus.mining.rounds import empty_reviews
from realbogus.mining.run import rank_round, read_crossfit_scores
from realbogus.mining.truth_eval import evaluate_suspicion
from realbogus.release.layout import FEATURE_NAMES

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


def evaluation(suspicion: np.ndarray, *, given: np.ndarray, truth: pd.DataFrame, budget: int) -> dict:
    row = evaluate_suspicion(suspicion=suspicion, given_labels=given, true_labels=truth["true_label"].to_numpy(),
                             mechanism=truth["mislabel_mechanism"].to_numpy(), budget=budget).iloc[0]
    return {"auprc": round(float(row["auprc"]), 4), "precision": round(float(row["precision_at_budget"]), 4),
            "recall": round(float(row["recall_at_budget"]), 4)}


def view_agreement(*, params: dict, scores, given: np.ndarray, difficulty: np.ndarray, evidence: EvidenceConfig, weighting: str,
                   truth: pd.DataFrame, budget: int) -> dict:
    """The other evidence the issue proposed: agreement between members that see different
    views, the stamps' pixels (the CNNs) and the autoScan features (the rest), each member's
    doubt weighted by where it is reliable (the release's reliability setting).  Per view the
    weighted mean doubt, then: each view alone, their mean (what the ranking does), and
    three ways of asking both views to doubt -- geometric mean, harmonic mean, minimum."""
    ranking = disagreement_ranking(given_labels=given, member_scores=scores.member_scores, weighting=weighting)
    doubt = label_disagreement(given_labels=given, member_scores=scores.member_scores)
    if evidence.reliability > 0:
        doubt = doubt * np.clip(regional_reliability(disagreement=doubt, regions=difficulty_regions(
            given_labels=given, proxy=difficulty, bins=evidence.reliability_bins), trust=evidence.reliability_trust),
            0.0, 1.0) ** evidence.reliability
    pixels = np.array([resolve_member(name, params).reads == STAMPS for name in scores.member_names])
    if pixels.all() or not pixels.any():
        return {"note": "one view only: no agreement between views to measure"}
    weights = ranking.member_weights

    def view(mask):
        return doubt[:, mask] @ weights[mask] / weights[mask].sum()

    pixel, feature = view(pixels), view(~pixels)
    combos = {"pixels_only": pixel, "features_only": feature, "mean_of_all_members": doubt @ weights / weights.sum(),
              "geometric_mean_of_views": np.sqrt(pixel * feature),
              "harmonic_mean_of_views": 2 * pixel * feature / np.maximum(pixel + feature, 1e-12),
              "minimum_of_views": np.minimum(pixel, feature)}
    return {name: evaluation(value, given=given, truth=truth, budget=budget) for name, value in combos.items()}


def measure(repo: Path, crossfit_files: dict[str, Path] | None = None) -> dict:
    """The figures of one repository; ``crossfit_files`` replaces members' round-1 cross-fit
    tables (member -> path), e.g. one re-run with other margins."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    members = params["ensemble"]["members"]
    budget = int(params["mine"]["rounds"]["round1"]["budget"])
    scores = read_crossfit_scores({member: (crossfit_files or {}).get(
        member, repo / "data/rounds/round1/crossfit" / f"{member}.parquet") for member in members})
    if scores.margin_areas is None:
        raise SystemExit(f"{repo}: round 1's cross-fit recorded no margin_area; set crossfit.training_dynamics: "
                         f"true and rerun its crossfit@round1 stages")
    given = scores.given_labels
    truth = pd.read_parquet(repo / "data/simulated/truth.parquet").set_index("id").loc[scores.ids].reset_index()
    features = read_feature_matrix(repo / "data/features/features.parquet", ids=scores.ids)
    release_evidence = EvidenceConfig(**params["mine"]["evidence"])
    difficulty = features[:, FEATURE_NAMES.index(release_evidence.reliability_proxy)]

    cleanlab = {method: evaluation(suspicion, given=given, truth=truth, budget=budget)
                for method, (suspicion, _) in cleanlab_suspicion(given_labels=given,
                                                                  member_scores=scores.member_scores).items()}
    best_method = max(cleanlab, key=lambda method: cleanlab[method]["auprc"])

    recorded = [name for j, name in enumerate(scores.member_names) if np.isfinite(scores.margin_areas[:, j]).any()]
    sources = {name: [name] for name in recorded}
    if len(recorded) > 1:
        sources["all"] = recorded
    grid = {}
    for source, names in sources.items():
        keep = np.array([name in names for name in scores.member_names])
        source_scores = dataclasses.replace(scores, margin_areas=np.where(keep[None, :], scores.margin_areas, np.nan))
        for reliability in sorted({0.0, release_evidence.reliability}):
            for weight in WEIGHTS:
                evidence = dataclasses.replace(release_evidence, training_dynamics=weight, reliability=reliability)
                ranking = rank_round(scores=source_scores, reviews=empty_reviews(), features=features,
                                     weighting=params["mine"]["member_weighting"], rank_by=params["mine"]["rank_by"],
                                     evidence=evidence, difficulty=difficulty)
                grid[f"margin={source}/b={reliability:g}/a={weight:g}"] = evaluation(
                    ranking.rank_score, given=given, truth=truth, budget=budget)
    views = view_agreement(params=params, scores=scores, given=given, difficulty=difficulty, evidence=release_evidence,
                           weighting=params["mine"]["member_weighting"], truth=truth, budget=budget)
    wrong = truth["true_label"].to_numpy() != given
    return {"repo": str(repo), "seed": params["simulate"]["seed"], "label_noise": params["simulate"]["label_noise"],
            "n": int(len(given)), "members": members, "margin_members": recorded, "budget": budget,
            "n_mislabelled": int(wrong.sum()), "cleanlab": cleanlab, "best_cleanlab": best_method,
            "ours": grid, "views": views,
            "auprc_over_best_cleanlab": {key: round(value["auprc"] - cleanlab[best_method]["auprc"], 4)
                                         for key, value in grid.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, action="append", required=True, help="a mined repository (repeatable)")
    args = parser.parse_args()
    print(json.dumps({"benchmark": "mining_margin_round1", "releases": [measure(repo) for repo in args.repo]},
                     indent=2))


if __name__ == "__main__":
    main()
