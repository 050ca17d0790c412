"""Compare a survey's scorers (original, fine-tuned, from scratch) on its vetted test split.

For each scorer :func:`compare_scorers` picks the threshold on the validation split by the
rule (:mod:`realbogus.survey.threshold`), then measures the test split at that threshold
and at the fixed alert threshold, against the vetted (majority) labels and, for simulated
data, against the truth.  It writes, under ``out_dir``:

* ``<scorer>/`` -- ``realbogus.evaluation.evaluate_scores`` of the test split with the
  chosen threshold marked: metrics.json, roc.csv, threshold_curves.csv, cleanliness.csv,
  score_hist.csv, categories.csv;
* ``comparison.csv`` -- one row per scorer; ``metrics.json`` -- the same, flat
  (``<scorer>.<metric>``) for ``dvc metrics``; ``summary.md`` -- the table in words;

and under ``figures_dir`` the paper's survey figures (the survey's DVC plots):
``roc_fpr_mdr.png``, ``roc_tpr_fpr.png``, ``cleanliness.png`` (all scorers together), and per
scorer ``threshold_curves_<scorer>.png`` (FPR and MDR vs threshold, chosen threshold
marked) and ``score_hist_<scorer>.png`` (score histograms by vetted label).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus import plots
from realbogus.atomic import atomic_path
from realbogus.evaluation import evaluate_scores
from realbogus.metrics import auc_from_curve, rates_at, roc_curve, stream_cleanliness, threshold_curves
from realbogus.survey.threshold import ThresholdRule, choose_threshold

COMPARISON_FILE = "comparison.csv"
METRICS_FILE = "metrics.json"
SUMMARY_FILE = "summary.md"


def scorer_metrics(
    *,
    val_labels: np.ndarray,
    val_score: np.ndarray,
    test_labels: np.ndarray,
    test_score: np.ndarray,
    rule: ThresholdRule,
    alert_threshold: float,
    real_fraction: float,
    test_truth: np.ndarray | None = None,
) -> dict[str, float | None]:
    """The survey numbers of one scorer (all rates on the test split).

    Keys: threshold (chosen on val), val_mdr / val_fpr there, auc, mdr / fpr / tpr /
    cleanliness at the chosen threshold, mdr_alert / fpr_alert at ``alert_threshold``,
    passed_fraction, and with ``test_truth`` mdr_truth / fpr_truth.  Labels: 1 = artifact.
    """
    point = choose_threshold(labels=val_labels, artifact_score=val_score, rule=rule)
    test_rates = rates_at(labels=test_labels, artifact_score=test_score, threshold=point.threshold)
    alert_rates = rates_at(labels=test_labels, artifact_score=test_score, threshold=alert_threshold)
    real_pass = real_fraction * test_rates.tpr
    cleanliness = real_pass / (real_pass + (1 - real_fraction) * test_rates.fpr) if real_pass + test_rates.fpr else None
    metrics: dict[str, float | None] = {
        "threshold": point.threshold, "val_mdr": point.mdr, "val_fpr": point.fpr,
        "auc": auc_from_curve(roc_curve(labels=test_labels, artifact_score=test_score)),
        "mdr": test_rates.mdr, "fpr": test_rates.fpr, "tpr": test_rates.tpr, "cleanliness": cleanliness,
        "mdr_alert": alert_rates.mdr, "fpr_alert": alert_rates.fpr,
        "passed_fraction": float(np.mean(np.asarray(test_score) < np.float32(point.threshold))),
    }
    if test_truth is not None:
        truth_rates = rates_at(labels=test_truth, artifact_score=test_score, threshold=point.threshold)
        metrics.update(mdr_truth=truth_rates.mdr, fpr_truth=truth_rates.fpr)
    return {key: (None if value is None or not np.isfinite(value) else float(value)) for key, value in metrics.items()}


def compare_scorers(
    *,
    vetted: pd.DataFrame,
    scores: Mapping[str, pd.DataFrame],
    rule: ThresholdRule,
    alert_threshold: float,
    out_dir: str | os.PathLike[str],
    figures_dir: str | os.PathLike[str] | None = None,
    truth: pd.DataFrame | None = None,
) -> dict[str, dict[str, float | None]]:
    """Evaluate every scorer on the vetted split and write the comparison (module docstring).

    vetted: id, label (majority, 1 = artifact), split (train / val / test).
    scores: scorer name -> table with id, artifact_score (e.g. ``realbogus score`` output);
        every vetted id must be scored.
    truth: optional id, true_label (simulated surveys).
    figures_dir: where the figures go (None: no figures).
    Returns {scorer: metrics}.
    """
    for column in ("id", "label", "split"):
        if column not in vetted.columns:
            raise ValueError(f"vetted table lacks column {column!r}; expected id, label, split")
    if not scores:
        raise ValueError("compare_scorers needs at least one scorer's scores")
    real_fraction = float((vetted["label"] == 0).mean())
    output = Path(out_dir)
    results: dict[str, dict[str, float | None]] = {}
    test_curves, cleanliness_curves, aucs = {}, {}, {}
    for name, table in scores.items():
        joined = vetted.merge(table[["id", "artifact_score"]], on="id", how="left")
        if joined["artifact_score"].isna().any():
            missing = joined.loc[joined["artifact_score"].isna(), "id"].head(5).tolist()
            raise ValueError(f"scores of {name!r} miss {int(joined['artifact_score'].isna().sum())} vetted id(s), "
                             f"e.g. {missing}")
        if truth is not None:
            joined = joined.merge(truth[["id", "true_label"]], on="id", how="left")
        val, test = joined[joined["split"] == "val"], joined[joined["split"] == "test"]
        test_labels = test["label"].to_numpy(np.int8)
        test_score = test["artifact_score"].to_numpy(np.float32)
        results[name] = scorer_metrics(
            val_labels=val["label"].to_numpy(np.int8), val_score=val["artifact_score"].to_numpy(np.float32),
            test_labels=test_labels, test_score=test_score, rule=rule, alert_threshold=alert_threshold,
            real_fraction=real_fraction,
            test_truth=None if truth is None else test["true_label"].to_numpy(np.int8))
        chosen = float(results[name]["threshold"])
        evaluate_scores(labels=test_labels, artifact_score=test_score, out_dir=output / name,
                        name=f"survey {name} test", real_fraction=real_fraction, threshold=chosen, figures=False,
                        fpr_targets=(rule.target,) if rule.by == "fpr" else ())
        if figures_dir is not None:
            plots.plot_threshold_curves(curves=threshold_curves(labels=test_labels, artifact_score=test_score),
                                        chosen_threshold=chosen, path=Path(figures_dir) / f"threshold_curves_{name}.png",
                                        title=f"survey {name} test: FPR and MDR vs threshold")
            plots.plot_score_histograms(labels=test_labels, artifact_score=test_score, threshold=chosen,
                                        path=Path(figures_dir) / f"score_hist_{name}.png",
                                        title=f"survey {name} test: artifact score by vetted label")
        test_curves[name] = roc_curve(labels=test_labels, artifact_score=test_score)
        aucs[name] = float(results[name]["auc"] or 0.0)
        cleanliness_curves[name] = stream_cleanliness(labels=test_labels, artifact_score=test_score,
                                                      real_fraction=real_fraction)
    if figures_dir is not None:
        figures = Path(figures_dir)
        plots.plot_roc_fpr_mdr(curves=test_curves, path=figures / "roc_fpr_mdr.png", max_rate=0.5,
                               title="survey test split: FPR vs MDR")
        plots.plot_roc_tpr_fpr(curves=test_curves, aucs=aucs, path=figures / "roc_tpr_fpr.png",
                               title="survey test split: ROC")
        plots.plot_stream_cleanliness(curves=cleanliness_curves, path=figures / "cleanliness.png",
                                      title=f"survey stream cleanliness (real fraction {real_fraction:.2f})")
    comparison = pd.DataFrame([{"scorer": name, **metrics} for name, metrics in results.items()])
    with atomic_path(output / COMPARISON_FILE) as temporary:
        comparison.to_csv(temporary, index=False)
    flat = {f"{name}.{key}": value for name, metrics in results.items() for key, value in metrics.items()}
    flat["real_fraction"] = real_fraction
    with atomic_path(output / METRICS_FILE) as temporary:
        temporary.write_text(json.dumps(flat, indent=2, allow_nan=False) + "\n")
    with atomic_path(output / SUMMARY_FILE) as temporary:
        temporary.write_text(summary_markdown(results, rule=rule, alert_threshold=alert_threshold,
                                              real_fraction=real_fraction, n_test=int((vetted["split"] == "test").sum())))
    return results


HEADLINE_KEYS = ("auc", "threshold", "mdr", "fpr", "cleanliness")


def survey_headline(results: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """The survey's few numbers to compare runs by (``reports/headline/headline.json``): per
    scorer the test AUC, the threshold chosen on the validation split and the test MDR, FPR
    and stream cleanliness there, rounded to 4 decimals."""
    return {name: {key: None if metrics.get(key) is None else round(float(metrics[key]), 4) for key in HEADLINE_KEYS}
            for name, metrics in results.items()}


def summary_markdown(results: Mapping[str, Mapping[str, Any]], *, rule: ThresholdRule, alert_threshold: float,
                     real_fraction: float, n_test: int) -> str:
    """The comparison as a Markdown table."""
    def cell(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    has_truth = any("mdr_truth" in metrics for metrics in results.values())
    header = ["scorer", "threshold (val)", "MDR", "FPR", "cleanliness", "AUC", f"MDR @ {alert_threshold:g}",
              f"FPR @ {alert_threshold:g}"] + (["MDR (truth)", "FPR (truth)"] if has_truth else [])
    keys = ["threshold", "mdr", "fpr", "cleanliness", "auc", "mdr_alert", "fpr_alert"] + (
        ["mdr_truth", "fpr_truth"] if has_truth else [])
    lines = [
        "# Survey scorers on the vetted test split", "",
        f"Threshold chosen on the validation split: {rule.describe()}. Test split: {n_test} vetted detections, "
        f"real fraction of the vetted set {real_fraction:.3f}. Rates against the majority labels"
        + (" (and against the simulated truth)." if has_truth else "."), "",
        "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
    ]
    for name, metrics in results.items():
        lines.append("| " + " | ".join([name] + [cell(metrics.get(key)) for key in keys]) + " |")
    return "\n".join(lines) + "\n"
