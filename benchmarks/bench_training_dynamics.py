"""What recording the training dynamics costs a CNN's training, on this machine; prints JSON.

The cross-fit records each training sample's score in every epoch for the area under the
margin (``crossfit.training_dynamics``).  Measured side by side in one run, alternating,
on the same rows with the member's own settings (params.yaml, e.g. model1: batch 64):

* ``none``: ``train_cnn`` without recording;
* ``step``: ``record_from="step"``, the training step's own scores
  (``realbogus.cnn.step_scores``);
* ``epoch_end``: ``record_from="epoch_end"`` (the default), one inference pass over the
  training rows after every epoch.

Each fit runs ``--epochs`` epochs on ``--train`` stamps of uint8 noise (random labels; the
JSON in benchmarks/results was measured with a bright bar on the artifacts, so the model
learned, which a step's cost does not depend on) with ``--val`` validation rows; the figures are
seconds per epoch of the whole fit (tracing, validation and recording included, as the
cross-fit pays them), wall and CPU (the process's, every thread): on a shared machine whose
wall times jump, the CPU seconds show the work.  Medians over ``--repeats``; the three
alternate within a repeat.

    python benchmarks/bench_training_dynamics.py --member model1 --train 3000 --epochs 2 --repeats 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np
import yaml

from realbogus.cnn.training import train_cnn  # imports keras quietly
from realbogus.provenance import software_environment
from realbogus.members import resolve_member
import keras  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


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
    # Noise stamps with random labels: what a step costs does not depend on what it learns.
    rng = np.random.default_rng(0)
    stamps = rng.integers(0, 256, size=(args.train + args.val, 51, 51, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, size=args.train + args.val)
    train_rows, val_rows = np.arange(args.train), np.arange(args.train, args.train + args.val)
    variants = ("none", "step", "epoch_end")
    seconds: dict[str, list[float]] = {variant: [] for variant in variants}
    cpu_seconds: dict[str, list[float]] = {variant: [] for variant in variants}
    for repeat in range(args.repeats):
        for variant in variants:
            cpu_started = time.process_time()
            result = train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=val_rows,
                               model_config=spec.config.model, train_config=train_config, seed=repeat,
                               record_training=variant != "none",
                               record_from="epoch_end" if variant == "none" else variant)
            cpu_seconds[variant].append((time.process_time() - cpu_started) / result.epochs_run)
            seconds[variant].append(result.fit_seconds / result.epochs_run)
            keras.backend.clear_session()
    median = {variant: statistics.median(values) for variant, values in seconds.items()}
    cpu_median = {variant: statistics.median(values) for variant, values in cpu_seconds.items()}
    print(json.dumps({
        "benchmark": "training_dynamics_cost", "member": args.member, "backend": keras.backend.backend(),
        "environment": software_environment(), "train_rows": args.train, "val_rows": args.val, "epochs": args.epochs,
        "batch_size": train_config.batch_size, "repeats": args.repeats,
        "seconds_per_epoch": {variant: [round(value, 2) for value in values] for variant, values in seconds.items()},
        "median_seconds_per_epoch": {variant: round(value, 2) for variant, value in median.items()},
        "step_over_none": round(median["step"] / median["none"], 3),
        "epoch_end_over_none": round(median["epoch_end"] / median["none"], 3),
        "cpu_seconds_per_epoch": {variant: [round(value, 2) for value in values]
                                  for variant, values in cpu_seconds.items()},
        "median_cpu_seconds_per_epoch": {variant: round(value, 2) for variant, value in cpu_median.items()},
        "cpu_step_over_none": round(cpu_median["step"] / cpu_median["none"], 3),
        "cpu_epoch_end_over_none": round(cpu_median["epoch_end"] / cpu_median["none"], 3),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
