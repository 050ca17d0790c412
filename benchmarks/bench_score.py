"""Scoring throughput and memory: samples/s and peak RSS of `realbogus score` on N stamps.

Writes N random uint8 stamps (N, 51, 51, 3) to an .npy in a temporary folder (in chunks),
then scores them in a child process per size with ``realbogus.survey.scoring`` exactly as
the CLI does (plain batched reads, a prefetch thread, ``predict_on_batch``), and reports
for each N the samples/s of the scoring loop and the child's peak RSS.  Peak RSS at two
sizes shows whether memory grows with N.  Scores of random stamps are meaningless; speed
does not depend on the weights, so without ``--model`` an untrained model of the preset is
used.  Prints one JSON object.  The machine's load average is printed beside the figures
(the box may be shared: compare runs only at similar load).

    python benchmarks/bench_score.py --n 20000 100000 --model data/models/model1/model.keras
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_stamps(path: Path, n: int, *, chunk: int = 10_000) -> None:
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, 51, 51, 3))
    rng = np.random.default_rng(0)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        array[start:stop] = rng.integers(0, 256, size=(stop - start, 51, 51, 3), dtype=np.uint8)
    array.flush()
    del array


def child(args: argparse.Namespace) -> None:
    from realbogus.survey.scoring import load_scoring_model, open_stamp_source, score_stamps

    model, model_hash = load_scoring_model(args.model)
    rss_after_model_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = score_stamps(source=open_stamp_source(args.stamps), model=model, model_path=str(args.model),
                           model_hash=model_hash, out_path=args.out, batch_size=args.batch_size, progress=False)
    print(json.dumps({
        "n": summary.n_scored, "seconds": round(summary.seconds, 2),
        "samples_per_second": round(summary.samples_per_second, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_after_model_load_mib": round(rss_after_model_mib, 1),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--model", type=Path, default=None, help="model.keras (default: untrained --preset)")
    parser.add_argument("--preset", default="model1")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stamps", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-score-") as scratch:
        model_path = args.model
        if model_path is None:
            from realbogus.cnn.models import build_model, preset_config

            model_path = Path(scratch) / "model.keras"
            build_model(config=preset_config(args.preset)).save(model_path)
        results = []
        for n in args.n:
            stamps = Path(scratch) / f"stamps_{n}.npy"
            write_stamps(stamps, n)
            load_before = os.getloadavg()[0]
            output = subprocess.run(
                [sys.executable, __file__, "--child", "--model", str(model_path), "--stamps", str(stamps),
                 "--out", str(Path(scratch) / "scores.csv"), "--batch-size", str(args.batch_size)],
                check=True, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            result = json.loads(output.stdout.strip().splitlines()[-1])
            result["load_average_1min_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            results.append(result)
            stamps.unlink()
    print(json.dumps({"benchmark": "score", "model": str(args.model or f"untrained {args.preset}"),
                      "batch_size": args.batch_size, "cpu_count": os.cpu_count(),
                      "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "results": results}, indent=2))


if __name__ == "__main__":
    main()
