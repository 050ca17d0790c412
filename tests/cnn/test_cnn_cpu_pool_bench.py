"""benchmarks/cnn_cpu_pool.py: the real train stage with and without TensorFlow's CPU pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from release.conftest import build_release  # noqa: E402


def _stage(name: str, *args: str, cwd: Path) -> None:
    completed = subprocess.run([sys.executable, str(REPO / "stages" / f"{name}.py"), *args], cwd=cwd,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]


@pytest.mark.slow  # ingest, split and two train stages (~40 s)
def test_both_settings_train_the_same_scores_and_report_their_cost(tmp_path: Path) -> None:
    build_release(tmp_path / "data" / "release", n=48, n_tars=2, with_masked=False)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["release"] = {**params["release"], "path": "data/release", "format": "gif"}
    params["ingest"] = {**params["ingest"], "workers": 0}
    params["models"]["model1"] = {**params["models"]["model1"], "filters": [4, 4, 4]}
    params["train"]["batch_size"] = 16
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _stage("ingest", "--out", "data/ingested", cwd=tmp_path)
    _stage("split", "--catalog", "data/ingested/catalog.parquet", "--out", "data/split/split.csv", cwd=tmp_path)

    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/cnn_cpu_pool.py"), "--rounds", "1", "--epochs", "1",
         "--params", str(tmp_path / "params.yaml"), "--ingested", str(tmp_path / "data/ingested"),
         "--split", str(tmp_path / "data/split/split.csv")],
        # The benchmark sets the variable itself for each run, whatever the caller has.
        capture_output=True, text=True, timeout=600, env={**os.environ, "TF_CPU_ALLOCATOR_USE_BFC": "junk"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert [run["pool"] for run in report["runs"]] == [True, False]
    assert report["scores_identical"] and report["runs"][0]["n_scores"] == 48
    for run in report["runs"]:
        assert run["last_epoch_samples_per_s"] > 0 and run["peak_rss_mb"] > 100 and run["minor_page_faults"] > 0
    assert set(report["medians"]) == {"pool", "malloc"} and report["training_speed_up"] > 0
    # What the figures were computed on: a rerun elsewhere can say why it differs.
    assert report["environment"]["tensorflow"] and report["environment"]["cpu"]


def test_a_missing_release_is_named(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/cnn_cpu_pool.py"), "--ingested", str(tmp_path / "nowhere")],
        capture_output=True, text=True, timeout=60)
    assert completed.returncode != 0
    assert f"{tmp_path / 'nowhere' / 'stamps.npy'} not found: run `dvc repro split` first" in completed.stderr
