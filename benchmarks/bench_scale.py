"""Every pipeline stage at growing release sizes: seconds, CPU seconds and peak memory per
stage, each stage's growth exponent, and the extrapolation to the full DES-SN release.

Usage: python benchmarks/bench_scale.py [--sizes 20000 100000 300000] [--cnn tiny|model1]
       [--cnn-epochs 1] [--work DIR] [--out FILE] [--keep]

For each size N it writes a work folder holding this repository's dvc.yaml and params.yaml
(``simulate.n`` = N, ``mine.budget`` = N x 8,093 / 898,963, the paper's share reviewed; the
CNN members as chosen below), asks DVC for the stages and their order, and runs every stage's
command from dvc.yaml, one at a time, exactly as ``dvc repro`` would start it, but without
DVC itself: DVC's hashing and its cache copy of each output (several GB at these sizes) are
not the stages' cost, and the cache would not fit the disk twice.  MLflow tracking stays
on (a SQLite store in the work folder), as in a user's run.

CNNs: the paper's CNNs train at ~320 samples/s on 2 CPU cores (docs/cnn.md), 10+ minutes per
epoch at 300k, so by default the CNN member is ``tiny`` (model1's shape with 8 filters per
block, the same stamp reading, batching, training and scoring code) trained for one epoch:
the stages' own growth is measured, not the paper's model's speed (a GPU's business).

Per stage and size: wall seconds, CPU seconds (user + system of the stage and every process
it started), the peak RSS of its largest process (exact: the kernel's high-water mark,
``wait4``), and, sampled every 0.2 s, the peak of the summed RSS of all its processes and the
main process's anonymous and file-backed RSS (file-backed pages of a memory-mapped stamp file
count in RSS but are page cache the kernel drops under pressure).  Then per stage: the
exponent k of time ~ N^k and memory ~ N^k, fitted by least squares on log-log over all sizes
and between the two largest, and the extrapolation to 898,963 samples from the largest size
with the larger of the two exponents; memory also by the straight line through the two largest
sizes (the memory a stage needs per sample).  The load average before and after each stage is
recorded: the box is shared and the wall times swing with it, the CPU seconds much less.

The JSON is written to --out after every size (a long run keeps what it measured) and printed
at the end.  Each size's work folder (release, stamps, models: ~60 KB per sample) is removed
after it is measured unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
FULL_SIZE = 898_963
PAPER_REVIEWED = 8_093
GOAL_PEAK_RSS_MIB = 2048
GOAL_TIME_EXPONENT = 1.1
SAMPLE_EVERY_S = 0.2
# model1's layout with 8 filters per block: the same code path at a fraction of the cost.
TINY_CNN = {"filters": [8, 8, 8], "kernel": 3, "pool": 2, "strides": [1, 1, 1], "double_conv": False,
            "inner_dropout": None}


def _bench_params(*, n: int, cnn: str, cnn_epochs: int) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["simulate"]["n"] = n
    # One review round of the paper's reviewed share (8,093 of 898,963): a round's cost hardly
    # depends on its budget, and further rounds repeat the same stages.
    params["mine"]["rounds"] = {"round1": {"after": "release", "budget": max(1, round(n * PAPER_REVIEWED / FULL_SIZE))}}
    if cnn == "tiny":
        params["models"]["tiny"] = dict(TINY_CNN)
    feature_members = [m for m in params["ensemble"]["members"] if m in params["feature_models"]]
    params["ensemble"]["cnns"] = [cnn]
    params["ensemble"]["members"] = [*feature_members, cnn]
    params["train"]["max_epochs"] = cnn_epochs
    return params


def prepare_work_dir(work: Path, *, params: dict) -> None:
    """A DVC project (no git) with this repository's pipeline and the given params."""
    work.mkdir(parents=True)
    shutil.copy(REPO / "dvc.yaml", work / "dvc.yaml")
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (work / "stages").symlink_to(REPO / "stages")
    (work / "data" / "decisions").mkdir(parents=True)
    shutil.copy(REPO / "data" / "decisions" / "people.csv", work / "data" / "decisions" / "people.csv")
    subprocess.run([_venv_bin("dvc"), "init", "--no-scm", "-q"], cwd=work, check=True)


def _venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def stages_in_order(work: Path) -> list[tuple[str, str]]:
    """(stage name, command) of every stage of ``work/dvc.yaml``, dependencies first, else in
    the file's order."""
    from dvc.repo import Repo

    with Repo(str(work)) as repo:
        graph = repo.index.graph  # edges point from a stage to a stage it depends on
        stages = [stage for stage in repo.index.stages if Path(stage.dvcfile.path).name == "dvc.yaml"]
        position = {stage.name: index for index, stage in enumerate(stages)}
        needs = {stage.name: {dep.name for dep in graph.successors(stage)} & set(position) for stage in stages}
        commands = {stage.name: stage.cmd for stage in stages}
    ordered, done = [], set()
    while len(ordered) < len(needs):
        ready = [name for name in needs if name not in done and needs[name] <= done]
        if not ready:
            raise RuntimeError(f"dependency cycle among {sorted(set(needs) - done)}")
        name = min(ready, key=position.__getitem__)
        ordered.append(name)
        done.add(name)
    return [(name, commands[name]) for name in ordered]


class _MemorySampler(threading.Thread):
    """Samples the RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process(pid)
        self.peak_tree_mib = self.peak_main_anon_mib = self.peak_main_file_mib = 0.0
        self._finished = threading.Event()

    def run(self) -> None:
        import psutil

        while not self._finished.wait(SAMPLE_EVERY_S):
            try:
                main = self.process.memory_info()
                tree = main.rss
                for child in self.process.children(recursive=True):
                    try:
                        tree += child.memory_info().rss
                    except psutil.Error:
                        continue
            except psutil.Error:
                return
            self.peak_tree_mib = max(self.peak_tree_mib, tree / 2**20)
            # On Linux memory_info().shared is RssFile + RssShmem: file-backed pages.
            self.peak_main_anon_mib = max(self.peak_main_anon_mib, (main.rss - main.shared) / 2**20)
            self.peak_main_file_mib = max(self.peak_main_file_mib, main.shared / 2**20)

    def stop(self) -> None:
        self._finished.set()
        self.join()


def run_stage(*, name: str, command: str, work: Path, env: dict[str, str], log: Path) -> dict:
    """Run one stage's command in ``work``; its time, CPU time and memory."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with open(log, "ab") as output:
        output.write(f"\n=== {name}: {command}\n".encode())
        output.flush()
        process = subprocess.Popen(shlex.split(command), cwd=work, env=env, stdout=output, stderr=subprocess.STDOUT)
        sampler = _MemorySampler(process.pid)
        sampler.start()
        # wait4 gives the kernel's accounting of the stage process and every child it reaped:
        # CPU time summed, ru_maxrss the largest single process's peak.
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        sampler.stop()
    if process.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise RuntimeError(f"stage {name} failed (exit {process.returncode}); log {log}:\n" + "\n".join(tail))
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "peak_tree_rss_mib_sampled": round(sampler.peak_tree_mib, 1),
        "peak_main_anon_rss_mib_sampled": round(sampler.peak_main_anon_mib, 1),
        "peak_main_file_rss_mib_sampled": round(sampler.peak_main_file_mib, 1),
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _folder_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file()) if path.exists() else 0


def measure_size(*, n: int, args: argparse.Namespace) -> dict:
    work = Path(args.work) / f"n{n}"
    if work.exists():
        raise FileExistsError(f"{work} exists: remove it or pass another --work")
    params = _bench_params(n=n, cnn=args.cnn, cnn_epochs=args.cnn_epochs)
    prepare_work_dir(work, params=params)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    env["PYTHONUNBUFFERED"] = "1"
    log = work / "stages.log"
    result = {"n": n, "mine_budget": params["mine"]["rounds"]["round1"]["budget"], "stages": {}}
    started = time.perf_counter()
    for name, command in stages_in_order(work):
        print(f"[{n}] {name} ...", file=sys.stderr, flush=True)
        result["stages"][name] = measured = run_stage(name=name, command=command, work=work, env=env, log=log)
        print(f"[{n}] {name}: {measured['seconds']} s, {measured['cpu_seconds']} CPU s, "
              f"peak RSS {measured['peak_rss_mib']} MiB", file=sys.stderr, flush=True)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    result["disk_bytes"] = {"release": _folder_bytes(work / "data" / "simulated" / "release"),
                            "stamps_npy": _folder_bytes(work / "data" / "ingested"),
                            "whole_work_folder": _folder_bytes(work)}
    if not args.keep:
        shutil.rmtree(work)
    return result


def _exponent(sizes: list[int], values: list[float]) -> float | None:
    """Least-squares slope of log(value) on log(size); None when a value is not positive."""
    if len(sizes) < 2 or min(values) <= 0:
        return None
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def analyse(runs: list[dict]) -> dict:
    """Per stage: exponents of time, CPU time and memory, and the full-size extrapolation."""
    runs = sorted(runs, key=lambda run: run["n"])
    sizes = [run["n"] for run in runs]
    names = [name for name in runs[-1]["stages"] if all(name in run["stages"] for run in runs)]
    stages = {}
    for name in names:
        series = {key: [run["stages"][name][key] for run in runs]
                  for key in ("seconds", "cpu_seconds", "peak_rss_mib", "peak_tree_rss_mib_sampled")}
        entry: dict = {}
        for key, values in series.items():
            overall = _exponent(sizes, values)
            last_two = _exponent(sizes[-2:], values[-2:])
            entry[f"{key}_exponent"] = None if overall is None else round(overall, 3)
            entry[f"{key}_exponent_largest_two"] = None if last_two is None else round(last_two, 3)
            exponents = [k for k in (overall, last_two) if k is not None]
            if exponents:
                scaled = values[-1] * (FULL_SIZE / sizes[-1]) ** max(exponents)
                entry[f"{key}_at_full_size_power"] = round(float(scaled), 1)
            if key.startswith("peak") and len(sizes) >= 2:
                per_sample = (values[-1] - values[-2]) / (sizes[-1] - sizes[-2])
                entry[f"{key}_kib_per_sample_largest_two"] = round(per_sample * 1024, 4)
                entry[f"{key}_at_full_size_linear"] = round(values[-1] + per_sample * (FULL_SIZE - sizes[-1]), 1)
        memory_at_full = max(entry.get("peak_rss_mib_at_full_size_power", 0),
                             entry.get("peak_rss_mib_at_full_size_linear", 0))
        entry["goals"] = {
            "cpu_time_exponent_le_1.1": (entry["cpu_seconds_exponent_largest_two"] or 0) <= GOAL_TIME_EXPONENT,
            "peak_rss_le_2GB_at_largest": series["peak_rss_mib"][-1] <= GOAL_PEAK_RSS_MIB,
            "peak_rss_le_2GB_at_full_size": memory_at_full <= GOAL_PEAK_RSS_MIB,
        }
        stages[name] = entry
    total_full = sum(stage.get("seconds_at_full_size_power", 0) for stage in stages.values())
    return {"sizes": sizes, "stages": stages, "full_size": FULL_SIZE,
            "full_size_total_hours_2_cores_extrapolated": round(total_full / 3600, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    parser.add_argument("--cnn", choices=("tiny", "model1"), default="tiny",
                        help="the CNN member: tiny (8 filters per block, the default) or the paper's model1")
    parser.add_argument("--cnn-epochs", type=int, default=1)
    parser.add_argument("--work", default="/tmp/realbogus-bench-scale")
    parser.add_argument("--out", default=None, help="also write the JSON here (after every size)")
    parser.add_argument("--keep", action="store_true", help="keep each size's work folder")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    report: dict = {
        "benchmark": "scale", "code_commit": commit, "cnn": args.cnn, "cnn_epochs": args.cnn_epochs,
        "cores": len(os.sched_getaffinity(0)), "niceness": os.nice(0), "machine": platform.machine(),
        "python": sys.version.split()[0], "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "how": "stage commands from dvc.yaml run one by one in dependency order without DVC (no hashing, "
               "no cache copy); MLflow tracking on (SQLite in the work folder)",
        "runs": [],
    }
    for n in args.sizes:
        report["runs"].append(measure_size(n=n, args=args))
        report["analysis"] = analyse(report["runs"])
        report["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
