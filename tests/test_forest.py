import numpy as np
import pandas as pd
import pytest

from realbogus.forest import ForestConfig, build_forest, feature_matrix, feature_model_artifact_scores, train_forest
from realbogus.release.layout import FEATURE_NAMES


def synthetic_features(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    table = pd.DataFrame(rng.normal(size=(n, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    table["BAND"] = rng.choice(list("griz"), n)
    # Two features carry the label; the template-source features go missing for some rows.
    table["SNR"] += 3 * labels
    table["SPREAD_MODEL"] -= 2 * labels
    no_template_source = rng.random(n) < 0.3
    table.loc[no_template_source, ["A_REF", "B_REF", "MAG_REF", "MAG_REF_ERR", "NN_DIST_RENORM"]] = np.nan
    return table, labels


def test_paper_forest_settings():
    forest = build_forest(ForestConfig()).named_steps["forest"]
    assert (forest.n_estimators, forest.criterion, forest.max_features, forest.min_samples_split, forest.max_depth) == (
        100, "entropy", 6, 3, None)


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
    scores = feature_model_artifact_scores(model=model, features=table)
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
    assert np.isfinite(feature_model_artifact_scores(model=model, features=table)).all()
