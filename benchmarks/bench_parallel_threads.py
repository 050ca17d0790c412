"""Stages side by side: the boosted trees fitted by several processes at once, with every
process's OpenMP pool at all cores (what each stage got before) against the share that
``realbogus.dvc_parallel`` now gives each of ``--jobs`` stages (cores // jobs).

Usage: python benchmarks/bench_parallel_threads.py [--jobs 4] [--samples 14000] [--repeats 3]

Each process fits the default hgb (params.yaml's ``feature_models.hgb``: 400 rounds) on its
own drawn table of 30 features, the size of the default training split.  Prints JSON: the
wall time of the whole batch of processes for each setting (median and every repeat, the
settings alternating), one process alone at all cores, and the ratio.  On a machine with
more cores than this benchmark's processes need the gap is largest: OpenMP's threads spin at
every barrier, and with more runnable threads than cores the barriers wait for threads that
are not scheduled (docs/cnn.md, "The GPU profile").
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from realbogus.dvc_parallel import THREAD_POOL_VARIABLES, shared_thread_environment

# One process's work: the project's own hgb on a drawn table with a learnable label.
FIT = """
import sys
import numpy as np
from realbogus.feature_models.boosting import BoostingConfig, build_boosting
samples, seed = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(seed)
features = rng.normal(size=(samples, 30)).astype(np.float32)
labels = (features[:, :5].sum(axis=1) + rng.normal(scale=1.5, size=samples) > 0).astype(int)
build_boosting(BoostingConfig(), seed=seed).fit(features, labels)
"""


def batch_seconds(*, processes: int, samples: int, environment: dict[str, str], timeout_s: float) -> float | None:
    """Wall seconds for ``processes`` fits started together; None when they outlast ``timeout_s``."""
    start = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-c", FIT, str(samples), str(index)], env=environment)
               for index in range(processes)]
    try:
        for process in running:
            remaining = max(0.1, timeout_s - (time.perf_counter() - start))
            if process.wait(timeout=remaining) != 0:
                raise RuntimeError(f"a fit failed (exit {process.returncode})")
    except subprocess.TimeoutExpired:
        for process in running:
            process.kill()
            process.wait()
        return None
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="processes at once (the stages dvc_parallel runs)")
    parser.add_argument("--samples", type=int, default=14_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout-s", type=float, default=300.0, help="a batch still running then counts as not done")
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    unset = {key: value for key, value in os.environ.items() if key not in THREAD_POOL_VARIABLES}
    settings = {"all_cores_each": {**unset, **dict.fromkeys(THREAD_POOL_VARIABLES, str(cores))},
                "shared": shared_thread_environment(args.jobs, environ=unset, cores=cores)}
    alone = batch_seconds(processes=1, samples=args.samples, environment=settings["all_cores_each"],
                          timeout_s=args.timeout_s)
    times: dict[str, list[float | None]] = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, environment in settings.items():
            times[name].append(batch_seconds(processes=args.jobs, samples=args.samples,
                                             environment=environment, timeout_s=args.timeout_s))

    def median(values: list[float | None]) -> float | None:
        done = [value for value in values if value is not None]
        return round(statistics.median(done), 2) if len(done) == len(values) else None

    medians = {name: median(values) for name, values in times.items()}
    print(json.dumps({
        "benchmark": "bench_parallel_threads", "cores": cores, "jobs": args.jobs, "samples": args.samples,
        "threads_per_process": {"all_cores_each": cores, "shared": int(settings["shared"]["OMP_NUM_THREADS"])},
        "one_process_alone_s": None if alone is None else round(alone, 2),
        "batch_seconds_median": medians,
        "batch_seconds": {name: [None if value is None else round(value, 2) for value in values]
                          for name, values in times.items()},
        "timeout_s": args.timeout_s,
        "all_cores_over_shared": (round(medians["all_cores_each"] / medians["shared"], 2)
                                  if None not in medians.values() else None),
        "load_average_1min_at_start": round(os.getloadavg()[0], 2), "machine": platform.machine(),
    }, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
