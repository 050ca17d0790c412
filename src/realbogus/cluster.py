"""Training one CNN across machines: one process per machine, joined by JAX's multi-process
engine through ``keras.distribution``.

The processes find each other through Keras' own environment variables, which
``keras.distribution.initialize()`` reads:

* ``KERAS_DISTRIBUTION_JOB_ADDRESSES``: ``host:port`` of process 0, the coordinator;
* ``KERAS_DISTRIBUTION_NUM_PROCESSES``: how many processes train together;
* ``KERAS_DISTRIBUTION_PROCESS_ID``: this process's number, 0 .. N-1.

Every process runs the same stage command on the same inputs (a shared file system):
each reads and trains on its share of every global batch, JAX sums the gradients across
processes, and together they train one model, the same as one process would on the whole
batch (:func:`realbogus.cnn.training.train_cnn`).  Process 0, the chief, alone writes the
stage's outputs and logs to MLflow; the others only train.

On a SLURM cluster, one task per node::

    srun python -m realbogus.cluster run train@model1

sets the three variables from SLURM's (``SLURM_PROCID``, ``SLURM_NTASKS``, the first node
of ``SLURM_STEP_NODELIST``), then the chief runs ``dvc repro --single-item --force
train@model1`` (so ``dvc.lock`` records it) and every other task runs the stage's command
from dvc.yaml with tracking off.  ``tools/slurm/train.sbatch`` is a batch script for it.
Set the three variables yourself to run without SLURM (``run`` then uses them as they are).
This module imports neither Keras nor DVC at import time.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ADDRESS_VARIABLE = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
PROCESSES_VARIABLE = "KERAS_DISTRIBUTION_NUM_PROCESSES"
PROCESS_ID_VARIABLE = "KERAS_DISTRIBUTION_PROCESS_ID"
TRACKING_SWITCH = "REALBOGUS_TRACKING"  # realbogus.tracking's switch: the workers log nothing
DEFAULT_PORT = 12321


class ClusterError(ValueError):
    """The multi-process set-up in the environment is incomplete or inconsistent."""


@dataclass(frozen=True)
class ClusterSpec:
    """Where this process stands among the processes training together.

    coordinator: ``host:port`` of process 0; num_processes: N >= 2; process_id: 0 .. N-1.
    """

    coordinator: str
    num_processes: int
    process_id: int

    @property
    def is_chief(self) -> bool:
        """Process 0 writes the outputs and logs; the others only train."""
        return self.process_id == 0

    def environment(self) -> dict[str, str]:
        """The variables that describe this process to ``keras.distribution.initialize``."""
        return {ADDRESS_VARIABLE: self.coordinator, PROCESSES_VARIABLE: str(self.num_processes),
                PROCESS_ID_VARIABLE: str(self.process_id)}


def _integer(environ: Mapping[str, str], name: str) -> int:
    raw = environ[name]
    if not re.fullmatch(r"\s*\d+\s*", raw):
        raise ClusterError(f"{name}={raw!r}: expected a whole number")
    return int(raw)


def cluster_from_environment(environ: Mapping[str, str] | None = None) -> ClusterSpec | None:
    """The multi-process set-up from Keras' variables; None when they are unset or name one process.

    An incomplete or inconsistent set (a process number out of range, a count without an
    address) is an error naming the variable, not a silent single-process run.
    """
    environ = os.environ if environ is None else environ
    if PROCESSES_VARIABLE not in environ:
        stray = [name for name in (ADDRESS_VARIABLE, PROCESS_ID_VARIABLE) if name in environ]
        if stray:
            raise ClusterError(f"{', '.join(stray)} set but {PROCESSES_VARIABLE} is not: set all three "
                               f"({ADDRESS_VARIABLE}, {PROCESSES_VARIABLE}, {PROCESS_ID_VARIABLE}) or none")
        return None
    num_processes = _integer(environ, PROCESSES_VARIABLE)
    if num_processes < 1:
        raise ClusterError(f"{PROCESSES_VARIABLE}={num_processes}: expected 1 or more processes")
    if num_processes == 1:
        return None
    missing = [name for name in (ADDRESS_VARIABLE, PROCESS_ID_VARIABLE) if not environ.get(name)]
    if missing:
        raise ClusterError(f"{PROCESSES_VARIABLE}={num_processes} but {', '.join(missing)} not set: every "
                           f"process needs the coordinator's host:port and its own number 0..{num_processes - 1}")
    process_id = _integer(environ, PROCESS_ID_VARIABLE)
    if process_id >= num_processes:
        raise ClusterError(f"{PROCESS_ID_VARIABLE}={process_id}: expected 0..{num_processes - 1} "
                           f"({PROCESSES_VARIABLE}={num_processes})")
    coordinator = environ[ADDRESS_VARIABLE].split(",")[0].strip()
    if not re.fullmatch(r"[^\s:]+:\d{1,5}", coordinator):
        raise ClusterError(f"{ADDRESS_VARIABLE}={environ[ADDRESS_VARIABLE]!r}: expected host:port of process 0")
    return ClusterSpec(coordinator=coordinator, num_processes=num_processes, process_id=process_id)


def is_chief(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process writes outputs: always, except in a non-zero process of a cluster."""
    spec = cluster_from_environment(environ)
    return spec is None or spec.is_chief


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list: ``gpu[007-010,012],cpu1`` -> ``gpu007``."""
    match = re.match(r"\s*([^,\[\s]+)(?:\[([^\]]+)\])?", nodelist)
    if not match or not match.group(1):
        raise ClusterError(f"cannot read a host name from the SLURM node list {nodelist!r}")
    prefix, ranges = match.groups()
    if ranges is None:
        return prefix
    first = ranges.split(",")[0].split("-")[0].strip()
    if not first.isdigit():
        raise ClusterError(f"cannot read a host name from the SLURM node list {nodelist!r}")
    return prefix + first


def slurm_cluster(environ: Mapping[str, str], *, port: int = DEFAULT_PORT) -> ClusterSpec | None:
    """The set-up of one task of a SLURM job step (one task per node); None outside SLURM."""
    if "SLURM_PROCID" not in environ:
        return None
    count_name = next((name for name in ("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS") if name in environ),
                      None)
    nodes_name = next((name for name in ("SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST")
                       if name in environ), None)
    if count_name is None or nodes_name is None:
        raise ClusterError("SLURM_PROCID is set but not the task count (SLURM_NTASKS) or the node list "
                           "(SLURM_JOB_NODELIST): start the tasks with srun")
    num_processes = _integer(environ, count_name)
    if num_processes == 1:
        return None
    return ClusterSpec(coordinator=f"{first_host(environ[nodes_name])}:{port}", num_processes=num_processes,
                       process_id=_integer(environ, "SLURM_PROCID"))


def stage_command(stage: str, *, repo_dir: str | os.PathLike[str] = ".") -> str:
    """The command of pipeline stage ``stage`` (``train@model1``) as dvc.yaml defines it."""
    from dvc.repo import Repo

    with Repo(str(repo_dir)) as repo:
        stages = repo.stage.collect(stage)
        if len(stages) != 1 or not getattr(stages[0], "cmd", None):
            raise ClusterError(f"{stage!r} is not one stage with a command in {repo_dir}/dvc.yaml")
        return stages[0].cmd


def stage_process(stage: str, *, spec: ClusterSpec, repo_dir: str | os.PathLike[str] = ".",
                  dvc: str = "dvc", environ: Mapping[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """(command line, environment) of this process's part in training ``stage`` on the cluster.

    The chief reproduces the stage through DVC (``--force``: the workers train whether or not
    DVC finds it up to date, so it must too); the others run its command, tracking off.
    """
    environment = {**(os.environ if environ is None else environ), **spec.environment()}
    if spec.is_chief:
        return [dvc, "repro", "--single-item", "--force", stage], environment
    environment[TRACKING_SWITCH] = "0"
    return shlex.split(stage_command(stage, repo_dir=repo_dir)), environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realbogus.cluster", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="train one pipeline stage with every process of the cluster")
    run.add_argument("stage", help="a stage of dvc.yaml, e.g. train@model1")
    run.add_argument("--port", type=int, default=DEFAULT_PORT, help="the coordinator's port under SLURM")
    run.add_argument("--repo", default=".")
    args = parser.parse_args(argv)
    try:
        spec = cluster_from_environment() or slurm_cluster(os.environ, port=args.port)
        if spec is None:
            raise ClusterError(f"no cluster: run under srun with two or more tasks, or set {ADDRESS_VARIABLE}, "
                               f"{PROCESSES_VARIABLE} and {PROCESS_ID_VARIABLE}")
        dvc = Path(sys.executable).parent / "dvc"
        command, environment = stage_process(args.stage, spec=spec, repo_dir=args.repo,
                                             dvc=str(dvc) if dvc.exists() else "dvc")
    except ClusterError as error:
        print(f"realbogus.cluster: {error}", file=sys.stderr)
        return 2
    role = "chief" if spec.is_chief else "worker"
    print(f"realbogus.cluster: process {spec.process_id} of {spec.num_processes} ({role}), coordinator "
          f"{spec.coordinator}: {shlex.join(command)}", flush=True)
    return subprocess.call(command, cwd=args.repo, env=environment)


if __name__ == "__main__":
    raise SystemExit(main())
