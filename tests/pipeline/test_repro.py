"""The whole pipeline under a real `dvc repro`, then label versions through git and DVC."""

from __future__ import annotations

import json
import re
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
    assert merge["rounds"] == 2 and merge["reviewed"] == 50
    # Two review rounds: round 2 mines among the samples round 1 did not send to review,
    # cross-fitted on round 1's labels; the retrain uses round 2's.
    rounds = repo / "data" / "rounds"
    candidates = pd.read_csv(rounds / "round1" / "mine" / "candidates.csv")
    second = pd.read_csv(rounds / "round2" / "mine" / "candidates.csv")
    assert len(candidates) == 40 and len(second) == 10
    assert not set(candidates["id"]) & set(second["id"])
    round1_labels = pd.read_csv(rounds / "round1" / "labels.csv")
    crossfit2 = pd.read_parquet(rounds / "round2" / "crossfit" / "hgb.parquet").sort_values("id")
    assert crossfit2["label"].tolist() == round1_labels.sort_values("id")["label"].tolist()
    # crossfit.training_dynamics lists the CNN only: it records its margins, hgb does not.
    assert "margin_area" not in crossfit2
    tiny2 = pd.read_parquet(rounds / "round2" / "crossfit" / "tiny.parquet")
    assert tiny2["margin_area"].notna().mean() > 0.8 and tiny2["margin_area"].dropna().between(-1, 1).all()
    assert (repo / "data" / "labels" / "labels.csv").read_bytes() == (rounds / "round2" / "labels.csv").read_bytes()
    ledger = pd.read_csv(rounds / "round2" / "reviews.csv")
    assert sorted(ledger["id"]) == sorted([*candidates["id"], *second["id"]])
    assert set(ledger["round"]) == {"round1", "round2"}
    ranking2 = pd.read_parquet(rounds / "round2" / "mine" / "ranking.parquet")
    assert ranking2["reviewed"].sum() == 40
    truth_metrics = json.loads((repo / "reports" / "mine_truth" / "metrics.json").read_text())
    assert [entry["round"] for entry in truth_metrics["rounds"]] == ["round1", "round2"]
    assert 0 <= truth_metrics["rounds"][0]["cumulative_found"] <= truth_metrics["rounds"][1]["cumulative_found"]
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
    # The CNN trained over train.seeds = 2 seeds: each training keeps every seed's scores, and
    # the summary gives its Table 4 as mean and spread and draws a conclusion only beyond it.
    for model_dir in ("models", "retrain"):
        per_seed = pd.read_parquet(repo / "data" / model_dir / "tiny" / "seed_scores.parquet")
        assert per_seed.groupby("seed").size().to_dict() == {7: 400, 1007: 400}
        assert not (repo / "data" / model_dir / "rf" / "seed_scores.parquet").exists()
    seed_table = pd.read_csv(repo / "reports" / "evaluate" / "table4_tiny_seeds.csv")
    assert sorted(seed_table["seed_index"].unique()) == [0, 1]
    tiny_section = summary.split("## tiny\n")[1].split("\n## ")[0]
    assert "Mean and spread over 2 seeds" in tiny_section and "over 2 seeds" in tiny_section.split("Conclusion")[1]
    rf_section = summary.split("## rf\n")[1].split("\n## ")[0]
    assert "reproduce exactly on every machine" in rf_section
    assert "the test splits' sampling gives the change a 90% interval of" in rf_section.split("Conclusion")[1]
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
            "retrain-hgb", "mine", "merge", "labels", "evaluate"} <= set(names)
    # One parent run per review round, holding that round's stage runs.
    round_runs = client.search_runs([experiment.experiment_id], filter_string="tags.`realbogus.role` = 'round'")
    assert sorted(run.info.run_name for run in round_runs) == ["round1", "round2"]
    round2 = next(run for run in round_runs if run.info.run_name == "round2")
    in_round2 = client.search_runs([experiment.experiment_id],
                                   filter_string=f"tags.`mlflow.parentRunId` = '{round2.info.run_id}'")
    assert {run.info.run_name for run in in_round2} >= {"crossfit-hgb-fold0", "mine", "merge"}
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
    check_what_the_stages_logged(client, experiment.experiment_id, repo=repo, stage_runs=stage_runs)

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

    # Mining never reads the truth: without the truth table its output is byte-identical,
    # in the second round too (training dynamics and the model of round 1's reviews).
    truth = repo / "data" / "simulated" / "truth.parquet"
    hidden = tmp_path / "truth.parquet"
    truth.rename(hidden)
    try:
        run(["python", "stages/mine.py", "--round", "round2", "--budget", "10", "--start", "data/rounds/round2/start",
             "--crossfit-dir", "data/rounds/round2/crossfit", "--out", str(tmp_path / "mine"),
             "--reports", str(tmp_path / "mine_reports"), "--metrics", str(tmp_path / "mine.json")],
            cwd=repo, env={**env, "REALBOGUS_TRACKING": "0"})
    finally:
        hidden.rename(truth)
    for name in ("candidates.csv", "ranking.parquet"):
        assert (tmp_path / "mine" / name).read_bytes() == (rounds / "round2" / "mine" / name).read_bytes()
    assert json.loads((tmp_path / "mine.json").read_text())["review_model"] is True

    # Another round reuses the earlier rounds from DVC's cache: only its own stages run.
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["mine"]["rounds"]["round3"] = {"after": "round2", "budget": 5}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = run(["dvc", "repro", "mine@round3"], cwd=repo, env=env).stdout
    assert "Running stage 'crossfit@round3-hgb'" in third and "Running stage 'mine@round3'" in third
    assert "Running stage 'crossfit@round1" not in third and "Running stage 'mine@round2'" not in third
    (repo / "params.yaml").write_text(yaml.safe_dump({**params, "mine": {
        **params["mine"], "rounds": {key: value for key, value in params["mine"]["rounds"].items() if key != "round3"}}},
        sort_keys=False))
    # Back to two rounds: nothing trains again.  Only the two stages that read the whole
    # data/rounds folder (dvc.yaml cannot name the last round) look again, in seconds, and
    # write the same labels.
    labels_before = (repo / "data" / "labels" / "labels.csv").read_bytes()
    rerun = re.findall(r"Running stage '([^']+)'", run(["dvc", "repro"], cwd=repo, env=env).stdout)
    assert set(rerun) <= {"labels", "mine_truth"}, rerun
    assert (repo / "data" / "labels" / "labels.csv").read_bytes() == labels_before

    # The mining diagnostics benchmark runs on a mined repository and judges every variant.
    diagnostics = json.loads(run([sys.executable, str(REPO / "benchmarks" / "mining_diagnostics.py"), "--repo",
                                  str(repo)], cwd=repo, env=env).stdout)
    assert diagnostics["members"].keys() == {"rf", "hgb", "tiny"}
    assert set(diagnostics["trained_on_truth"]) == {"rf", "hgb"}
    assert diagnostics["refit_on_flipped"]["candidates"] == diagnostics["refit_without_candidates"]["candidates"] == 40
    assert 0.0 <= diagnostics["ours_weighted_mean"]["auprc"] <= 1.0

    # Label version 0 ...
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "labels v0"], cwd=repo)
    run(["git", "tag", "v0"], cwd=repo)
    labels_v0 = (repo / "data" / "labels" / "labels.csv").read_bytes()

    # ... a person overrules the simulated expert on one of the last round's candidates: a new version.
    candidate = second.iloc[0]
    expert = pd.read_csv(rounds / "round2" / "review" / "simulated_expert.csv").set_index("id")
    expert_said = expert.loc[candidate["id"], "decision"]
    person_says = "non-artifact" if expert_said == "artifact" else "artifact"
    with open(repo / "data" / "decisions" / "people.csv", "a") as decisions:
        decisions.write(f"{candidate['id']},{person_says},alice,2026-11-25T00:00:00+00:00,x,{candidate['given_label']}\n")
    run(["dvc", "repro", "labels"], cwd=repo, env=env)
    labels_v1 = (repo / "data" / "labels" / "labels.csv").read_bytes()
    assert labels_v1 != labels_v0
    # Her vote replaced the expert's rather than tying with it: the candidate has her label and
    # is still decided (a tie would leave it undecided, with the given label).
    new_label = pd.read_csv(repo / "data" / "labels" / "labels.csv").set_index("id").loc[candidate["id"], "label"]
    assert new_label == (1 if person_says == "artifact" else 0)
    merge_v1 = json.loads((repo / "reports" / "merge" / "metrics.json").read_text())
    assert (merge_v1["decided"], merge_v1["undecided"]) == (merge["decided"], merge["undecided"])
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "labels v1"], cwd=repo)
    run(["git", "tag", "v1"], cwd=repo)

    log = run(["realbogus", "labels", "log", "--repo", str(repo)], cwd=repo, env=env).stdout
    assert log.count("labels v") == 2
    # Each round's own label versions: round 2's changed with the person's decision, round 1's did not.
    assert run(["realbogus", "labels", "log", "--round", "round2", "--repo", str(repo)], cwd=repo,
               env=env).stdout.count("labels v") == 2
    assert run(["realbogus", "labels", "log", "--round", "round1", "--repo", str(repo)], cwd=repo,
               env=env).stdout.count("labels v") == 1
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


def check_what_the_stages_logged(client, experiment_id: str, *, repo: Path, stage_runs: list) -> None:
    """The real stages' MLflow runs hold what a person compares in the UI: CNN learning
    curves, one run per cross-fitting fold, the models, the ROC and category tables, and
    the evaluate stage's Table 4 numbers."""
    import math

    import yaml

    params = yaml.safe_load((repo / "params.yaml").read_text())
    members, folds = params["ensemble"]["members"], params["crossfit"]["folds"]
    epochs = params["train"]["max_epochs"]
    by_name: dict[str, list] = {}
    for stage_run in stage_runs:
        by_name.setdefault(stage_run.info.run_name, []).append(stage_run)

    def artifacts(stage_run, path: str) -> set[str]:
        return {Path(info.path).name for info in client.list_artifacts(stage_run.info.run_id, path)}

    # One run per review round, member and fold, and no other cross-fitting run.
    rounds = list(params["mine"]["rounds"])
    expected = {f"crossfit-{member}-fold{fold}" for member in members for fold in range(folds)}
    assert {name for name in by_name if name.startswith("crossfit-")} == expected
    for name in expected:
        fold_runs = by_name[name]
        assert sorted(fold_run.data.tags["realbogus.round"] for fold_run in fold_runs) == rounds
        member, fold = name.removeprefix("crossfit-").rsplit("-fold", 1)
        for fold_run in fold_runs:
            assert (fold_run.data.tags["member"], fold_run.data.tags["fold"]) == (member, fold)
            assert fold_run.info.status == "FINISHED" and "auc" in fold_run.data.metrics

    # The CNN's learning curves, one point per epoch, where it trains.
    for name in ("train-tiny", "crossfit-tiny-fold0", "crossfit-tiny-fold1", "retrain-tiny"):
        for cnn_run in by_name[name]:
            for curve in ("loss", "val_loss"):
                history = client.get_metric_history(cnn_run.info.run_id, curve)
                assert sorted(point.step for point in history) == list(range(epochs)), (name, curve)
                assert all(math.isfinite(point.value) for point in history)

    # Each trained member's model, ROC and category table, for its validation and test splits.
    for stage in ("feature_model", "train", "retrain"):
        for member in (members if stage == "retrain" else
                       [m for m in members if (m in params["models"]) == (stage == "train")]):
            [member_run] = by_name[f"{stage}-{member}"]
            model_file = "model.keras" if member in params["models"] else "model.joblib"
            assert artifacts(member_run, "model") == {model_file}, (stage, member)
            for split in ("val", "test"):
                logged = artifacts(member_run, f"evaluation/{split}")
                assert {"roc.csv", "categories.csv", "metrics.json", "roc_fpr_mdr.png"} <= logged, (stage, member, split)

    # The evaluate stage: its metrics are reports/evaluate/metrics.json and the headline numbers
    # (reports/headline.json, under the names dvc shows), Table 4 and the ROCs beside them.
    [evaluate_run] = by_name["evaluate"]
    written = json.loads((repo / "reports" / "evaluate" / "metrics.json").read_text())
    headline = json.loads((repo / "reports" / "headline.json").read_text())
    logged = evaluate_run.data.metrics
    assert set(logged) == {key.replace("/", "_") for key in written} | {
        f"{group}.{key}" for group, values in headline.items() for key, value in values.items() if value is not None}
    for key, value in written.items():
        assert logged[key.replace("/", "_")] == value or (math.isnan(value) and math.isnan(logged[key]))
    assert {f"{member}.{judge}.{column}.fpr_at_mdr_0.05" for member in members for judge in ("given", "truth")
            for column in range(3)} <= set(logged)
    evaluate_files = artifacts(evaluate_run, "evaluate")
    assert {f"table4_{member}.csv" for member in members} <= evaluate_files
    assert {f"roc_before_after_{member}.png" for member in members} <= evaluate_files
    assert "summary.md" in evaluate_files
    assert {"tiny.given.2.fpr_at_mdr_0.05_std", "tiny.truth.0.fpr_at_mdr_0.05_mean"} <= set(logged)
    [train_run] = by_name["train-tiny"]
    assert {"test_auc_mean", "test_auc_std", "val_fpr_at_mdr_0.05_max"} <= set(train_run.data.metrics)
