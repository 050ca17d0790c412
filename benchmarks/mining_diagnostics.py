"""Why mining finds what it finds: diagnostics on one mined release, printed as JSON.

Reads a repository (or a clone kept by ``bench_mining.py --keep DIR``, then ``DIR/repo``)
after ``dvc repro mine_truth`` and measures, on its first review round (the members
cross-fitted on the release's own labels), against the simulated truth, the AUPRC and
precision / recall at that round's review budget of:

* ``aggregation``: other ways to combine the same cross-fitted member scores than the
  miner's weighted mean (median, min, max, geometric mean, rank mean) -- is the ranking
  rule the lever?
* ``members``: each member alone and the mean without it -- what each member adds.
* ``trained_on_truth``: the feature members (rf, hgb) cross-fitted again on the same
  folds, once on the given labels and once on the true labels.  Uses the truth, so this is
  a diagnostic, never a miner: it measures how much of the ranking's error comes from
  members that learned the (systematic) label noise they were trained on.
* ``refit_on_flipped``: the miner's top ``budget`` candidates flipped, the feature members
  refitted on those labels (same folds), the mean taken again -- an automatic
  relabel-and-retrain round, without a reviewer.  ``refit_without_candidates``: the same
  with the candidates left out of training instead of flipped.

Feature members train on all other folds here (the pipeline holds 10% of them out for
early stopping, which the feature models do not use), so their given-label scores differ
slightly from the pipeline's; both columns of ``trained_on_truth`` use this same setup.

    python benchmarks/mining_diagnostics.py --repo /tmp/bench/repo
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.stats import rankdata

from realbogus.members import FEATURES, MemberSpec, fit_and_score, resolve_member
from realbogus.mining.ranking import disagreement_ranking, label_disagreement, rank_order
from realbogus.mining.rounds import review_rounds
from realbogus.mining.run import read_crossfit_scores
from realbogus.mining.truth_eval import evaluate_suspicion


def quality(suspicion: np.ndarray, *, given: np.ndarray, truth: pd.DataFrame, budget: int) -> dict[str, float]:
    row = evaluate_suspicion(suspicion=suspicion, given_labels=given, true_labels=truth["true_label"].to_numpy(),
                             mechanism=truth["mislabel_mechanism"].to_numpy(), budget=budget).iloc[0]
    return {key: round(float(row[key]), 4) for key in ("auprc", "precision_at_budget", "recall_at_budget")}


def crossfit_feature_member(*, spec: MemberSpec, features: pd.DataFrame, labels: np.ndarray,
                            folds: np.ndarray, seed: int, trainable: np.ndarray | None = None) -> np.ndarray:
    """Cross-fitted scores on the given folds; ``trainable`` (N,) bool limits the training rows."""
    scores = np.full(len(labels), np.nan)
    for fold in np.unique(folds):
        held_out = np.flatnonzero(folds == fold)
        training = (folds != fold) if trainable is None else (folds != fold) & trainable
        fitted = fit_and_score(spec=spec, labels=labels, train_rows=np.flatnonzero(training),
                               val_rows=np.arange(0), score_rows=held_out, seed=seed + int(fold), features=features)
        scores[held_out] = fitted.artifact_score[held_out]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, required=True, help="repository after `dvc repro mine_truth`")
    args = parser.parse_args()
    repo = args.repo
    started = time.perf_counter()
    params = yaml.safe_load((repo / "params.yaml").read_text())
    members = list(params["ensemble"]["members"])
    # The first review round: the members cross-fitted on the release's own labels.
    first = review_rounds(params["mine"]["rounds"])[0]
    crossfit_dir = repo / "data" / "rounds" / first.name / "crossfit"
    budget, weighting = first.budget, params["mine"]["member_weighting"]
    scores = read_crossfit_scores({m: crossfit_dir / f"{m}.parquet" for m in members})
    given = scores.given_labels
    truth = pd.read_parquet(repo / "data" / "simulated" / "truth.parquet").set_index("id").loc[scores.ids]
    if not np.array_equal(truth["given_label"].to_numpy(), given):
        sys.exit(f"{repo}: the truth's given labels differ from the cross-fitted labels; re-run the pipeline")
    folds = pd.read_parquet(crossfit_dir / f"{members[0]}.parquet").set_index("id").loc[scores.ids, "fold"].to_numpy()

    def mean_of(matrix: np.ndarray) -> np.ndarray:
        return disagreement_ranking(given_labels=given, member_scores=matrix, weighting=weighting).rank_score

    def judged(suspicion: np.ndarray) -> dict[str, float]:
        return quality(suspicion, given=given, truth=truth, budget=budget)

    disagreement = label_disagreement(given_labels=given, member_scores=scores.member_scores)
    ours = mean_of(scores.member_scores)
    report: dict[str, object] = {"repo": str(repo), "members": members, "budget": budget,
                                 "n_mislabelled": int((truth["true_label"] != truth["given_label"]).sum()),
                                 "ours_weighted_mean": judged(ours)}
    report["aggregation"] = {
        "median": judged(np.median(disagreement, axis=1)),
        "min": judged(disagreement.min(axis=1)),
        "max": judged(disagreement.max(axis=1)),
        "geometric_mean": judged(np.exp(np.log(np.clip(disagreement, 1e-6, 1.0)).mean(axis=1))),
        "rank_mean": judged(np.mean([rankdata(column) for column in disagreement.T], axis=0)),
    }
    report["members"] = {name: {"alone": judged(disagreement[:, j]),
                                "mean_without": judged(mean_of(np.delete(scores.member_scores, j, axis=1)))
                                if len(members) > 2 else None}
                         for j, name in enumerate(members)}

    specs = {name: resolve_member(name, params) for name in members}
    feature_members = [name for name in members if specs[name].reads == FEATURES]
    if feature_members:
        features = pd.read_parquet(repo / "data" / "features" / "features.parquet").set_index("id").loc[
            scores.ids].reset_index()
        seed = int(params["crossfit"]["seed"])
        true_labels = truth["true_label"].to_numpy().astype(np.int64)
        on_truth = {}
        for name in feature_members:
            on_given = crossfit_feature_member(spec=specs[name], features=features, labels=given,
                                               folds=folds, seed=seed)
            on_true = crossfit_feature_member(spec=specs[name], features=features, labels=true_labels,
                                              folds=folds, seed=seed)
            on_truth[name] = {"trained_on_given": judged(label_disagreement(given_labels=given,
                                                                            member_scores=on_given[:, None])[:, 0]),
                              "trained_on_truth": judged(label_disagreement(given_labels=given,
                                                                            member_scores=on_true[:, None])[:, 0])}
        report["trained_on_truth"] = on_truth

        top = rank_order(rank_score=ours)[:budget]
        found = int((truth["true_label"].to_numpy() != given)[top].sum())
        flipped = given.copy()
        flipped[top] = 1 - flipped[top]
        without = np.ones(len(given), dtype=bool)
        without[top] = False
        for key, labels, trainable in (("refit_on_flipped", flipped, None),
                                       ("refit_without_candidates", given, without)):
            refitted = scores.member_scores.copy()
            for j, name in enumerate(members):
                if name in feature_members:
                    refitted[:, j] = crossfit_feature_member(spec=specs[name], features=features,
                                                             labels=labels, folds=folds, seed=seed,
                                                             trainable=trainable)
            report[key] = {"candidates": budget, "candidates_mislabelled": found, "mean": judged(mean_of(refitted)),
                           "refitted_members": feature_members}
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
