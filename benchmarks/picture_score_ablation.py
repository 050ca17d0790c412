"""What in a picture's real stamps moves a trained CNN's artifact scores; prints JSON.

``score_stamp_picture.py`` tells whether a model trained on the simulated release gets real
stamps right; this script asks why not, by changing one thing at a time and scoring again
(the stamps are cut from the picture as there, ``realbogus.release.picture``):

* ``difference_noise_replaced``: the difference panel outside a disc of radius r around the
  centre replaced by plain noise at the panel's own sky level and spread (white, and
  smoothed by a Gaussian of sigma 0.6 px to the real grain), mean score over DRAWS draws.
  If the real noise's texture (``difference_noise_texture.py``) were what the model
  objects to, the scores of the real non-artifacts would fall.
* ``display_contrast``: the difference, or the template and search, stretched by a factor
  about the panel's median: how much the exact grey levels, which the simulated display
  infers from ten stamps, matter.
* ``channels_from_release`` (with ``--release-stamps/--release-catalog/--release-scores``):
  the picture's template, search or difference channels put into SWAP_SAMPLES non-artifacts
  of the release that the model scores right with confidence (given label 0, score below
  0.05; no truth used); the median score says which real channels carry what the model
  reads as artifact.

    python benchmarks/picture_score_ablation.py PICTURE.png --model data/models/model1/model.keras \
        --labels 1,0,1,1,1,0,0,1,0,1 --release-stamps data/ingested/stamps.npy \
        --release-catalog data/ingested/catalog.parquet --release-scores data/models/model1/scores.parquet
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from realbogus.release.picture import CHANNELS, read_picture

RADII = (3, 8, 17)
DRAWS = 5
SMOOTHING = (0.0, 0.6)
CONTRASTS = (0.85, 1.15)
SWAP_SAMPLES = 30
# The border ring the sky level and spread are measured in (outside the central 35x35).
RING_WIDTH = 8


def replace_difference_noise(stamps: np.ndarray, *, radius: float, smoothing: float,
                             rng: np.random.Generator) -> np.ndarray:
    """A copy of ``stamps`` whose difference channel outside ``radius`` of the centre is plain noise of its own level."""
    out = stamps.astype(float)
    size = stamps.shape[1]
    yy, xx = np.mgrid[:size, :size]
    outside = np.hypot(yy - size // 2, xx - size // 2) > radius
    ring = np.ones((size, size), bool)
    ring[RING_WIDTH:size - RING_WIDTH, RING_WIDTH:size - RING_WIDTH] = False
    channel = CHANNELS.index("difference")
    for stamp in out:
        difference = stamp[..., channel]
        sky = difference[ring & (difference > 0) & (difference < 255)]
        noise = rng.standard_normal((size, size))
        if smoothing:
            noise = ndimage.gaussian_filter(noise, smoothing)
        noise = (noise - noise.mean()) / noise.std() * sky.std() + np.median(sky)
        difference[outside] = noise[outside]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def stretch(stamps: np.ndarray, *, factor: float, channels: tuple[int, ...]) -> np.ndarray:
    """A copy with ``channels`` stretched by ``factor`` about each panel's median grey level."""
    out = stamps.astype(float)
    for channel in channels:
        panel = out[..., channel]
        middle = np.median(panel, axis=(1, 2), keepdims=True)
        out[..., channel] = middle + (panel - middle) * factor
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def confident_non_artifacts(*, stamps_path: Path, catalog_path: Path, scores_path: Path, n: int, seed: int) -> np.ndarray:
    """(n, 51, 51, 3) release stamps of given label 0 that the model scores below 0.05."""
    import pandas as pd

    from realbogus.stamp_reader import read_rows

    catalog = pd.read_parquet(catalog_path, columns=["id", "row"])
    scores = pd.read_parquet(scores_path, columns=["id", "label", "artifact_score"])
    chosen = scores[(scores["label"] == 0) & (scores["artifact_score"] < 0.05)].merge(catalog, on="id")
    if len(chosen) < n:
        raise SystemExit(f"{scores_path}: only {len(chosen)} samples of label 0 score below 0.05; need {n}")
    rows = np.sort(chosen.sample(n, random_state=seed)["row"].to_numpy())
    return read_rows(np.load(stamps_path, mmap_mode="r"), rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("picture", type=Path)
    parser.add_argument("--model", type=Path, required=True, help="a model.keras (or its folder)")
    parser.add_argument("--labels", default=None, help="comma-separated 0/1 per column, left to right")
    parser.add_argument("--release-stamps", type=Path)
    parser.add_argument("--release-catalog", type=Path)
    parser.add_argument("--release-scores", type=Path, help="the model's scores.parquet on that release")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    release = (args.release_stamps, args.release_catalog, args.release_scores)
    if any(release) and not all(release):
        parser.error("--release-stamps, --release-catalog and --release-scores go together")

    from realbogus.cnn.training import predict_artifact_scores
    from realbogus.survey.scoring import load_scoring_model

    stamps = read_picture(args.picture)
    model, model_hash = load_scoring_model(args.model)

    def score(batch: np.ndarray) -> list[float]:
        return [round(float(value), 3) for value in predict_artifact_scores(model=model, stamps=batch)]

    rng = np.random.default_rng(args.seed)
    out: dict = {"benchmark": "picture_score_ablation", "picture": str(args.picture), "model": str(args.model),
                 "model_hash": model_hash, "base": score(stamps)}
    if args.labels is not None:
        out["labels"] = [int(value) for value in args.labels.split(",")]
        if len(out["labels"]) != len(stamps):
            raise SystemExit(f"--labels: expected {len(stamps)} values (one per column), got {args.labels!r}")
    out["difference_noise_replaced"] = {
        f"outside_r{radius}_smoothing{smoothing}": np.round(np.mean(
            [score(replace_difference_noise(stamps, radius=radius, smoothing=smoothing, rng=rng)) for _ in range(DRAWS)],
            axis=0), 3).tolist()
        for radius in RADII for smoothing in SMOOTHING}
    groups = {"difference": (CHANNELS.index("difference"),),
              "template_and_search": (CHANNELS.index("template"), CHANNELS.index("search"))}
    out["display_contrast"] = {f"{name}_x{factor}": score(stretch(stamps, factor=factor, channels=channels))
                               for name, channels in groups.items() for factor in CONTRASTS}
    if all(release):
        hosts = confident_non_artifacts(stamps_path=args.release_stamps, catalog_path=args.release_catalog,
                                        scores_path=args.release_scores, n=SWAP_SAMPLES, seed=args.seed)
        swaps: dict = {"release_samples": SWAP_SAMPLES, "release_median_alone": float(np.median(score(hosts)))}
        for size in (1, 2):
            for kept in itertools.combinations(range(len(CHANNELS)), size):
                name = "real_" + "_and_".join(CHANNELS[channel] for channel in kept)
                medians = []
                for stamp in stamps:
                    mixed = hosts.copy()
                    for channel in kept:
                        mixed[..., channel] = stamp[..., channel]
                    medians.append(round(float(np.median(score(mixed))), 3))
                swaps[name] = medians
        out["channels_from_release"] = swaps
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
