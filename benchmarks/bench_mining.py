"""Mining against the truth, side by side with cleanlab, on several simulated releases.

For each variant (simulator seed, label-noise rate) this runs the real pipeline up to the
`mine_truth` stage (simulate -> ingest -> features -> cross-fitted members -> mine ->
mine_truth) in a scratch clone of this repository's HEAD, and prints, as one JSON object,
every method's AUPRC and precision / recall at the review budget from
reports/mine_truth/comparison.csv, with the issue's goals checked:

* our ranking's AUPRC >= the best cleanlab variant's;
* at the budget, precision >= 0.9 and recall >= 0.8.  Only meaningful where the budget is
  close to the number of injected mislabels: with B candidates and M mislabels, recall is
  at most B/M and precision at most M/B.  The JSON states both bounds.

The clone shares this repository's DVC cache, so a variant already run here (the default
release after `dvc repro`) is restored from DVC's run cache instead of being recomputed.
MLflow runs land in this repository's store (mlflow.db) unless MLFLOW_TRACKING_URI is set.
The clone is deleted afterwards unless --keep is given.  --diagnostics adds, per variant,
the output of benchmarks/mining_diagnostics.py (other aggregations, each member's share,
members trained on the truth, a refit on flipped candidates).

    python benchmarks/bench_mining.py                       # default + 1% and 3% noise
    python benchmarks/bench_mining.py --variant 2013:0.015 --variant 5:0.03 --n 5000
    python benchmarks/bench_mining.py --diagnostics > mining.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VARIANTS = ("2013:0.015", "17:0.01", "29:0.03")
OUR_METHOD = "ensemble_disagreement"


def parse_variant(text: str) -> tuple[int, float]:
    try:
        seed, noise = text.split(":")
        return int(seed), float(noise)
    except ValueError:
        raise argparse.ArgumentTypeError(f"variant {text!r}: expected SEED:NOISE, e.g. 17:0.01") from None


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> None:
    completed = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-6000:])
        raise SystemExit(f"{' '.join(command)} failed in {cwd} (exit {completed.returncode})")


def make_clone(workdir: Path, commit: str) -> Path:
    clone = workdir / "repo"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=clone, check=True)
    subprocess.run([str(Path(sys.executable).parent / "dvc"), "cache", "dir", "--local", str(REPO / ".dvc" / "cache")],
                   cwd=clone, check=True, stdout=subprocess.DEVNULL)
    return clone


def set_variant(clone: Path, *, seed: int, noise: float, n: int | None) -> dict:
    params_path = clone / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["simulate"]["seed"] = seed
    params["simulate"]["label_noise"] = noise
    if n is not None:
        params["simulate"]["n"] = n
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def summarise(clone: Path, params: dict) -> dict:
    comparison = pd.read_csv(clone / "reports" / "mine_truth" / "comparison.csv")
    headline = json.loads((clone / "reports" / "mine_truth" / "metrics.json").read_text())
    mine_metrics = json.loads((clone / "reports" / "mine" / "metrics.json").read_text())
    methods = {row["method"]: {key: (None if pd.isna(row[key]) else round(float(row[key]), 4))
                               for key in ("auprc", "precision_at_budget", "recall_at_budget")}
               for _, row in comparison.iterrows()}
    ours = methods[OUR_METHOD]
    cleanlab = {name: values for name, values in methods.items() if name != OUR_METHOD}
    best_name = max(cleanlab, key=lambda name: cleanlab[name]["auprc"])
    budget, mislabelled = int(headline["budget"]), int(headline["n_mislabelled"])
    return {
        "seed": params["simulate"]["seed"], "label_noise": params["simulate"]["label_noise"],
        "n": params["simulate"]["n"], "n_mislabelled": mislabelled, "budget": budget,
        "recall_bound_at_budget": round(min(1.0, budget / mislabelled), 4) if mislabelled else None,
        "precision_bound_at_budget": round(min(1.0, mislabelled / budget), 4) if budget else None,
        "member_auc": {key[4:]: round(value, 4) for key, value in mine_metrics.items() if key.startswith("auc_")},
        "methods": methods,
        "best_cleanlab": best_name,
        "goals": {
            "auprc_at_least_best_cleanlab": ours["auprc"] >= cleanlab[best_name]["auprc"],
            "precision_at_budget_at_least_0.9": ours["precision_at_budget"] >= 0.9,
            "recall_at_budget_at_least_0.8": ours["recall_at_budget"] >= 0.8,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append", type=parse_variant,
                        help=f"SEED:NOISE (repeatable); default {' '.join(DEFAULT_VARIANTS)}")
    parser.add_argument("--n", type=int, default=None, help="samples per release (default: params.yaml)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the scratch clone in this folder")
    parser.add_argument("--commit", default="HEAD",
                        help="benchmark this commit's pipeline (default HEAD); an earlier commit whose stages are "
                             "in the run cache re-runs in minutes")
    parser.add_argument("--diagnostics", action="store_true", help="also run mining_diagnostics.py per variant")
    args = parser.parse_args()
    variants = args.variant or [parse_variant(text) for text in DEFAULT_VARIANTS]

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{REPO / 'mlflow.db'}")
    dvc = str(Path(sys.executable).parent / "dvc")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench_mining_"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        commit = subprocess.run(["git", "rev-parse", args.commit], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.strip()
        clone = make_clone(workdir, commit)
        for seed, noise in variants:
            params = set_variant(clone, seed=seed, noise=noise, n=args.n)
            started = time.perf_counter()
            run([dvc, "repro", "mine_truth"], cwd=clone, env=env)
            summary = summarise(clone, params)
            summary["pipeline_seconds"] = round(time.perf_counter() - started, 1)
            if args.diagnostics:
                completed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "mining_diagnostics.py"),
                                            "--repo", str(clone)], env=env, capture_output=True, text=True)
                if completed.returncode != 0:
                    sys.stderr.write(completed.stderr[-6000:])
                    raise SystemExit(f"mining_diagnostics.py failed on {seed}:{noise}")
                summary["diagnostics"] = json.loads(completed.stdout)
            results.append(summary)
            print(json.dumps({"done": f"{seed}:{noise}", "seconds": summary["pipeline_seconds"]}), file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps({"benchmark": "mining_vs_cleanlab", "commit": commit, "variants": results,
                      "all_goals_met": all(all(r["goals"].values()) for r in results)}, indent=2))


if __name__ == "__main__":
    main()
