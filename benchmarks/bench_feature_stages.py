"""The stages that read the feature table, on row subsets of one release: seconds, CPU
seconds and peak RSS per size, with bench_scale.py's exponents and full-size extrapolation.

Usage: python benchmarks/bench_feature_stages.py --release WORK [--sizes 20000 100000 300000]
       [--members rf hgb] [--out FILE]

WORK is a folder a pipeline run (or `bench_scale.py --keep`) left behind, holding
params.yaml, data/ingested/catalog.parquet, data/features/features.parquet,
data/split/split.csv and data/rounds/round1/start/labels.csv.  For each size N the first N
ids of that release (a subset of one release, not a release simulated at N) are written to
a scratch folder, and each member's `feature_model` and `crossfit@round1` commands run there
as dvc.yaml starts them, measured by bench_scale.py's ``run_stage``.  No stamps are read by
these stages, so none are copied.

What it is for: re-measuring the feature-reading stages after a change to how they read,
without simulating the release again (simulate is most of the scale run's time at 300k).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import analyse, run_stage  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
START_LABELS = Path("data/rounds/round1/start/labels.csv")


def write_subset(release: Path, work: Path, *, n: int) -> None:
    """The first ``n`` ids of ``release``'s tables, in ``work``."""
    catalog = pd.read_parquet(release / "data/ingested/catalog.parquet").sort_values("id")
    if n > len(catalog):
        raise SystemExit(f"{release}: {len(catalog)} samples, fewer than the size {n}")
    catalog = catalog.iloc[:n].copy()
    catalog["row"] = np.arange(n)  # the subset's own stamp rows (no stamps are read)
    ids = set(catalog["id"])
    for folder in ("data/ingested", "data/features", "data/split", START_LABELS.parent):
        (work / folder).mkdir(parents=True, exist_ok=True)
    catalog.to_parquet(work / "data/ingested/catalog.parquet", index=False)
    features = pd.read_parquet(release / "data/features/features.parquet")
    features[features["id"].isin(ids)].to_parquet(work / "data/features/features.parquet", index=False)
    for table in (Path("data/split/split.csv"), START_LABELS):
        rows = pd.read_csv(release / table)
        rows[rows["id"].isin(ids)].to_csv(work / table, index=False)
    # The training stages open the stamp file's header only for members that read stamps.
    np.lib.format.open_memmap(work / "data/ingested/stamps.npy", mode="w+", dtype=np.uint8, shape=(1, 51, 51, 3))
    shutil.copy(release / "params.yaml", work / "params.yaml")
    subprocess.run(["git", "init", "--quiet", str(work)], check=True)  # the stages log to MLflow in a repository


def stage_commands(members: list[str]) -> list[tuple[str, str]]:
    """(name, command) as dvc.yaml's feature_model and crossfit stages start them."""
    train, crossfit = REPO / "stages" / "train.py", REPO / "stages" / "crossfit.py"
    commands = []
    for member in members:
        commands.append((f"feature_model@{member}", f"python {train} --member {member} --stage feature_model "
                                                    f"--model-dir data/models/{member} --reports reports/{member}"))
        commands.append((f"crossfit@round1-{member}", f"python {crossfit} --round round1 --member {member} "
                                                      f"--labels {START_LABELS} "
                                                      f"--out data/rounds/round1/crossfit/{member}.parquet"))
    return commands


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, required=True, help="a pipeline's work folder (see above)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 300_000])
    parser.add_argument("--members", nargs="+", default=["rf", "hgb"])
    parser.add_argument("--out", default=None, help="also write the JSON here (after every size)")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    report: dict = {"benchmark": "feature_stages", "code_commit": commit, "release": str(args.release),
                    "cores": len(os.sched_getaffinity(0)), "load_average_1min_at_start": round(os.getloadavg()[0], 2),
                    "how": "first N ids of one release; stage commands as dvc.yaml starts them; MLflow on",
                    "runs": []}
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"realbogus-feature-stages-{n}-") as scratch:
            work = Path(scratch)
            # In a process of its own: a stage's peak RSS (wait4's ru_maxrss) counts the memory
            # its process had between fork and exec, a copy of this one's, so this one must stay
            # small rather than hold the release's tables.
            writer = multiprocessing.get_context("spawn").Process(target=write_subset, args=(args.release, work),
                                                                  kwargs={"n": n})
            writer.start()
            writer.join()
            if writer.exitcode != 0:
                raise SystemExit(f"writing the {n}-sample subset of {args.release} failed")
            env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
            run = {"n": n, "stages": {}}
            for name, command in stage_commands(args.members):
                run["stages"][name] = measured = run_stage(name=name, command=command, work=work, env=env,
                                                           log=work / "stages.log")
                print(f"[{n}] {name}: {measured['cpu_seconds']} CPU s, peak RSS {measured['peak_rss_mib']} MiB",
                      file=sys.stderr, flush=True)
        report["runs"].append(run)
        report["analysis"] = analyse(report["runs"])
        report["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
