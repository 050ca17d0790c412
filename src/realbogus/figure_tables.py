"""The tidy tables behind the pipeline's DVC plots: one CSV per paper figure, every member in it.

``dvc plots show`` and ``dvc plots diff main my-experiment`` draw these with the vega-lite
templates in ``.dvc/plots/`` (declared once, in the top-level ``plots:`` of dvc.yaml).  A
table holds every ensemble member, so the figures follow ``ensemble.members`` with no edit
to dvc.yaml; the templates draw one panel per member where the paper does.

========================  ======================================================================
``roc.csv``               member, when, mdr, fpr, tpr, threshold: test ROC before and after
                          relabelling (train-old/test-old and train-new/test-new), thinned
``score_hist.csv``        member, when, label, score (bin centre), count: test score histograms
``threshold_curves.csv``  member, when, rate (FPR or MDR), threshold, value
``categories.csv``        member, column (the three Table 4 columns), category, percent
``learning_curves.csv``   member, when, epoch, metric (loss, val_loss, ...), value: the CNNs'
                          per-epoch history (header only when the ensemble has no CNN)
========================  ======================================================================

``when`` is :data:`BEFORE` or :data:`AFTER` (relabelling).  Scores and labels are those of
``scores.parquet`` (id, split, label, artifact_score): a model's own test split, judged by
the labels it trained on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.evaluation import score_histogram, thin_curve_indices
from realbogus.metrics import DEFAULT_MDR_TARGETS, operating_point_at_mdr, roc_curve, threshold_curves

BEFORE = "before relabelling"
AFTER = "after relabelling"
ROC_FILE = "roc.csv"
SCORE_HISTOGRAM_FILE = "score_hist.csv"
THRESHOLD_CURVES_FILE = "threshold_curves.csv"
CATEGORIES_FILE = "categories.csv"
LEARNING_CURVES_FILE = "learning_curves.csv"
LABEL_NAMES = {0: "non-artifact (0)", 1: "artifact (1)"}
# Enough points to draw a curve on a screen; the per-stage roc.csv files keep 1000.
MAX_CURVE_POINTS = 400
HISTOGRAM_BINS = 50


def _test_split(scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    test = scores[scores["split"] == "test"]
    return test["label"].to_numpy(np.int64), test["artifact_score"].to_numpy(np.float64)


def roc_rows(*, member: str, when: str, scores: pd.DataFrame, max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    labels, artifact_score = _test_split(scores)
    curve = roc_curve(labels=labels, artifact_score=artifact_score)
    # The operating points behind the headline numbers (FPR at MDR 0.03/0.04/0.05) stay exact.
    targets = [int(np.flatnonzero(curve.thresholds == operating_point_at_mdr(curve=curve, mdr=mdr).threshold)[0])
               for mdr in DEFAULT_MDR_TARGETS]
    kept = thin_curve_indices(x=curve.fpr, y=curve.tpr, max_points=max_points, keep=targets)
    return pd.DataFrame({"member": member, "when": when, "mdr": curve.mdr[kept], "fpr": curve.fpr[kept],
                         "tpr": curve.tpr[kept], "threshold": curve.thresholds[kept]})


def score_histogram_rows(*, member: str, when: str, scores: pd.DataFrame, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    labels, artifact_score = _test_split(scores)
    histogram = score_histogram(labels=labels, artifact_score=artifact_score, bins=bins)
    rows = [pd.DataFrame({"member": member, "when": when, "label": LABEL_NAMES[label], "score": histogram["score"],
                          "count": histogram[column]})
            for label, column in ((0, "non_artifact"), (1, "artifact"))]
    return pd.concat(rows, ignore_index=True)


def threshold_rows(*, member: str, when: str, scores: pd.DataFrame) -> pd.DataFrame:
    labels, artifact_score = _test_split(scores)
    rates = threshold_curves(labels=labels, artifact_score=artifact_score)
    return pd.concat([pd.DataFrame({"member": member, "when": when, "rate": name, "threshold": rates.thresholds,
                                    "value": values})
                      for name, values in (("FPR", rates.fpr), ("MDR", rates.mdr))], ignore_index=True)


def category_rows(*, member: str, table4: pd.DataFrame) -> pd.DataFrame:
    """The category columns (cat1..cat6, percent) of one member's Table 4, judged by the given labels."""
    given = table4[table4["judged_by"] == "given labels"]
    return pd.DataFrame([{"member": member, "column": row["column"], "category": number,
                          "percent": float(row[f"cat{number}"])}
                         for _, row in given.iterrows() for number in range(1, 7)])


def learning_curve_rows(*, member: str, when: str, history: pd.DataFrame) -> pd.DataFrame:
    """A ``history.csv`` (epoch, then one column per metric) in long form."""
    long = history.melt(id_vars="epoch", var_name="metric", value_name="value")
    return long.assign(member=member, when=when).loc[:, ["member", "when", "epoch", "metric", "value"]]


def write_figure_tables(*, out_dir: str | os.PathLike[str], before: Mapping[str, pd.DataFrame],
                        after: Mapping[str, pd.DataFrame], table4: Mapping[str, pd.DataFrame],
                        histories: Mapping[tuple[str, str], pd.DataFrame]) -> list[Path]:
    """Write the five tables into ``out_dir``; returns their paths.

    before / after: member -> scores.parquet table of the first training / the retraining;
    table4: member -> :func:`realbogus.report.before_after_table`; histories:
    (member, when) -> :func:`realbogus.stage_tables.read_history` table (CNNs only).
    """
    out = Path(out_dir)
    tables = {
        ROC_FILE: [roc_rows(member=m, when=w, scores=s) for m in before for w, s in ((BEFORE, before[m]), (AFTER, after[m]))],
        SCORE_HISTOGRAM_FILE: [score_histogram_rows(member=m, when=w, scores=s)
                               for m in before for w, s in ((BEFORE, before[m]), (AFTER, after[m]))],
        THRESHOLD_CURVES_FILE: [threshold_rows(member=m, when=w, scores=s)
                                for m in before for w, s in ((BEFORE, before[m]), (AFTER, after[m]))],
        CATEGORIES_FILE: [category_rows(member=m, table4=t) for m, t in table4.items()],
        LEARNING_CURVES_FILE: [learning_curve_rows(member=m, when=w, history=h) for (m, w), h in histories.items()],
    }
    columns = {LEARNING_CURVES_FILE: ["member", "when", "epoch", "metric", "value"]}
    written = []
    for name, parts in tables.items():
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns.get(name))
        with atomic_path(out / name) as temporary:
            table.to_csv(temporary, index=False, lineterminator="\n", float_format="%.6g")
        written.append(out / name)
    return written


__all__ = ["AFTER", "BEFORE", "write_figure_tables"]
