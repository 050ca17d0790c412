"""benchmarks/lr_schedule.py: a CNN member under several learning-rate schedules and seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from script_modules import load_script  # tests/ is on sys.path


def _pipeline_folder(root: Path) -> Path:
    from cnn.conftest import make_learnable_stamps

    stamps, labels = make_learnable_stamps(n_samples=160, seed=3)
    ids = np.arange(1000, 1160)
    (root / "data/ingested").mkdir(parents=True)
    np.save(root / "data/ingested/stamps.npy", stamps)
    pd.DataFrame({"id": ids, "row": np.arange(160), "label": labels.astype(np.int64)}).to_parquet(
        root / "data/ingested/catalog.parquet")
    (root / "data/split").mkdir(parents=True)
    split = np.array(["train"] * 100 + ["val"] * 20 + ["test"] * 40)
    pd.DataFrame({"id": ids, "split": split}).to_csv(root / "data/split/split.csv", index=False)
    (root / "data/simulated").mkdir(parents=True)
    true_label = labels.astype(np.int64).copy()
    true_label[-3:] = 1 - true_label[-3:]  # three test samples mislabelled
    pd.DataFrame({"id": ids, "true_label": true_label}).to_parquet(root / "data/simulated/truth.parquet")
    (root / "params.yaml").write_text(yaml.safe_dump({
        "ensemble": {"seed": 7},
        "models": {"tiny": {"filters": [6], "kernel": 3, "pool": 2, "strides": [1], "dense_units": 8}},
        "train": {"max_epochs": 3, "batch_size": 32, "learning_rate": 3e-3, "lr_decay_every_epochs": 10}}))
    return root


def test_each_schedule_trains_as_the_stage_would_with_only_its_decay_changed(tmp_path: Path, monkeypatch,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REALBOGUS_TRACKING", "0")
    folder = _pipeline_folder(tmp_path / "run")
    load_script("benchmarks/lr_schedule.py").main([str(folder), "--member", "tiny", "--decay-every", "10", "1",
                                                   "--seeds", "7"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # the epochs' progress lines go to stderr, not into the JSON
    assert "tiny: epoch 1/3" in captured.err
    constant, halved = report["runs"]
    assert constant["learning_rate_by_epoch"] == pytest.approx([3e-3, 3e-3, 3e-3])
    assert halved["learning_rate_by_epoch"] == pytest.approx([3e-3, 1.5e-3, 7.5e-4])
    # The same first epoch (same seed, same rate), then different paths.
    assert constant["val_loss_by_epoch"][0] == halved["val_loss_by_epoch"][0]
    assert constant["val_loss_by_epoch"][1:] != halved["val_loss_by_epoch"][1:]
    for run in report["runs"]:
        assert run["test"]["n"] == 40 and run["test"]["truth_fpr_at_mdr_0.05"] is not None
    assert set(report["median_over_seeds"]) == {"10", "1"}
    assert report["median_over_seeds"]["1"]["best_val_loss"] == min(halved["val_loss_by_epoch"])


def test_the_default_seeds_are_the_ones_train_seeds_would_add_and_a_feature_model_is_refused(tmp_path: Path) -> None:
    from realbogus.seeds import training_seeds

    module = load_script("benchmarks/lr_schedule.py")
    folder = _pipeline_folder(tmp_path / "run")
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["feature_models"] = {"rf": {"kind": "forest"}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(SystemExit, match="rf: a feature model has no learning-rate schedule"):
        module.schedule_runs(folder, member="rf", decay_every=[1], seeds=None)
    seeds = module.default_seeds(params)
    assert seeds == training_seeds(base_seed=7, n_seeds=3)[1:] and len(seeds) == 2 and 7 not in seeds
