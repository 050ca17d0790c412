"""The feature matrix every feature model trains on, fitting on rows, artifact scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from realbogus.release.layout import BAND_CODES, FEATURE_NAMES


def feature_matrix(features: pd.DataFrame) -> np.ndarray:
    """(N, 38) float64 matrix of the autoScan features in release order, BAND as 0..3.

    features: a table holding every name of ``FEATURE_NAMES`` as a column.
    """
    missing = [name for name in FEATURE_NAMES if name not in features.columns]
    if missing:
        raise ValueError(f"feature table lacks column(s) {missing}; expected all 38 autoScan features")
    table = features.loc[:, list(FEATURE_NAMES)].copy()
    band = table["BAND"]
    if band.dtype == object or isinstance(band.dtype, pd.StringDtype):
        codes = band.map(BAND_CODES)
        unknown = sorted(set(band[codes.isna()].astype(str)))
        if unknown:
            raise ValueError(f"BAND must be one of {sorted(BAND_CODES)}; found {unknown}")
        table["BAND"] = codes
    try:
        matrix = table.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"feature table has non-numeric values: {error}") from None
    # scikit-learn's trees work in float32 and refuse +-inf or anything beyond its range;
    # a tree only uses the order of values, so such extremes (a diverged fit in some
    # release's CSV) are clipped to the largest float32 instead of failing the whole run.
    # NaN stays NaN: it means "not measured" and is imputed.
    largest = float(np.finfo(np.float32).max)
    np.clip(matrix, -largest, largest, out=matrix)
    return matrix


def fit_on_rows(model: Any, *, features: pd.DataFrame, labels: np.ndarray, train_rows: np.ndarray) -> Any:
    """Fit a scikit-learn classifier on ``train_rows`` of the feature matrix (1 = artifact)."""
    labels = np.asarray(labels)
    if set(np.unique(labels[train_rows]).tolist()) != {0, 1}:
        raise ValueError("the training rows must hold both classes (labels 0 and 1)")
    model.fit(feature_matrix(features.iloc[train_rows]), labels[train_rows])
    return model


def artifact_scores(*, model: Any, features: pd.DataFrame) -> np.ndarray:
    """(N,) float32 probability of the artifact class (label 1) for every row.

    model: any fitted scikit-learn classifier on :func:`feature_matrix` (every kind of
    :mod:`realbogus.feature_models`)."""
    classes = list(model.classes_)
    return model.predict_proba(feature_matrix(features))[:, classes.index(1)].astype(np.float32)


def staged_artifact_scores(*, model: Any, features: pd.DataFrame) -> np.ndarray | None:
    """(T, N) float32 artifact probability of every row after each of the model's T
    training stages (boosting iterations: ``staged_predict_proba``), or None for a model
    fitted in one go (a forest)."""
    staged = getattr(model, "staged_predict_proba", None)
    if staged is None:
        return None
    column = list(model.classes_).index(1)
    return np.stack([probabilities[:, column] for probabilities in staged(feature_matrix(features))]).astype(np.float32)
