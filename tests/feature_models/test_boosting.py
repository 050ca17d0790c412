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
