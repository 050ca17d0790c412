import numpy as np
import pytest

from realbogus.boosting import BoostingConfig, build_boosting, train_boosting
from realbogus.forest import feature_model_artifact_scores
from realbogus.members import fit_and_score, member_kind, reads_features
from test_forest import synthetic_features

PARAMS = {"rf": {"n_estimators": 10, "n_jobs": 1}, "hgb": {"max_iter": 30},
          "models": {"model1": {"filters": [8], "kernel": 3, "pool": 2, "strides": [1]}}}


def test_boosting_learns_without_imputing_missing_values():
    table, labels = synthetic_features(1500)
    model = train_boosting(features=table, labels=labels, train_rows=np.arange(1000),
                           config=BoostingConfig(max_iter=50))
    scores = feature_model_artifact_scores(model=model, features=table)
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    assert ((scores[1000:] >= 0.5) == labels[1000:]).mean() > 0.9


def test_boosting_is_deterministic_for_a_seed_and_needs_both_classes():
    table, labels = synthetic_features(400)
    rows = np.arange(300)
    first, second = (feature_model_artifact_scores(
        model=train_boosting(features=table, labels=labels, train_rows=rows, config=BoostingConfig(max_iter=20)),
        features=table) for _ in range(2))
    assert np.array_equal(first, second)
    with pytest.raises(ValueError, match="both classes"):
        train_boosting(features=table, labels=np.zeros(400, int), train_rows=rows, config=BoostingConfig())


@pytest.mark.parametrize("field,value", [("max_iter", 0), ("learning_rate", 0.0), ("learning_rate", 1.5)])
def test_bad_boosting_settings_are_named(field, value):
    with pytest.raises(ValueError, match=f"hgb.{field}"):
        build_boosting(BoostingConfig(**{field: value}))


def test_member_kinds():
    assert [member_kind(name, params=PARAMS) for name in ("rf", "hgb", "model1")] == ["forest", "boosting", "cnn"]
    assert reads_features("hgb", params=PARAMS) and not reads_features("model1", params=PARAMS)
    with pytest.raises(ValueError, match=r"'model9'.*\['hgb', 'rf'\].*\['model1'\]"):
        member_kind("model9", params=PARAMS)


def test_fit_and_score_hgb_scores_only_the_rows_asked_and_saves(tmp_path):
    table, labels = synthetic_features(600)
    fitted = fit_and_score(name="hgb", params=PARAMS, labels=labels, train_rows=np.arange(400), val_rows=np.arange(0),
                           score_rows=np.arange(400, 600), seed=3, features=table)
    assert np.isnan(fitted.artifact_score[:400]).all() and np.isfinite(fitted.artifact_score[400:]).all()
    assert fitted.save(tmp_path).name == "model.joblib"
    with pytest.raises(ValueError, match="'hgb' needs the feature table"):
        fit_and_score(name="hgb", params=PARAMS, labels=labels, train_rows=np.arange(400), val_rows=np.arange(0),
                      score_rows=np.arange(400, 600), seed=3)


def test_unknown_hgb_setting_names_the_params_section():
    table, labels = synthetic_features(100)
    with pytest.raises(ValueError, match="params.yaml hgb"):
        fit_and_score(name="hgb", params={**PARAMS, "hgb": {"max_iters": 10}}, labels=labels,
                      train_rows=np.arange(80), val_rows=np.arange(0), score_rows=np.arange(80, 100), seed=0,
                      features=table)
