"""Architecture search as DVC experiments: queued variants run, show up in `dvc exp show`,
and their MLflow runs land in the repository's own store (not in DVC's temporary copies)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pipeline.conftest import run

pytestmark = pytest.mark.slow


def test_queued_variants_run_and_are_tracked(tiny_repo: Path, pipeline_env: dict) -> None:
    repo, env = tiny_repo, dict(pipeline_env)
    env.pop("MLFLOW_TRACKING_URI")  # the default store: <repo>/mlflow.db
    run(["dvc", "repro", "train"], cwd=repo, env=env)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "baseline"], cwd=repo)

    run(["dvc", "exp", "run", "--queue", "-S", "models.tiny.filters=[4]", "-n", "narrow", "train"], cwd=repo, env=env)
    run(["dvc", "exp", "run", "--queue", "-S", "models.tiny.kernel=5", "-n", "wide-kernel", "train"], cwd=repo, env=env)
    run(["dvc", "exp", "run", "--run-all", "-j", "1"], cwd=repo, env=env)

    shown = json.loads(run(["dvc", "exp", "show", "--json"], cwd=repo, env=env).stdout)
    names = {experiment.get("name") for baseline in shown for experiment in (baseline.get("experiments") or [])}
    assert {"narrow", "wide-kernel"} <= names

    # Each variant's training run is in the repository's MLflow store, under a parent named after it.
    with sqlite3.connect(repo / "mlflow.db") as db:
        tagged = db.execute("select value from tags where key = 'realbogus.dvc_exp_name'").fetchall()
    assert {"narrow", "wide-kernel"} <= {value for (value,) in tagged}
    assert not list((repo / ".dvc" / "tmp").rglob("mlflow.db")), "a run wrote to a temporary copy's store"
