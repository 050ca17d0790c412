import numpy as np
import pytest

from realbogus.feature_models.forest import ForestConfig, build_forest
from realbogus.feature_models.matrix import artifact_scores, feature_matrix, fit_on_rows
from realbogus.params import config_from_mapping
from realbogus.release.layout import FEATURE_NAMES

from .synthetic import synthetic_features


def train_forest(*, features, labels, train_rows, config, seed=0):
    return fit_on_rows(build_forest(config, seed=seed), features=features, labels=labels, train_rows=train_rows)


def test_paper_forest_settings():
    forest = build_forest(ForestConfig(), seed=7).named_steps["forest"]
    assert (forest.n_estimators, forest.criterion, forest.max_features, forest.min_samples_split, forest.max_depth,
            forest.random_state) == (100, "entropy", 6, 3, None, 7)


def test_bad_impute_strategy_names_the_member():
    with pytest.raises(ValueError, match=r"feature_models.rf: impute_strategy must be 'constant' or 'median'"):
        config_from_mapping(ForestConfig, {"impute_strategy": "mean"}, where="params.yaml feature_models.rf")


def test_band_is_mapped_and_unknown_band_refused():
    table, _ = synthetic_features(8)
    table["BAND"] = list("grizgriz")
    assert feature_matrix(table)[:, FEATURE_NAMES.index("BAND")].tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    table.loc[3, "BAND"] = "Y"
    with pytest.raises(ValueError, match="'Y'"):
        feature_matrix(table)


def test_missing_feature_column_is_named():
    table, _ = synthetic_features(5)
    with pytest.raises(ValueError, match="GAUSS"):
        feature_matrix(table.drop(columns=["GAUSS"]))


def test_forest_learns_and_keeps_rows_with_missing_values():
    table, labels = synthetic_features(1500)
    rows = np.arange(1500)
    model = train_forest(features=table, labels=labels, train_rows=rows[:1000],
                         config=ForestConfig(n_estimators=30, n_jobs=1))
    scores = artifact_scores(model=model, features=table)
    assert scores.shape == (1500,) and not np.isnan(scores).any()
    held_out_accuracy = ((scores[1000:] >= 0.5) == labels[1000:]).mean()
    assert held_out_accuracy > 0.9


def test_forest_needs_both_classes():
    table, _ = synthetic_features(20)
    with pytest.raises(ValueError, match="both classes"):
        train_forest(features=table, labels=np.ones(20, int), train_rows=np.arange(20), config=ForestConfig(n_jobs=1))


def test_values_beyond_float32_are_clipped_not_fatal():
    table, labels = synthetic_features(200)
    table.loc[3, "AMP"] = 9.6e48  # a diverged fit, as once seen in a release CSV
    table.loc[4, "GAUSS"] = np.inf
    table.loc[5, "SCALE"] = -np.inf
    matrix = feature_matrix(table)
    largest = np.finfo(np.float32).max
    assert matrix[3, FEATURE_NAMES.index("AMP")] == largest
    assert matrix[4, FEATURE_NAMES.index("GAUSS")] == largest
    assert matrix[5, FEATURE_NAMES.index("SCALE")] == -largest
    assert np.isnan(matrix[:, FEATURE_NAMES.index("A_REF")]).any()  # not-measured stays NaN
    model = train_forest(features=table, labels=labels, train_rows=np.arange(200),
                         config=ForestConfig(n_estimators=5, n_jobs=1))
    assert np.isfinite(artifact_scores(model=model, features=table)).all()
