"""A CNN member trained under several learning-rate schedules and seeds on one finished pipeline
folder's release and split; prints JSON.

    python benchmarks/lr_schedule.py FOLDER [--member model1] [--decay-every 10 1] [--seeds 8 9]

FOLDER is a finished pipeline folder (a `make repro` clone): its ``params.yaml`` gives the
member's architecture and ``train`` settings, its ``data/ingested`` the stamps and given
labels, ``data/split/split.csv`` the split, ``data/simulated/truth.parquet`` (when there) the
truth.  For every ``train.lr_decay_every_epochs`` in ``--decay-every`` and every seed in
``--seeds`` the member is trained exactly as the ``train`` stage trains it (the same fitter,
rows and settings but that one) and scored on the test split: per training the validation
loss by epoch, the epoch kept, and ``realbogus.realism.member_figures`` (FPR at MDR 0.03 /
0.04 / 0.05 against the given labels and the truth, the share in categories 1 + 6); per
schedule the medians over the seeds.  The seeds default to the two the pipeline's
``train.seeds: 3`` would add to ``ensemble.seed`` (its first seed is the `make repro` run's own).
Nothing in FOLDER is written.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from realbogus.members import fit_and_score, resolve_member
from realbogus.realism import member_figures
from realbogus.seeds import training_seeds
from realbogus.stage_tables import align, read_table
from realbogus.training_runs import load_inputs

FIGURES = ("fpr_at_mdr_0.03", "fpr_at_mdr_0.05", "truth_fpr_at_mdr_0.03", "truth_fpr_at_mdr_0.05",
           "strongly_misclassified_share", "auc")


def with_decay(spec, every: int):  # noqa: ANN001, ANN201 - a MemberSpec of a CNN
    """``spec`` with its training's rate decayed every ``every`` epochs, nothing else changed."""
    train = dataclasses.replace(spec.config.train, lr_decay_every_epochs=int(every))
    return dataclasses.replace(spec, config=dataclasses.replace(spec.config, train=train),
                               params={**spec.params, "train": {**(spec.params.get("train") or {}),
                                                                "lr_decay_every_epochs": int(every)}})


def default_seeds(params: dict) -> list[int]:
    """The seeds ``train.seeds: 3`` would add to ``ensemble.seed`` (the pipeline run's own seed left out)."""
    return training_seeds(base_seed=params["ensemble"]["seed"], n_seeds=3)[1:]


def schedule_runs(folder: Path, *, member: str, decay_every: list[int], seeds: list[int] | None) -> dict:
    params = yaml.safe_load((folder / "params.yaml").read_text())
    spec = resolve_member(member, params)
    if spec.kind != "cnn":
        raise SystemExit(f"{member}: a feature model has no learning-rate schedule (expected a CNN under models)")
    inputs = load_inputs(spec=spec, ingested_dir=folder / "data/ingested",
                         features_path=folder / "data/features/features.parquet",
                         labels_path=folder / "data/ingested/catalog.parquet")
    split_path = folder / "data/split/split.csv"
    split = align(read_table(split_path, columns=("id", "split"), what="split"), inputs.ids, column="split",
                  what=str(split_path))
    truth_path = folder / "data/simulated/truth.parquet"
    truth = pd.read_parquet(truth_path, columns=["id", "true_label"]) if truth_path.is_file() else None
    if seeds is None:
        seeds = default_seeds(params)
    test_rows = np.flatnonzero(split == "test")
    runs = []
    for every in decay_every:
        scheduled = with_decay(spec, every)
        for seed in seeds:
            started = time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):  # the fitter's epoch lines: stdout is the JSON's
                fitted = fit_and_score(spec=scheduled, labels=inputs.labels, seed=seed,
                                       train_rows=np.flatnonzero(split == "train"),
                                       val_rows=np.flatnonzero(split == "val"), score_rows=test_rows,
                                       stamps=inputs.stamps)
            scores = pd.DataFrame({"id": inputs.ids[test_rows], "split": "test", "label": inputs.labels[test_rows],
                                   "artifact_score": fitted.artifact_score[test_rows]})
            runs.append({"lr_decay_every_epochs": every, "seed": seed,
                         "learning_rate_by_epoch": [float(value) for value in fitted.history["learning_rate"]],
                         "val_loss_by_epoch": [round(float(value), 4) for value in fitted.history["val_loss"]],
                         "best_epoch": fitted.best_epoch, "seconds": round(time.perf_counter() - started, 1),
                         "test": member_figures(scores=scores, truth=truth)})
    medians = {}
    for every in decay_every:
        chosen = [run for run in runs if run["lr_decay_every_epochs"] == every]
        medians[str(every)] = {
            "best_val_loss": statistics.median(min(run["val_loss_by_epoch"]) for run in chosen),
            **{key: statistics.median(run["test"][key] for run in chosen)
               for key in FIGURES if all(run["test"].get(key) is not None for run in chosen)}}
    return {"benchmark": "benchmarks/lr_schedule.py", "folder": str(folder), "member": member,
            "train": {key: value for key, value in (params.get("train") or {}).items()
                      if key in ("learning_rate", "lr_decay_factor", "max_epochs", "batch_size")},
            "seeds": seeds, "runs": runs, "median_over_seeds": medians}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a finished pipeline folder")
    parser.add_argument("--member", default="model1")
    parser.add_argument("--decay-every", type=int, nargs="+", default=[10, 1])
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)
    json.dump(schedule_runs(args.folder, member=args.member, decay_every=args.decay_every, seeds=args.seeds),
              sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
