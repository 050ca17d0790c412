"""How the realism figures of the feature members depend on the training set's size; prints JSON.

Usage: python benchmarks/bench_training_size.py [--n 200000] [--seed 2013] [--workers 2]
       [--train-sizes 14000,42000,140000] [--members rf,hgb]

The paper's models trained on ~630,000 samples; the default release trains on 14,000. The
difficulty goals of the realism issue (FPR at MDR 0.05, the share of test samples in
categories 1 + 6, and how many of the samples two members strongly misclassify are truly
mislabelled) depend on the training set's size as well as on the release, because a model
that saw few examples of a region of feature space is confidently wrong there more often.
This separates the two: one release of ``n`` samples (simulated in memory exactly as
``bench_realism.py`` does), one fixed test split (its 20 %: 10x the default's at 200,000),
and the members trained on nested training sets of the given sizes (the first ``k`` rows of
a seeded shuffle of the 70 % training split; the validation rows shrink in proportion).

CNN members (``--members rf,hgb,model1``) train at params.yaml ``train`` settings on the
stamps held in memory (the GIF stamps, as ingest would read them).

Per size and member: ``realbogus.realism.member_figures`` (AUC, FPR at MDR 0.03 / 0.04 / 0.05
by the given labels and by the truth, the share in categories 1 + 6) and that share split
into truly mislabelled and correctly labelled samples; per size, the samples at least two
members strongly misclassify, with the correctly labelled ones by kind (what keeps the
flags' purity down).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realism import simulate_in_memory  # noqa: E402


def nested_training_rows(split: np.ndarray, *, sizes: list[int], seed: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per size k: the first k rows of a seeded shuffle of the training split, and the same
    share of a seeded shuffle of the validation split (so every smaller set is inside the larger)."""
    rng = np.random.default_rng(seed)
    train, val = rng.permutation(np.flatnonzero(split == "train")), rng.permutation(np.flatnonzero(split == "val"))
    chosen = {}
    for size in sizes:
        if not 0 < size <= train.size:
            raise ValueError(f"training size {size} must be in 1..{train.size} (the training split of this release)")
        n_val = max(1, round(val.size * size / train.size))
        chosen[size] = (np.sort(train[:size]), np.sort(val[:n_val]))
    return chosen


def strong_split(*, scores: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """The member's test share in categories 1 + 6, split into truly mislabelled and correct samples."""
    from realbogus.metrics import categories
    from realbogus.realism import STRONG_CATEGORIES

    test = scores[scores["split"] == "test"]
    strong = np.isin(categories(labels=test["label"].to_numpy().astype(np.int8),
                                artifact_score=test["artifact_score"].to_numpy()), STRONG_CATEGORIES)
    true = truth.set_index("id").loc[test["id"], "true_label"].to_numpy()
    mislabelled = true != test["label"].to_numpy()
    return {"strong_mislabelled_share": float((strong & mislabelled).mean()),
            "strong_correct_share": float((strong & ~mislabelled).mean())}


def correct_flags_by_kind(*, scores_by_member: dict[str, pd.DataFrame], truth: pd.DataFrame,
                          min_members: int) -> dict[str, int]:
    """The correctly labelled test samples at least ``min_members`` members strongly misclassify, by kind."""
    from realbogus.realism import strong_votes
    from realbogus.simulate.release import truth_kind

    joined = strong_votes(scores_by_member=scores_by_member)
    flagged = joined[joined[list(scores_by_member)].sum(axis=1) >= min_members]
    rows = truth.set_index("id").loc[flagged.index]
    correct = rows[rows["true_label"].to_numpy() == flagged["label"].to_numpy()]
    return {str(kind): int(count) for kind, count in truth_kind(correct.reset_index()).value_counts().items()}


def training_size_curve(*, features: pd.DataFrame, truth: pd.DataFrame, params: dict, sizes: list[int],
                        members: list[str], seed: int, min_members: int = 2,
                        stamps: np.ndarray | None = None) -> list[dict]:
    """The members' realism figures on one fixed test split, per training-set size.

    stamps: (N, 51, 51, 3) uint8 aligned with ``features``, for CNN members (params.yaml models)."""
    from realbogus.members import fit_and_score, resolve_member
    from realbogus.realism import member_figures, strongly_misclassified_by_several
    from realbogus.split import assign_splits

    ids, labels = features["id"].to_numpy(), features["label"].to_numpy()
    split = assign_splits(ids=ids, labels=labels, fractions=params["split"]["fractions"], seed=1)
    test_rows = np.flatnonzero(split == "test")
    curve = []
    for size, (train_rows, val_rows) in nested_training_rows(split, sizes=sizes, seed=seed).items():
        point: dict = {"train_size": size, "val_size": int(val_rows.size), "test_size": int(test_rows.size)}
        scores_by_member = {}
        for name in members:
            started = time.process_time()
            with contextlib.redirect_stdout(sys.stderr):  # a CNN prints its epochs; stdout is the JSON's
                fitted = fit_and_score(spec=resolve_member(name, params), labels=labels, seed=seed,
                                       train_rows=train_rows, val_rows=val_rows, score_rows=test_rows,
                                       features=features, stamps=stamps)
            scores = pd.DataFrame({"id": ids[test_rows], "split": "test", "label": labels[test_rows],
                                   "artifact_score": fitted.artifact_score[test_rows]})
            scores_by_member[name] = scores
            point[name] = {**member_figures(scores=scores, truth=truth), **strong_split(scores=scores, truth=truth),
                           "cpu_seconds_fit_and_score": time.process_time() - started}
        if len(members) >= min_members:
            point["several_strongly_misclassified"] = {
                **strongly_misclassified_by_several(scores_by_member=scores_by_member, truth=truth,
                                                    min_members=min_members),
                "correct_by_kind": correct_flags_by_kind(scores_by_member=scores_by_member, truth=truth,
                                                         min_members=min_members)}
        curve.append(point)
        print(json.dumps({"done_train_size": size}), file=sys.stderr, flush=True)
    return curve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--train-sizes", default="14000,42000,140000",
                        help="comma-separated training-set sizes (14,000 is the default release's)")
    parser.add_argument("--members", default="rf,hgb",
                        help="members: params.yaml feature_models, or models (a CNN, at train.max_epochs; slow on a CPU)")
    args = parser.parse_args()

    from realbogus.params import load_params, section
    from realbogus.realism import paper_ranges
    from realbogus.simulate import SimulationConfig

    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    simulate = section(params, "simulate")
    config = SimulationConfig.from_mapping(simulate.get("config") or {})
    started = time.perf_counter()
    stamps, features, truth = simulate_in_memory(n=args.n, seed=args.seed, label_noise=simulate["label_noise"],
                                            flip_ratio=simulate["flip_ratio"], config=config, workers=args.workers,
                                            pixels_only=False)
    seconds_simulate = time.perf_counter() - started
    sizes = [int(size) for size in args.train_sizes.split(",")]
    members = [name.strip() for name in args.members.split(",") if name.strip()]
    if not set(members) & set(params.get("models") or {}):
        stamps = None  # feature members only: free the stamps' memory
    curve = training_size_curve(features=features, truth=truth, params=params, sizes=sizes, members=members,
                                seed=args.seed, stamps=stamps)
    print(json.dumps({"benchmark": "training_size", "n": args.n, "seed": args.seed,
                      "label_noise": simulate["label_noise"], "flip_ratio": simulate["flip_ratio"],
                      "seconds_simulate": seconds_simulate, "workers": args.workers,
                      "load_average_1min": os.getloadavg()[0], "curve": curve, "paper": paper_ranges()},
                     indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
