"""Evaluate one set of scores: the paper's numbers, plot data for ``dvc plots``, figures.

``evaluate_scores`` is the one call a stage makes after scoring a split.  It writes, into
``out_dir`` (each file atomically, so a crash never leaves a half-written output):

============================  ===========================================================
``metrics.json``              flat headline numbers for ``dvc metrics show/diff`` and
                              MLflow (``realbogus.metrics.headline_metrics``); no NaN:
                              undefined values are ``null``
``roc.csv``                   columns fpr, mdr, tpr, threshold: the ROC thinned to at most
                              ``max_curve_points`` points (``thin_curve_indices``) plus the
                              exact operating points at the MDR targets
``threshold_curves.csv``      columns threshold, fpr, mdr, tpr on a 0.01 grid
``score_hist.csv``            columns score (bin centre), bin_low, bin_high,
                              non_artifact, artifact (counts per bin)
``categories.csv``            columns category, label, score_low, score_high, meaning,
                              count, percent
``cleanliness.csv``           columns mdr, cleanliness, threshold for the given stream
                              real fraction (points where nothing passes left out)
``*.png``                     the figures of ``realbogus.plots`` (see ``FIGURE_FILES``)
============================  ===========================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from realbogus import plots
from realbogus.atomic import atomic_path
from realbogus.metrics import (
    CATEGORIES,
    CleanlinessCurve,
    RocCurve,
    DEFAULT_MDR_TARGETS,
    DEFAULT_THRESHOLD,
    auc_from_curve,
    category_counts,
    cleanliness_from_rates,
    headline_metrics,
    operating_point_at_mdr,
    roc_curve,
    threshold_curves,
    validate_inputs,
)
from realbogus.release.layout import ARTIFACT, NON_ARTIFACT

METRICS_FILE = "metrics.json"
ROC_FILE = "roc.csv"
THRESHOLD_CURVES_FILE = "threshold_curves.csv"
SCORE_HISTOGRAM_FILE = "score_hist.csv"
CATEGORIES_FILE = "categories.csv"
CLEANLINESS_FILE = "cleanliness.csv"
DATA_FILES: tuple[str, ...] = (
    METRICS_FILE, ROC_FILE, THRESHOLD_CURVES_FILE, SCORE_HISTOGRAM_FILE, CATEGORIES_FILE, CLEANLINESS_FILE,
)
FIGURE_FILES: dict[str, str] = {
    "roc_fpr_mdr": "roc_fpr_mdr.png",
    "roc_tpr_fpr": "roc_tpr_fpr.png",
    "score_hist": "score_hist.png",
    "threshold_curves": "threshold_curves.png",
    "cleanliness": "cleanliness.png",
}
DEFAULT_REAL_FRACTION = 0.15  # the ongoing DECam survey's stream is about 15% real
DEFAULT_MAX_CURVE_POINTS = 1000
DEFAULT_HISTOGRAM_BINS = 50


def thin_curve_indices(
    *, x: ArrayLike, y: ArrayLike, max_points: int, keep: ArrayLike = ()
) -> NDArray[np.int64]:
    """Indices (ascending) of at most ``max_points`` (+ ``keep``) points of a polyline.

    ``x``, ``y``: shape (m,), the curve in drawing order.  First, points in the middle of a
    straight run are dropped (a ROC of n samples is mostly horizontal and vertical steps),
    which loses nothing.  If more than ``max_points`` remain, points are taken evenly along
    the curve's length, so steep and flat parts keep the same resolution.  The two ends
    and the indices in ``keep`` are always kept.
    """
    x_values = np.asarray(x, dtype=np.float64)
    y_values = np.asarray(y, dtype=np.float64)
    if x_values.shape != y_values.shape or x_values.ndim != 1 or x_values.size == 0:
        raise ValueError(f"x and y must be non-empty 1-D arrays of one shape; got {x_values.shape} and {y_values.shape}")
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 (the two ends); got {max_points}")
    size = x_values.size
    if size <= 2:
        return np.arange(size, dtype=np.int64)
    # A middle point is kept only where the direction changes (non-zero second difference).
    bends = np.flatnonzero((np.diff(x_values, 2) != 0) | (np.diff(y_values, 2) != 0)) + 1
    candidates = np.concatenate(([0], bends, [size - 1]))
    if candidates.size > max_points:
        steps = np.hypot(np.diff(x_values[candidates]), np.diff(y_values[candidates]))
        length_so_far = np.concatenate(([0.0], np.cumsum(steps)))
        targets = np.linspace(0.0, length_so_far[-1], max_points)
        chosen = np.searchsorted(length_so_far, targets, side="left").clip(0, candidates.size - 1)
        candidates = candidates[np.unique(np.concatenate(([0], chosen, [candidates.size - 1])))]
    return np.unique(np.concatenate((candidates, np.asarray(keep, dtype=np.int64)))).astype(np.int64)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False)


def write_metrics_json(metrics: dict[str, float | int | None], path: str | os.PathLike[str]) -> Path:
    """Write a flat metrics dict as JSON; raises ValueError on NaN/inf (use None instead)."""
    target = Path(path)
    text = json.dumps(metrics, indent=2, allow_nan=False) + "\n"
    with atomic_path(target) as temporary:
        temporary.write_text(text)
    return target


def score_histogram(
    *, labels: ArrayLike, artifact_score: ArrayLike, bins: int = DEFAULT_HISTOGRAM_BINS
) -> pd.DataFrame:
    """Counts per score bin on [0, 1] for each label; one row per bin (``bins`` rows).

    Bins are [low, high) except the last, which includes 1.0 (numpy's convention).
    """
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    if bins < 1:
        raise ValueError(f"bins must be a positive integer; got {bins}")
    edges = np.linspace(0.0, 1.0, bins + 1)
    real_counts, _ = np.histogram(scores[checked_labels == NON_ARTIFACT], bins=edges)
    artifact_counts, _ = np.histogram(scores[checked_labels == ARTIFACT], bins=edges)
    return pd.DataFrame({
        "score": 0.5 * (edges[:-1] + edges[1:]),
        "bin_low": edges[:-1],
        "bin_high": edges[1:],
        "non_artifact": real_counts,
        "artifact": artifact_counts,
    })


def category_frame(*, labels: ArrayLike, artifact_score: ArrayLike) -> pd.DataFrame:
    """The six-category table as a frame: one row per category, counts and percent."""
    counts = category_counts(labels=labels, artifact_score=artifact_score)
    return pd.DataFrame({
        "category": [category.number for category in CATEGORIES],
        "label": [category.label for category in CATEGORIES],
        "score_low": [category.score_low for category in CATEGORIES],
        "score_high": [category.score_high for category in CATEGORIES],
        "meaning": [category.meaning for category in CATEGORIES],
        "count": counts,
        "percent": 100.0 * counts / counts.sum(),
    })


def evaluate_scores(
    *,
    labels: ArrayLike,
    artifact_score: ArrayLike,
    out_dir: str | os.PathLike[str],
    name: str,
    real_fraction: float = DEFAULT_REAL_FRACTION,
    threshold: float = DEFAULT_THRESHOLD,
    mdr_targets: Sequence[float] = DEFAULT_MDR_TARGETS,
    fpr_targets: Sequence[float] = (),
    histogram_bins: int = DEFAULT_HISTOGRAM_BINS,
    max_curve_points: int = DEFAULT_MAX_CURVE_POINTS,
    figures: bool = True,
) -> dict[str, float | int | None]:
    """Compute the paper's metrics for one scored sample set and write them to ``out_dir``.

    ``labels`` (shape (n,), 1 = artifact) and ``artifact_score`` (shape (n,), in [0, 1])
    must hold both classes.  ``name`` (e.g. ``"rf test"``) titles the figures and names the
    curve in their legends.  ``threshold`` is the decision threshold for accuracy, the
    rates and the marked line; ``real_fraction`` the stream's real fraction for the
    cleanliness curve.  Returns the dict written to ``metrics.json`` (see
    ``realbogus.metrics.headline_metrics`` for its keys) for MLflow logging.
    """
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    n_artifact = int(checked_labels.sum())
    if n_artifact in (0, checked_labels.size):
        present = "artifacts (1)" if n_artifact else "non-artifacts (0)"
        raise ValueError(
            f"evaluate_scores({name!r}, out_dir={str(out_dir)!r}): ROC, AUC and FPR at MDR need both "
            f"classes; labels hold only {present} ({checked_labels.size} samples)"
        )
    output = Path(out_dir)
    output.mkdir(parents=True, exist_ok=True)

    curve = roc_curve(labels=checked_labels, artifact_score=scores)
    metrics = headline_metrics(
        labels=checked_labels, artifact_score=scores, threshold=threshold,
        mdr_targets=mdr_targets, fpr_targets=fpr_targets, curve=curve,
    )
    write_metrics_json(metrics, output / METRICS_FILE)

    # Keep the exact operating points of the headline numbers in the thinned curve.
    target_indices = [
        int(np.flatnonzero(curve.thresholds == operating_point_at_mdr(curve=curve, mdr=target).threshold)[0])
        for target in mdr_targets
    ]
    kept = thin_curve_indices(x=curve.fpr, y=curve.tpr, max_points=max_curve_points, keep=target_indices)
    _write_csv(pd.DataFrame({
        "fpr": curve.fpr[kept], "mdr": curve.mdr[kept], "tpr": curve.tpr[kept], "threshold": curve.thresholds[kept],
    }), output / ROC_FILE)

    rates_grid = threshold_curves(labels=checked_labels, artifact_score=scores)
    _write_csv(pd.DataFrame({
        "threshold": rates_grid.thresholds, "fpr": rates_grid.fpr, "mdr": rates_grid.mdr, "tpr": rates_grid.tpr,
    }), output / THRESHOLD_CURVES_FILE)
    _write_csv(score_histogram(labels=checked_labels, artifact_score=scores, bins=histogram_bins),
               output / SCORE_HISTOGRAM_FILE)
    _write_csv(category_frame(labels=checked_labels, artifact_score=scores), output / CATEGORIES_FILE)

    cleanliness = cleanliness_from_rates(tpr=curve.tpr[kept], fpr=curve.fpr[kept], real_fraction=real_fraction)
    defined = np.isfinite(cleanliness)
    _write_csv(pd.DataFrame({
        "mdr": curve.mdr[kept][defined], "cleanliness": cleanliness[defined], "threshold": curve.thresholds[kept][defined],
    }), output / CLEANLINESS_FILE)

    if figures:
        # Figures draw every bend of the curve (dropping only points inside straight runs,
        # which changes nothing on screen); only the CSVs are thinned further.
        # Cleanliness is not linear along a straight ROC run, so its figure uses every point.
        bends = thin_curve_indices(x=curve.fpr, y=curve.tpr, max_points=curve.fpr.size)
        drawn_curve = RocCurve(*(values[bends] for values in curve))
        plots.plot_roc_fpr_mdr(curves={name: drawn_curve}, path=output / FIGURE_FILES["roc_fpr_mdr"],
                               title=f"{name}: FPR vs MDR")
        plots.plot_roc_tpr_fpr(curves={name: drawn_curve}, aucs={name: auc_from_curve(curve)},
                               path=output / FIGURE_FILES["roc_tpr_fpr"], title=f"{name}: ROC")
        plots.plot_score_histograms(labels=checked_labels, artifact_score=scores, bins=histogram_bins,
                                    threshold=threshold, path=output / FIGURE_FILES["score_hist"],
                                    title=f"{name}: artifact score by label")
        plots.plot_threshold_curves(curves=rates_grid, chosen_threshold=threshold,
                                    path=output / FIGURE_FILES["threshold_curves"],
                                    title=f"{name}: FPR and MDR vs threshold")
        full_cleanliness = CleanlinessCurve(
            thresholds=curve.thresholds, mdr=curve.mdr, real_fraction=float(real_fraction),
            cleanliness=cleanliness_from_rates(tpr=curve.tpr, fpr=curve.fpr, real_fraction=real_fraction),
        )
        plots.plot_stream_cleanliness(curves={name: full_cleanliness}, path=output / FIGURE_FILES["cleanliness"],
                                      title=f"{name}: stream cleanliness vs MDR")
    return metrics
