"""benchmarks/rounds_without_dvc.py: one review round against three on a machine without DVC.

The phases run stub stages from a prepared folder (no DVC, no git); ``prepare`` runs for real
on this repository's dvc.yaml (slow); ``report`` reads kept folders written here."""
from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from script_modules import load_script  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    return load_script("benchmarks/rounds_without_dvc.py")


def test_appended_rounds_make_stale_only_what_depends_on_them() -> None:
    before = {"simulate": {"deps": []}, "crossfit@round1": {"deps": ["simulate"]},
              "merge@round1": {"deps": ["crossfit@round1"]}, "labels": {"deps": ["merge@round1"]},
              "retrain": {"deps": ["labels", "simulate"]}, "realism": {"deps": ["simulate"]}}
    after = {**before, "crossfit@round2": {"deps": ["merge@round1"]}, "merge@round2": {"deps": ["crossfit@round2"]},
             "labels": {"deps": ["merge@round1", "merge@round2"]}}
    assert _module().downstream_of_new_stages(before, after) == ["labels", "retrain"]


# -- run: stub stages that write what the kept folders hold ------------------------------

STUB = '''
import sys, yaml
from pathlib import Path
stage = sys.argv[1]
rounds = len(yaml.safe_load(Path("params.yaml").read_text())["mine"]["rounds"])
if stage == "fail" + str(rounds):
    raise SystemExit(4)
out = Path("reports/summary.md") if stage == "retrain" else Path("data/rounds") / stage / "labels.csv"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(f"{stage} ran with {rounds} rounds\\n")
'''

PYPROJECT = '[project]\nname = "stub"\ndependencies = ["pyyaml", "dvc"]\n'


def _prepared(folder: Path, *, fail_in_second_phase: bool = False, fail_in_first_phase: bool = False) -> Path:
    folder.mkdir()
    source = io.BytesIO()
    with tarfile.open(fileobj=source, mode="w:gz") as tar:
        for name, text in (("stages/stub.py", STUB), ("pyproject.toml", PYPROJECT)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (folder / "source.tar.gz").write_bytes(source.getvalue())
    stage = lambda name, *deps: {"cmd": f"python stages/stub.py {name}", "deps": list(deps)}  # noqa: E731
    one = {"round1": stage("round1"), "retrain": stage("retrain", "round1")}
    three = {"round1": stage("round1"), "round2": stage("round2", "round1"), "round3": stage("round3", "round2"),
             "retrain": stage("retrain", "round1", "round3")}
    if fail_in_second_phase:
        three["fail3"] = stage("fail3", "round3")
    if fail_in_first_phase:
        for plan in (one, three):
            plan["fail1"] = stage("fail1", "round1")
            plan["after_fail"] = stage("after_fail", "fail1")
    module = _module()
    for phase, plan in (("one_round", one), ("three_rounds", three)):
        (folder / f"plan_{phase}.json").write_text(json.dumps(plan))
        rounds = {f"round{k}": {"after": "x", "budget": 1} for k in range(1, module.PHASES[phase] + 1)}
        (folder / f"params_{phase}.yaml").write_text(yaml.safe_dump({"mine": {"rounds": rounds}}))
    (folder / "prepared.json").write_text(json.dumps({"rerun_in_three_rounds": module.downstream_of_new_stages(
        one, three)}))
    return folder


def test_the_second_phase_runs_only_the_new_rounds_and_what_they_make_stale(tmp_path: Path) -> None:
    prepared = _prepared(tmp_path / "prepared")
    phases = _module().run_phases(prepared=prepared, work=tmp_path / "work", out=tmp_path / "kept", jobs=2,
                                  deadline_s=120)
    assert all(phase["completed"] for phase in phases.values())
    ran = {phase: [record["stage"] for record in json.loads(
        (tmp_path / "kept" / phase / "timings.json").read_text())["stages"]] for phase in phases}
    assert ran == {"one_round": ["round1", "retrain"], "three_rounds": ["round2", "round3", "retrain"]}
    # Each kept folder holds its own phase's outputs: the second phase did not change the first's.
    one, three = tmp_path / "kept" / "one_round", tmp_path / "kept" / "three_rounds"
    assert (one / "reports" / "summary.md").read_text() == "retrain ran with 1 rounds\n"
    assert (three / "reports" / "summary.md").read_text() == "retrain ran with 3 rounds\n"
    assert (three / "data" / "rounds" / "round1" / "labels.csv").read_text() == "round1 ran with 1 rounds\n"
    assert not (one / "data" / "rounds" / "round2").exists()
    assert (one / "logs" / "one_round" / "retrain.log").is_file()
    # The work folder is the command's own: a second run into it is refused, nothing touched.
    with pytest.raises(FileExistsError):
        _module().run_phases(prepared=prepared, work=tmp_path / "work", out=tmp_path / "kept2", jobs=1,
                             deadline_s=60)
    assert not (tmp_path / "kept2").exists()


def test_a_failed_second_phase_keeps_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _prepared(tmp_path / "prepared", fail_in_second_phase=True)
    monkeypatch.chdir(tmp_path)  # relative folders, as a user types them
    phases = _module().run_phases(prepared=Path("prepared"), work=Path("work"), out=Path("kept"), jobs=1,
                                  deadline_s=120)
    assert phases["one_round"]["completed"] and not phases["three_rounds"]["completed"]
    assert "stage fail3 failed (exit 4)" in phases["three_rounds"]["error"]
    assert (tmp_path / "kept" / "one_round" / "reports" / "summary.md").is_file()
    assert (tmp_path / "kept" / "one_round" / "logs" / "one_round" / "round1.log").is_file()
    assert not (tmp_path / "kept" / "three_rounds").exists()


def test_a_missing_dependency_stops_the_run_before_any_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = _prepared(tmp_path / "prepared")
    module = _module()
    monkeypatch.setattr(module.pipeline_without_dvc, "missing_distributions", lambda pyproject: ["termcolor"])
    with pytest.raises(SystemExit, match="termcolor"):
        module.run_phases(prepared=prepared, work=tmp_path / "work", out=tmp_path / "kept", jobs=1, deadline_s=60)
    assert not (tmp_path / "kept").exists() and not (tmp_path / "work" / "logs").exists()


def test_keep_going_runs_what_a_failure_does_not_touch_and_keeps_the_first_phase(tmp_path: Path) -> None:
    prepared = _prepared(tmp_path / "prepared", fail_in_first_phase=True)
    phases = _module().run_phases(prepared=prepared, work=tmp_path / "work", out=tmp_path / "kept", jobs=1,
                                  deadline_s=120, keep_going=True)
    assert list(phases) == ["one_round"] and not phases["one_round"]["completed"]
    assert phases["one_round"]["skipped"] == ["after_fail"]
    kept = tmp_path / "kept" / "one_round"
    assert (kept / "reports" / "summary.md").read_text() == "retrain ran with 1 rounds\n"
    timings = json.loads((kept / "timings.json").read_text())
    assert {record["stage"]: record["exit"] for record in timings["stages"]} == {"round1": 0, "retrain": 0, "fail1": 4}
    assert not (tmp_path / "kept" / "three_rounds").exists()


# -- report: kept folders written here ---------------------------------------------------

def _kept_phase(folder: Path, *, rounds: int, truth: pd.DataFrame, scores: dict[str, np.ndarray],
                recall: float) -> None:
    members = ["rf", "model1"]
    names = [f"round{k}" for k in range(1, rounds + 1)]
    params = {"ensemble": {"members": members}, "mine": {"rounds": {n: {"after": "x", "budget": 10} for n in names}}}
    (folder / "reports" / "mine_truth").mkdir(parents=True)
    (folder / "data" / "simulated").mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    truth.to_parquet(folder / "data" / "simulated" / "truth.parquet")
    (folder / "timings.json").write_text(json.dumps({"seconds": 1.0}))
    rows = []
    for k, name in enumerate(names, start=1):
        common = {"round": name, "subset": "all", "subset_kind": "all", "n_mislabelled": 20, "n_selected": 10,
                  "n_found": 8, "precision_at_budget": 0.8, "recall_at_budget": 0.4}
        rows.append({**common, "miner": True, "method": "ensemble_disagreement", "auprc": 0.80,
                     "cumulative_found": 8 * k, "cumulative_recall": recall if k == rounds else 0.4})
        rows.append({**common, "miner": False, "method": "cleanlab_a", "auprc": 0.70})
        rows.append({**common, "miner": False, "method": "cleanlab_b", "auprc": 0.76})
    pd.DataFrame(rows).to_csv(folder / "reports" / "mine_truth" / "rounds.csv", index=False)
    for member, score in scores.items():
        (folder / "data" / "retrain" / member).mkdir(parents=True)
        pd.DataFrame({"id": truth["id"], "split": "test", "artifact_score": score}).to_parquet(
            folder / "data" / "retrain" / member / "scores.parquet")


def test_report_compares_the_members_both_phases_retrained(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    true_label = np.repeat([0, 1], 200)
    truth = pd.DataFrame({"id": np.arange(400), "true_label": true_label, "given_label": true_label})
    truth.loc[:9, "given_label"] = 1
    noisy = true_label * 0.3 + rng.random(400) * 0.7  # overlapping classes: false positives at MDR 0.05
    clean = true_label * 0.6 + rng.random(400) * 0.4  # separated
    _kept_phase(tmp_path / "one_round", rounds=1, truth=truth, scores={"model1": noisy}, recall=0.4)
    _kept_phase(tmp_path / "three_rounds", rounds=3, truth=truth, scores={"model1": clean, "rf": clean}, recall=0.9)
    result = _module().report(tmp_path)
    assert result["n_mislabelled"] == 10 and result["budgets"] == [10, 10, 10]
    assert result["goals"]["round1_auprc_margin_over_best_cleanlab"] == pytest.approx(0.04)
    assert result["goals"]["round1_auprc_at_least_best_cleanlab_plus_0.03"]
    assert result["goals"]["cumulative_recall_three_rounds"] == 0.9
    assert result["goals"]["cumulative_recall_at_least_0.85"]
    # rf has no first-phase scores: left out of the comparison, not counted as lower.
    assert result["goals"]["members_compared"] == ["model1"]
    paired = result["retrain_paired"]["model1"]
    assert paired["same_test_set"] and paired["n_test"] == 400 and paired["n_test_real"] == 200
    assert paired["fpr_three_rounds"] == 0.0 < paired["fpr_one_round"]
    assert result["goals"]["members_fpr_lower_after_three_rounds"] == ["model1"]
    assert result["goals"]["every_compared_member_fpr_lower_after_three_rounds"]


@pytest.mark.slow  # git archive, the truth drawn without pixels, two DVC index reads (~15 s)
def test_prepare_on_this_repository(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("simulate:\n  n: 300\n  label_noise: 0.05\n")
    module = _module()
    summary = module.prepare(repo=ROOT, commit="HEAD", profile=profile, factor=1.2, split=(0.5, 0.3, 0.2),
                             out=tmp_path / "prepared")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert summary["commit"] == head and summary["n"] == 300
    assert sum(summary["budgets"]) == round(1.2 * summary["n_mislabelled"]) and summary["n_mislabelled"] > 0
    assert sum(summary["mechanisms"].values()) == summary["n_mislabelled"]
    folder = tmp_path / "prepared"
    three = yaml.safe_load((folder / "params_three_rounds.yaml").read_text())
    assert list(three["mine"]["rounds"]) == ["round1", "round2", "round3"] and three["simulate"]["n"] == 300
    assert [r["budget"] for r in three["mine"]["rounds"].values()] == summary["budgets"]
    plan_one, plan_three = (json.loads((folder / f"plan_{p}.json").read_text()) for p in module.PHASES)
    assert "crossfit@round3-rf" in plan_three and "crossfit@round3-rf" not in plan_one
    assert "--budget " + str(summary["budgets"][2]) in plan_three["mine@round3"]["cmd"]
    stale = summary["rerun_in_three_rounds"]
    assert {"labels", "evaluate", "mine_truth", "retrain@rf"} <= set(stale)
    assert not any("round1" in name or name.startswith(("train@", "simulate")) for name in stale)
    # The source is the commit's tracked files, nothing built in the checkout.
    with tarfile.open(folder / "source.tar.gz") as tar:
        names = set(tar.getnames())
    assert "dvc.yaml" in names and "stages/mine.py" in names and not any(n.startswith(".venv") for n in names)
    assert os.access(folder / "prepared.json", os.R_OK)
