"""hgb with and without early stopping on a pipeline's release: test AUC, FPR at MDR 0.03 /
0.04 / 0.05 against the given labels and the truth, and categories 1 + 6 (share of test
samples, and the share of those truly mislabelled); the forest beside it.

Usage (in a folder where the pipeline ran: data/ingested, data/features, data/split,
data/simulated/truth.parquet): python benchmarks/hgb_early_stopping.py [FOLDER]

Asks whether the boosted trees' strongly misclassified correct samples come from
overfitting (400 rounds, no early stopping): prints one JSON line per model.
"""
import sys, json, numpy as np, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from realbogus.feature_models.matrix import read_feature_matrix
from realbogus.feature_models.forest import ForestConfig, build_forest
from realbogus.metrics import fpr_at_mdr, categories, auc
root = sys.argv[1] if len(sys.argv) > 1 else "."
cat = pd.read_parquet(f"{root}/data/ingested/catalog.parquet", columns=["id", "label"]).sort_values("id")
ids = cat["id"].to_numpy(); y = cat["label"].to_numpy()
X = read_feature_matrix(f"{root}/data/features/features.parquet", ids=ids)
split = pd.read_csv(f"{root}/data/split/split.csv").set_index("id").loc[ids, "split"].to_numpy()
truth = pd.read_parquet(f"{root}/data/simulated/truth.parquet", columns=["id", "true_label"]).set_index("id").loc[ids, "true_label"].to_numpy()
tr, te = split == "train", split == "test"
def report(name, s):
    c = categories(labels=y[te], artifact_score=s[te]); strong = np.isin(c, [1, 6])
    out = {"auc": round(auc(labels=y[te], artifact_score=s[te]), 4),
           "fpr_given": [round(100 * fpr_at_mdr(labels=y[te], artifact_score=s[te], mdr=m), 2) for m in (.03, .04, .05)],
           "fpr_truth": [round(100 * fpr_at_mdr(labels=truth[te], artifact_score=s[te], mdr=m), 2) for m in (.03, .04, .05)],
           "cat16_pct": round(100 * strong.mean(), 2), "cat16_mislabelled": round(float((y[te] != truth[te])[strong].mean()), 3)}
    print(name, json.dumps(out)); return strong
res = {}
configs = {"hgb_noES": dict(early_stopping=False),
           "hgb_ES10": dict(early_stopping=True, validation_fraction=0.1, n_iter_no_change=10),
           "hgb_ES20": dict(early_stopping=True, validation_fraction=0.1, n_iter_no_change=20)}
for name, extra in configs.items():
    m = HistGradientBoostingClassifier(max_iter=400, learning_rate=0.05, max_leaf_nodes=31, min_samples_leaf=20, random_state=7, **extra).fit(X[tr], y[tr])
    s = m.predict_proba(X)[:, 1]; res[name] = report(f"{name} iters={m.n_iter_}", s)
rf = build_forest(ForestConfig(n_jobs=2), seed=7).fit(X[tr], y[tr]); s = rf.predict_proba(X)[:, 1]; res["rf"] = report("rf", s)
for name in configs:
    both = res["rf"] & res[name]
    print("rf &", name, int(both.sum()), round(float((y[te] != truth[te])[both].mean()), 3))
