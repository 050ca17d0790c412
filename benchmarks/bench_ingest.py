"""Ingest throughput (samples/s) and peak RSS for a synthetic GIF release of N samples.

Usage: python benchmarks/bench_ingest.py [N ...] [--workers 2] [--repeats 1] [--format gif]

For each N it writes a release with the project's writer (stamps from a pool of 256
distinct display-stretched noise-plus-source samples, reused under new IDs: decoding cost
is what matters, not variety), then runs the ingest ``--repeats`` times, each in a fresh
subprocess, and prints one JSON object: median wall time, samples/s, and the peak RSS of
the main ingest process and of its largest worker (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_CHILD = r"""
import json, resource, sys, time
from realbogus.ingest import ingest_release
if __name__ == "__main__":
    release_dir, out_dir, stamp_format, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    start = time.perf_counter()
    summary = ingest_release(release_dir=release_dir, out_dir=out_dir, stamp_format=stamp_format,
                             workers=workers, progress=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "n_samples": summary.n_samples,
                      "main_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def build_synthetic_release(path: Path, *, n_samples: int, seed: int = 0) -> None:
    import pandas as pd

    from realbogus.release.display import display_stamp
    from realbogus.release.layout import BANDS, CHANNELS, FEATURE_NAMES, FEATURE_TABLE_NAME
    from realbogus.release.writer import (ReleaseWriter, archive_folder, encode_fits, encode_gif,
                                          write_feature_table)

    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(256):
        files = {}
        for channel in CHANNELS:
            stamp = rng.normal(0.0, 10.0, size=(51, 51)).astype(np.float32)
            stamp[20:31, 20:31] += 200.0 * np.exp(-((np.arange(11) - 5) ** 2)[:, None] / 8.0
                                                  - ((np.arange(11) - 5) ** 2)[None, :] / 8.0)
            files[channel] = (encode_gif(display_stamp(stamp, channel=channel)), encode_fits(stamp))
        pool.append(files)
    ids = np.arange(1, n_samples + 1, dtype=np.int64) * 7
    with ReleaseWriter(path) as writer:
        for index, detection_id in enumerate(ids):
            files = pool[index % len(pool)]
            writer.add_sample(
                detection_id=int(detection_id),
                folder=archive_folder(night=f"201309{1 + index // 5000 % 28:02d}", directory=f"d{index % 61}"),
                files={**{f"{c}{detection_id}.gif": files[c][0] for c in CHANNELS},
                       **{f"{c}{detection_id}.fits": files[c][1] for c in CHANNELS}})
    table = pd.DataFrame({"ID": ids, "OBJECT_TYPE": rng.integers(0, 2, n_samples)})
    for name in FEATURE_NAMES:
        table[name] = rng.normal(size=n_samples)
    table["BAND"] = rng.choice(list(BANDS), n_samples)
    write_feature_table(path / FEATURE_TABLE_NAME, table, comment_lines=["synthetic benchmark release"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[20000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--format", dest="stamp_format", default="gif", choices=("gif", "fits"))
    args = parser.parse_args()
    results = []
    for n_samples in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench_ingest_") as scratch:
            release = Path(scratch) / "release"
            start = time.perf_counter()
            build_synthetic_release(release, n_samples=n_samples)
            build_seconds = time.perf_counter() - start
            runs = []
            for repeat in range(args.repeats):
                out = Path(scratch) / f"out{repeat}"
                completed = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(release), str(out), args.stamp_format, str(args.workers)],
                    check=True, capture_output=True, text=True)
                runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
                shutil.rmtree(out)
        seconds = statistics.median(run["seconds"] for run in runs)
        results.append({
            "n_samples": n_samples, "stamp_format": args.stamp_format, "workers": args.workers,
            "repeats": args.repeats, "median_seconds": round(seconds, 3),
            "samples_per_second": round(n_samples / seconds, 1),
            "main_peak_rss_mb": round(max(run["main_peak_rss_mb"] for run in runs), 1),
            "worker_peak_rss_mb": round(max(run["worker_peak_rss_mb"] for run in runs), 1),
            "release_build_seconds": round(build_seconds, 1),
        })
    print(json.dumps({"benchmark": "ingest", "results": results}, indent=2))


if __name__ == "__main__":
    main()
