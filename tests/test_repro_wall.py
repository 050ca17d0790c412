"""benchmarks/repro_wall.py: a make target in a fresh clone, timed stage by stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from script_modules import load_script  # tests/ is on sys.path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "repro_wall.py"
repro_wall = load_script(SCRIPT)


def _repository(tmp_path: Path, recipe: str) -> Path:
    """A git repository whose Makefile's ``repro`` prints stage lines as DVC does."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Makefile").write_text(f"repro:\n\t{recipe}\n")
    for command in (["init", "-q"], ["add", "Makefile"],
                    ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "make"]):
        subprocess.run(["git", *command], cwd=repo, check=True)
    return repo


def test_stage_seconds_run_from_each_start_to_the_next_and_the_last_to_the_end() -> None:
    assert repro_wall.stage_seconds([(2.0, "simulate"), (5.5, "ingest"), (6.0, "train@model1")], end=9.0) == \
        {"simulate": 3.5, "ingest": 0.5, "train@model1": 3.0}
    assert repro_wall.stage_seconds([], end=4.0) == {}


def test_a_fresh_clone_is_timed_stage_by_stage_and_kept_in_the_workdir(tmp_path: Path) -> None:
    repo = _repository(tmp_path, "@echo setup; sleep 0.3; echo \"Running stage 'simulate':\"; sleep 0.4; "
                                  "echo \"Running stage 'train@model1':\"; sleep 0.2")
    completed = subprocess.run([sys.executable, str(SCRIPT), "--repo", str(repo), "--workdir", str(tmp_path / "run")],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["exit_status"] == 0 and report["target"] == "make repro"
    assert report["commit"] == subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                              text=True).stdout.strip()
    assert list(report["stage_seconds"]) == ["simulate", "train@model1"]
    assert report["stage_seconds"]["simulate"] >= 0.35 and report["stage_seconds"]["train@model1"] >= 0.15
    assert report["seconds_before_first_stage"] >= 0.25
    assert report["wall_seconds"] >= sum(report["stage_seconds"].values())
    assert report["peak_rss_kb"] > 0 and report["environment"] is None  # this Makefile makes no venv
    assert "Running stage 'simulate':" in (tmp_path / "run" / "make.log").read_text()


def test_a_failing_target_is_reported_and_its_temporary_clone_removed(tmp_path: Path, monkeypatch) -> None:
    repo = _repository(tmp_path, "@echo \"Running stage 'simulate':\"; exit 3")
    made: list[Path] = []
    real_mkdtemp = repro_wall.tempfile.mkdtemp

    def mkdtemp_under_tmp_path(**kwargs: str) -> str:  # so the test can see the folder go
        made.append(Path(real_mkdtemp(dir=tmp_path, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(repro_wall.tempfile, "mkdtemp", mkdtemp_under_tmp_path)
    assert repro_wall.main(["--repo", str(repo)]) == 1
    assert made and not made[0].exists()


def test_an_existing_workdir_and_an_unknown_commit_are_refused(tmp_path: Path, capsys) -> None:
    repo = _repository(tmp_path, "@true")
    (tmp_path / "taken").mkdir()
    with pytest.raises(SystemExit):
        repro_wall.main(["--repo", str(repo), "--workdir", str(tmp_path / "taken")])
    assert "exists: give a new folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        repro_wall.main(["--repo", str(repo), "--commit", "no-such-rev"])
    assert "--commit no-such-rev: not a commit of" in capsys.readouterr().err
