"""Simulator throughput: samples/s and peak RSS for writing a release of N samples.

Usage: python benchmarks/bench_simulate.py N [--workers W] [--repeats R] [--config-json '{"knob": value}']

Prints one JSON object: the median samples/s over the repeats of the whole release
(rendering, features, GIF/FITS encoding, tar writing), the median render-only rate of
one process (no features, no encoding) measured in the same run for comparison, and
the peak resident memory of this process and of its workers.

The box is shared, so wall-clock rates swing with other load: the JSON also gives the CPU
time per sample (main process plus workers, median over repeats) and the load average
before and after, and ``capacity_samples_per_second_at_workers_cores`` = workers / CPU
time per sample, the rate the run would reach with ``workers`` cores to itself.
``--config-json`` sets SimulationConfig knobs (e.g. a physics option switched off), so two
runs price what a knob costs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from realbogus.simulate import SimulationConfig, simulate_release, simulate_sample
from realbogus.simulate.config import knobs_from_json


def _render_only_rate(n: int, config: SimulationConfig) -> float:
    started = time.perf_counter()
    for index in range(n):
        simulate_sample(seed=0, index=index, label_noise=0.015, flip_ratio=3.0, config=config)
    return n / (time.perf_counter() - started)


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config-json", default="{}", help="SimulationConfig knobs to set (default: none)")
    args = parser.parse_args()
    try:
        knobs = knobs_from_json(args.config_json, where="--config-json")
        config = SimulationConfig.from_mapping(knobs, where="--config-json")
    except ValueError as error:  # not a JSON object, an unknown knob or a value out of its range
        parser.error(str(error))
    rates, render_rates, cpu_ms = [], [], []
    load_before = os.getloadavg()[0]
    for repeat in range(args.repeats):
        cpu_before = _cpu_seconds()
        with tempfile.TemporaryDirectory() as tmp:
            summary = simulate_release(out_dir=Path(tmp) / "release", truth_path=Path(tmp) / "truth.parquet",
                                       n=args.n, seed=repeat, workers=args.workers, progress=False, config=config)
            rates.append(summary.samples_per_second)
        cpu_ms.append(1e3 * (_cpu_seconds() - cpu_before) / args.n)
        render_rates.append(_render_only_rate(min(args.n, 500), config))
    kib_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kib_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({
        "benchmark": "simulate", "n": args.n, "workers": args.workers, "repeats": args.repeats,
        "config_json": knobs,
        "samples_per_second_median": statistics.median(rates), "samples_per_second": rates,
        "cpu_ms_per_sample_median": statistics.median(cpu_ms), "cpu_ms_per_sample": cpu_ms,
        "capacity_samples_per_second_at_workers_cores": args.workers * 1e3 / statistics.median(cpu_ms),
        "load_average_1min_before_after": [load_before, os.getloadavg()[0]],
        "render_only_samples_per_second_one_process_median": statistics.median(render_rates),
        "peak_rss_mib_main": kib_self / 1024, "peak_rss_mib_largest_worker": kib_children / 1024,
        "python": sys.version.split()[0],
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
