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
from realbogus.split import assign_splits
from realbogus.training_runs import (
    StageInputs,
    crossfit_folds,
    crossfit_member,
    new_split,
    read_release_labels,
    margin_score_source,
    records_training_dynamics,
)

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


class StagedRecordingClassifier(RecordingClassifier):
    """Trains in three stages, like boosted trees, with artifact scores 0.6, 0.8, 1.0."""

    def staged_predict_proba(self, matrix: np.ndarray):
        self.staged_ids = matrix[:, _carrier_column()].astype(np.int64)
        for artifact in (0.6, 0.8, 1.0):
            yield np.column_stack([np.full(len(matrix), 1.0 - artifact), np.full(len(matrix), artifact)])


def test_training_dynamics_give_each_training_sample_its_area_under_the_margin(monkeypatch, tmp_path):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class StagedConfig:
        pass

    built: list[StagedRecordingClassifier] = []

    def build(config: StagedConfig, *, seed: int) -> StagedRecordingClassifier:
        built.append(StagedRecordingClassifier(len(built)))
        return built[-1]

    monkeypatch.setattr(realbogus.feature_models, "_REGISTERED", {})
    register_feature_model(FeatureModel(kind="staged", config_type=StagedConfig, build=build))
    monkeypatch.setenv("REALBOGUS_TRACKING", "0")
    spec = resolve_member("st", {"feature_models": {"st": {"kind": "staged"}}})
    inputs = _inputs()
    table = crossfit_member(spec=spec, inputs=inputs, folds=2, seed=11, validation_fraction=0.2,
                            out_path=tmp_path / "st.parquet", data_source="test", run_params={},
                            training_dynamics=True)
    # Each model's stages were scored on exactly its training rows.
    trained = np.concatenate([model.trained_ids for model in built])
    assert all(np.array_equal(model.staged_ids, model.trained_ids) for model in built)
    area = table.set_index("id")["margin_area"]
    # Margins 2 P(given) - 1 over the stages: label 1 -> 0.2, 0.6, 1.0; label 0 -> the negatives.
    expected = np.where(table.set_index("id").loc[trained, "label"] == 1, 0.6, -0.6)
    np.testing.assert_allclose(area.loc[trained].to_numpy(), expected, atol=1e-6)
    # A sample that only validated (never trained) has no area.
    assert area.drop(index=trained).isna().all() and area.drop(index=trained).size > 0
    # Without training dynamics the column is not written.
    plain = crossfit_member(spec=spec, inputs=inputs, folds=2, seed=11, validation_fraction=0.2,
                            out_path=tmp_path / "plain.parquet", data_source="test", run_params={})
    assert "margin_area" not in plain


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


class SeededClassifier:
    """Scores drawn from its seed: two seeds give two different, reproducible score sets."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def fit(self, matrix: np.ndarray, labels: np.ndarray) -> SeededClassifier:
        self.classes_ = np.unique(labels)
        return self

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        artifact = SeededClassifier.scores(self.seed, len(matrix))
        return np.column_stack([1.0 - artifact, artifact])

    @staticmethod
    def scores(seed: int, n: int) -> np.ndarray:
        return np.random.default_rng(seed).random(n)


def test_a_member_over_several_seeds_keeps_the_first_as_the_model_and_writes_every_seeds_scores(tmp_path, monkeypatch):
    import dataclasses

    from realbogus.seeds import training_seeds
    from realbogus.stage_tables import read_seed_scores
    from realbogus.training_runs import seed_spread_metrics, train_and_evaluate

    @dataclasses.dataclass(frozen=True)
    class SeededConfig:
        pass

    built_with: list[int] = []

    def build(config: SeededConfig, *, seed: int) -> SeededClassifier:
        built_with.append(seed)
        return SeededClassifier(seed)

    monkeypatch.setattr(realbogus.feature_models, "_REGISTERED", {})
    register_feature_model(FeatureModel(kind="seeded", config_type=SeededConfig, build=build))
    monkeypatch.setenv("REALBOGUS_TRACKING", "0")
    inputs = _inputs()
    spec = dataclasses.replace(resolve_member("s", {"feature_models": {"s": {"kind": "seeded"}}}), seeds=3)
    split = np.where(np.arange(len(inputs.ids)) % 5 == 0, "test", "train")
    train_and_evaluate(spec=spec, inputs=inputs, split=split, seed=7, model_dir=tmp_path / "model",
                       reports_dir=tmp_path / "reports", stage="train", data_source="test", run_params={})

    seeds = training_seeds(base_seed=7, n_seeds=3)
    assert built_with == seeds  # the first training is the single-run one, then one per further seed
    per_seed = read_seed_scores(tmp_path / "model")
    assert list(per_seed) == seeds
    written = pd.read_parquet(tmp_path / "model" / "scores.parquet")
    np.testing.assert_array_equal(per_seed[7].loc[written["id"]].to_numpy(), written["artifact_score"].to_numpy())
    for seed in seeds:  # every seed's own scores, in id order (the matrix rows follow the ids)
        np.testing.assert_allclose(per_seed[seed].loc[inputs.ids].to_numpy(),
                                   SeededClassifier.scores(seed, len(inputs.ids)).astype(np.float32))
    assert len({tuple(scores.round(6)) for scores in per_seed.values()}) == 3

    spread = seed_spread_metrics(labels=inputs.labels, seed_scores={seed: per_seed[seed].loc[inputs.ids].to_numpy()
                                                                     for seed in seeds}, split=split)
    from realbogus.metrics import auc

    test = split == "test"
    aucs = [auc(labels=inputs.labels[test], artifact_score=per_seed[seed].loc[inputs.ids].to_numpy()[test])
            for seed in seeds]
    assert spread["test_auc_mean"] == pytest.approx(np.mean(aucs))
    assert spread["test_auc_std"] == pytest.approx(np.std(aucs, ddof=1))
    assert spread["test_auc_min"] == pytest.approx(min(aucs)) and "val_auc_mean" not in spread


def test_one_seed_writes_no_seed_scores(recording_kind, tmp_path):
    from realbogus.training_runs import train_and_evaluate

    inputs = _inputs()
    spec = resolve_member("rec", {"feature_models": {"rec": {"kind": "recording"}}})
    assert spec.seeds == 1
    split = np.where(np.arange(len(inputs.ids)) % 5 == 0, "test", "train")
    train_and_evaluate(spec=spec, inputs=inputs, split=split, seed=1, model_dir=tmp_path / "model",
                       reports_dir=tmp_path / "reports", stage="train", data_source="test", run_params={})
    assert len(recording_kind) == 1
    assert not (tmp_path / "model" / "seed_scores.parquet").exists()


def test_a_retrains_new_split_is_the_same_for_every_label_version_and_not_the_original(tmp_path):
    """Retrains on two label versions draw their test samples alike (stratified by the release's
    labels), so their test figures compare the same detections; another seed is another split."""
    rng = np.random.default_rng(3)
    ids = rng.permutation(np.arange(1000, 3000))
    release = (rng.random(ids.size) < 0.3).astype(np.int64)
    pd.DataFrame({"id": ids, "row": np.arange(ids.size), "label": release}).to_parquet(tmp_path / "catalog.parquet")
    fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    ordered = np.sort(ids)
    labels = read_release_labels(ingested_dir=tmp_path, ids=ordered)
    assert (labels == pd.Series(release, index=ids).loc[ordered].to_numpy()).all()
    relabelled = labels.copy()
    relabelled[rng.choice(labels.size, 150, replace=False)] ^= 1
    split = new_split(ids=ordered, release_labels=labels, fractions=fractions, seed=2)
    # What the split of a relabelled version would have been, stratified by its own labels:
    # it moves samples between splits, which is what made paired comparisons impossible.
    by_own_labels = assign_splits(ids=ordered, labels=relabelled, fractions=fractions, seed=2)
    assert (by_own_labels != split).any()
    assert (split == new_split(ids=ordered, release_labels=labels, fractions=fractions, seed=2)).all()
    assert (split != new_split(ids=ordered, release_labels=labels, fractions=fractions, seed=5)).mean() > 0.2
    for label in (0, 1):  # still stratified by the release's labels
        share = (split[labels == label] == "test").mean()
        assert abs(share - 0.2) < 0.002


def test_release_labels_missing_an_id_is_an_error_naming_the_catalog(tmp_path):
    pd.DataFrame({"id": [1, 2], "row": [0, 1], "label": [0, 1]}).to_parquet(tmp_path / "catalog.parquet")
    with pytest.raises(ValueError, match="catalog.parquet"):
        read_release_labels(ingested_dir=tmp_path, ids=np.array([1, 2, 3]))


@pytest.mark.parametrize("setting, member, expected", [
    (False, "model1", False), (True, "hgb", True), (True, "model1", True),
    (["model1"], "model1", True), (["model1"], "hgb", False), ([], "model1", False),
    (["model1", "model2"], "model2", True),
])
def test_crossfit_training_dynamics_names_the_members_that_record_it(setting, member, expected):
    known = ["rf", "hgb", "model1", "model2"]
    assert records_training_dynamics(setting, member=member, known_members=known) is expected


def test_crossfit_margin_scores_is_a_known_source():
    assert [margin_score_source(source) for source in ("epoch_end", "step")] == ["epoch_end", "step"]
    with pytest.raises(ValueError, match=r"crossfit.margin_scores must be one of \['epoch_end', 'step'\], got 'pass'"):
        margin_score_source("pass")


def test_crossfit_training_dynamics_rejects_an_unknown_member_and_a_bad_value():
    # A member defined in params but not in the ensemble is fine (it is just not cross-fitted).
    assert records_training_dynamics(["model2"], member="rf", known_members=["rf", "model2"]) is False
    with pytest.raises(ValueError, match=r"crossfit.training_dynamics names \['modle1'\]"):
        records_training_dynamics(["modle1"], member="model1", known_members=["rf", "model1"])
    with pytest.raises(ValueError, match="true, false or a list"):
        records_training_dynamics("yes", member="model1", known_members=["model1"])
    with pytest.raises(ValueError, match="true, false or a list"):
        records_training_dynamics([1], member="model1", known_members=["model1"])


def test_a_cnns_crossfit_records_the_margin_from_either_source_and_scores_the_same(tmp_path, monkeypatch):
    from cnn.conftest import make_learnable_stamps

    monkeypatch.setenv("REALBOGUS_TRACKING", "0")
    stamps, labels = make_learnable_stamps(n_samples=160, seed=3)
    spec = resolve_member("tiny", {"models": {"tiny": {"filters": [6], "kernel": 3, "pool": 2, "strides": [1],
                                                       "dense_units": 8}},
                                   "train": {"max_epochs": 2, "batch_size": 32, "learning_rate": 3e-3}})
    inputs = StageInputs(ids=np.arange(1000, 1160), labels=labels.astype(np.int64), features=None, stamps=stamps,
                         data_version="d", labels_version="l")
    tables = {source: crossfit_member(spec=spec, inputs=inputs, folds=2, seed=11, validation_fraction=0.1,
                                      out_path=tmp_path / f"{source}.parquet", data_source="test", run_params={},
                                      training_dynamics=True, margin_scores=source)
              for source in ("epoch_end", "step")}
    # The source of the margins changes nothing in the training: the same cross-fitted scores.
    np.testing.assert_array_equal(tables["step"]["artifact_score"], tables["epoch_end"]["artifact_score"])
    for table in tables.values():
        area = table["margin_area"].to_numpy()
        recorded = np.isfinite(area)
        # Every sample trains in one fold unless drawn for validation there (10 %).
        assert 0.8 * len(area) < recorded.sum() < len(area)
        assert np.all((area[recorded] >= -1) & (area[recorded] <= 1))
    assert not np.allclose(tables["step"]["margin_area"], tables["epoch_end"]["margin_area"], equal_nan=True)
