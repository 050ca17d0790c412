"""The cluster set-up: Keras' variables, SLURM's, and the launcher that starts each
process's part of a pipeline stage (the chief through DVC, the others directly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from realbogus.cluster import (
    ADDRESS_VARIABLE,
    PROCESS_ID_VARIABLE,
    PROCESSES_VARIABLE,
    ClusterError,
    ClusterSpec,
    cluster_from_environment,
    first_host,
    is_chief,
    slurm_cluster,
)

DVC = str(Path(sys.executable).parent / "dvc")


def test_keras_variables_describe_the_process() -> None:
    assert cluster_from_environment({}) is None and is_chief({})
    assert cluster_from_environment({PROCESSES_VARIABLE: "1"}) is None
    spec = cluster_from_environment({ADDRESS_VARIABLE: "node1:1234,node2:1234", PROCESSES_VARIABLE: "2",
                                     PROCESS_ID_VARIABLE: "1"})
    assert spec == ClusterSpec(coordinator="node1:1234", num_processes=2, process_id=1) and not spec.is_chief
    assert not is_chief(spec.environment()) and is_chief({**spec.environment(), PROCESS_ID_VARIABLE: "0"})
    for environ, message in (
        ({ADDRESS_VARIABLE: "h:1"}, f"set but {PROCESSES_VARIABLE} is not"),
        ({PROCESSES_VARIABLE: "2", PROCESS_ID_VARIABLE: "0"}, f"{ADDRESS_VARIABLE} not set"),
        ({PROCESSES_VARIABLE: "2", ADDRESS_VARIABLE: "h:1", PROCESS_ID_VARIABLE: "2"}, "expected 0..1"),
        ({PROCESSES_VARIABLE: "two"}, "expected a whole number"),
        ({PROCESSES_VARIABLE: "2", ADDRESS_VARIABLE: "h", PROCESS_ID_VARIABLE: "0"}, "expected host:port"),
    ):
        with pytest.raises(ClusterError, match=message):
            cluster_from_environment(environ)


def test_slurm_tasks_become_processes() -> None:
    assert [first_host(nodes) for nodes in ("gpu[007-010,012],cpu1", "nid001", "a01,a02", "n[3]")] == [
        "gpu007", "nid001", "a01", "n3"]
    assert slurm_cluster({}) is None
    spec = slurm_cluster({"SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_JOB_NODELIST": "gpu[07-10]"}, port=999)
    assert spec == ClusterSpec(coordinator="gpu07:999", num_processes=4, process_id=3)
    # The job step's own nodes come first when srun gives them.
    spec = slurm_cluster({"SLURM_PROCID": "0", "SLURM_STEP_NUM_TASKS": "2", "SLURM_NTASKS": "8",
                          "SLURM_STEP_NODELIST": "b[2-3]", "SLURM_JOB_NODELIST": "a[1-8]"})
    assert (spec.coordinator.split(":")[0], spec.num_processes) == ("b2", 2)
    assert slurm_cluster({"SLURM_PROCID": "0", "SLURM_NTASKS": "1", "SLURM_JOB_NODELIST": "a1"}) is None
    with pytest.raises(ClusterError, match="start the tasks with srun"):
        slurm_cluster({"SLURM_PROCID": "0"})


def test_the_launcher_runs_the_chief_through_dvc_and_the_others_directly(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    # The stage records the variables it saw; only the chief's output is the stage's.
    (repo / "probe.py").write_text(
        "import json, os\n"
        "keys = ['KERAS_DISTRIBUTION_JOB_ADDRESSES', 'KERAS_DISTRIBUTION_NUM_PROCESSES',\n"
        "        'KERAS_DISTRIBUTION_PROCESS_ID', 'REALBOGUS_TRACKING']\n"
        "with open('seen-' + os.environ['KERAS_DISTRIBUTION_PROCESS_ID'] + '.json', 'w') as out:\n"
        "    json.dump({key: os.environ.get(key) for key in keys}, out)\n")
    (repo / "dvc.yaml").write_text("stages:\n  probe:\n    matrix:\n      part: [a]\n"
                                   "    cmd: python probe.py\n    deps: [probe.py]\n    outs: [seen-0.json]\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in (ADDRESS_VARIABLE, PROCESSES_VARIABLE, PROCESS_ID_VARIABLE, "REALBOGUS_TRACKING"):
        env.pop(name, None)
    subprocess.run([DVC, "init", "--no-scm", "-q"], cwd=repo, check=True, env=env)
    tasks = [subprocess.Popen([sys.executable, "-m", "realbogus.cluster", "run", "probe@a", "--port", "4321"],
                              cwd=repo, env={**env, "SLURM_PROCID": str(task), "SLURM_NTASKS": "2",
                                             "SLURM_JOB_NODELIST": "node[01-02]"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for task in range(2)]
    outputs = [task.communicate(timeout=120)[0] for task in tasks]
    assert [task.returncode for task in tasks] == [0, 0], outputs
    assert "process 0 of 2 (chief), coordinator node01:4321" in outputs[0] and "dvc repro" in outputs[0]
    assert "process 1 of 2 (worker)" in outputs[1]
    chief, worker = (json.loads((repo / f"seen-{task}.json").read_text()) for task in range(2))
    assert chief == {ADDRESS_VARIABLE: "node01:4321", PROCESSES_VARIABLE: "2", PROCESS_ID_VARIABLE: "0",
                     "REALBOGUS_TRACKING": None}
    assert worker == {**chief, PROCESS_ID_VARIABLE: "1", "REALBOGUS_TRACKING": "0"}
    assert "probe@a" in (repo / "dvc.lock").read_text()  # the chief's run is DVC's

    # Outside a cluster the launcher says what it needs, in one line.
    lone = subprocess.run([sys.executable, "-m", "realbogus.cluster", "run", "probe@a"], cwd=repo, env=env,
                          capture_output=True, text=True)
    assert lone.returncode == 2 and "no cluster: run under srun with two or more tasks" in lone.stderr


def test_the_slurm_batch_script_starts_one_launcher_per_task(tmp_path: Path) -> None:
    """tools/slurm/train.sbatch as SLURM would run it, with an ``srun`` that starts its two
    tasks on this machine: the stage trains with the chief through DVC and one worker."""
    repo = tmp_path / "repo"
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "activate").write_text("# the test's interpreter is on PATH already\n")
    (repo / "probe.py").write_text(
        "import json, os\n"
        "with open('seen-' + os.environ['KERAS_DISTRIBUTION_PROCESS_ID'] + '.json', 'w') as out:\n"
        "    json.dump({key: os.environ.get(key) for key in ('KERAS_BACKEND', 'KERAS_DISTRIBUTION_JOB_ADDRESSES',\n"
        "               'REALBOGUS_TRACKING')}, out)\n")
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    matrix:\n      model: [model1]\n"
                                   "    cmd: python probe.py\n    deps: [probe.py]\n    outs: [seen-0.json]\n")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text(
        "#!/bin/bash\n# two tasks on this machine, as srun --ntasks-per-node=1 on two nodes would start them\n"
        "shift  # --ntasks-per-node=1\n"
        "for task in 0 1; do SLURM_PROCID=$task SLURM_NTASKS=2 SLURM_JOB_NODELIST=localhost \"$@\" & done\n"
        "wait -n && wait -n\n")
    (fake_bin / "srun").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "SLURM_SUBMIT_DIR": str(repo), "REALBOGUS_CLUSTER_PORT": "4444"}
    for name in (ADDRESS_VARIABLE, PROCESSES_VARIABLE, PROCESS_ID_VARIABLE, "REALBOGUS_TRACKING", "KERAS_BACKEND"):
        env.pop(name, None)
    subprocess.run([DVC, "init", "--no-scm", "-q"], cwd=repo, check=True, env=env)
    script = Path(__file__).resolve().parents[1] / "tools" / "slurm" / "train.sbatch"
    done = subprocess.run(["bash", str(script), "train@model1"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    chief, worker = (json.loads((repo / f"seen-{task}.json").read_text()) for task in range(2))
    assert chief == {"KERAS_BACKEND": "jax", ADDRESS_VARIABLE: "localhost:4444", "REALBOGUS_TRACKING": None}
    assert worker == {**chief, "REALBOGUS_TRACKING": "0"}
    assert "train@model1" in (repo / "dvc.lock").read_text()
