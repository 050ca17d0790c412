"""The boosted trees with raw and with calibrated scores, side by side on simulated releases; prints JSON.

Usage: python benchmarks/hgb_calibration.py [--seeds 2013 2014 2015] [--n 20000] [--workers 2]

Asks whether the hgb member's many strongly misclassified test samples (categories 1 + 6,
the paper's table) come from the release or from over-confident scores.  Per seed it
simulates a release in memory as ``bench_realism.py`` does (params.yaml's simulate
settings), splits it as that benchmark does, and fits on the training split, with the given
labels:

* ``rf``: the paper's forest (params.yaml ``feature_models.rf``);
* ``hgb``: params.yaml's boosted trees with ``calibration`` null (raw scores), and with
  "sigmoid" and "isotonic" (``realbogus.feature_models.boosting``).

For each: the realism stage's member figures (AUC, FPR at MDR against the given labels and
the truth, the share of test samples in categories 1 + 6), the test log loss against the
given labels, a reliability table (per score bin: mean score, share given artifact, share
truly artifact), and, with the forest, the samples both put in category 1 or 6 and how many
of them are truly mislabelled.  Means over the seeds close the JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realism import simulate_in_memory  # noqa: E402  (a sibling script, not a package)

from realbogus.members import fit_and_score, resolve_member  # noqa: E402
from realbogus.params import load_params, section  # noqa: E402
from realbogus.realism import member_figures, strongly_misclassified_by_several  # noqa: E402
from realbogus.simulate import SimulationConfig  # noqa: E402
from realbogus.split import assign_splits  # noqa: E402

CALIBRATIONS = {"hgb": None, "hgb_sigmoid": "sigmoid", "hgb_isotonic": "isotonic"}
# Score bins of the reliability table: the category table's strong (< 0.1, >= 0.9) ends split in two.
BIN_EDGES = (0.0, 0.02, 0.1, 0.5, 0.9, 0.98, 1.0)


def reliability(*, score: np.ndarray, given: np.ndarray, truth: np.ndarray) -> list[dict]:
    rows = []
    for low, high in zip(BIN_EDGES[:-1], BIN_EDGES[1:]):
        inside = (score >= low) & ((score < high) if high < 1.0 else (score <= high))
        if inside.any():
            rows.append({"bin": [low, high], "n": int(inside.sum()), "mean_score": round(float(score[inside].mean()), 4),
                         "given_artifact": round(float(given[inside].mean()), 4),
                         "truly_artifact": round(float(truth[inside].mean()), 4)})
    return rows


def one_release(*, seed: int, n: int, workers: int, params: dict) -> dict:
    simulate = section(params, "simulate")
    started = time.perf_counter()
    _, features, truth = simulate_in_memory(n=n, seed=seed, label_noise=simulate["label_noise"],
                                            flip_ratio=simulate["flip_ratio"],
                                            config=SimulationConfig.from_mapping(simulate.get("config") or {}),
                                            workers=workers, pixels_only=False)
    ids, labels = features["id"].to_numpy(), features["label"].to_numpy()
    split = assign_splits(ids=ids, labels=labels, fractions=params["split"]["fractions"], seed=1)
    test = split == "test"
    true_label = truth.set_index("id").loc[ids, "true_label"].to_numpy()
    result: dict = {"seconds_simulate": round(time.perf_counter() - started, 1)}
    scores = {}
    for name, calibration in {"rf": None, **CALIBRATIONS}.items():
        variant = copy.deepcopy(params)
        if name != "rf":
            variant["feature_models"]["hgb"]["calibration"] = calibration
        started = time.perf_counter()
        fitted = fit_and_score(spec=resolve_member("rf" if name == "rf" else "hgb", variant), labels=labels,
                               seed=seed, train_rows=np.flatnonzero(split == "train"),
                               val_rows=np.flatnonzero(split == "val"), score_rows=np.arange(len(ids)),
                               features=features)
        seconds = time.perf_counter() - started
        scores[name] = pd.DataFrame({"id": ids, "split": split, "label": labels,
                                     "artifact_score": fitted.artifact_score})
        score = fitted.artifact_score[test].astype(float)
        result[name] = {**member_figures(scores=scores[name], truth=truth),
                        "log_loss_given": round(float(log_loss(labels[test], np.clip(score, 1e-7, 1 - 1e-7),
                                                               labels=[0, 1])), 4),
                        "fit_seconds": round(seconds, 1),
                        "reliability": reliability(score=score, given=labels[test], truth=true_label[test])}
    for name in CALIBRATIONS:
        result[f"rf_and_{name}"] = strongly_misclassified_by_several(
            scores_by_member={"rf": scores["rf"], name: scores[name]}, truth=truth)
    return result


def mean_over(seeds: dict, path: tuple[str, ...]) -> float:
    values = []
    for figures in seeds.values():
        for key in path:
            figures = figures[key]
        values.append(float(figures))
    return round(float(np.mean(values)), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2013, 2014, 2015])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    seeds = {str(seed): one_release(seed=seed, n=args.n, workers=args.workers, params=params) for seed in args.seeds}
    means = {name: {figure: mean_over(seeds, (name, figure))
                    for figure in ("strongly_misclassified_share", "fpr_at_mdr_0.05", "truth_fpr_at_mdr_0.05", "auc",
                                   "log_loss_given")}
             for name in ("rf", *CALIBRATIONS)}
    for name in CALIBRATIONS:
        flagged = sum(seeds[seed][f"rf_and_{name}"]["n_flagged"] for seed in seeds)
        mislabelled = sum(seeds[seed][f"rf_and_{name}"]["n_flagged_mislabelled"] for seed in seeds)
        means[f"rf_and_{name}"] = {"n_flagged": flagged, "n_flagged_mislabelled": mislabelled,
                                   "mislabelled_share": round(mislabelled / flagged, 4) if flagged else None}
    print(json.dumps({"benchmark": "hgb_calibration", "n": args.n, "seeds": seeds, "over_seeds": means},
                     indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
