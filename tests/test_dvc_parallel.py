from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from realbogus.dvc_parallel import repro_parallel, run_in_dependency_order

DVC = str(Path(sys.executable).parent / "dvc")


def test_stages_start_only_after_their_dependencies_and_at_most_jobs_at_once() -> None:
    dependencies = {"a": set(), "b": {"a"}, "c": {"a"}, "d": {"a"}, "e": {"b", "c", "d"}}
    started: list[str] = []
    finished: list[str] = []
    running, most_running = set(), 0
    lock = threading.Lock()

    def run(stage: str) -> None:
        nonlocal most_running
        with lock:
            assert dependencies[stage] <= set(finished), f"{stage} started before {dependencies[stage]}"
            started.append(stage)
            running.add(stage)
            most_running = max(most_running, len(running))
        time.sleep(0.2)
        with lock:
            running.discard(stage)
            finished.append(stage)

    run_in_dependency_order(dependencies=dependencies, jobs=2, run=run)
    assert sorted(finished) == ["a", "b", "c", "d", "e"] and finished[0] == "a" and finished[-1] == "e"
    assert most_running == 2


def test_a_failing_stage_stops_new_starts_and_is_raised() -> None:
    started: list[str] = []

    def run(stage: str) -> None:
        started.append(stage)
        if stage == "b":
            raise RuntimeError("stage b failed")

    with pytest.raises(RuntimeError, match="stage b failed"):
        run_in_dependency_order(dependencies={"a": set(), "b": {"a"}, "c": {"b"}}, jobs=2, run=run)
    assert started == ["a", "b"]
    with pytest.raises(ValueError, match="cycle"):
        run_in_dependency_order(dependencies={"a": {"b"}, "b": {"a"}}, jobs=2, run=lambda stage: None)


@pytest.mark.slow  # a real dvc repo; four dvc processes (~20 s)
def test_independent_dvc_stages_run_side_by_side_and_leave_the_pipeline_up_to_date(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "dvc.yaml").write_text(
        "stages:\n"
        "  base:\n"
        "    cmd: echo base > base.txt\n"
        "    outs: [base.txt]\n"
        "  member:\n"
        "    matrix:\n"
        "      name: [a, b, c]\n"
        "    cmd: python -c \"import time; s = time.time(); time.sleep(3); "
        "open('${item.name}.txt', 'w').write(f'{s} {time.time()}')\"\n"
        "    deps: [base.txt]\n"
        "    outs:\n"
        "      - ${item.name}.txt\n"
        "  report:\n"
        "    cmd: cat a.txt b.txt c.txt > report.txt\n"
        "    deps: [a.txt, b.txt, c.txt]\n"
        "    outs: [report.txt]\n"
    )
    env_path = f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}"
    for command in (["git", "init", "-q"], [DVC, "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(command, cwd=repo, check=True, env={"PATH": env_path, "HOME": str(tmp_path)})
    lines: list[str] = []
    monkey_env = pytest.MonkeyPatch()
    monkey_env.setenv("PATH", env_path)
    try:
        repro_parallel(repo_dir=repo, jobs=3, dvc=DVC, write=lines.append)
    finally:
        monkey_env.undo()
    windows = [tuple(map(float, (repo / f"{name}.txt").read_text().split())) for name in "abc"]
    # All three ran at the same time: each started before any other had finished.
    assert max(start for start, _end in windows) < min(end for _start, end in windows)
    assert (repo / "report.txt").exists()
    assert any(line.startswith("[member@b] ") for line in lines)
    status = subprocess.run([DVC, "status"], cwd=repo, capture_output=True, text=True, check=True)
    assert "up to date" in status.stdout
