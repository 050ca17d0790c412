"""A real copy of this repository's pipeline in a temporary git repo, with tiny params."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TINY_PARAMS = {
    # 10 % label noise: about 40 mislabels, so round 1's reviews bring back enough of both
    # outcomes for round 2 to learn from them.
    "simulate": {"n": 400, "workers": 1, "label_noise": 0.1},
    "ingest": {"workers": 1},
    "features": {"workers": 1},
    "ensemble": {"cnns": ["tiny"], "members": ["rf", "hgb", "tiny"]},
    "models": {"tiny": {"filters": [8], "kernel": 3, "pool": 2, "strides": [1], "double_conv": False,
                        "inner_dropout": None}},
    # Two epochs: a learning curve of two points; two seeds: the CNN's figures as mean and spread.
    "train": {"max_epochs": 2, "batch_size": 64, "seeds": 2},
    # The CNN's margins recorded and mixed into the ranking, as the default does for model1.
    "crossfit": {"training_dynamics": ["tiny"]},
    "mine": {"rounds": {"round1": {"after": "release", "budget": 40}, "round2": {"after": "round1", "budget": 10}},
             "gallery_size": 4},
    "feature_models": {"rf": {"n_estimators": 20, "n_jobs": 1}, "hgb": {"max_iter": 20}},
}
# The survey pipeline (survey/dvc.yaml) on top of the tiny main model.
TINY_SURVEY_PARAMS = {
    "base_model": "tiny",
    "simulate": {"n": 300, "workers": 1},
    "retrain": {"finetune": {"max_epochs": 1}, "scratch": {"max_epochs": 1}},
}


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            and key not in ("models", "rounds") else value
    return merged


def run(args: list[str], *, cwd: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-4000:]}")
    return result


@pytest.fixture()
def pipeline_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The stages run `python`: the interpreter running the tests, with dvc beside it.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # stages quiet TensorFlow themselves (realbogus.cnn.backend)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env.pop("REALBOGUS_PIPELINE_RUN", None)
    return env


def copy_pipeline_files(source: Path, repo: Path) -> None:
    """Copy the checkout's pipeline files into ``repo``, never a developer's own state:
    not .dvc/config.local (a private remote, credentials), DVC's cache and tmp, build files."""
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        if (source / name).exists():
            shutil.copy(source / name, repo / name)
    for folder in ("stages", "src", ".dvc", "survey"):
        shutil.copytree(source / folder, repo / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "tmp", "cache", "config.local"))


@pytest.fixture()
def tiny_repo(tmp_path: Path, pipeline_env: dict[str, str]) -> Path:
    """A git + DVC repo holding this project's pipeline files, params shrunk to seconds."""
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_pipeline_files(REPO, repo)
    (repo / "data" / "decisions").mkdir(parents=True)
    shutil.copy(REPO / "data" / "decisions" / "people.csv", repo / "data" / "decisions" / "people.csv")
    params = _merge(yaml.safe_load((REPO / "params.yaml").read_text()), TINY_PARAMS)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    survey_params = _merge(yaml.safe_load((REPO / "survey" / "params.yaml").read_text()), TINY_SURVEY_PARAMS)
    (repo / "survey" / "params.yaml").write_text(yaml.safe_dump(survey_params, sort_keys=False))
    run(["git", "init", "-q"], cwd=repo)
    run(["git", "config", "user.email", "test@example.org"], cwd=repo)
    run(["git", "config", "user.name", "test"], cwd=repo)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "pipeline"], cwd=repo)
    return repo
