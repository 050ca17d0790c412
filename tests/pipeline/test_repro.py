"""The whole pipeline under a real `dvc repro`, then label versions through git and DVC."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.conftest import REPO, run

pytestmark = pytest.mark.slow


def test_full_loop_then_label_versions(tiny_repo: Path, pipeline_env: dict, tmp_path: Path) -> None:
    repo, env = tiny_repo, pipeline_env
    run(["dvc", "repro"], cwd=repo, env=env)

    # Every stage wrote its outputs, and a second repro has nothing to do.
    summary = (repo / "reports" / "summary.md").read_text()
    assert "train-new/test-new" in summary and "FPR at MDR 0.05" in summary
    merge = json.loads((repo / "reports" / "merge" / "metrics.json").read_text())
    changelog = pd.read_csv(repo / "reports" / "merge" / "changelog.csv")
    assert merge["changed_0_to_1"] + merge["changed_1_to_0"] == len(changelog) > 0
    candidates = pd.read_csv(repo / "data" / "mine" / "candidates.csv")
    assert len(candidates) == 20
    again = run(["dvc", "repro"], cwd=repo, env=env)
    assert "Data and pipelines are up to date" in again.stdout + again.stderr
    # `dvc metrics` shows the headline file only; a stage's own metrics file on request.
    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], cwd=repo, env=env).stdout)
    [(_rev, shown)] = metrics.items()
    assert list(shown["data"]) == ["reports/headline.json"]  # and no error from the survey's, not yet run
    assert "error" not in json.dumps(metrics)
    headline = shown["data"]["reports/headline.json"]["data"]
    assert set(headline) == {"rf", "hgb", "tiny", "mining", "labels"}
    assert set(headline["tiny"]) == {"auc", "fpr_before", "fpr_after"}
    assert headline["labels"] == {"up": merge["changed_0_to_1"], "down": merge["changed_1_to_0"]}
    detail = run(["dvc", "metrics", "show", "--json", "reports/rf/test/metrics.json"], cwd=repo, env=env).stdout
    assert "fpr_at_mdr_0.05" in detail
    assert {"score_rf", "score_hgb", "score_tiny"} <= set(candidates.columns)
    assert (repo / "reports" / "evaluate" / "table4_hgb.csv").exists()
    # Every declared figure has its data, the CNN's learning curves included (no survey plot yet).
    plots = json.loads(run(["dvc", "plots", "show", "--json"], cwd=repo, env=env).stdout)
    assert "errors" not in plots
    assert list(plots["data"]) == [next(iter(entry)) for entry in yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]]
    learning = pd.read_csv(repo / "reports" / "evaluate" / "learning_curves.csv")
    assert set(learning["member"]) == {"tiny"} and {"loss", "val_loss"} <= set(learning["metric"])

    # MLflow: the experiment opens on its runs (MLflow 3's kind tag); runs are named by stage
    # and member, without repetition; a feature model's run logs its params entry and categories.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("realbogus")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    stage_runs = client.search_runs([experiment.experiment_id], filter_string="tags.`realbogus.role` = 'stage'",
                                    max_results=500)
    names = [run.info.run_name for run in stage_runs]
    assert {"feature_model-rf", "feature_model-hgb", "train-tiny", "crossfit-rf-fold0", "crossfit-tiny-fold1",
            "retrain-hgb", "mine", "merge", "evaluate"} <= set(names)
    assert not [name for name in names if len(parts := name.split("-")) > 1 and parts[0] == parts[1]]
    [rf_run] = client.search_runs([experiment.experiment_id], filter_string="attributes.run_name = 'feature_model-rf'")
    assert rf_run.data.params["feature_models.rf.kind"] == "forest"
    assert rf_run.data.tags["member"] == "rf" and rf_run.data.tags["realbogus.dvc_stage"] == "feature_model@rf"
    assert {f"test_cat{index}" for index in range(1, 7)} <= set(rf_run.data.metrics)
    # The evaluate run has the headline numbers under dvc's names, and its parent run a copy.
    [evaluate_run] = client.search_runs([experiment.experiment_id], filter_string="attributes.run_name = 'evaluate'")
    assert evaluate_run.data.metrics["rf.fpr_after"] == headline["rf"]["fpr_after"]
    assert client.get_run(evaluate_run.data.tags["mlflow.parentRunId"]).data.metrics["evaluate.labels.up"] == \
        headline["labels"]["up"]

    # The survey pipeline on top of the trained model: score, vet votes, fine-tune, compare.
    run(["dvc", "repro"], cwd=repo / "survey", env=env)
    survey = json.loads((repo / "survey" / "reports" / "evaluate" / "metrics.json").read_text())
    assert {"original", "finetune", "scratch"} <= {key.split(".")[0] for key in survey}
    comparison = pd.read_csv(repo / "survey" / "reports" / "evaluate" / "comparison.csv")
    assert comparison["scorer"].tolist() == ["original", "finetune", "scratch"]
    survey_figures = {path.name for path in (repo / "survey" / "reports" / "figures").glob("*.png")}
    assert {"cleanliness.png", "roc_fpr_mdr.png", "threshold_curves_finetune.png",
            "learning_curves_scratch.png"} <= survey_figures
    plots = json.loads(run(["dvc", "plots", "show", "--json"], cwd=repo, env=env).stdout)
    assert "errors" not in plots
    assert {f"survey/reports/figures/{name}" for name in survey_figures} <= set(plots["data"])
    survey_headline = json.loads((repo / "survey" / "reports" / "headline" / "headline.json").read_text())
    assert set(survey_headline) == {"original", "finetune", "scratch"}
    assert "survey/reports/headline/headline.json" in run(["dvc", "metrics", "show"], cwd=repo, env=env).stdout

    # Mining never reads the truth: without the truth table its output is byte-identical.
    truth = repo / "data" / "simulated" / "truth.parquet"
    hidden = tmp_path / "truth.parquet"
    truth.rename(hidden)
    try:
        run(["python", "stages/mine.py", "--out", str(tmp_path / "mine"), "--reports", str(tmp_path / "mine_reports")],
            cwd=repo, env={**env, "REALBOGUS_TRACKING": "0"})
    finally:
        hidden.rename(truth)
    for name in ("candidates.csv", "ranking.parquet"):
        assert (tmp_path / "mine" / name).read_bytes() == (repo / "data" / "mine" / name).read_bytes()

    # The mining diagnostics benchmark runs on a mined repository and judges every variant.
    diagnostics = json.loads(run([sys.executable, str(REPO / "benchmarks" / "mining_diagnostics.py"), "--repo",
                                  str(repo)], cwd=repo, env=env).stdout)
    assert diagnostics["members"].keys() == {"rf", "hgb", "tiny"}
    assert set(diagnostics["trained_on_truth"]) == {"rf", "hgb"}
    assert diagnostics["refit_on_flipped"]["candidates"] == diagnostics["refit_without_candidates"]["candidates"] == 20
    assert 0.0 <= diagnostics["ours_weighted_mean"]["auprc"] <= 1.0

    # Label version 0 ...
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "labels v0"], cwd=repo)
    run(["git", "tag", "v0"], cwd=repo)
    labels_v0 = (repo / "data" / "labels" / "labels.csv").read_bytes()

    # ... a person overrules the simulated expert on one candidate: a new version.
    candidate = candidates.iloc[0]
    expert = pd.read_csv(repo / "data" / "review" / "simulated_expert.csv").set_index("id")
    expert_said = expert.loc[candidate["id"], "decision"]
    person_says = "non-artifact" if expert_said == "artifact" else "artifact"
    with open(repo / "data" / "decisions" / "people.csv", "a") as decisions:
        decisions.write(f"{candidate['id']},{person_says},alice,2026-11-25T00:00:00+00:00,x,{candidate['given_label']}\n")
    run(["dvc", "repro", "merge"], cwd=repo, env=env)
    labels_v1 = (repo / "data" / "labels" / "labels.csv").read_bytes()
    assert labels_v1 != labels_v0
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "labels v1"], cwd=repo)
    run(["git", "tag", "v1"], cwd=repo)

    log = run(["realbogus", "labels", "log", "--repo", str(repo)], cwd=repo, env=env).stdout
    assert log.count("labels v") == 2
    # The first version's changes are counted against the release, as the merge counted them.
    first = next(line.split() for line in log.splitlines() if line.endswith("labels v0"))
    assert first[3:6] == [str(merge["changed_0_to_1"]), str(merge["changed_1_to_0"]), "release"]
    diff = run(["realbogus", "labels", "diff", "v0", "v1", "--repo", str(repo)], cwd=repo, env=env)
    changed = pd.read_csv(pd.io.common.StringIO(diff.stdout))
    assert changed["id"].tolist() == [candidate["id"]]

    # Checking out v0 brings its labels back byte for byte.
    run(["git", "checkout", "-q", "v0"], cwd=repo)
    run(["dvc", "checkout"], cwd=repo, env=env)
    assert (repo / "data" / "labels" / "labels.csv").read_bytes() == labels_v0

    # Through a DVC remote: push every tagged version, clone afresh, pull v0: the same bytes.
    remote = tmp_path / "remote"
    run(["dvc", "remote", "add", "--local", "store", str(remote)], cwd=repo, env=env)
    for tag in ("v0", "v1"):
        run(["git", "checkout", "-q", tag], cwd=repo)
        run(["dvc", "push", "-r", "store", "data/labels/labels.csv"], cwd=repo, env=env)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], cwd=tmp_path)
    run(["git", "checkout", "-q", "v0"], cwd=clone)
    run(["dvc", "remote", "add", "--local", "store", str(remote)], cwd=clone, env=env)
    run(["dvc", "pull", "-r", "store", "data/labels/labels.csv"], cwd=clone, env=env)
    assert (clone / "data" / "labels" / "labels.csv").read_bytes() == labels_v0
