"""Time compute_features per sample on a mix of DES-like stamps; print JSON.

Usage: python benchmarks/bench_features.py [--samples 200] [--repeats 7]

The simulator calls compute_features once per sample and must sustain >= 300 samples/s
on 2 cores including rendering and encoding, so the goal here is <= 1.5 ms per sample
on one core.  Each repeat times every scene kind over the same stamps; the JSON reports
medians over repeats (wall and process CPU time), overall and per scene kind, measured
side by side in one run.  Run it with BLAS threads pinned to 1 (the script sets that
before numpy loads) so the figure is one core's.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from realbogus.features import ObservationContext, compute_features  # noqa: E402

GOAL_MS_PER_SAMPLE = 1.5
SIZE = 51


def _gaussian(flux: float, sigma: float, x: float = 25.0, y: float = 25.0) -> np.ndarray:
    ys, xs = np.mgrid[:SIZE, :SIZE]
    return flux * np.exp(-0.5 * ((xs - x) ** 2 + (ys - y) ** 2) / sigma**2) / (2 * math.pi * sigma**2)


def _scene(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(template, search, difference) of one scene kind with random parameters."""
    sigma = rng.uniform(1.4, 3.0)
    sky = rng.uniform(100.0, 1000.0)
    host = np.zeros((SIZE, SIZE))
    transient = np.zeros((SIZE, SIZE))
    if kind in ("fake on host", "galaxy core"):
        ys, xs = np.mgrid[:SIZE, :SIZE]
        scale = rng.uniform(2.0, 6.0)
        host = rng.uniform(5e3, 1e5) * np.exp(-np.hypot(xs - 25 - rng.uniform(-4, 4),
                                                       ys - 25 - rng.uniform(-4, 4)) / scale)
        host /= 2 * math.pi * scale**2
    if kind in ("hostless fake", "fake on host"):
        transient = _gaussian(rng.uniform(300.0, 2e4), sigma)
    elif kind == "dipole":
        flux, shift = rng.uniform(3e3, 3e4), rng.uniform(0.5, 2.0)
        transient = _gaussian(flux, sigma, x=25 + shift) - _gaussian(flux, sigma, x=25 - shift)
    elif kind == "cosmic ray":
        transient[25, 25] = rng.uniform(500.0, 5000.0)
    elif kind == "galaxy core":
        transient = 0.05 * host - 0.05 * np.roll(host, 1, axis=1)
    template = sky + host + rng.normal(0, 3.0, (SIZE, SIZE))
    search = sky + host + transient + rng.normal(0, 6.0, (SIZE, SIZE))
    difference = transient + rng.normal(0, 6.7, (SIZE, SIZE))
    if kind == "masked edge":
        difference[:, : rng.integers(5, 25)] = 1e-30
        difference += _gaussian(rng.uniform(1e3, 1e4), sigma)
    return template, search, difference


KINDS = ("hostless fake", "fake on host", "dipole", "cosmic ray", "galaxy core", "masked edge")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="stamps per scene kind")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    rng = np.random.default_rng(2022)
    context = ObservationContext(band="r", ccdid=10, x_ccd=700.0, y_ccd=2100.0, zeropoint=31.0,
                                 limiting_mag=23.8, seeing_fwhm_px=4.5)
    scenes = {kind: [_scene(kind, rng) for _ in range(args.samples)] for kind in KINDS}
    for stamps in scenes.values():  # warm caches and imports outside the timing
        compute_features(*stamps[0], context=context)

    wall: dict[str, list[float]] = {kind: [] for kind in KINDS}
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(args.repeats):
        for kind, stamps in scenes.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            for template, search, difference in stamps:
                compute_features(template, search, difference, context=context)
            wall[kind].append((time.perf_counter() - wall_start) * 1e3 / len(stamps))
            cpu[kind].append((time.process_time() - cpu_start) * 1e3 / len(stamps))
    overall_wall = [statistics.fmean(wall[k][r] for k in KINDS) for r in range(args.repeats)]
    overall_cpu = [statistics.fmean(cpu[k][r] for k in KINDS) for r in range(args.repeats)]
    median_cpu = statistics.median(overall_cpu)
    print(json.dumps({
        "benchmark": "compute_features",
        "unit": "ms per sample, one core",
        "ms_per_sample_median_wall": round(statistics.median(overall_wall), 4),
        "ms_per_sample_median_cpu": round(median_cpu, 4),
        "ms_per_sample_min_wall": round(min(overall_wall), 4),
        "samples_per_s_one_core_cpu": round(1e3 / median_cpu, 1),
        "goal_ms_per_sample": GOAL_MS_PER_SAMPLE,
        "meets_goal_cpu": median_cpu <= GOAL_MS_PER_SAMPLE,
        "per_kind_ms_median_wall": {k: round(statistics.median(v), 4) for k, v in wall.items()},
        "per_kind_ms_median_cpu": {k: round(statistics.median(v), 4) for k, v in cpu.items()},
        "samples_per_kind": args.samples,
        "repeats": args.repeats,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()
