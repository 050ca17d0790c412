"""How real the simulated release is: its GIF pixel table and how hard it is for the forest.

Usage: python benchmarks/bench_realism.py [--n 20000] [--seed 2013] [--workers 2]
       [--pixels-only] [--config-json '{"knob": value}'] [--label-noise R] [--dump DIR]

Simulates ``n`` samples in memory exactly as the release would hold them (the same
``simulate_sample``, GIF stretch and feature code as ``simulate_release``, without the
tar writing), then prints one JSON object:

* ``pixels``: the reference pixel table per channel (``realbogus.release.pixel_statistics``)
  beside the real DES-SN figures (``realbogus.release.reference``);
* ``forest`` / ``hgb``: the paper's forest (params.yaml ``feature_models.rf``) and the boosted trees
  (params.yaml ``feature_models.hgb``) trained on a seeded 70/10/20 split with the given labels; their
  test AUC, accuracy and FPR at MDR 0.03 / 0.04 / 0.05 judged by the given labels and by
  the truth; categories 1 + 6 on the test split; Goldstein et al. 2015 beside it;
* ``strongly_misclassified``: among test samples both feature members put in category 1
  or 6, the share truly mislabelled;
* ``seconds``: simulation time (rendering, stretch, features; no encoding).

The whole pipeline's figures (with the CNN) come from the ``realism`` stage.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.provenance import software_environment
from realbogus.release.display import display_triplet
from realbogus.simulate import SimulationConfig, simulate_sample
from realbogus.simulate.config import knobs_from_json
from realbogus.simulate.release import detection_id, truth_row

_JOB: dict = {}


def _init(job: dict) -> None:
    _JOB.update(job)


def _chunk(bounds: tuple[int, int]) -> tuple[np.ndarray, list[dict], list[dict]]:
    from realbogus.features import compute_features

    start, stop = bounds
    config = _JOB["config"]
    stamps = np.empty((stop - start, 51, 51, 3), dtype=np.uint8)
    feature_rows, truth_rows = [], []
    for offset, index in enumerate(range(start, stop)):
        plan, rendered = simulate_sample(seed=_JOB["seed"], index=index, label_noise=_JOB["label_noise"],
                                         flip_ratio=_JOB["flip_ratio"], config=config)
        stamps[offset] = display_triplet(rendered.template, rendered.search, rendered.difference)
        if not _JOB["pixels_only"]:
            features = compute_features(rendered.template, rendered.search, rendered.difference,
                                        context=rendered.context)
            feature_rows.append({"id": detection_id(index), "label": plan.labels.given_label, **features})
        truth_rows.append(truth_row(plan, rendered))
    return stamps, feature_rows, truth_rows


def simulate_in_memory(*, n: int, seed: int, label_noise: float, flip_ratio: float, config: SimulationConfig,
                       workers: int, pixels_only: bool) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    job = {"seed": seed, "label_noise": label_noise, "flip_ratio": flip_ratio, "config": config,
           "pixels_only": pixels_only}
    chunks = [(start, min(start + 64, n)) for start in range(0, n, 64)]
    if workers > 1:
        with multiprocessing.get_context().Pool(workers, initializer=_init, initargs=(job,)) as pool:
            parts = pool.map(_chunk, chunks, chunksize=1)
    else:
        _init(job)
        parts = [_chunk(bounds) for bounds in chunks]
    stamps = np.concatenate([part[0] for part in parts])
    features = pd.DataFrame([row for part in parts for row in part[1]])
    truth = pd.DataFrame([row for part in parts for row in part[2]])
    return stamps, features, truth


def difficulty(*, features: pd.DataFrame, truth: pd.DataFrame, params: dict, seed: int,
               dump: Path | None = None) -> dict:
    """rf and hgb as the pipeline trains them, on a seeded split; their realism figures."""
    from realbogus.members import fit_and_score, resolve_member
    from realbogus.realism import member_figures, paper_ranges, strongly_misclassified_by_several
    from realbogus.split import assign_splits

    ids, labels = features["id"].to_numpy(), features["label"].to_numpy()
    split = assign_splits(ids=ids, labels=labels, fractions=params["split"]["fractions"], seed=1)
    result, scores = {}, {}
    for name in ("rf", "hgb"):
        fitted = fit_and_score(spec=resolve_member(name, params), labels=labels, seed=seed,
                               train_rows=np.flatnonzero(split == "train"), val_rows=np.flatnonzero(split == "val"),
                               score_rows=np.arange(len(ids)), features=features)
        scores[name] = pd.DataFrame({"id": ids, "split": split, "label": labels,
                                     "artifact_score": fitted.artifact_score})
        result[name] = member_figures(scores=scores[name], truth=truth)
        if dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
            scores[name].to_parquet(dump / f"{name}_scores.parquet")
    if dump is not None:
        truth.to_parquet(dump / "truth.parquet")
    result["several_strongly_misclassified"] = strongly_misclassified_by_several(scores_by_member=scores,
                                                                                 truth=truth)
    result["paper"] = paper_ranges()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--label-noise", type=float, default=None, help="default: params.yaml simulate.label_noise")
    parser.add_argument("--flip-ratio", type=float, default=None, help="default: params.yaml simulate.flip_ratio")
    parser.add_argument("--config-json", default="{}", help="SimulationConfig overrides on top of params.yaml's")
    parser.add_argument("--pixels-only", action="store_true")
    parser.add_argument("--dump", type=Path, default=None,
                        help="also write the members' scores and the truth there (for a closer look)")
    args = parser.parse_args()
    try:
        knobs = knobs_from_json(args.config_json, where="--config-json")
    except ValueError as error:  # not a JSON object or an unknown knob
        parser.error(str(error))

    from realbogus.params import load_params, section
    from realbogus.realism import pixel_comparison

    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    simulate = section(params, "simulate")
    overrides = {**(simulate.get("config") or {}), **knobs}
    config = SimulationConfig.from_mapping(overrides)
    label_noise = simulate["label_noise"] if args.label_noise is None else args.label_noise
    flip_ratio = simulate["flip_ratio"] if args.flip_ratio is None else args.flip_ratio
    started = time.perf_counter()
    stamps, features, truth = simulate_in_memory(n=args.n, seed=args.seed, label_noise=label_noise,
                                                 flip_ratio=flip_ratio, config=config, workers=args.workers,
                                                 pixels_only=args.pixels_only)
    seconds = time.perf_counter() - started
    result: dict = {"benchmark": "realism", "environment": software_environment(), "n": args.n, "seed": args.seed, "label_noise": label_noise,
                    "flip_ratio": flip_ratio, "config_overrides": overrides, "seconds_simulate": seconds,
                    "samples_per_second": args.n / seconds, "workers": args.workers,
                    "load_average_1min": os.getloadavg()[0], "pixels": pixel_comparison(stamps)}
    if not args.pixels_only:
        result.update(difficulty(features=features, truth=truth, params=params, seed=args.seed, dump=args.dump))
    print(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
