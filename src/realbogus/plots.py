"""The paper's figures: ROC curves, score histograms, rates vs threshold, stream cleanliness.

Each function builds a ``matplotlib.figure.Figure`` on the Agg canvas (never pyplot, so no
global figure state leaks between stage runs or tests), optionally saves it to ``path``
atomically, and returns it.  Inputs are the curve tuples of ``realbogus.metrics``; a
``Mapping`` of curve name -> curve draws several curves on one plot (models, or the same
model before and after relabelling).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from realbogus.atomic import atomic_path
from realbogus.metrics import (
    GOLDSTEIN_2015_POINTS,
    CleanlinessCurve,
    RocCurve,
    ThresholdCurves,
    validate_inputs,
)
from realbogus.release.layout import ARTIFACT, NON_ARTIFACT

FIGURE_SIZE = (6.0, 4.5)
DPI = 110
# Log axes cannot show 0; rates below this are drawn at it.
LOG_AXIS_FLOOR = 1e-4


def new_figure() -> tuple[Figure, Axes]:
    """A fresh figure with one axes, attached to the Agg canvas."""
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``figure`` to ``path`` atomically; the format follows the suffix (png, pdf, svg)."""
    target = Path(path)
    file_format = target.suffix.lstrip(".").lower()
    if not file_format:
        raise ValueError(f"cannot tell the figure format of {target}: give it a suffix such as .png")
    with atomic_path(target) as temporary:
        # The temporary name has no suffix, so the format must be named explicitly.
        figure.savefig(temporary, format=file_format)
    return target


def _finish(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    if path is not None:
        save_figure(figure, path)
    return figure


def _check_curves(curves: Mapping[str, object], *, what: str) -> None:
    if not curves:
        raise ValueError(f"{what}: need at least one curve; got an empty mapping")


def _floored(values: np.ndarray, log: bool) -> np.ndarray:
    return np.maximum(values, LOG_AXIS_FLOOR) if log else values


def plot_roc_fpr_mdr(
    *,
    curves: Mapping[str, RocCurve],
    reference_points: Sequence[tuple[float, float]] | None = GOLDSTEIN_2015_POINTS,
    log_x: bool = False,
    log_y: bool = False,
    max_rate: float = 0.2,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """ROC as FPR (y) against MDR (x), as the paper and Goldstein et al. 2015 draw it.

    ``reference_points`` are (MDR, FPR) pairs marked as points (default: Goldstein 2015's
    autoScan operating points); None leaves them out.  With ``log_x``/``log_y`` zero rates
    are drawn at ``LOG_AXIS_FLOOR``.  Linear axes show [0, ``max_rate``], where a good
    classifier's operating points are.
    """
    _check_curves(curves, what="plot_roc_fpr_mdr")
    figure, axes = new_figure()
    for name, curve in curves.items():
        axes.plot(_floored(curve.mdr, log_x), _floored(curve.fpr, log_y), label=name, linewidth=1.4)
    if reference_points:
        mdr_points, fpr_points = zip(*reference_points)
        axes.scatter(mdr_points, fpr_points, marker="*", s=90, color="black", zorder=3,
                     label="Goldstein et al. 2015")
    if log_x:
        axes.set_xscale("log")
    else:
        axes.set_xlim(0.0, max_rate)
    if log_y:
        axes.set_yscale("log")
    else:
        axes.set_ylim(0.0, max_rate)
    axes.set_xlabel("missed detection rate (MDR)")
    axes.set_ylabel("false positive rate (FPR)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    axes.set_title(title or "ROC: FPR vs MDR")
    return _finish(figure, path)


def plot_roc_tpr_fpr(
    *,
    curves: Mapping[str, RocCurve],
    aucs: Mapping[str, float] | None = None,
    log_x: bool = False,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """ROC as TPR (y) against FPR (x); ``aucs`` (name -> AUC) is shown in the legend."""
    _check_curves(curves, what="plot_roc_tpr_fpr")
    figure, axes = new_figure()
    for name, curve in curves.items():
        label = f"{name} (AUC {aucs[name]:.4f})" if aucs and name in aucs else name
        axes.plot(_floored(curve.fpr, log_x), curve.tpr, label=label, linewidth=1.4)
    if log_x:
        axes.set_xscale("log")
    else:
        axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1.0)
        axes.set_xlim(0.0, 1.0)
    axes.set_ylim(0.0, 1.01)
    axes.set_xlabel("false positive rate (FPR)")
    axes.set_ylabel("true positive rate (TPR)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title(title or "ROC: TPR vs FPR")
    return _finish(figure, path)


def plot_score_histograms(
    *,
    labels: ArrayLike,
    artifact_score: ArrayLike,
    bins: int = 50,
    log_y: bool = True,
    threshold: float | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Histograms of ``artifact_score`` (shape (n,)) for each label on [0, 1], log y by default."""
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    if bins < 1:
        raise ValueError(f"bins must be a positive integer; got {bins}")
    figure, axes = new_figure()
    edges = np.linspace(0.0, 1.0, bins + 1)
    for label, name, color in ((NON_ARTIFACT, "non-artifact (label 0)", "tab:blue"),
                               (ARTIFACT, "artifact (label 1)", "tab:red")):
        axes.hist(scores[checked_labels == label], bins=edges, histtype="step", linewidth=1.5,
                  color=color, label=name, log=log_y)
    if threshold is not None:
        axes.axvline(threshold, color="black", linestyle="--", linewidth=1.0, label=f"threshold {threshold:g}")
    axes.set_xlim(0.0, 1.0)
    axes.set_xlabel("artifact score")
    axes.set_ylabel("samples")
    axes.legend(loc="upper center", fontsize="small")
    axes.set_title(title or "artifact score by label")
    return _finish(figure, path)


def plot_threshold_curves(
    *,
    curves: ThresholdCurves,
    chosen_threshold: float | None = None,
    log_y: bool = False,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """FPR and MDR against the threshold, with ``chosen_threshold`` marked if given."""
    figure, axes = new_figure()
    axes.plot(curves.thresholds, _floored(curves.fpr, log_y), label="FPR", color="tab:red")
    axes.plot(curves.thresholds, _floored(curves.mdr, log_y), label="MDR", color="tab:blue")
    if chosen_threshold is not None:
        axes.axvline(chosen_threshold, color="black", linestyle="--", linewidth=1.0,
                     label=f"threshold {chosen_threshold:g}")
    if log_y:
        axes.set_yscale("log")
    axes.set_xlim(float(np.min(curves.thresholds)), float(np.max(curves.thresholds)))
    axes.set_xlabel("threshold (artifact when score >= threshold)")
    axes.set_ylabel("rate")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    axes.set_title(title or "FPR and MDR vs threshold")
    return _finish(figure, path)


def plot_stream_cleanliness(
    *,
    curves: Mapping[str, CleanlinessCurve],
    max_mdr: float = 0.5,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Fraction of passed objects that are real (y) against MDR (x), one line per curve."""
    _check_curves(curves, what="plot_stream_cleanliness")
    figure, axes = new_figure()
    for name, curve in curves.items():
        defined = np.isfinite(curve.cleanliness)
        axes.plot(curve.mdr[defined], curve.cleanliness[defined],
                  label=f"{name} (real fraction {curve.real_fraction:g})", linewidth=1.4)
    axes.set_xlim(0.0, max_mdr)
    axes.set_xlabel("missed detection rate (MDR)")
    axes.set_ylabel("fraction of passed objects that are real")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title(title or "stream cleanliness vs MDR")
    return _finish(figure, path)


def plot_learning_curves(
    *,
    history: Mapping[str, Sequence[float]],
    metrics: Sequence[str] = ("loss", "val_loss"),
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Keras' per-epoch ``history`` (metric -> one value per epoch): ``metrics`` against the
    epoch (counted from 1); metrics the history lacks are left out."""
    shown = [name for name in metrics if history.get(name)]
    if not shown:
        raise ValueError(f"plot_learning_curves: the history has none of {list(metrics)}; it has {sorted(history)}")
    figure, axes = new_figure()
    for name in shown:
        values = np.asarray(history[name], dtype=np.float64)
        axes.plot(np.arange(1, values.size + 1), values, marker="o", markersize=3, linewidth=1.4, label=name)
    axes.set_xlabel("epoch")
    axes.set_ylabel("binary cross-entropy" if set(shown) <= {"loss", "val_loss"} else "value")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(True, alpha=0.3)
    axes.legend()
    axes.set_title(title or "learning curves")
    return _finish(figure, path)
