"""Do CNN training results depend on the machine's thread count or oneDNN?  Prints JSON.

Trains model1 (the pipeline's params: learning rate, batch 64) on the first ``--train``
training samples of the ingested release (``dvc repro split`` first), validates on
``--val`` and tests on ``--test`` samples of the split, for ``--epochs`` epochs, once per
variant, each in a fresh process (thread counts and oneDNN are fixed at backend start):

- ``threads=N``: TensorFlow's intra- and inter-op thread pools of N threads (a machine
  with more cores splits each op's work differently);
- ``onednn=0``: ``TF_ENABLE_ONEDNN_OPTS=0`` (Eigen's kernels instead of oneDNN's, whose
  kernels are chosen per CPU instruction set at run time);
- ``isa=all`` / ``isa=avx512_core`` / ``isa=avx2``: oneDNN's kernels up to that instruction
  set (``ONEDNN_MAX_CPU_ISA``; all = the CPU's own, e.g. AVX-512): what another machine's
  instruction set does, on this one.  Without ``isa`` the project's default applies
  (``realbogus.cnn.backend``: AVX2);
- ``cores=N``: the process may run on only the first N CPUs (``sched_setaffinity``): a
  machine with fewer cores, while ``threads`` stays what params.yaml fixes;
- ``deterministic=0``: TensorFlow's op determinism off;
- ``pool=0``: TensorFlow's CPU tensors from the C library's malloc, given back after every
  step, instead of from its BFC memory pool (``TF_CPU_ALLOCATOR_USE_BFC``; the project's
  default is the pool, ``realbogus.cnn.backend``): the pool must change no bit, only speed;
- ``seed=S``: another training seed, the yardstick for "how far apart is far".

For each variant: the weights' SHA-256, val/test AUC and FPR at MDR 0.05, the loss
history, the training seconds, and the worker process's kernel (system) CPU seconds, minor
page faults and peak resident memory.  Variants with the same weights hash agree bit for bit.

    python benchmarks/cnn_determinism.py --train 3000 --epochs 2
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from realbogus.provenance import software_environment  # reads package metadata: starts no backend

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VARIANTS = [
    "threads=2",
    "threads=1",
    "threads=4",
    "threads=2,isa=all",
    "threads=2,isa=avx512_core",
    "threads=2,onednn=0",
    "threads=1,onednn=0",
    "threads=2,deterministic=0",
    "threads=2,seed=1007",
    "threads=2,seed=2007",
]


def parse_variant(text: str) -> dict[str, int | str]:
    variant: dict[str, int | str] = {"threads": 2, "onednn": 1, "deterministic": 1, "seed": 7, "isa": "default",
                                     "cores": 0, "pool": 1}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        if key not in variant:
            raise SystemExit(f"unknown variant key {key!r} in {text!r}; expected {sorted(variant)}")
        variant[key] = value if key == "isa" else int(value)
    return variant


def worker(settings: dict) -> dict:
    """One training in this process (the backend is started here, after the environment is set)."""
    if settings.get("cores"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: int(settings["cores"])])
    import numpy as np
    import pandas as pd

    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, predict_artifact_scores, train_cnn
    from realbogus.metrics import headline_metrics
    from realbogus.params import config_from_mapping, load_params

    params = load_params(REPO / "params.yaml")
    ingested = Path(settings["ingested"])
    catalog = pd.read_parquet(ingested / "catalog.parquet").sort_values("id").reset_index(drop=True)
    split = pd.read_csv(settings["split"]).set_index("id").loc[catalog["id"], "split"].to_numpy()
    stamps = np.load(ingested / "stamps.npy", mmap_mode="r")
    labels = catalog["label"].to_numpy().astype(np.int64)
    rows = {name: np.flatnonzero(split == name)[: settings[name]] for name in ("train", "val", "test")}
    train_config = config_from_mapping(TrainConfig, {**params["train"], "max_epochs": settings["epochs"],
                                                     "deterministic": bool(settings["deterministic"]),
                                                     "threads": settings["threads"]}, where="params.yaml train")
    result = train_cnn(stamps=stamps, labels=labels, train_rows=rows["train"], val_rows=rows["val"],
                       model_config=config_from_mapping(CNNConfig, params["models"]["model1"], where="params.yaml models.model1"), train_config=train_config,
                       seed=settings["seed"])
    digest = hashlib.sha256()
    for weights in result.model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    report = {"weights_sha256": digest.hexdigest()[:16], "fit_seconds": round(result.fit_seconds, 1),
              "loss": result.history["loss"], "val_loss": result.history["val_loss"]}
    for name in ("val", "test"):
        scores = predict_artifact_scores(model=result.model, stamps=stamps, rows=rows[name])
        metrics = headline_metrics(labels=labels[rows[name]], artifact_score=scores)
        report[f"{name}_auc"] = metrics["auc"]
        report[f"{name}_fpr_at_mdr_0.05"] = metrics["fpr_at_mdr_0.05"]
        report[f"{name}_scores_sha256"] = hashlib.sha256(scores.tobytes()).hexdigest()[:16]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report.update(system_cpu_seconds=round(usage.ru_stime, 1), user_cpu_seconds=round(usage.ru_utime, 1),
                  minor_page_faults=usage.ru_minflt, peak_rss_mb=round(usage.ru_maxrss / 1024))
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", help=f"e.g. threads=1,onednn=0 (default: {DEFAULT_VARIANTS})")
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--val", type=int, default=1000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--ingested", default=str(REPO / "data/ingested"))
    parser.add_argument("--split", default=str(REPO / "data/split/split.csv"))
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the variant list this many times, alternating, for the median training seconds")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    results = []
    for text in (args.variant or DEFAULT_VARIANTS) * args.rounds:
        variant = parse_variant(text)
        settings = {**variant, "train": args.train, "val": args.val, "test": args.test, "epochs": args.epochs,
                    "ingested": args.ingested, "split": args.split}
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": str(variant["onednn"])}
        env.pop("ONEDNN_MAX_CPU_ISA", None)
        env["TF_CPU_ALLOCATOR_USE_BFC"] = "true" if variant["pool"] else "false"
        if variant["isa"] != "default":
            env["ONEDNN_MAX_CPU_ISA"] = str(variant["isa"]).upper()
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, __file__, "--worker", json.dumps(settings)], env=env,
                                   capture_output=True, text=True, timeout=3600)
        if completed.returncode != 0:
            raise SystemExit(f"variant {text} failed:\n{completed.stderr[-3000:]}")
        report = {"variant": text, **json.loads(completed.stdout.strip().splitlines()[-1]),
                  "process_seconds": round(time.perf_counter() - started, 1)}
        print(json.dumps(report), file=sys.stderr, flush=True)
        results.append(report)
    groups: dict[str, list[str]] = {}
    seconds: dict[str, list[float]] = {}
    system_seconds: dict[str, list[float]] = {}
    for report in results:
        variants = groups.setdefault(report["weights_sha256"], [])
        if report["variant"] not in variants:
            variants.append(report["variant"])
        seconds.setdefault(report["variant"], []).append(report["fit_seconds"])
        system_seconds.setdefault(report["variant"], []).append(report["system_cpu_seconds"])
    print(json.dumps({"benchmark": "cnn_determinism", "environment": software_environment(),
                      "cpu_count": os.cpu_count(),
                      "load_average_at_end": os.getloadavg(), "settings": vars(args),
                      "bit_identical_groups": list(groups.values()),
                      "median_fit_seconds": {variant: statistics.median(values) for variant, values in seconds.items()},
                      "median_system_cpu_seconds": {variant: statistics.median(values)
                                                    for variant, values in system_seconds.items()},
                      "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
