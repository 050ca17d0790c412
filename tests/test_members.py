"""Members resolved once from params.yaml, fitted by kind; a new feature model is one module
and one params entry (here a toy kind, run through the feature_model stage's own code)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

import realbogus.feature_models
from feature_models.synthetic import synthetic_features
from script_modules import load_script
from realbogus.feature_models import FeatureModel, feature_model_kinds, register_feature_model
from realbogus.feature_models.boosting import BoostingConfig
from realbogus.feature_models.forest import ForestConfig
from realbogus.members import CNN, FEATURES, STAMPS, fit_and_score, resolve_member

REPO = Path(__file__).resolve().parents[1]
PARAMS = {"feature_models": {"rf": {"kind": "forest", "n_estimators": 10, "n_jobs": 1},
                             "hgb": {"kind": "boosting", "max_iter": 30}},
          "models": {"model1": {"filters": [8], "kernel": 3, "pool": 2, "strides": [1]}},
          "train": {"max_epochs": 1}}

TOY_MODULE = '''
"""A toy feature model: logistic regression on the imputed feature matrix."""
from dataclasses import dataclass

from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from realbogus.feature_models import FeatureModel


@dataclass(frozen=True)
class ToyConfig:
    C: float = 1.0


def build_toy(config: ToyConfig, *, seed: int):
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                         LogisticRegression(C=config.C, random_state=seed, max_iter=1000))


FEATURE_MODEL = FeatureModel(kind="toy_logistic", config_type=ToyConfig, build=build_toy)
'''


def test_members_resolve_once_to_kind_inputs_config_and_logged_params():
    rf, hgb, cnn = (resolve_member(name, PARAMS) for name in ("rf", "hgb", "model1"))
    assert (rf.kind, rf.reads, rf.config) == ("forest", FEATURES, ForestConfig(n_estimators=10, n_jobs=1))
    assert (hgb.kind, hgb.reads, hgb.config) == ("boosting", FEATURES, BoostingConfig(max_iter=30))
    assert rf.params == {"feature_models": {"rf": PARAMS["feature_models"]["rf"]}}
    assert (cnn.kind, cnn.reads, cnn.config.model.filters, cnn.config.train.max_epochs) == (CNN, STAMPS, (8,), 1)
    assert cnn.params == {"train": PARAMS["train"], "model": PARAMS["models"]["model1"]}
    # A CNN's figures are reported over train.seeds trainings; a feature model's over one.
    assert (rf.seeds, hgb.seeds, cnn.seeds) == (1, 1, 1)
    assert resolve_member("model1", {**PARAMS, "train": {"max_epochs": 1, "seeds": 3}}).seeds == 3


@pytest.mark.parametrize(("params", "name", "message"), [
    (PARAMS, "model9", r"unknown ensemble member 'model9'.*\['hgb', 'rf'\].*\['model1'\]"),
    ({"feature_models": {"gbt": {"kind": "gradient"}}}, "gbt",
     r"feature_models.gbt: unknown kind 'gradient'; known kinds: \[.*'boosting'.*'forest'.*\]"),
    ({"feature_models": {"gbt": {"max_iter": 3}}}, "gbt", r"feature_models.gbt: expected a mapping with a 'kind'"),
    ({"feature_models": {"hgb": {"kind": "boosting", "max_iters": 10}}}, "hgb",
     r"params.yaml feature_models.hgb: unknown key\(s\) \['max_iters'\]"),
    ({"feature_models": {"x": {"kind": "forest"}}, "models": {"x": {"filters": [8], "kernel": 3}}}, "x",
     "both under params.yaml feature_models and models"),
])
def test_bad_members_are_named_with_their_params_entry(params, name, message):
    with pytest.raises(ValueError, match=message):
        resolve_member(name, params)


def test_fit_and_score_scores_only_the_rows_asked_and_saves(tmp_path):
    table, labels = synthetic_features(600)
    spec = resolve_member("hgb", PARAMS)
    fitted = fit_and_score(spec=spec, labels=labels, train_rows=np.arange(400), val_rows=np.arange(0),
                           score_rows=np.arange(400, 600), seed=3, features=table)
    assert np.isnan(fitted.artifact_score[:400]).all() and np.isfinite(fitted.artifact_score[400:]).all()
    assert fitted.save(tmp_path).name == "model.joblib"
    with pytest.raises(ValueError, match="'hgb' reads the features, which were not given"):
        fit_and_score(spec=spec, labels=labels, train_rows=np.arange(400), val_rows=np.arange(0),
                      score_rows=np.arange(400, 600), seed=3)


@pytest.fixture
def toy_kind_module(tmp_path, monkeypatch):
    """A module dropped into the feature_models package, as a user adds one."""
    folder = tmp_path / "more_feature_models"
    folder.mkdir()
    (folder / "toy_logistic.py").write_text(TOY_MODULE)
    monkeypatch.setattr(realbogus.feature_models, "__path__", [*realbogus.feature_models.__path__, str(folder)])
    yield folder / "toy_logistic.py"
    sys.modules.pop("realbogus.feature_models.toy_logistic", None)


def _stage_inputs(root: Path, n: int = 500) -> None:
    """What the feature_model stage reads: the ingested catalog, the features, the split."""
    table, labels = synthetic_features(n, seed=4)
    ids = np.arange(1000, 1000 + n)
    (root / "data" / "ingested").mkdir(parents=True)
    (root / "data" / "features").mkdir(parents=True)
    (root / "data" / "split").mkdir(parents=True)
    pd.DataFrame({"id": ids, "row": np.arange(n), "label": labels}).to_parquet(root / "data/ingested/catalog.parquet")
    table.assign(id=ids).to_parquet(root / "data/features/features.parquet")
    split = np.where(np.arange(n) % 5 == 0, "test", np.where(np.arange(n) % 5 == 1, "val", "train"))
    pd.DataFrame({"id": ids, "split": split}).to_csv(root / "data/split/split.csv", index=False)


def test_a_toy_feature_model_is_one_module_and_one_params_entry(toy_kind_module, tmp_path, monkeypatch):
    assert "toy_logistic" in feature_model_kinds()
    # The one params entry, in a copy of the project's params.yaml.
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["feature_models"]["toy"] = {"kind": "toy_logistic", "C": 0.5}
    params["tracking"]["enabled"] = False
    workdir = tmp_path / "repo"
    workdir.mkdir()
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _stage_inputs(workdir)

    # The feature_model stage's own code, as `dvc repro feature_model@toy` runs it.
    train_stage = load_script("stages/train.py", "train_stage")
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("REALBOGUS_TRACKING", raising=False)
    train_stage.main(["--member", "toy", "--stage", "feature_model", "--model-dir", "data/models/toy",
                      "--reports", "reports/toy"])

    scores = pd.read_parquet(workdir / "data/models/toy/scores.parquet")
    assert list(scores.columns) == ["id", "split", "label", "artifact_score"] and len(scores) == 500
    assert scores["artifact_score"].between(0, 1).all()
    model = joblib.load(workdir / "data/models/toy/model.joblib")
    assert model[-1].C == 0.5 and model[-1].random_state == params["ensemble"]["seed"]
    for split in ("val", "test"):
        assert (workdir / "reports" / "toy" / split / "metrics.json").is_file()
    test_auc = pd.read_json(workdir / "reports/toy/test/metrics.json", typ="series")["auc"]
    assert test_auc > 0.9  # two of the features carry the label

    # DVC sees the new member as a stage of its own, with the project's dvc.yaml unchanged.
    shutil.copy(REPO / "dvc.yaml", workdir / "dvc.yaml")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=workdir, check=True, env=env)
    listed = subprocess.run(["dvc", "stage", "list", "--name-only"], cwd=workdir, env=env, check=True,
                            capture_output=True, text=True).stdout.split()
    assert {"feature_model@rf", "feature_model@hgb", "feature_model@toy"} <= set(listed)


def test_a_kind_from_outside_the_package_is_registered_once(monkeypatch):
    monkeypatch.setattr(realbogus.feature_models, "_REGISTERED", {})
    module = type(sys)("outside")
    monkeypatch.setitem(sys.modules, "outside", module)  # a user's own package, imported
    exec(textwrap.dedent(TOY_MODULE).replace('kind="toy_logistic"', 'kind="outside_logistic"'), module.__dict__)
    register_feature_model(module.FEATURE_MODEL)
    spec = resolve_member("lr", {"feature_models": {"lr": {"kind": "outside_logistic", "C": 2.0}}})
    assert (spec.kind, spec.reads, spec.config.C) == ("outside_logistic", FEATURES, 2.0)
    table, labels = synthetic_features(300)
    fitted = fit_and_score(spec=spec, labels=labels, train_rows=np.arange(200), val_rows=np.arange(0),
                           score_rows=np.arange(200, 300), seed=0, features=table)
    assert np.isfinite(fitted.artifact_score[200:]).all()
    with pytest.raises(ValueError, match="'forest' is already defined"):
        register_feature_model(FeatureModel(kind="forest", config_type=ForestConfig, build=lambda config, seed: None))
