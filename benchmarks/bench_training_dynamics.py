"""What recording the training dynamics costs a CNN's training, on this machine; prints JSON.

The cross-fit records each training sample's score in every epoch for the area under the
margin (``crossfit.training_dynamics``).  Measured side by side in one run, alternating,
on the same rows with the member's own settings (params.yaml, e.g. model1: batch 64):

* ``none``: ``train_cnn`` without recording;
* ``in_step``: ``train_cnn(record_training=True)`` on one device: the training step's own
  scores (``realbogus.cnn.step_scores``);
* ``scoring_pass``: what recording cost before it was taken from the step, and still costs
  across devices or processes: one ``predict_artifact_scores`` pass over the training rows
  after every epoch, timed on its own after each ``none`` fit and added to it.

Each fit runs ``--epochs`` epochs on ``--train`` random stamps (uint8 noise with a bar on
the artifacts, so the model learns) with ``--val`` validation rows; the figures are
seconds per epoch including tracing, as the cross-fit pays it.  Medians over ``--repeats``.

    python benchmarks/bench_training_dynamics.py --member model1 --train 3000 --epochs 2 --repeats 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import yaml

from realbogus.cnn.training import predict_artifact_scores, train_cnn  # imports keras quietly
from realbogus.members import resolve_member
import keras  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def learnable_stamps(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 51, 51, 3) uint8 noise stamps whose artifacts carry a bright difference bar."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    stamps = rng.integers(20, 90, size=(n, 51, 51, 3), dtype=np.uint8)
    bars = rng.integers(10, 40, size=n)
    for i in np.flatnonzero(labels == 1):
        stamps[i, bars[i] : bars[i] + 3, 5:46, 2] = 240
    return stamps, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--member", default="model1", help="a CNN member of params.yaml")
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--val", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    spec = resolve_member(args.member, params)
    train_config = dataclasses.replace(spec.config.train, max_epochs=args.epochs, early_stopping_patience=None,
                                       restore_best_weights=False)
    stamps, labels = learnable_stamps(args.train + args.val, seed=0)
    train_rows, val_rows = np.arange(args.train), np.arange(args.train, args.train + args.val)
    seconds: dict[str, list[float]] = {"none": [], "in_step": [], "scoring_pass": []}
    pass_seconds: list[float] = []
    for repeat in range(args.repeats):
        for variant in ("none", "in_step"):
            result = train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=val_rows,
                               model_config=spec.config.model, train_config=train_config, seed=repeat,
                               record_training=variant == "in_step")
            seconds[variant].append(result.fit_seconds / result.epochs_run)
            if variant == "none":
                started = time.perf_counter()
                predict_artifact_scores(model=result.model, stamps=stamps, rows=train_rows,
                                        batch_size=max(train_config.batch_size, 256),
                                        workers=train_config.loader_workers)
                pass_seconds.append(time.perf_counter() - started)
                seconds["scoring_pass"].append(seconds["none"][-1] + pass_seconds[-1])
            keras.backend.clear_session()
    median = {variant: statistics.median(values) for variant, values in seconds.items()}
    print(json.dumps({
        "benchmark": "training_dynamics_cost", "member": args.member, "backend": keras.backend.backend(),
        "machine": platform.machine(), "train_rows": args.train, "val_rows": args.val, "epochs": args.epochs,
        "batch_size": train_config.batch_size, "repeats": args.repeats,
        "seconds_per_epoch": {variant: [round(value, 2) for value in values] for variant, values in seconds.items()},
        "scoring_pass_seconds": [round(value, 2) for value in pass_seconds],
        "median_seconds_per_epoch": {variant: round(value, 2) for variant, value in median.items()},
        "in_step_over_none": round(median["in_step"] / median["none"], 3),
        "scoring_pass_over_none": round(median["scoring_pass"] / median["none"], 3),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
