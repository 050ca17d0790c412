"""The feature matrix every feature model trains on, fitting on rows, artifact scores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.release.layout import BAND_CODES, FEATURE_NAMES
from realbogus.stage_tables import read_table


def feature_matrix(features: pd.DataFrame) -> np.ndarray:
    """(N, 38) float64 matrix of the autoScan features in release order, BAND as 0..3.

    features: a table holding every name of ``FEATURE_NAMES`` as a column.  The matrix is
    filled column by column, so building it costs one matrix of memory and no copy of the
    table (304 bytes per sample: ~270 MB for the full release).
    """
    missing = [name for name in FEATURE_NAMES if name not in features.columns]
    if missing:
        raise ValueError(f"feature table lacks column(s) {missing}; expected all 38 autoScan features")
    matrix = np.empty((len(features), len(FEATURE_NAMES)), dtype=np.float64)
    for index, name in enumerate(FEATURE_NAMES):
        _fill_column(matrix, index, features[name])
    return matrix


def _fill_column(matrix: np.ndarray, index: int, column: pd.Series) -> None:
    """Column ``index`` of the feature matrix from the table's column: BAND letters as 0..3,
    values beyond float32's range clipped."""
    name = FEATURE_NAMES[index]
    if name == "BAND" and (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
        codes = column.map(BAND_CODES)
        unknown = sorted(set(column[codes.isna()].astype(str)))
        if unknown:
            raise ValueError(f"BAND must be one of {sorted(BAND_CODES)}; found {unknown}")
        column = codes
    try:
        matrix[:, index] = column.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"feature table has non-numeric values in {name!r}: {error}") from None
    # scikit-learn's trees work in float32 and refuse +-inf or anything beyond its range;
    # a tree only uses the order of values, so such extremes (a diverged fit in some
    # release's CSV) are clipped to the largest float32 instead of failing the whole run.
    # NaN stays NaN: it means "not measured" and is imputed.
    largest = float(np.finfo(np.float32).max)
    np.clip(matrix[:, index], -largest, largest, out=matrix[:, index])


def read_feature_matrix(features_path: str | os.PathLike[str], *, ids: np.ndarray) -> np.ndarray:
    """The (N, 38) feature matrix (:func:`feature_matrix`) of ``ids`` in their order, from the
    `features` stage's table.

    A parquet table is read one column at a time straight into the matrix: reading it
    whole, or in batches of rows (one row group decodes whole), held ~1.2 KB per sample
    beside the matrix's 0.3 KB (measured at 300,000 samples: +356 MiB against +148 MiB).
    """
    path = Path(features_path)
    table_ids = read_table(path, columns=("id",), what="feature table", only=True)["id"].to_numpy()
    missing = np.setdiff1d(ids, table_ids)
    if missing.size:
        raise ValueError(f"{path}: feature table has no row for {missing.size} id(s), e.g. {missing[:5].tolist()}")
    matrix = np.empty((len(table_ids), len(FEATURE_NAMES)), dtype=np.float64)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        absent = [name for name in FEATURE_NAMES if name not in parquet.schema_arrow.names]
        if absent:
            raise ValueError(f"{path}: feature table lacks column(s) {absent}; expected all 38 autoScan features")
        columns = ((name, parquet.read(columns=[name]).column(0).to_pandas()) for name in FEATURE_NAMES)
    else:
        table = read_table(path, columns=("id", *FEATURE_NAMES), what="feature table", only=True)
        columns = ((name, table[name]) for name in FEATURE_NAMES)
    for index, (name, column) in enumerate(columns):
        try:
            _fill_column(matrix, index, column)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    if np.array_equal(table_ids, ids):  # the stage writes the table in id order: no reordering copy
        return matrix
    return matrix[pd.Index(table_ids).get_indexer(ids)]


def as_feature_matrix(features: pd.DataFrame | np.ndarray) -> np.ndarray:
    """``features`` as the (N, 38) matrix: a table goes through :func:`feature_matrix`, a
    matrix (already built, e.g. once for a fit and its scoring) is checked and passed on."""
    if isinstance(features, pd.DataFrame):
        return feature_matrix(features)
    matrix = np.asarray(features)
    if matrix.ndim != 2 or matrix.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"a feature matrix must be (N, {len(FEATURE_NAMES)}); got shape {matrix.shape}")
    return matrix


def fit_on_rows(model: Any, *, features: pd.DataFrame | np.ndarray, labels: np.ndarray,
                train_rows: np.ndarray) -> Any:
    """Fit a scikit-learn classifier on ``train_rows`` of the feature matrix (1 = artifact).

    features: the feature table or its :func:`feature_matrix`."""
    labels = np.asarray(labels)
    if set(np.unique(labels[train_rows]).tolist()) != {0, 1}:
        raise ValueError("the training rows must hold both classes (labels 0 and 1)")
    rows = features.iloc[train_rows] if isinstance(features, pd.DataFrame) else np.asarray(features)[train_rows]
    model.fit(as_feature_matrix(rows), labels[train_rows])
    return model


def artifact_scores(*, model: Any, features: pd.DataFrame | np.ndarray) -> np.ndarray:
    """(N,) float32 probability of the artifact class (label 1) for every row.

    model: any fitted scikit-learn classifier on :func:`feature_matrix` (every kind of
    :mod:`realbogus.feature_models`); features: the feature table or its matrix."""
    classes = list(model.classes_)
    return model.predict_proba(as_feature_matrix(features))[:, classes.index(1)].astype(np.float32)


def staged_artifact_scores(*, model: Any, features: pd.DataFrame | np.ndarray) -> np.ndarray | None:
    """(T, N) float32 artifact probability of every row after each of the model's T
    training stages (boosting iterations: ``staged_predict_proba``), or None for a model
    fitted in one go (a forest)."""
    staged = getattr(model, "staged_predict_proba", None)
    if staged is None:
        return None
    column = list(model.classes_).index(1)
    return np.stack([probabilities[:, column] for probabilities in staged(as_feature_matrix(features))]).astype(np.float32)
