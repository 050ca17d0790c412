"""``dvc repro`` with several stages at once: independent stages (the CNN members of the
``train``, ``crossfit`` and ``retrain`` matrices) share one GPU instead of queueing.

``dvc repro`` runs one stage at a time.  DVC's per-output read/write locks do allow
``dvc repro --single-item`` of stages that write different outputs to run side by side in
one workspace; only its short repository lock at start-up can refuse a second process
("Unable to acquire lock"), which is retried.  This walks the pipeline's DAG in dependency
order, keeps up to ``jobs`` stages running, prefixes each output line with its stage, and
ends with a plain ``dvc repro``, which finds everything up to date (or redoes what a
concurrent run left stale), so the result is exactly what ``dvc repro`` would give.
The stages share the cores: each one's native thread pools (OpenMP, OpenBLAS, MKL) get
``cores // jobs`` threads unless the environment sizes them.

    python -m realbogus.dvc_parallel --jobs 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

LOCK_BUSY = "Unable to acquire lock"
LOCK_RETRIES = 50

# The native thread pools that size themselves to every core of the machine: OpenMP (the
# boosted trees of scikit-learn), OpenBLAS and MKL.  Stages running side by side each get an
# equal share of the cores instead.  OpenMP's threads spin at every barrier, so with more
# runnable threads than cores each barrier waits for threads that are not scheduled: on the
# 16-core H200 machine the hgb feature model took 6.4 s alone, four of them at once with 16
# threads each had not finished after 45 s, and with 4 threads each all four took 8 s.  With
# the GPU profile's stages run four at a time, the two hgb stages (each ~7 s alone) beside two
# jax trainings had not finished after 528 s.
THREAD_POOL_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def shared_thread_environment(jobs: int, *, environ: Mapping[str, str] | None = None,
                              cores: int | None = None) -> dict[str, str]:
    """The environment for each of ``jobs`` stages that run at once: every native thread pool
    the user has not sized (:data:`THREAD_POOL_VARIABLES`) gets ``cores // jobs`` threads, at
    least one.  ``cores``: the cores this process may run on (default: its CPU affinity)."""
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    environment = dict(os.environ if environ is None else environ)
    share = max(1, (len(os.sched_getaffinity(0)) if cores is None else cores) // jobs)
    for variable in THREAD_POOL_VARIABLES:
        if not environment.get(variable, "").strip():
            environment[variable] = str(share)
    return environment


def stage_dependencies(repo_dir: str | Path, *, dvcfile: str = "dvc.yaml") -> dict[str, set[str]]:
    """Each stage of the pipeline ``repo_dir/dvcfile`` (``train@model1``, ...) -> the stages of
    that pipeline it depends on (other pipelines in the repository, e.g. survey/, are left out)."""
    from dvc.repo import Repo

    pipeline_file = (Path(repo_dir) / dvcfile).resolve()
    with Repo(str(repo_dir)) as repo:
        graph = repo.index.graph  # edges point from a stage to a stage it depends on
        stages = [stage for stage in graph.nodes if Path(stage.dvcfile.path).resolve() == pipeline_file]
        names = {stage.name for stage in stages}
        return {stage.name: {dependency.name for dependency in graph.successors(stage)} & names
                for stage in stages}


def _stream(process: subprocess.Popen[str], *, prefix: str, write: Callable[[str], None], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        write(f"{prefix}{line.rstrip()}")


def run_stage(*, stage: str, repo_dir: Path, dvc: str, write: Callable[[str], None],
              environ: Mapping[str, str] | None = None) -> None:
    """``dvc repro --single-item stage``, retried while another DVC process holds the repository lock.

    ``environ``: the stage's environment (default: this process's)."""
    for attempt in range(LOCK_RETRIES):
        lines: list[str] = []
        process = subprocess.Popen([dvc, "repro", "--single-item", stage], cwd=repo_dir, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=None if environ is None else dict(environ))
        _stream(process, prefix=f"[{stage}] ", write=write, lines=lines)
        if process.wait() == 0:
            return
        if not any(LOCK_BUSY in line for line in lines):
            raise RuntimeError(f"stage {stage} failed (exit {process.returncode}):\n{''.join(lines[-40:])}")
        time.sleep(0.5 + 0.1 * attempt)
    raise RuntimeError(f"stage {stage}: DVC's repository lock stayed busy through {LOCK_RETRIES} tries")


class StagesFailed(RuntimeError):
    """Stages failed with ``keep_going``: ``failures`` (stage -> its error, in the order they
    failed) and ``skipped``, the stages not started because they depend on a failed one."""

    def __init__(self, failures: dict[str, BaseException], skipped: list[str]) -> None:
        named = "; ".join(f"{stage}: {error}" for stage, error in failures.items())
        super().__init__(f"{len(failures)} stage(s) failed ({named}); not started, as they depend on "
                         f"them: {', '.join(skipped) or 'none'}")
        self.failures = failures
        self.skipped = skipped


def run_in_dependency_order(*, dependencies: Mapping[str, set[str]], jobs: int,
                            run: Callable[[str], None], keep_going: bool = False) -> None:
    """Call ``run(stage)`` for every stage, a stage only after all it depends on, ``jobs`` at a time.

    The first failure stops new starts; the stages still running finish, then it is raised.
    With ``keep_going`` (make's -k) every stage that does not depend on a failed one still
    runs, and :class:`StagesFailed` names the failed and the skipped stages at the end: a
    lease's minutes are not lost to one stage that nothing else needs.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    unknown = {dependency for needs in dependencies.values() for dependency in needs} - set(dependencies)
    if unknown:
        raise ValueError(f"stages depend on stages not in the pipeline: {sorted(unknown)}")
    pending, done, skipped = set(dependencies), set(), []
    running: dict[str, threading.Thread] = {}
    failures: dict[str, BaseException] = {}
    finished = threading.Condition()

    def work(stage: str) -> None:
        failure = None
        try:
            run(stage)
        except BaseException as error:  # noqa: BLE001  (re-raised in the caller's thread)
            failure = error
        with finished:  # under the lock: the scheduler reads these between waits
            running.pop(stage)
            if failure is None:
                done.add(stage)
            else:
                failures[stage] = failure
            finished.notify_all()

    def stopped() -> bool:
        return bool(failures) and not keep_going

    with finished:
        while (pending and not stopped()) or running:
            # Transitively: what depends on a failed or a skipped stage is skipped too.
            while blocked := {stage for stage in pending if dependencies[stage] & (failures.keys() | set(skipped))}:
                skipped.extend(sorted(blocked))
                pending -= blocked
            ready = sorted(stage for stage in pending if dependencies[stage] <= done)
            while ready and len(running) < jobs and not stopped():
                stage = ready.pop(0)
                pending.discard(stage)
                running[stage] = threading.Thread(target=work, args=(stage,), name=stage, daemon=True)
                running[stage].start()
            if not running and pending and not stopped():
                raise ValueError(f"dependency cycle among {sorted(pending)}")
            if running:
                finished.wait()
    if failures and keep_going:
        raise StagesFailed(failures, skipped)
    if failures:
        raise next(iter(failures.values()))


def repro_parallel(*, repo_dir: str | Path = ".", jobs: int, dvc: str = "dvc",
                   write: Callable[[str], None] = print) -> None:
    """The whole pipeline with up to ``jobs`` stages at once, then a final plain ``dvc repro``.

    Each stage's native thread pools get a share of the cores (:func:`shared_thread_environment`)."""
    repo_dir = Path(repo_dir)
    lock = threading.Lock()
    environment = shared_thread_environment(jobs)

    def locked_write(line: str) -> None:
        with lock:
            write(line)

    run_in_dependency_order(dependencies=stage_dependencies(repo_dir), jobs=jobs,
                            run=lambda stage: run_stage(stage=stage, repo_dir=repo_dir, dvc=dvc, write=locked_write,
                                                        environ=environment))
    subprocess.run([dvc, "repro"], cwd=repo_dir, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="stages running at once (1: plain dvc repro order)")
    parser.add_argument("--repo", default=".")
    args = parser.parse_args(argv)
    dvc = str(Path(sys.executable).parent / "dvc")
    repro_parallel(repo_dir=args.repo, jobs=args.jobs, dvc=dvc if Path(dvc).exists() else "dvc",
                   write=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
