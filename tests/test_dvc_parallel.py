from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from realbogus.dvc_parallel import (
    THREAD_POOL_VARIABLES,
    StagesFailed,
    repro_parallel,
    run_in_dependency_order,
    shared_thread_environment,
)

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


def test_keep_going_runs_what_does_not_depend_on_a_failure_and_names_both() -> None:
    """make -k: b fails; c and d (after b, d after c) are skipped; e (after a only) and f
    (after e) still run, whichever order the threads finish in."""
    started: list[str] = []

    def run(stage: str) -> None:
        started.append(stage)
        if stage == "b":
            raise RuntimeError("stage b failed")

    dependencies = {"a": set(), "b": {"a"}, "c": {"b"}, "d": {"c", "e"}, "e": {"a"}, "f": {"e"}}
    with pytest.raises(StagesFailed, match="stage b failed") as raised:
        run_in_dependency_order(dependencies=dependencies, jobs=2, run=run, keep_going=True)
    assert sorted(started) == ["a", "b", "e", "f"]
    assert list(raised.value.failures) == ["b"] and raised.value.skipped == ["c", "d"]
    # Without a failure it runs everything and raises nothing; a cycle is still named.
    started.clear()
    run_in_dependency_order(dependencies={"a": set(), "e": {"a"}}, jobs=2, run=run, keep_going=True)
    assert started == ["a", "e"]
    with pytest.raises(ValueError, match="cycle"):
        run_in_dependency_order(dependencies={"a": {"b"}, "b": {"a"}}, jobs=2, run=lambda stage: None,
                                keep_going=True)


def test_each_stage_gets_a_share_of_the_cores_unless_the_user_sized_the_pools() -> None:
    shared = shared_thread_environment(4, environ={"PATH": "/bin"}, cores=16)
    assert {variable: shared[variable] for variable in THREAD_POOL_VARIABLES} == dict.fromkeys(THREAD_POOL_VARIABLES, "4")
    assert shared["PATH"] == "/bin"
    # More stages than cores: one thread each, never zero.
    assert shared_thread_environment(4, environ={}, cores=2)["OMP_NUM_THREADS"] == "1"
    # A pool the user sized is left alone; an empty value counts as unset.
    kept = shared_thread_environment(4, environ={"OMP_NUM_THREADS": "12", "MKL_NUM_THREADS": " "}, cores=16)
    assert (kept["OMP_NUM_THREADS"], kept["OPENBLAS_NUM_THREADS"], kept["MKL_NUM_THREADS"]) == ("12", "4", "4")
    with pytest.raises(ValueError, match="jobs"):
        shared_thread_environment(0, environ={}, cores=16)


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
        "    cmd: python -c \"import os, time; s = time.time(); time.sleep(3); "
        "open('${item.name}.txt', 'w').write(f'{s} {time.time()} {os.environ.get(\\\"OMP_NUM_THREADS\\\")}')\"\n"
        "    deps: [base.txt]\n"
        "    outs:\n"
        "      - ${item.name}.txt\n"
        "  report:\n"
        "    cmd: cat a.txt b.txt c.txt > report.txt\n"
        "    deps: [a.txt, b.txt, c.txt]\n"
        "    outs: [report.txt]\n"
    )
    env_path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    for command in (["git", "init", "-q"], [DVC, "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(command, cwd=repo, check=True, env={"PATH": env_path, "HOME": str(tmp_path)})
    lines: list[str] = []
    monkey_env = pytest.MonkeyPatch()
    monkey_env.setenv("PATH", env_path)
    for variable in THREAD_POOL_VARIABLES:
        monkey_env.delenv(variable, raising=False)
    try:
        repro_parallel(repo_dir=repo, jobs=3, dvc=DVC, write=lines.append)
    finally:
        monkey_env.undo()
    records = [(repo / f"{name}.txt").read_text().split() for name in "abc"]
    windows = [(float(start), float(end)) for start, end, _threads in records]
    # Each of the three stages running at once got a third of the cores for its OpenMP pool.
    assert {threads for _start, _end, threads in records} == {str(max(1, len(os.sched_getaffinity(0)) // 3))}
    # All three ran at the same time: each started before any other had finished.
    assert max(start for start, _end in windows) < min(end for _start, end in windows)
    assert (repo / "report.txt").exists()
    assert any(line.startswith("[member@b] ") for line in lines)
    status = subprocess.run([DVC, "status"], cwd=repo, capture_output=True, text=True, check=True)
    assert "up to date" in status.stdout
