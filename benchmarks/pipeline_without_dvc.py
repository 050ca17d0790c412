"""Time every stage of the pipeline on a machine without DVC or MLflow (a lent GPU machine
has jax and the scientific stack, neither of those): the stage commands of dvc.yaml, run in
dependency order up to --jobs at a time, as ``make repro-gpu`` runs them.

Two steps, because only the first needs DVC:

    # here, where DVC is installed, with the params the run should use in params.yaml:
    python benchmarks/pipeline_without_dvc.py plan > plan.json
    # there (KERAS_BACKEND=jax for the GPU profile), in a copy of the repository:
    python benchmarks/pipeline_without_dvc.py run --plan plan.json --jobs 4 --out timings/

``plan`` writes each stage of dvc.yaml (``train@model1``, ...) with its command, DVC's
params interpolated, and the stages it depends on.  ``run`` runs each command with MLflow
tracking off (``REALBOGUS_TRACKING=0``) and the same share of the cores per stage as
``realbogus.dvc_parallel`` (:func:`~realbogus.dvc_parallel.shared_thread_environment`),
writes each stage's output to ``<out>/logs/<stage>.log`` (``<out>`` is built beside its
name and renamed when the run ends, as every output here) and prints JSON: every stage's
start, seconds and exit status, and the whole run's seconds.  ``--skip-plan`` leaves out
the stages of an earlier plan that already ran (appended review rounds: only the new
rounds' stages and ``--rerun`` ones).  Nothing here replaces ``dvc repro``: no lock file,
no cache, every listed stage runs.

Before any stage starts, ``run`` checks that the project's dependencies (pyproject.toml) and
theirs are installed, less DVC, MLflow and, when Keras runs on another backend, TensorFlow,
and names the missing ones.  ``--keep-going`` (make's -k): after a failure, every stage that
does not depend on it still runs, and the JSON names the skipped ones.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

# The machines this runs on (a lent GPU machine) have the scientific stack but not this
# project installed: the package is imported from the checkout it belongs to, for this script
# as for the stages it starts.
SRC = Path(__file__).resolve().parents[1] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from realbogus.atomic import atomic_path  # noqa: E402  (after the path above)
from realbogus.dvc_parallel import (StagesFailed, run_in_dependency_order, shared_thread_environment,  # noqa: E402
                                   stage_dependencies)


def plan(repo_dir: Path) -> dict[str, dict]:
    """Each stage of ``repo_dir/dvc.yaml``: its command and the stages it depends on."""
    from dvc.repo import Repo  # only here: the machine that runs the plan has no DVC

    dependencies = stage_dependencies(repo_dir)
    pipeline = (repo_dir / "dvc.yaml").resolve()
    with Repo(str(repo_dir)) as repo:
        commands = {stage.name: stage.cmd for stage in repo.index.stages
                    if Path(stage.dvcfile.path).resolve() == pipeline}
    return {name: {"cmd": commands[name], "deps": sorted(dependencies[name])} for name in dependencies}


def run(stages: dict[str, dict], *, jobs: int, logs: Path, deadline_s: float | None, source: Path = SRC,
        keep_going: bool = False, cwd: Path | None = None) -> dict:
    """Run ``stages`` (a plan, or part of one) in dependency order, in ``cwd`` (default: the
    current folder), with the package imported from ``source`` (this checkout's src/ unless
    another copy's); the timings."""
    logs.mkdir(parents=True, exist_ok=True)
    environment = {**shared_thread_environment(jobs), "REALBOGUS_TRACKING": "0", "PYTHONUNBUFFERED": "1",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH", "")]))}
    began = time.monotonic()
    timings: list[dict] = []
    lock = threading.Lock()

    def one(stage: str) -> None:
        command = shlex.split(stages[stage]["cmd"])
        if command[0] == "python":  # the interpreter this runs on, as the stage's venv would be
            command[0] = sys.executable
        remaining = None if deadline_s is None else deadline_s - (time.monotonic() - began)
        if remaining is not None and remaining <= 0:
            raise RuntimeError(f"{stage}: the deadline passed before it could start")
        start = time.monotonic()
        with open(logs / f"{stage}.log", "w") as log:
            completed = subprocess.run(command, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                       timeout=remaining, check=False, cwd=cwd)
        record = {"stage": stage, "start_s": round(start - began, 1),
                  "seconds": round(time.monotonic() - start, 1), "exit": completed.returncode}
        with lock:
            timings.append(record)
            print(json.dumps(record), file=sys.stderr, flush=True)
        if completed.returncode != 0:
            raise RuntimeError(f"stage {stage} failed (exit {completed.returncode}): see {logs / (stage + '.log')}")

    error, skipped = None, []
    try:
        run_in_dependency_order(dependencies={name: set(spec["deps"]) & set(stages) for name, spec in stages.items()},
                                jobs=jobs, run=one, keep_going=keep_going)
    except StagesFailed as failure:
        error, skipped = str(failure), failure.skipped
    except (RuntimeError, subprocess.TimeoutExpired) as failure:
        error = str(failure)
    return {"benchmark": "pipeline_without_dvc", "jobs": jobs, "cores": len(os.sched_getaffinity(0)),
            "seconds": round(time.monotonic() - began, 1), "completed": error is None, "error": error,
            "skipped": skipped, "stages": sorted(timings, key=lambda record: record["start_s"])}


# What the runner does without: DVC and MLflow (no lock file, tracking off), and TensorFlow
# when Keras runs on another backend (jax on the GPU machine).
NOT_NEEDED = ("dvc", "mlflow")


def missing_distributions(pyproject: Path, *, path: list[str] | None = None) -> list[str]:
    """The project's dependencies (pyproject.toml), and theirs in turn, that are not installed
    here, less what the runner does without; ``[]`` when the stages can import what they need.

    A missing one otherwise shows only when the first stage that imports it fails, minutes
    into a lease (cleanlab's termcolor once stopped the mining report that way)."""
    import re
    from importlib.metadata import Distribution, PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        print("pyproject.toml not read (no tomllib before Python 3.11): dependencies not checked", file=sys.stderr)
        return []

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    skip = {normal(name) for name in NOT_NEEDED}
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        skip.add("tensorflow")

    def find(name: str) -> Distribution | None:
        if path is not None:
            return next(iter(Distribution.discover(name=name, path=path)), None)
        try:
            return distribution(name)
        except PackageNotFoundError:
            return None

    wanted = [Requirement(text) for text in tomllib.loads(pyproject.read_text())["project"]["dependencies"]]
    seen: set[str] = set()
    missing: list[str] = []
    while wanted:
        requirement = wanted.pop(0)
        name = normal(requirement.name)
        if name in seen or name in skip:
            continue
        seen.add(name)
        found = find(requirement.name)
        if found is None:
            missing.append(requirement.name)
            continue
        for text in found.requires or []:
            needed = Requirement(text)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                wanted.append(needed)
    return sorted(missing)


def require_dependencies(pyproject: Path) -> None:
    """Stop, naming them, if :func:`missing_distributions` finds any."""
    missing = missing_distributions(pyproject)
    if missing:
        raise SystemExit(f"not installed here, and the stages import them: {', '.join(missing)} "
                         "(on a machine without network, carry them as wheels: docs/cnn.md)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan_parser = commands.add_parser("plan", help="print the stages of dvc.yaml as JSON (needs DVC)")
    plan_parser.add_argument("--repo", type=Path, default=Path("."))
    run_parser = commands.add_parser("run", help="run a plan's stages in dependency order (no DVC, no MLflow)")
    run_parser.add_argument("--plan", type=Path, required=True)
    run_parser.add_argument("--jobs", type=int, default=4)
    run_parser.add_argument("--out", type=Path, required=True, help="folder for logs/ and timings.json")
    run_parser.add_argument("--skip-plan", type=Path, help="an earlier plan whose stages already ran here")
    run_parser.add_argument("--rerun", nargs="*", default=[], help="stages of --skip-plan to run again")
    run_parser.add_argument("--deadline-s", type=float, help="start no stage after this, stop those running")
    run_parser.add_argument("--keep-going", action="store_true",
                            help="after a failure, still run every stage that does not depend on it (make -k)")
    run_parser.add_argument("--no-dependency-check", action="store_true",
                            help="start without checking that the project's dependencies are installed "
                                 "(a plan whose stages import none of them)")
    args = parser.parse_args(argv)
    if args.command == "plan":
        print(json.dumps(plan(args.repo), indent=1))
        return 0
    stages = json.loads(args.plan.read_text())
    if not args.no_dependency_check:
        require_dependencies(SRC.parent / "pyproject.toml")
    if args.skip_plan:
        done = set(json.loads(args.skip_plan.read_text())) - set(args.rerun)
        stages = {name: spec for name, spec in stages.items() if name not in done}
    with atomic_path(args.out, is_dir=True, command="benchmarks/pipeline_without_dvc.py run",
                     inputs=[args.plan]) as folder:
        result = run(stages, jobs=args.jobs, logs=folder / "logs", deadline_s=args.deadline_s,
                     keep_going=args.keep_going)
        text = json.dumps(result, indent=1)
        (folder / "timings.json").write_text(text + "\n")
    print(text)
    return 0 if result["completed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
