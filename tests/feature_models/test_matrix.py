"""The feature matrix read from the `features` stage's table: column by column, in the
caller's id order, with errors that name the file; a matrix built once serves the fit and
the scoring."""

from __future__ import annotations

import numpy as np
import pytest

from realbogus.feature_models.boosting import BoostingConfig, build_boosting
from realbogus.feature_models.matrix import artifact_scores, feature_matrix, fit_on_rows, read_feature_matrix
from realbogus.release.layout import FEATURE_NAMES

from .synthetic import synthetic_features


def _feature_file(tmp_path, n=50, suffix=".parquet"):
    table, labels = synthetic_features(n)
    table.insert(0, "id", np.arange(100, 100 + n))
    path = tmp_path / f"features{suffix}"
    table.to_parquet(path, index=False) if suffix == ".parquet" else table.to_csv(path, index=False)
    return path, table, labels


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_the_matrix_read_column_by_column_equals_the_whole_table_in_the_callers_order(tmp_path, suffix):
    path, table, _ = _feature_file(tmp_path, suffix=suffix)
    table.loc[5, "SNR"] = np.inf  # clipped to float32's range, as from the whole table
    table.to_parquet(path, index=False) if suffix == ".parquet" else table.to_csv(path, index=False)
    ids = table["id"].to_numpy()
    np.testing.assert_array_equal(read_feature_matrix(path, ids=ids), feature_matrix(table))
    shuffled = np.random.default_rng(1).permutation(ids)[:30]
    expected = feature_matrix(table.set_index("id").loc[shuffled])
    np.testing.assert_array_equal(read_feature_matrix(path, ids=shuffled), expected)


def test_a_missing_id_or_feature_or_bad_value_names_the_file(tmp_path):
    path, table, _ = _feature_file(tmp_path)
    with pytest.raises(ValueError, match=r"features\.parquet: feature table has no row for 1 id\(s\), e\.g\. \[7\]"):
        read_feature_matrix(path, ids=np.array([100, 7]))
    table.drop(columns=["GAUSS"]).to_parquet(path, index=False)
    with pytest.raises(ValueError, match=r"features\.parquet: feature table lacks column\(s\) \['GAUSS'\]"):
        read_feature_matrix(path, ids=table["id"].to_numpy())
    table.loc[3, "BAND"] = "Y"
    table.to_parquet(path, index=False)
    with pytest.raises(ValueError, match=r"features\.parquet: BAND must be one of .*\['Y'\]"):
        read_feature_matrix(path, ids=table["id"].to_numpy())


def test_a_matrix_fits_and_scores_as_its_table_does():
    table, labels = synthetic_features(300)
    rows = np.arange(200)
    from_table = fit_on_rows(build_boosting(BoostingConfig(max_iter=20), seed=3), features=table, labels=labels,
                             train_rows=rows)
    matrix = feature_matrix(table)
    from_matrix = fit_on_rows(build_boosting(BoostingConfig(max_iter=20), seed=3), features=matrix, labels=labels,
                              train_rows=rows)
    np.testing.assert_array_equal(artifact_scores(model=from_table, features=table),
                                  artifact_scores(model=from_matrix, features=matrix))
    with pytest.raises(ValueError, match=r"a feature matrix must be \(N, 38\); got shape \(300, 37\)"):
        artifact_scores(model=from_matrix, features=matrix[:, :37])
    assert matrix.shape == (300, len(FEATURE_NAMES))
