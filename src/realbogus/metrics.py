"""The paper's measurement definitions (Ayyar et al. 2022; Goldstein et al. 2015).

Every function takes ``labels`` and ``artifact_score`` as 1-D arrays of the same length
``n`` (one entry per sample) and returns plain numbers or numpy arrays.

Conventions, used everywhere in the project (see ``docs/metrics.md``):

* ``labels``: 1 = artifact (bogus), 0 = non-artifact (real; in the training release an
  injected fake).
* ``artifact_score``: a classifier's score in [0, 1]; larger means "more likely an
  artifact".  A sample is *predicted artifact* when ``artifact_score >= threshold``.
* The *positive* class is the non-artifact (label 0), and a *positive prediction* is a
  sample that passes the cut (``artifact_score < threshold``).  Hence

  - Tp: label 0 predicted non-artifact      - Fn: label 0 predicted artifact
  - Fp: label 1 predicted non-artifact      - Tn: label 1 predicted artifact

  TPR = Tp / (Tp + Fn), FPR = Fp / (Fp + Tn), MDR = Fn / (Tp + Fn) = 1 - TPR.
* Scores are compared with thresholds and category boundaries at the precision of the
  scores: a float32 score that reads 0.9 is compared with float32(0.9), so it lands where
  a reader expects (category 6), not just below the float64 value 0.9.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from realbogus.release.layout import ARTIFACT, NON_ARTIFACT

DEFAULT_THRESHOLD = 0.5
# Goldstein et al. 2015 (autoScan) reference operating points as (MDR, FPR).
GOLDSTEIN_2015_POINTS: tuple[tuple[float, float], ...] = ((0.03, 0.038), (0.04, 0.024), (0.05, 0.016))
DEFAULT_MDR_TARGETS: tuple[float, ...] = tuple(mdr for mdr, _ in GOLDSTEIN_2015_POINTS)
# Threshold grid for FPR/MDR-vs-threshold curves: 0.00, 0.01, ..., 1.00.
DEFAULT_THRESHOLD_GRID: NDArray[np.float64] = np.linspace(0.0, 1.0, 101)
# Bootstrap intervals of FPR at MDR (the test split is one draw of samples): 90 % from 1,000
# resamples; on a 4,000-sample split another bootstrap seed moves an end by up to 0.1 point
# at MDR 0.05 and 0.25 at MDR 0.03 (docs/metrics.md).
DEFAULT_INTERVAL_LEVEL = 0.90
DEFAULT_RESAMPLES = 1000


class Category(NamedTuple):
    """One row of the paper's category table: ``label`` and the score range [low, high)."""

    number: int
    label: int
    score_low: float
    score_high: float  # exclusive, except 1.0, which is inclusive
    meaning: str


CATEGORIES: tuple[Category, ...] = (
    Category(1, ARTIFACT, 0.0, 0.1, "strongly mis-classified artifact"),
    Category(2, ARTIFACT, 0.1, 0.5, "weakly mis-classified artifact"),
    Category(3, ARTIFACT, 0.5, 1.0, "correctly classified artifact"),
    Category(4, NON_ARTIFACT, 0.0, 0.5, "correctly classified non-artifact"),
    Category(5, NON_ARTIFACT, 0.5, 0.9, "weakly mis-classified non-artifact"),
    Category(6, NON_ARTIFACT, 0.9, 1.0, "strongly mis-classified non-artifact"),
)
CATEGORY_KEYS: tuple[str, ...] = tuple(f"cat{category.number}" for category in CATEGORIES)


class ConfusionCounts(NamedTuple):
    """Counts at one threshold, with non-artifact (label 0) as the positive class."""

    tp: int  # label 0, score < threshold
    fn: int  # label 0, score >= threshold
    fp: int  # label 1, score < threshold
    tn: int  # label 1, score >= threshold


class Rates(NamedTuple):
    """TPR, FPR, MDR at one threshold; NaN when the class they divide by is absent."""

    tpr: float
    fpr: float
    mdr: float


class RocCurve(NamedTuple):
    """One ROC point per distinct threshold, thresholds ascending (all arrays shape (m+1,)).

    ``thresholds[k]`` is the k-th distinct score; the last threshold is the smallest number
    above the highest score, so every sample passes there.  The first point therefore has
    TPR = FPR = 0 (nothing passes) and the last TPR = FPR = 1.  ``fpr`` and ``tpr`` rise
    with the threshold; ``mdr`` = 1 - ``tpr`` falls.
    """

    thresholds: NDArray[np.float64]
    fpr: NDArray[np.float64]
    tpr: NDArray[np.float64]
    mdr: NDArray[np.float64]


class OperatingPoint(NamedTuple):
    """One point of a ROC curve: cut at ``threshold`` (artifact when score >= threshold)."""

    threshold: float
    tpr: float
    fpr: float
    mdr: float


class ThresholdCurves(NamedTuple):
    """FPR, MDR and TPR at each threshold of a grid; all arrays shape (len(grid),)."""

    thresholds: NDArray[np.float64]
    fpr: NDArray[np.float64]
    mdr: NDArray[np.float64]
    tpr: NDArray[np.float64]


class CleanlinessCurve(NamedTuple):
    """Stream cleanliness at each ROC threshold; arrays shape (m+1,), as in RocCurve.

    ``cleanliness[k]`` is the fraction of passed objects that are real in a stream whose
    real fraction is ``real_fraction``; NaN where nothing passes (TPR = FPR = 0).
    """

    thresholds: NDArray[np.float64]
    mdr: NDArray[np.float64]
    cleanliness: NDArray[np.float64]
    real_fraction: float


# --------------------------------------------------------------------------- validation


def _first_offenders(bad: NDArray[np.bool_], values: NDArray, *, limit: int = 3) -> str:
    indices = np.flatnonzero(bad)
    shown = ", ".join(f"{values[i]!r} at index {i}" for i in indices[:limit])
    more = f" (and {indices.size - limit} more)" if indices.size > limit else ""
    return shown + more


def validate_labels(labels: ArrayLike) -> NDArray[np.int8]:
    """Return ``labels`` as an int8 array of shape (n,), or raise ValueError.

    Accepts bool, integer or float arrays whose values are exactly 0 or 1; anything else
    (2, -1, 0.5, NaN) is an error rather than being rounded.
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels must be a 1-D array (one label per sample); got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"labels must be numeric 0/1 (1 = artifact, 0 = non-artifact); got dtype {array.dtype}")
    bad = ~np.isin(array, (NON_ARTIFACT, ARTIFACT))
    if bad.any():
        raise ValueError(
            "labels must hold only 0 (non-artifact) and 1 (artifact); found "
            + _first_offenders(bad, array)
        )
    return array.astype(np.int8)


def validate_scores(artifact_score: ArrayLike) -> NDArray[np.floating]:
    """Return ``artifact_score`` as a float array of shape (n,), or raise ValueError.

    Float inputs keep their precision (float32 stays float32, so thresholds are compared
    at the precision the classifier produced); integer inputs become float64.
    """
    array = np.asarray(artifact_score)
    if array.ndim != 1:
        raise ValueError(f"artifact_score must be a 1-D array (one score per sample); got shape {array.shape}")
    if array.dtype.kind in "iu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise ValueError(f"artifact_score must be a float array of scores in [0, 1]; got dtype {array.dtype}")
    nan = np.isnan(array)
    if nan.any():
        raise ValueError("artifact_score must not hold NaN; found " + _first_offenders(nan, array))
    outside = (array < 0) | (array > 1)
    if outside.any():
        raise ValueError("artifact_score must lie in [0, 1]; found " + _first_offenders(outside, array))
    return array


def validate_inputs(
    *, labels: ArrayLike, artifact_score: ArrayLike
) -> tuple[NDArray[np.int8], NDArray[np.floating]]:
    """Validate both arrays and check they describe the same n >= 1 samples."""
    checked_labels = validate_labels(labels)
    checked_scores = validate_scores(artifact_score)
    if checked_labels.shape != checked_scores.shape:
        raise ValueError(
            f"labels and artifact_score must have one entry per sample; got {checked_labels.size} "
            f"labels and {checked_scores.size} scores"
        )
    if checked_labels.size == 0:
        raise ValueError("labels and artifact_score are empty; need at least one sample")
    return checked_labels, checked_scores


def _require_both_classes(labels: NDArray[np.int8], *, what: str) -> None:
    n_artifact = int(labels.sum())
    if n_artifact == 0 or n_artifact == labels.size:
        present = "artifacts (1)" if n_artifact else "non-artifacts (0)"
        raise ValueError(f"{what} needs both classes; labels hold only {present} ({labels.size} samples)")


def _check_threshold(threshold: float) -> None:
    if not isinstance(threshold, (int, float, np.floating, np.integer)) or np.isnan(threshold):
        raise ValueError(f"threshold must be a real number; got {threshold!r}")


def _check_fraction(value: float, *, name: str, open_interval: bool = False) -> float:
    if not isinstance(value, (int, float, np.floating, np.integer)) or np.isnan(value):
        raise ValueError(f"{name} must be a number; got {value!r}")
    value = float(value)
    if open_interval and not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1]; got {value}")
    return value


def _at_score_precision(values: ArrayLike, scores: NDArray[np.floating]) -> NDArray[np.floating]:
    # Compare in the scores' own dtype (see module docstring).
    return np.asarray(values, dtype=scores.dtype)


def _divide(numerator: NDArray | int, denominator: NDArray | int) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(numerator, dtype=np.float64) / np.asarray(denominator, dtype=np.float64)


# ------------------------------------------------------------------- one threshold


def confusion_at(
    *, labels: ArrayLike, artifact_score: ArrayLike, threshold: float = DEFAULT_THRESHOLD
) -> ConfusionCounts:
    """Confusion counts at ``threshold`` (predicted artifact when score >= threshold)."""
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    _check_threshold(threshold)
    passes = scores < _at_score_precision(threshold, scores)
    real = checked_labels == NON_ARTIFACT
    return ConfusionCounts(
        tp=int(np.count_nonzero(real & passes)),
        fn=int(np.count_nonzero(real & ~passes)),
        fp=int(np.count_nonzero(~real & passes)),
        tn=int(np.count_nonzero(~real & ~passes)),
    )


def rates_from_counts(counts: ConfusionCounts) -> Rates:
    """TPR, FPR, MDR from confusion counts; NaN where a class is absent."""
    n_real = counts.tp + counts.fn
    n_artifact = counts.fp + counts.tn
    return Rates(
        tpr=float(_divide(counts.tp, n_real)),
        fpr=float(_divide(counts.fp, n_artifact)),
        # Fn / (Tp + Fn) directly, not 1 - TPR, so an MDR of k/n compares exactly with a
        # target written as a decimal (e.g. 5/100 == 0.05).
        mdr=float(_divide(counts.fn, n_real)),
    )


def rates_at(*, labels: ArrayLike, artifact_score: ArrayLike, threshold: float = DEFAULT_THRESHOLD) -> Rates:
    """TPR, FPR and MDR at ``threshold``; NaN for a rate whose class has no samples."""
    return rates_from_counts(confusion_at(labels=labels, artifact_score=artifact_score, threshold=threshold))


def accuracy_at(*, labels: ArrayLike, artifact_score: ArrayLike, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Fraction of samples whose prediction at ``threshold`` matches their label."""
    counts = confusion_at(labels=labels, artifact_score=artifact_score, threshold=threshold)
    return (counts.tp + counts.tn) / (counts.tp + counts.fn + counts.fp + counts.tn)


# ------------------------------------------------------------------------ curves


def _pass_counts(
    labels: NDArray[np.int8], scores: NDArray[np.floating], thresholds: NDArray[np.floating]
) -> tuple[NDArray[np.int64], NDArray[np.int64], int, int]:
    """Per threshold: how many label-0 and label-1 samples pass (score < threshold)."""
    real_sorted = np.sort(scores[labels == NON_ARTIFACT])
    artifact_sorted = np.sort(scores[labels == ARTIFACT])
    real_pass = np.searchsorted(real_sorted, thresholds, side="left")
    artifact_pass = np.searchsorted(artifact_sorted, thresholds, side="left")
    return real_pass, artifact_pass, real_sorted.size, artifact_sorted.size


def roc_curve(*, labels: ArrayLike, artifact_score: ArrayLike) -> RocCurve:
    """The full ROC curve: one point per distinct score, plus the all-pass point.

    Agrees point for point with ``sklearn.metrics.roc_curve(1 - labels, 1 - artifact_score,
    drop_intermediate=False)`` (same points, same order: FPR ascending).  Needs both classes.
    """
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    _require_both_classes(checked_labels, what="roc_curve")
    distinct = np.unique(scores)
    # The threshold just above the highest score lets every sample pass (the (1, 1) point)
    # while staying finite, so it can be written to CSV/JSON.
    all_pass = np.nextafter(distinct[-1], np.asarray(np.inf, dtype=scores.dtype))
    thresholds = np.append(distinct, all_pass)
    real_pass, artifact_pass, n_real, n_artifact = _pass_counts(checked_labels, scores, thresholds)
    return RocCurve(
        thresholds=thresholds.astype(np.float64),
        fpr=_divide(artifact_pass, n_artifact),
        tpr=_divide(real_pass, n_real),
        mdr=_divide(n_real - real_pass, n_real),
    )


def auc_from_curve(curve: RocCurve) -> float:
    """Area under TPR(FPR) by the trapezoid rule (ties count half, as in Mann-Whitney)."""
    return float(np.trapezoid(curve.tpr, curve.fpr))


def auc(*, labels: ArrayLike, artifact_score: ArrayLike) -> float:
    """Area under the ROC curve with non-artifact as the positive class.

    Equals ``sklearn.metrics.roc_auc_score(1 - labels, 1 - artifact_score)``: the chance
    that a random non-artifact scores below a random artifact (ties count half).
    """
    return auc_from_curve(roc_curve(labels=labels, artifact_score=artifact_score))


def operating_point_at_mdr(*, curve: RocCurve, mdr: float) -> OperatingPoint:
    """The ROC point with the lowest FPR among those whose MDR <= ``mdr``.

    No interpolation: the result is a threshold one can actually cut at.  Because FPR
    rises and MDR falls with the threshold, this is the lowest threshold meeting the MDR
    target.  Always defined: the lowest threshold passes nothing (MDR = 1, FPR = 0).
    """
    target = _check_fraction(mdr, name="mdr target")
    meets = np.flatnonzero(curve.mdr <= target)
    best = meets[np.argmin(curve.fpr[meets])]
    return _point(curve, best)


def operating_point_at_fpr(*, curve: RocCurve, fpr: float) -> OperatingPoint:
    """The ROC point with the lowest MDR among those whose FPR <= ``fpr`` (no interpolation).

    Always defined: the lowest threshold passes nothing (FPR = 0).
    """
    target = _check_fraction(fpr, name="fpr target")
    meets = np.flatnonzero(curve.fpr <= target)
    best = meets[np.argmin(curve.mdr[meets])]
    return _point(curve, best)


def _point(curve: RocCurve, index: int) -> OperatingPoint:
    return OperatingPoint(
        threshold=float(curve.thresholds[index]),
        tpr=float(curve.tpr[index]),
        fpr=float(curve.fpr[index]),
        mdr=float(curve.mdr[index]),
    )


def fpr_at_mdr(
    *, labels: ArrayLike, artifact_score: ArrayLike, mdr: float | Sequence[float] = DEFAULT_MDR_TARGETS
) -> float | NDArray[np.float64]:
    """Best achievable FPR with MDR <= each target (see ``operating_point_at_mdr``).

    ``mdr`` is one target (returns a float) or a sequence (returns shape (len(mdr),)).
    """
    curve = roc_curve(labels=labels, artifact_score=artifact_score)
    if np.ndim(mdr) == 0:
        return operating_point_at_mdr(curve=curve, mdr=mdr).fpr  # type: ignore[arg-type]
    return np.array([operating_point_at_mdr(curve=curve, mdr=target).fpr for target in mdr])  # type: ignore[union-attr]


def bootstrap_fpr_at_mdr(
    *, labels: ArrayLike, artifact_score: ArrayLike, mdr: Sequence[float] = DEFAULT_MDR_TARGETS,
    resamples: int = DEFAULT_RESAMPLES, rng: np.random.Generator,
) -> NDArray[np.float64]:
    """``fpr_at_mdr`` on ``resamples`` stratified bootstrap resamples: shape (resamples, len(mdr)).

    Each resample draws the non-artifacts and the artifacts with replacement, each class as
    many as it has (a stratified bootstrap, as ROC intervals are usually drawn): the spread
    is that of the test split's sampling with its class counts fixed.  Both the threshold
    that meets the MDR target and the FPR there are re-measured on every resample, so the
    spread includes the threshold's own uncertainty.
    """
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    _require_both_classes(checked_labels, what="a bootstrap of FPR at MDR")
    if not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise ValueError(f"resamples must be a whole number >= 1; got {resamples!r}")
    targets = [_check_fraction(target, name="mdr target") for target in mdr]
    samples = np.empty((resamples, len(targets)))
    for k in range(resamples):
        rows = stratified_bootstrap_rows(checked_labels, rng=rng)
        curve = roc_curve(labels=checked_labels[rows], artifact_score=scores[rows])
        samples[k] = [operating_point_at_mdr(curve=curve, mdr=target).fpr for target in targets]
    return samples


def stratified_bootstrap_rows(classes: ArrayLike, *, rng: np.random.Generator) -> NDArray[np.intp]:
    """Row indices of one stratified bootstrap resample: each class's rows drawn with
    replacement, as many as the class has (grouped by class, not in the original order)."""
    values = np.asarray(classes)
    return np.concatenate([rng.choice(rows, rows.size) for rows in
                           (np.flatnonzero(values == value) for value in np.unique(values))])


def percentile_interval(samples: ArrayLike, *, level: float = DEFAULT_INTERVAL_LEVEL) -> NDArray[np.float64]:
    """The central ``level`` of bootstrap ``samples`` along axis 0: shape (2, ...) as (low, high)."""
    level = _check_fraction(level, name="level", open_interval=True)
    return np.quantile(np.asarray(samples, dtype=np.float64), [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)


def fpr_at_mdr_interval(
    *, labels: ArrayLike, artifact_score: ArrayLike, mdr: float | Sequence[float] = DEFAULT_MDR_TARGETS,
    level: float = DEFAULT_INTERVAL_LEVEL, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
) -> NDArray[np.float64]:
    """Percentile interval of ``fpr_at_mdr`` from the test split's sampling (stratified bootstrap).

    The same ``seed`` gives the same interval.  Returns (low, high) for one target, shape
    (len(mdr), 2) for a sequence.  On a 4,000-sample split with ~2,000 artifacts an FPR
    of 3.1 % at MDR 0.05 has the interval 2.3-3.9 % (docs/metrics.md).
    """
    targets = [mdr] if np.ndim(mdr) == 0 else list(mdr)  # type: ignore[list-item]
    samples = bootstrap_fpr_at_mdr(labels=labels, artifact_score=artifact_score, mdr=targets,  # type: ignore[arg-type]
                                   resamples=resamples, rng=np.random.default_rng(seed))
    interval = percentile_interval(samples, level=level).T
    return interval[0] if np.ndim(mdr) == 0 else interval


def fpr_change_interval(
    *, labels_before: ArrayLike, score_before: ArrayLike, labels_after: ArrayLike, score_after: ArrayLike,
    mdr: float = 0.05, level: float = DEFAULT_INTERVAL_LEVEL, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
) -> NDArray[np.float64]:
    """(low, high): percentile interval of FPR at ``mdr`` after minus before, from the sampling
    of two test splits drawn independently of each other (stratified bootstrap of each).

    For a retrain on a new random split (the paper's train-new/test-new) the two splits share
    some samples by chance; treating them as independent widens the interval a little (the
    shared samples' errors would partly cancel), so it errs toward "no conclusion".
    """
    streams = np.random.SeedSequence(seed).spawn(2)
    before = bootstrap_fpr_at_mdr(labels=labels_before, artifact_score=score_before, mdr=[mdr],
                                  resamples=resamples, rng=np.random.default_rng(streams[0]))
    after = bootstrap_fpr_at_mdr(labels=labels_after, artifact_score=score_after, mdr=[mdr],
                                 resamples=resamples, rng=np.random.default_rng(streams[1]))
    return percentile_interval((after - before)[:, 0], level=level)


def share_interval(count: int, total: int, *, level: float = DEFAULT_INTERVAL_LEVEL) -> tuple[float, float] | None:
    """(low, high): the Wilson score interval of the share ``count`` of ``total`` (None for
    ``total`` 0), for counted figures such as the share of flagged samples truly mislabelled:
    32 of 43 (74 %) is 62-84 % at 90 %.  Unlike the plain normal interval it stays inside
    [0, 1] and is fair for small counts and shares near 0 or 1."""
    from scipy.stats import norm

    if isinstance(count, bool) or isinstance(total, bool) or not 0 <= count <= total:
        raise ValueError(f"need 0 <= count <= total (whole numbers); got count {count!r}, total {total!r}")
    if total == 0:
        return None
    level = _check_fraction(level, name="level", open_interval=True)
    z = float(norm.ppf((1.0 + level) / 2.0))
    share = count / total
    middle = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z / (1 + z * z / total) * np.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return float(max(0.0, middle - half)), float(min(1.0, middle + half))


def mdr_at_fpr(
    *, labels: ArrayLike, artifact_score: ArrayLike, fpr: float | Sequence[float]
) -> float | NDArray[np.float64]:
    """Best achievable MDR with FPR <= each target (see ``operating_point_at_fpr``).

    ``fpr`` is one target (returns a float) or a sequence (returns shape (len(fpr),)).
    """
    curve = roc_curve(labels=labels, artifact_score=artifact_score)
    if np.ndim(fpr) == 0:
        return operating_point_at_fpr(curve=curve, fpr=fpr).mdr  # type: ignore[arg-type]
    return np.array([operating_point_at_fpr(curve=curve, fpr=target).mdr for target in fpr])  # type: ignore[union-attr]


def threshold_curves(
    *, labels: ArrayLike, artifact_score: ArrayLike, thresholds: ArrayLike | None = None
) -> ThresholdCurves:
    """FPR, MDR and TPR at each threshold of a grid (default 0.00, 0.01, ..., 1.00).

    Rates whose class is absent are NaN.  ``thresholds`` must be 1-D and free of NaN.
    """
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    grid = DEFAULT_THRESHOLD_GRID if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or np.isnan(grid).any():
        raise ValueError(f"thresholds must be a non-empty 1-D array without NaN; got {grid!r}")
    real_pass, artifact_pass, n_real, n_artifact = _pass_counts(
        checked_labels, scores, _at_score_precision(grid, scores)
    )
    return ThresholdCurves(
        thresholds=grid,
        fpr=_divide(artifact_pass, n_artifact),
        mdr=_divide(n_real - real_pass, n_real),
        tpr=_divide(real_pass, n_real),
    )


def cleanliness_from_rates(*, tpr: ArrayLike, fpr: ArrayLike, real_fraction: float) -> NDArray[np.float64]:
    """Fraction of passed objects that are real, for a stream with ``real_fraction`` reals.

    clean = r TPR / (r TPR + (1 - r) FPR): the two classes' pass rates reweighted from the
    evaluation set's class balance to the stream's.  NaN where nothing passes.
    """
    r = _check_fraction(real_fraction, name="real_fraction", open_interval=True)
    real_passed = r * np.asarray(tpr, dtype=np.float64)
    bogus_passed = (1.0 - r) * np.asarray(fpr, dtype=np.float64)
    return _divide(real_passed, real_passed + bogus_passed)


def stream_cleanliness(
    *, labels: ArrayLike, artifact_score: ArrayLike, real_fraction: float
) -> CleanlinessCurve:
    """Stream cleanliness against MDR at every ROC threshold (see ``cleanliness_from_rates``)."""
    r = _check_fraction(real_fraction, name="real_fraction", open_interval=True)
    curve = roc_curve(labels=labels, artifact_score=artifact_score)
    return CleanlinessCurve(
        thresholds=curve.thresholds,
        mdr=curve.mdr,
        cleanliness=cleanliness_from_rates(tpr=curve.tpr, fpr=curve.fpr, real_fraction=r),
        real_fraction=r,
    )


# -------------------------------------------------------------------- categories


def categories(*, labels: ArrayLike, artifact_score: ArrayLike) -> NDArray[np.int8]:
    """Per-sample category 1..6 of the paper's table, shape (n,).

    Ranges are half-open [low, high) with the top range closed at 1.0, so a boundary score
    belongs to the range above it: label 1 with score 0.1 is category 2, with 0.5 is
    category 3; label 0 with score 0.5 is category 5, with 0.9 is category 6.  This matches
    the threshold rule (artifact when score >= 0.5).
    """
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    low, middle, high = _at_score_precision([0.1, 0.5, 0.9], scores)
    above_middle = (scores >= middle).astype(np.int8)
    artifact_category = 1 + (scores >= low).astype(np.int8) + above_middle
    real_category = 4 + above_middle + (scores >= high).astype(np.int8)
    return np.where(checked_labels == ARTIFACT, artifact_category, real_category).astype(np.int8)


def category_counts(*, labels: ArrayLike, artifact_score: ArrayLike) -> NDArray[np.int64]:
    """Number of samples in categories 1..6, shape (6,) (index 0 is category 1)."""
    per_sample = categories(labels=labels, artifact_score=artifact_score)
    return np.bincount(per_sample, minlength=7)[1:].astype(np.int64)


def category_table(*, labels: ArrayLike, artifact_score: ArrayLike) -> dict[str, float]:
    """The six categories as percent of all samples: ``{"cat1": ..., ..., "cat6": ...}``.

    The six values sum to 100.
    """
    counts = category_counts(labels=labels, artifact_score=artifact_score)
    percent = 100.0 * counts / counts.sum()
    return {key: float(value) for key, value in zip(CATEGORY_KEYS, percent)}


# ------------------------------------------------------------------ metric names


def fpr_at_mdr_key(mdr: float) -> str:
    """Metric name for FPR at an MDR target, e.g. ``fpr_at_mdr_0.05``."""
    return f"fpr_at_mdr_{mdr:g}"


def mdr_at_fpr_key(fpr: float) -> str:
    """Metric name for MDR at an FPR target, e.g. ``mdr_at_fpr_0.01``."""
    return f"mdr_at_fpr_{fpr:g}"


def headline_metrics(
    *,
    labels: ArrayLike,
    artifact_score: ArrayLike,
    threshold: float = DEFAULT_THRESHOLD,
    mdr_targets: Sequence[float] = DEFAULT_MDR_TARGETS,
    fpr_targets: Sequence[float] = (),
    curve: RocCurve | None = None,
) -> dict[str, float | int | None]:
    """The flat dictionary of headline numbers logged to ``metrics.json`` and MLflow.

    Keys: ``n``, ``n_artifact``, ``n_non_artifact``, ``auc``, ``fpr_at_mdr_<target>`` per
    MDR target, ``mdr_at_fpr_<target>`` per FPR target, ``threshold``, ``accuracy``,
    ``tpr``, ``fpr``, ``mdr`` (at ``threshold``) and ``cat1`` .. ``cat6`` (percent).
    Values undefined for the data (e.g. AUC with one class) are ``None``, never NaN.
    ``curve`` may pass an already computed ``roc_curve`` of the same data.
    """
    checked_labels, scores = validate_inputs(labels=labels, artifact_score=artifact_score)
    n_artifact = int(checked_labels.sum())
    metrics: dict[str, float | int | None] = {
        "n": int(checked_labels.size),
        "n_artifact": n_artifact,
        "n_non_artifact": int(checked_labels.size - n_artifact),
    }
    both_classes = 0 < n_artifact < checked_labels.size
    if both_classes and curve is None:
        curve = roc_curve(labels=checked_labels, artifact_score=scores)
    metrics["auc"] = auc_from_curve(curve) if both_classes else None
    for target in mdr_targets:
        point = operating_point_at_mdr(curve=curve, mdr=target) if both_classes else None
        metrics[fpr_at_mdr_key(target)] = point.fpr if point else None
    for target in fpr_targets:
        point = operating_point_at_fpr(curve=curve, fpr=target) if both_classes else None
        metrics[mdr_at_fpr_key(target)] = point.mdr if point else None
    counts = confusion_at(labels=checked_labels, artifact_score=scores, threshold=threshold)
    rates = rates_from_counts(counts)
    metrics["threshold"] = float(threshold)
    metrics["accuracy"] = (counts.tp + counts.tn) / checked_labels.size
    metrics.update(tpr=rates.tpr, fpr=rates.fpr, mdr=rates.mdr)
    metrics.update(category_table(labels=checked_labels, artifact_score=scores))
    return {key: _json_number(value) for key, value in metrics.items()}


def _json_number(value: float | int | None) -> float | int | None:
    if value is None or isinstance(value, int):
        return value
    return float(value) if np.isfinite(value) else None


__all__ = [
    "CATEGORIES", "CATEGORY_KEYS", "Category", "CleanlinessCurve", "ConfusionCounts", "DEFAULT_INTERVAL_LEVEL",
    "DEFAULT_MDR_TARGETS", "DEFAULT_RESAMPLES", "DEFAULT_THRESHOLD", "DEFAULT_THRESHOLD_GRID",
    "GOLDSTEIN_2015_POINTS", "OperatingPoint", "Rates", "RocCurve", "ThresholdCurves", "accuracy_at", "auc",
    "auc_from_curve", "bootstrap_fpr_at_mdr", "categories", "category_counts", "category_table",
    "cleanliness_from_rates", "confusion_at", "fpr_at_mdr", "fpr_at_mdr_interval", "fpr_at_mdr_key",
    "fpr_change_interval", "headline_metrics", "mdr_at_fpr", "mdr_at_fpr_key", "operating_point_at_fpr",
    "operating_point_at_mdr", "percentile_interval", "rates_at", "rates_from_counts", "roc_curve",
    "share_interval", "stratified_bootstrap_rows", "stream_cleanliness", "threshold_curves", "validate_inputs",
    "validate_labels", "validate_scores",
]
