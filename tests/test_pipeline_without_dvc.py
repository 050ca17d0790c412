"""benchmarks/pipeline_without_dvc.py: the plan from a real dvc.yaml, then the stages run
without DVC in dependency order, the failures named."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from script_modules import load_script  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parents[1]
DVC = str(Path(sys.executable).parent / "dvc")


def _runner():
    return load_script("benchmarks/pipeline_without_dvc.py")


def _write_stage(name: str, after: list[str], *, fail: bool = False) -> str:
    """A stage command: checks its dependencies' outputs exist, then writes its own (or fails)."""
    checks = "; ".join(f"assert os.path.exists('{dependency}.txt')" for dependency in after) or "pass"
    body = "raise SystemExit(3)" if fail else f"open('{name}.txt', 'w').write(os.environ['REALBOGUS_TRACKING'])"
    return f"python -c \"import os; {checks}; {body}\""


@pytest.mark.slow  # dvc init and one DVC index read (~5 s)
def test_plan_from_dvc_yaml_then_run_in_order_without_dvc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    stages = {"base": [], "left": ["base"], "right": ["base"], "report": ["left", "right"]}
    yaml = "stages:\n" + "".join(
        f"  {name}:\n    cmd: {json.dumps(_write_stage(name, after))}\n"
        + (f"    deps: [{', '.join(f'{d}.txt' for d in after)}]\n" if after else "")
        + f"    outs: [{name}.txt]\n" for name, after in stages.items())
    (repo / "dvc.yaml").write_text(yaml)
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    for command in (["git", "init", "-q"], [DVC, "init", "-q"]):
        subprocess.run(command, cwd=repo, check=True, env=env)
    module = _runner()
    plan = module.plan(repo)
    assert {name: spec["deps"] for name, spec in plan.items()} == stages
    assert plan["left"]["cmd"] == _write_stage("left", ["base"])

    monkeypatch.chdir(repo)
    (repo / "plan.json").write_text(json.dumps(plan))
    assert module.main(["run", "--plan", "plan.json", "--jobs", "2", "--out", "timings"]) == 0
    result = json.loads((repo / "timings" / "timings.json").read_text())
    assert result["completed"] and [record["exit"] for record in result["stages"]] == [0, 0, 0, 0]
    order = [record["stage"] for record in result["stages"]]
    assert order[0] == "base" and order[-1] == "report"
    # Tracking is off in every stage, and each stage's output went to its log folder.
    assert all((repo / f"{name}.txt").read_text() == "0" for name in stages)
    assert sorted(path.name for path in (repo / "timings" / "logs").iterdir()) == sorted(f"{n}.log" for n in stages)

    # Only what an earlier plan did not hold runs again, and a failure is named.
    plan["extra"] = {"cmd": _write_stage("extra", ["report"], fail=True), "deps": ["report"]}
    (repo / "plan2.json").write_text(json.dumps(plan))
    assert module.main(["run", "--plan", "plan2.json", "--skip-plan", "plan.json", "--rerun", "report",
                        "--out", "timings"]) == 1
    result = json.loads((repo / "timings" / "timings.json").read_text())
    assert [record["stage"] for record in result["stages"]] == ["report", "extra"]
    assert not result["completed"] and "stage extra failed (exit 3)" in result["error"]


def test_runs_where_the_package_is_not_installed(tmp_path: Path) -> None:
    """A lent GPU machine has no editable install: the runner finds the package in its own
    checkout (here `python -S`: no site-packages at all, so the dependency check is off; this
    stage imports nothing), and so do the stages it starts, whatever folder they run in."""
    stage = "python -c \"import os; open('path.txt', 'w').write(os.environ['PYTHONPATH'])\""
    (tmp_path / "plan.json").write_text(json.dumps({"only": {"cmd": stage, "deps": []}}))
    completed = subprocess.run([sys.executable, "-S", str(ROOT / "benchmarks" / "pipeline_without_dvc.py"), "run",
                                "--plan", "plan.json", "--jobs", "1", "--out", "timings", "--no-dependency-check"],
                               cwd=tmp_path, capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["completed"]
    assert (tmp_path / "path.txt").read_text().split(os.pathsep)[0] == str(ROOT / "src")


def test_missing_dependencies_are_named_before_any_stage_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's dependencies and theirs in turn (extras left out), less what the runner
    does without: DVC, MLflow, and TensorFlow when Keras runs on another backend."""
    site = tmp_path / "site"
    for name, requires in (("carried", ["needed-by-carried", "only-for-tests; extra == 'test'"]),
                           ("needed-by-carried", [])):
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
                                       + "".join(f"Requires-Dist: {r}\n" for r in requires))
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["carried>=1", "absent_here", "dvc>=3", '
                         '"mlflow==3.17.*", "tensorflow>=2.16"]\n')
    module = _runner()
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert module.missing_distributions(pyproject, path=[str(site)]) == ["absent_here"]
    monkeypatch.delenv("KERAS_BACKEND")
    assert module.missing_distributions(pyproject, path=[str(site)]) == ["absent_here", "tensorflow"]
    # A dependency's own requirement counts too: without it the carried package is not whole.
    shutil.rmtree(site / "needed_by_carried-1.0.dist-info")
    assert module.missing_distributions(pyproject, path=[str(site)]) == ["absent_here", "needed-by-carried",
                                                                          "tensorflow"]

    # The runner refuses to start, naming them, and runs nothing.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plan.json").write_text(json.dumps({"only": {"cmd": _write_stage("only", []), "deps": []}}))
    monkeypatch.setattr(module, "missing_distributions", lambda pyproject: ["termcolor"])
    with pytest.raises(SystemExit, match="termcolor"):
        module.main(["run", "--plan", "plan.json", "--out", "timings"])
    assert not (tmp_path / "timings").exists() and not (tmp_path / "only.txt").exists()


def test_keep_going_records_the_failed_and_the_skipped_stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stages = {"base": {"cmd": _write_stage("base", []), "deps": []},
              "broken": {"cmd": _write_stage("broken", ["base"], fail=True), "deps": ["base"]},
              "after_broken": {"cmd": _write_stage("after_broken", ["broken"]), "deps": ["broken"]},
              "beside": {"cmd": _write_stage("beside", ["base"]), "deps": ["base"]}}
    result = _runner().run(stages, jobs=1, logs=tmp_path / "logs", deadline_s=60, keep_going=True)
    assert not result["completed"] and result["skipped"] == ["after_broken"]
    assert "broken" in result["error"] and "exit 3" in result["error"]
    assert sorted(record["stage"] for record in result["stages"]) == ["base", "beside", "broken"]
    assert (tmp_path / "beside.txt").is_file() and not (tmp_path / "after_broken.txt").exists()
    # Without it the failure stops new starts: "beside" may or may not have started first.
    for name in ("base", "beside", "broken"):
        (tmp_path / f"{name}.txt").unlink(missing_ok=True)
    result = _runner().run(stages, jobs=1, logs=tmp_path / "logs2", deadline_s=60)
    assert not result["completed"] and result["skipped"] == [] and not (tmp_path / "after_broken.txt").exists()
