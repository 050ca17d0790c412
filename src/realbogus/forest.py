"""The autoScan random forest baseline, as the paper re-implemented it.

RandomForestClassifier(n_estimators=100, criterion="entropy", max_features=6,
min_samples_split=3, max_depth=None) on the 38 autoScan features, BAND mapped g,r,i,z -> 0..3.

Unlike the paper, rows with missing features are kept: missing values are imputed.  The
features that go missing (A_REF, B_REF, MAG_REF, MAG_REF_ERR, NN_DIST_RENORM) are missing
*because* the template has no source there, which is informative; the default fill is a
constant far outside every feature's range, so a tree can still split "no template source"
from the rest.  ``impute_strategy: median`` is the alternative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from realbogus.release.layout import BAND_CODES, FEATURE_NAMES


@dataclass(frozen=True)
class ForestConfig:
    n_estimators: int = 100
    criterion: str = "entropy"
    max_features: int | float | str = 6
    min_samples_split: int = 3
    max_depth: int | None = None
    impute_strategy: str = "constant"  # or "median"
    impute_fill_value: float = -999.0
    n_jobs: int = -1
    seed: int = 0


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


def build_forest(config: ForestConfig) -> Pipeline:
    """Imputer followed by the paper's forest, as one scikit-learn pipeline."""
    if config.impute_strategy not in ("constant", "median"):
        raise ValueError(f"rf.impute_strategy must be 'constant' or 'median', got {config.impute_strategy!r}")
    imputer = SimpleImputer(strategy=config.impute_strategy,
                            fill_value=config.impute_fill_value if config.impute_strategy == "constant" else None,
                            keep_empty_features=True)
    forest = RandomForestClassifier(
        n_estimators=config.n_estimators, criterion=config.criterion, max_features=config.max_features,
        min_samples_split=config.min_samples_split, max_depth=config.max_depth,
        n_jobs=config.n_jobs, random_state=config.seed)
    return Pipeline([("impute", imputer), ("forest", forest)])


def fit_on_rows(model: Any, *, features: pd.DataFrame, labels: np.ndarray, train_rows: np.ndarray) -> Any:
    """Fit a scikit-learn classifier on ``train_rows`` of the feature matrix (1 = artifact)."""
    labels = np.asarray(labels)
    if set(np.unique(labels[train_rows]).tolist()) != {0, 1}:
        raise ValueError("the training rows must hold both classes (labels 0 and 1)")
    model.fit(feature_matrix(features.iloc[train_rows]), labels[train_rows])
    return model


def train_forest(*, features: pd.DataFrame, labels: np.ndarray, train_rows: np.ndarray,
                 config: ForestConfig) -> Pipeline:
    """Fit the forest on ``train_rows`` of ``features`` / ``labels`` (1 = artifact)."""
    return fit_on_rows(build_forest(config), features=features, labels=labels, train_rows=train_rows)


def feature_model_artifact_scores(*, model: Any, features: pd.DataFrame) -> np.ndarray:
    """(N,) float32 probability of the artifact class (label 1) for every row.

    model: any fitted scikit-learn classifier on :func:`feature_matrix` (the forest, or the
    boosted trees of :mod:`realbogus.boosting`)."""
    classes = list(model.classes_)
    return model.predict_proba(feature_matrix(features))[:, classes.index(1)].astype(np.float32)
