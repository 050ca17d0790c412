"""Does TensorFlow's CPU memory pool speed up the pipeline's CNN training?  Prints JSON.

Runs the real train stage (``stages/train.py --member model1``, as ``dvc repro train``
does) on an ingested release, alternately with TensorFlow's CPU tensors from its BFC pool
(``TF_CPU_ALLOCATOR_USE_BFC=true``, the project's default, ``realbogus.cnn.backend``) and
from the C library's malloc (``false``, TensorFlow's own default), ``--rounds`` times each,
every run in a fresh process and its own temporary folder with a copy of params.yaml
(``train.max_epochs`` set to ``--epochs``, MLflow tracking off).

Per run: the stage's wall seconds, the training samples/s it prints for its last epoch,
the process's kernel (system) and user CPU seconds, minor page faults and peak resident
memory (``wait4``), and the SHA-256 of the 20,000 (or however many) scores it wrote: the
pool must change no score.  Medians per setting and the pool's speed-up are at the end.

    dvc repro split      # the ingested release and its split
    python benchmarks/cnn_cpu_pool.py --epochs 1 --rounds 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from realbogus.provenance import software_environment
REPO = Path(__file__).resolve().parents[1]
# realbogus.cnn.backend.CPU_POOL_VARIABLE, written out: importing it would start TensorFlow in this process.
POOL_VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"
EPOCH_LINE = re.compile(r"epoch (\d+)/\d+ .* ([\d.]+) samples/s")


def run_stage(*, pool: bool, workdir: Path, member: str) -> dict:
    """One train stage in ``workdir`` (which holds params.yaml and data/); its figures."""
    env = {**os.environ, POOL_VARIABLE: "true" if pool else "false", "KERAS_BACKEND": "tensorflow"}
    command = [sys.executable, str(REPO / "stages/train.py"), "--member", member, "--stage", "train",
               "--model-dir", "out/model", "--reports", "out/reports"]
    started = time.perf_counter()
    with open(workdir / "stage.log", "w") as log:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    output = (workdir / "stage.log").read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"train stage ({POOL_VARIABLE}={pool}) failed in {workdir}:\n{output[-3000:]}")
    epochs = EPOCH_LINE.findall(output)
    if not epochs:
        raise SystemExit(f"no 'epoch N/M ... samples/s' line in the train stage's output:\n{output[-3000:]}")
    scores = pd.read_parquet(workdir / "out/model/scores.parquet")
    return {
        "pool": pool,
        "wall_seconds": round(wall, 1),
        "last_epoch_samples_per_s": float(epochs[-1][1]),
        "system_cpu_seconds": round(usage.ru_stime, 1),
        "user_cpu_seconds": round(usage.ru_utime, 1),
        "minor_page_faults": usage.ru_minflt,
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "scores_sha256": hashlib.sha256(scores["artifact_score"].to_numpy().tobytes()).hexdigest()[:16],
        "n_scores": len(scores),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--member", default="model1", help="a CNN member of params.yaml's models")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="runs per setting, alternating")
    parser.add_argument("--params", default=str(REPO / "params.yaml"))
    parser.add_argument("--ingested", default=str(REPO / "data/ingested"))
    parser.add_argument("--split", default=str(REPO / "data/split/split.csv"))
    args = parser.parse_args()
    for path in (Path(args.ingested) / "stamps.npy", Path(args.split)):
        if not path.exists():
            raise SystemExit(f"{path} not found: run `dvc repro split` first, or pass --ingested / --split")

    params = yaml.safe_load(Path(args.params).read_text())
    params["train"]["max_epochs"] = args.epochs
    params["tracking"]["enabled"] = False
    runs = []
    for round_index in range(args.rounds):
        for pool in (True, False) if round_index % 2 == 0 else (False, True):
            with tempfile.TemporaryDirectory(prefix="cnn_cpu_pool_") as folder:
                workdir = Path(folder)
                (workdir / "data/split").mkdir(parents=True)
                (workdir / "data/ingested").symlink_to(Path(args.ingested).resolve())
                (workdir / "data/split/split.csv").symlink_to(Path(args.split).resolve())
                (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
                run = run_stage(pool=pool, workdir=workdir, member=args.member)
            print(json.dumps(run), file=sys.stderr, flush=True)
            runs.append(run)

    def median(key: str, pool: bool) -> float:
        return statistics.median(run[key] for run in runs if run["pool"] is pool)

    keys = ("wall_seconds", "last_epoch_samples_per_s", "system_cpu_seconds", "user_cpu_seconds",
            "minor_page_faults", "peak_rss_mb")
    medians = {("pool" if pool else "malloc"): {key: median(key, pool) for key in keys} for pool in (True, False)}
    print(json.dumps({
        "benchmark": "cnn_cpu_pool",
        "environment": software_environment(),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "settings": vars(args),
        "medians": medians,
        "training_speed_up": round(medians["pool"]["last_epoch_samples_per_s"]
                                   / medians["malloc"]["last_epoch_samples_per_s"], 2),
        "stage_wall_ratio": round(medians["pool"]["wall_seconds"] / medians["malloc"]["wall_seconds"], 2),
        "scores_identical": len({run["scores_sha256"] for run in runs}) == 1,
        "runs": runs,
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
