import numpy as np
import pytest

from realbogus.feature_models.boosting import BoostingConfig, build_boosting
from realbogus.feature_models.matrix import artifact_scores, fit_on_rows
from realbogus.params import config_from_mapping

from .synthetic import synthetic_features


def train_boosting(*, features, labels, train_rows, config, seed=0):
    return fit_on_rows(build_boosting(config, seed=seed), features=features, labels=labels, train_rows=train_rows)


def test_boosting_learns_without_imputing_missing_values():
    table, labels = synthetic_features(1500)
    model = train_boosting(features=table, labels=labels, train_rows=np.arange(1000),
                           config=BoostingConfig(max_iter=50))
    scores = artifact_scores(model=model, features=table)
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    assert ((scores[1000:] >= 0.5) == labels[1000:]).mean() > 0.9


def test_boosting_is_deterministic_for_a_seed_and_needs_both_classes():
    table, labels = synthetic_features(400)
    rows = np.arange(300)
    first, second = (artifact_scores(
        model=train_boosting(features=table, labels=labels, train_rows=rows, config=BoostingConfig(max_iter=20)),
        features=table) for _ in range(2))
    assert np.array_equal(first, second)
    with pytest.raises(ValueError, match="both classes"):
        train_boosting(features=table, labels=np.zeros(400, int), train_rows=rows, config=BoostingConfig())


@pytest.mark.parametrize("field,value", [("max_iter", 0), ("learning_rate", 0.0), ("learning_rate", 1.5)])
def test_bad_boosting_settings_are_named(field, value):
    with pytest.raises(ValueError, match=f"params.yaml feature_models.hgb: {field}"):
        config_from_mapping(BoostingConfig, {field: value}, where="params.yaml feature_models.hgb")


def test_calibrated_boosting_is_less_over_confident_on_samples_it_did_not_train_on():
    # Weakly separated classes with 10 % wrong labels: 150 rounds of raw boosting learn the
    # training rows' noise and score new rows more surely than they are right.
    table, labels = synthetic_features(1500, seed=1)
    table["SNR"] -= 2.0 * labels
    noisy = labels ^ (np.random.default_rng(2).random(labels.size) < 0.1)
    train, held_out = np.arange(1000), np.arange(1000, 1500)

    def held_out_figures(config):
        model = train_boosting(features=table, labels=noisy, train_rows=train, config=config)
        score = np.clip(artifact_scores(model=model, features=table.iloc[held_out]).astype(float), 1e-7, 1 - 1e-7)
        truth = noisy[held_out]
        log_loss = -np.mean(truth * np.log(score) + (1 - truth) * np.log(1 - score))
        strongly_wrong = np.mean(np.where(truth == 1, score < 0.1, score >= 0.9))
        return log_loss, strongly_wrong

    raw = held_out_figures(BoostingConfig(max_iter=150))
    for method in ("sigmoid", "isotonic"):
        calibrated = held_out_figures(BoostingConfig(max_iter=150, calibration=method, calibration_folds=3))
        assert calibrated[0] < raw[0] - 0.02
        assert calibrated[1] < raw[1]


def test_calibrated_boosting_is_deterministic_for_a_seed():
    table, labels = synthetic_features(600)
    rows = np.arange(500)
    config = BoostingConfig(max_iter=20, calibration="sigmoid", calibration_folds=3)
    first, second = (artifact_scores(model=train_boosting(features=table, labels=labels, train_rows=rows,
                                                          config=config), features=table) for _ in range(2))
    assert np.array_equal(first, second)


@pytest.mark.parametrize("field,value", [("calibration", "platt"), ("calibration_folds", 1)])
def test_bad_calibration_settings_are_named(field, value):
    with pytest.raises(ValueError, match=f"params.yaml feature_models.hgb: {field}"):
        config_from_mapping(BoostingConfig, {field: value}, where="params.yaml feature_models.hgb")
