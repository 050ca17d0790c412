"""Cross-fitting is out of fold: no sample is ever scored by a model that trained on it.

A recording feature-model kind, registered the way a user adds one, remembers which
samples each fitted model trained on and which it scored; its score names the model, so
the written table says which model scored each sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import realbogus.feature_models
from feature_models.synthetic import synthetic_features
from realbogus.feature_models import FeatureModel, register_feature_model
from realbogus.members import resolve_member
from realbogus.training_runs import StageInputs, crossfit_folds, crossfit_member

# The feature column that carries each sample's id into the model, so the model can say
# which samples it saw (feature models see only the 38-feature matrix).
ID_CARRIER = "AMP"


class RecordingClassifier:
    """A scikit-learn style classifier that records what it was fitted on and asked to score.

    Its artifact score is (k + 1) / 100 for the k-th model built, so a score names its model.
    """

    def __init__(self, number: int) -> None:
        self.number = number
        self.trained_ids: np.ndarray | None = None
        self.scored_ids: list[np.ndarray] = []

    def fit(self, matrix: np.ndarray, labels: np.ndarray) -> RecordingClassifier:
        self.trained_ids = matrix[:, _carrier_column()].astype(np.int64)
        self.classes_ = np.unique(labels)
        return self

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        self.scored_ids.append(matrix[:, _carrier_column()].astype(np.int64))
        artifact = np.full(len(matrix), (self.number + 1) / 100.0)
        return np.column_stack([1.0 - artifact, artifact])


def _carrier_column() -> int:
    from realbogus.release.layout import FEATURE_NAMES

    return list(FEATURE_NAMES).index(ID_CARRIER)


@pytest.fixture
def recording_kind(monkeypatch):
    """A kind ``recording`` registered from outside the package; yields the models it builds."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class RecordingConfig:
        pass

    built: list[RecordingClassifier] = []

    def build(config: RecordingConfig, *, seed: int) -> RecordingClassifier:
        built.append(RecordingClassifier(len(built)))
        return built[-1]

    monkeypatch.setattr(realbogus.feature_models, "_REGISTERED", {})
    register_feature_model(FeatureModel(kind="recording", config_type=RecordingConfig, build=build))
    monkeypatch.setenv("REALBOGUS_TRACKING", "0")
    return built


def _inputs(n: int = 240, seed: int = 5) -> StageInputs:
    table, labels = synthetic_features(n, seed=seed)
    # Shuffled, non-contiguous ids (the stage sorts the catalog by id; so do we).
    ids = np.sort(np.random.default_rng(seed).choice(np.arange(10_000, 99_999), size=n, replace=False))
    table[ID_CARRIER] = ids.astype(np.float64)
    return StageInputs(ids=ids, labels=labels.astype(np.int64), features=table, stamps=None,
                       data_version="d", labels_version="l")


def test_every_sample_is_scored_once_by_a_model_that_never_trained_on_it(recording_kind, tmp_path):
    inputs = _inputs()
    spec = resolve_member("rec", {"feature_models": {"rec": {"kind": "recording"}}})
    folds = 3
    table = crossfit_member(spec=spec, inputs=inputs, folds=folds, seed=11, validation_fraction=0.2,
                            out_path=tmp_path / "rec.parquet", data_source="test", run_params={})

    assert len(recording_kind) == folds  # one model per fold
    assert table.equals(pd.read_parquet(tmp_path / "rec.parquet"))
    assert table["id"].tolist() == inputs.ids.tolist() and table["label"].tolist() == inputs.labels.tolist()
    every_id = set(inputs.ids.tolist())
    scored_by: dict[int, int] = {}
    for fold, model in enumerate(recording_kind):
        trained = set(model.trained_ids.tolist())
        scored = set(np.concatenate(model.scored_ids).tolist())
        held_out = set(table.loc[table["fold"] == fold, "id"].tolist())
        assert scored == held_out, f"fold {fold}: the model scored other samples than its held-out fold"
        assert not trained & scored, f"fold {fold}: {len(trained & scored)} samples scored by a model trained on them"
        # It trained on the other folds, less the share held out for early stopping.
        assert trained < every_id - held_out
        assert len(trained) / len(every_id - held_out) == pytest.approx(0.8, abs=0.1)
        for sample in scored:
            assert sample not in scored_by, f"sample {sample} scored twice"
            scored_by[sample] = model.number
    assert set(scored_by) == every_id
    # The table holds, for each sample, the score of the model that held it out.
    expected = np.array([(scored_by[sample] + 1) / 100.0 for sample in inputs.ids.tolist()], dtype=np.float32)
    np.testing.assert_array_equal(table["artifact_score"].to_numpy(), expected)
    np.testing.assert_array_equal(table["fold"].to_numpy(),
                                  crossfit_folds(ids=inputs.ids, labels=inputs.labels, folds=folds, seed=11))


def test_folds_are_label_stratified_seeded_and_independent_of_row_order():
    rng = np.random.default_rng(0)
    ids = rng.choice(np.arange(1, 10**6), size=1000, replace=False)
    labels = (rng.random(1000) < 0.3).astype(np.int64)
    folds = crossfit_folds(ids=ids, labels=labels, folds=4, seed=7)
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3]
    for label in (0, 1):
        per_fold = np.bincount(folds[labels == label], minlength=4)
        assert per_fold.max() - per_fold.min() <= 1, (label, per_fold)  # each class dealt out evenly
    order = rng.permutation(1000)
    np.testing.assert_array_equal(crossfit_folds(ids=ids[order], labels=labels[order], folds=4, seed=7),
                                  folds[order])
    other_seed = crossfit_folds(ids=ids, labels=labels, folds=4, seed=8)
    assert (other_seed != folds).mean() > 0.5
    # Not ordered by id: a fold is a random draw, not a block of neighbouring ids.
    by_id = folds[np.argsort(ids)]
    assert (by_id[1:] != by_id[:-1]).mean() > 0.5


@pytest.mark.parametrize("folds", [1, 0])
def test_fewer_than_two_folds_is_refused(folds):
    with pytest.raises(ValueError, match=r"crossfit.folds must be >= 2"):
        crossfit_folds(ids=np.arange(10), labels=np.arange(10) % 2, folds=folds, seed=0)


def test_a_clusters_other_process_fits_every_fold_and_writes_nothing(recording_kind, tmp_path, monkeypatch):
    from realbogus import tracking
    from realbogus.training_runs import train_and_evaluate

    # Process 1 of 2 (realbogus.cluster): it trains with the chief, which alone writes and logs.
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "127.0.0.1:1")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    monkeypatch.setenv("REALBOGUS_TRACKING", "1")  # even asked to, it does not log
    assert not tracking.tracking_enabled()
    inputs = _inputs()
    spec = resolve_member("rec", {"feature_models": {"rec": {"kind": "recording"}}})
    crossfit_member(spec=spec, inputs=inputs, folds=2, seed=11, validation_fraction=0.2,
                    out_path=tmp_path / "rec.parquet", data_source="test", run_params={})
    split = np.where(np.arange(len(inputs.ids)) % 5 == 0, "test", "train")
    results = train_and_evaluate(spec=spec, inputs=inputs, split=split, seed=1, model_dir=tmp_path / "model",
                                 reports_dir=tmp_path / "reports", stage="train", data_source="test", run_params={})
    assert len(recording_kind) == 3 and results == {}  # both folds and the training fitted
    assert list(tmp_path.iterdir()) == []
