"""benchmarks/compare_pipeline_runs.py: two finished pipeline folders, member by member."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from script_modules import load_script  # tests/ is on sys.path


def _member(fpr: float, truth: float, strong: float) -> dict:
    figures = {f"fpr_at_mdr_{mdr}": fpr + step for mdr, step in (("0.03", 0.02), ("0.04", 0.01), ("0.05", 0.0))}
    figures |= {f"truth_fpr_at_mdr_{mdr}": truth + step for mdr, step in (("0.03", 0.02), ("0.04", 0.01), ("0.05", 0.0))}
    return {**figures, "strongly_misclassified_share": strong}


def _pipeline_folder(root: Path, *, cnn_fpr: float, val_losses: list[float]) -> Path:
    (root / "reports/realism").mkdir(parents=True)
    (root / "reports/realism/metrics.json").write_text(json.dumps({
        "members": {"rf": _member(0.03, 0.02, 0.008), "model1": _member(cnn_fpr, cnn_fpr / 2, 0.012)},
        "strongly_misclassified_by_several": {"n_flagged": 10, "n_flagged_mislabelled": 8}}))
    (root / "reports/evaluate").mkdir(parents=True)
    (root / "reports/evaluate/table4_model1.csv").write_text(
        "judged_by,column,n,auc,fpr_at_mdr_0.05,accuracy,cat1,cat2,cat3,cat4,cat5,cat6\n"
        f"given labels,train-old/test-old,100,0.99,{cnn_fpr},0.96,0.5,1,48,48,1,0.25\n"
        "truth,train-new/test-new,100,0.995,0.011,0.97,0.25,1,49,48,1,0.5\n")
    (root / "data/models/model1").mkdir(parents=True)
    (root / "data/models/model1/history.csv").write_text(
        "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss\n"
        + "".join(f"{i + 1},0.9,0.001,0.2,0.9,{loss}\n" for i, loss in enumerate(val_losses)))
    (root / "reports/mine_truth").mkdir(parents=True)
    (root / "reports/mine_truth/metrics.json").write_text(json.dumps(
        {"ours_auprc": 0.8, "best_cleanlab_auprc": 0.75, "budget": 180, "rounds": []}))
    (root / "reports/headline.json").write_text(json.dumps({"labels": {"up": 9, "down": 3}}))
    return root


def test_two_runs_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _pipeline_folder(tmp_path / "before", cnn_fpr=0.0377, val_losses=[0.72, 0.16, 0.43])
    after = _pipeline_folder(tmp_path / "after", cnn_fpr=0.0288, val_losses=[0.72, 0.16, 0.11])
    load_script("benchmarks/compare_pipeline_runs.py").main([str(before), str(after), "--names", "before", "after"])
    report = json.loads(capsys.readouterr().out)
    model1 = report["after"]["members"]["model1"]
    assert model1["fpr_at_mdr_given"] == [pytest.approx(0.0488), pytest.approx(0.0388), pytest.approx(0.0288)]
    assert model1["fpr_at_mdr_truth"][-1] == pytest.approx(0.0144)
    assert model1["val_loss_by_epoch"] == {"first_training": [0.72, 0.16, 0.11], "retrain": None}
    assert model1["table4"]["given labels: train-old/test-old"]["categories_1_and_6_percent"] == pytest.approx(0.75)
    assert report["before"]["members"]["model1"]["fpr_at_mdr_given"][-1] == pytest.approx(0.0377)
    # A feature model has no epochs; the loop's figures come along.
    assert "val_loss_by_epoch" not in report["after"]["members"]["rf"]
    assert report["after"]["mining"] == {"ours_auprc": 0.8, "best_cleanlab_auprc": 0.75, "budget": 180}
    assert report["after"]["labels_changed"] == {"up": 9, "down": 3}


def test_a_folder_without_the_realism_report_is_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"unfinished.*reports/realism/metrics.json: not found"):
        load_script("benchmarks/compare_pipeline_runs.py").main([str(tmp_path / "unfinished"), str(tmp_path)])
