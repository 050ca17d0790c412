"""Time the metrics against scikit-learn, and a whole evaluate_scores call; prints JSON.

Usage: python benchmarks/metrics_evaluation.py [--repeats 5]
Sizes: the paper's 20% test split (~180k samples) and the whole release (~899k).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from realbogus import evaluation, metrics


def _median_seconds(function, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    results: dict[str, object] = {"repeats": args.repeats}
    for size in (180_000, 898_963):
        labels = rng.integers(0, 2, size)
        # float32 scores, as a Keras model returns them: many ties, like real scores.
        scores = np.clip(rng.normal(0.2 + 0.6 * labels, 0.15), 0, 1).astype(np.float32)
        results[f"n{size}"] = {
            "realbogus_roc_auc_s": _median_seconds(
                lambda: metrics.auc_from_curve(metrics.roc_curve(labels=labels, artifact_score=scores)), args.repeats),
            "sklearn_roc_curve_plus_roc_auc_score_s": _median_seconds(
                lambda: (roc_curve(1 - labels, 1 - scores), roc_auc_score(1 - labels, 1 - scores)), args.repeats),
            "realbogus_category_table_s": _median_seconds(
                lambda: metrics.category_table(labels=labels, artifact_score=scores), args.repeats),
        }
    labels = rng.integers(0, 2, 180_000)
    scores = np.clip(rng.normal(0.2 + 0.6 * labels, 0.15), 0, 1).astype(np.float32)
    with tempfile.TemporaryDirectory() as out_dir:
        results["evaluate_scores_180k_with_figures_s"] = _median_seconds(
            lambda: evaluation.evaluate_scores(labels=labels, artifact_score=scores, out_dir=out_dir, name="bench"),
            args.repeats)
        results["evaluate_scores_180k_no_figures_s"] = _median_seconds(
            lambda: evaluation.evaluate_scores(labels=labels, artifact_score=scores, out_dir=out_dir, name="bench",
                                               figures=False), args.repeats)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
