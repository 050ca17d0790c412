"""hgb with and without early stopping on a pipeline's release: test AUC, FPR at MDR 0.03 /
0.04 / 0.05 against the given labels and the truth, and categories 1 + 6 (share of test
samples, and the share of those truly mislabelled); the forest beside it.

Usage (in a folder where the pipeline ran: data/ingested, data/features, data/split,
data/simulated/truth.parquet): python benchmarks/hgb_early_stopping.py [FOLDER]

Asks whether the boosted trees' strongly misclassified correct samples come from
overfitting (400 rounds, no early stopping): prints one JSON line per model.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.feature_models.boosting import BoostingConfig, build_boosting
from realbogus.feature_models.forest import ForestConfig, build_forest
from realbogus.feature_models.matrix import read_feature_matrix
from realbogus.metrics import auc, categories, fpr_at_mdr
from realbogus.stage_tables import align, read_table

MDR_TARGETS = (0.03, 0.04, 0.05)
# The default hgb (params.yaml) and the same with scikit-learn's early stopping on 10 % of its rows.
VARIANTS = {"hgb_no_early_stopping": {},
            "hgb_early_stopping_10": {"early_stopping": True, "validation_fraction": 0.1, "n_iter_no_change": 10},
            "hgb_early_stopping_20": {"early_stopping": True, "validation_fraction": 0.1, "n_iter_no_change": 20}}


def figures(*, given: np.ndarray, truth: np.ndarray, score: np.ndarray) -> tuple[dict, np.ndarray]:
    """The test figures of one model's scores, and which test samples it puts in categories 1 / 6."""
    strong = np.isin(categories(labels=given, artifact_score=score), [1, 6])
    return {"auc": round(auc(labels=given, artifact_score=score), 4),
            "fpr_at_mdr_given_pct": [round(100 * fpr_at_mdr(labels=given, artifact_score=score, mdr=m), 2)
                                     for m in MDR_TARGETS],
            "fpr_at_mdr_truth_pct": [round(100 * fpr_at_mdr(labels=truth, artifact_score=score, mdr=m), 2)
                                     for m in MDR_TARGETS],
            "categories_1_6_pct": round(100 * strong.mean(), 2),
            "categories_1_6_truly_mislabelled": round(float((given != truth)[strong].mean()), 3)}, strong


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    catalog = read_table(root / "data/ingested/catalog.parquet", columns=("id", "label"), what="ingested catalog",
                         only=True).sort_values("id")
    ids, given = catalog["id"].to_numpy(), catalog["label"].to_numpy()
    matrix = read_feature_matrix(root / "data/features/features.parquet", ids=ids)
    split = align(read_table(root / "data/split/split.csv", columns=("id", "split"), what="split"), ids,
                  column="split", what="split")
    truth = align(pd.read_parquet(root / "data/simulated/truth.parquet", columns=["id", "true_label"]), ids,
                  column="true_label", what="truth")
    train, test = split == "train", split == "test"
    flagged = {}
    models = {name: build_boosting(BoostingConfig(), seed=7).set_params(**extra) for name, extra in VARIANTS.items()}
    models["rf"] = build_forest(ForestConfig(n_jobs=2), seed=7)
    for name, model in models.items():
        model.fit(matrix[train], given[train])
        result, flagged[name] = figures(given=given[test], truth=truth[test],
                                        score=model.predict_proba(matrix[test])[:, 1])
        print(json.dumps({"model": name, "boosting_rounds": getattr(model, "n_iter_", None), **result}))
    for name in VARIANTS:  # what rf and this hgb both put in categories 1 / 6
        both = flagged["rf"] & flagged[name]
        print(json.dumps({"rf_and": name, "flagged_by_both": int(both.sum()),
                          "truly_mislabelled": round(float((given[test] != truth[test])[both].mean()), 3)}))


if __name__ == "__main__":
    main()
