"""What drawing stamps into a picture and cutting them back does to a model's scores; prints JSON.

Real DES stamps are only seen here through a published picture (``../shared/reference/
des_real_stamps.png``): each 51x51 panel was drawn about 80 pixels wide and is averaged back
to 51x51 (``realbogus.release.picture.cut_stamps``).  That round trip smooths the pixel
noise, so a model trained on the release's own stamps meets stamps from a picture a little
out of its training distribution whether they are real or simulated.  Two commands measure
and remove that:

* ``control``: the model's scores on ``--n`` test-split stamps of a release, as they are and
  after the same round trip (``realbogus.release.picture.round_trip``), side by side; with
  ``--picture`` also the picture's own stamps, and with ``--labels`` where each sits among
  the round-tripped release stamps of its label (a percentile).  What the round trip alone
  does to simulated stamps is the part of a "transfer gap" on real picture stamps that is
  the picture's.  For a model trained on a ``write`` folder, pass that folder and
  ``--already-round-tripped``.  With a simulated release's ``--truth``, each picture stamp
  also gets the kinds of its nearest release stamps in the model's last hidden layer: what
  it looks like to the model.  ``--blur 0.7,1.0`` scores the picture's stamps and the
  release's non-artifacts again with their search and difference panels blurred: whether a
  stamp reads as an artifact for its sharpness.
* ``write``: a copy of an ingested release folder whose stamps went through the round trip
  (catalog and report copied as they are).  Train on it with the pipeline's own stage, e.g.
  ``python stages/train.py --member model1 --ingested OUT --model-dir M --reports R``,
  and score the picture with that model (``score_stamp_picture.py --model M``): a model
  that saw the picture's smoothing in training is the fair judge of the picture's stamps.

    python benchmarks/picture_round_trip.py control --ingested data/ingested --split data/split/split.csv \
        --model data/models/model1/model.keras [--n 300] [--picture P --labels 1,0,...]
    python benchmarks/picture_round_trip.py write --ingested data/ingested --out data/round_trip [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from realbogus.atomic import OutputPathError, atomic_path
from realbogus.metrics import auc
from realbogus.release.picture import picture_labels, read_picture, round_trip

if TYPE_CHECKING:
    import pandas as pd

COMMAND = "picture_round_trip write"
# Stamps drawn per task in ``write``: whole pages (10 a page), few enough to keep memory small.
CHUNK = 500
# Release stamps whose distances to all others are held at once in ``nearest_kinds``.
NEIGHBOUR_BLOCK = 1000


def score_summary(scores: np.ndarray, labels: np.ndarray, *, threshold: float) -> dict:
    """Accuracy at the threshold and the score's median and share above it, per label."""
    out: dict = {"n": int(len(scores)), "accuracy": round(float(((scores >= threshold) == (labels == 1)).mean()), 4)}
    for label, name in ((0, "non_artifacts"), (1, "artifacts")):
        chosen = scores[labels == label]
        if len(chosen):
            out[name] = {"n": int(len(chosen)), "median_score": round(float(np.median(chosen)), 4),
                         "p90_score": round(float(np.quantile(chosen, 0.9)), 4),
                         "share_at_or_above_threshold": round(float((chosen >= threshold).mean()), 4)}
    return out


def release_test_sample(*, ingested: Path, split_path: Path, n: int, seed: int) -> pd.DataFrame:
    """id, row (of stamps.npy) and given label of up to ``n`` test-split samples, half of each label, by row."""
    import pandas as pd

    catalog = pd.read_parquet(ingested / "catalog.parquet", columns=["id", "row", "label"])
    split = pd.read_csv(split_path, usecols=["id", "split"])
    test = catalog.merge(split[split["split"] == "test"], on="id")
    if test.empty:
        raise SystemExit(f"{split_path}: no sample of {ingested / 'catalog.parquet'} is in the test split")
    chosen = [group.sample(min(len(group), n // 2), random_state=seed) for _, group in test.groupby("label")]
    return pd.concat(chosen).sort_values("row").reset_index(drop=True)


def blur_panels(stamps: np.ndarray, sigma: float, *, channels: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """The stamps with these channels' panels blurred by a Gaussian of ``sigma`` pixels.

    Each blurred panel is stretched back to its own range (its 0.5th percentile to its
    maximum), as the release's display stretches every panel on its own: what a stamp would
    look like had its objects been less sharp (search and difference: a broader search PSF).
    """
    from scipy import ndimage

    out = np.asarray(stamps, dtype=np.float64).copy()
    for index in range(len(out)):
        for channel in channels:
            panel = out[index, :, :, channel]
            blurred = ndimage.gaussian_filter(panel, sigma)
            low, high = np.percentile(panel, 0.5), panel.max()
            blurred_low, blurred_high = np.percentile(blurred, 0.5), blurred.max()
            scale = (high - low) / max(blurred_high - blurred_low, 1e-9)
            out[index, :, :, channel] = np.clip((blurred - blurred_low) * scale + low, 0.0, 255.0)
    return np.round(out).astype(np.uint8)


def release_kinds(truth_path: Path, ids: np.ndarray) -> np.ndarray:
    """Each id's kind from a simulated release's truth table: its scene kind, or artifact:<type>."""
    import pandas as pd

    truth = pd.read_parquet(truth_path, columns=["id", "scene_kind", "artifact_type"]).set_index("id")
    missing = np.setdiff1d(ids, truth.index.to_numpy())
    if len(missing):
        raise SystemExit(f"{truth_path}: no truth row for {len(missing)} sample(s) of the release, e.g. id {missing[0]}")
    rows = truth.loc[ids]
    return np.where(rows["scene_kind"] == "artifact", "artifact:" + rows["artifact_type"].astype(str),
                    rows["scene_kind"].astype(str))


def typical_nearest_distance(points: np.ndarray, *, block: int = NEIGHBOUR_BLOCK) -> float:
    """Median over ``points`` of each one's Euclidean distance to its nearest other point.

    Computed ``block`` rows at a time, so memory stays n x block whatever n.
    """
    squared = (points ** 2).sum(axis=1)
    nearest_other = np.empty(len(points))
    for start in range(0, len(points), block):
        rows = slice(start, min(start + block, len(points)))
        between = squared[rows, None] + squared[None, :] - 2.0 * points[rows] @ points.T
        between[np.arange(rows.stop - rows.start), np.arange(rows.start, rows.stop)] = np.inf  # not itself
        nearest_other[rows] = between.min(axis=1)
    return float(np.sqrt(max(float(np.median(nearest_other)), 0.0)))


def nearest_kinds(model, *, picture_stamps: np.ndarray, release_stamps: np.ndarray,  # noqa: ANN001
                  kinds: np.ndarray, k: int) -> list[dict]:
    """What each picture stamp resembles to the model: the kinds of its ``k`` nearest release stamps.

    Nearness is Euclidean in the model's last hidden layer (the input of its output layer),
    each unit standardised over the release stamps.  ``distance_over_release_typical``
    compares the nearest one's distance with the release stamps' own median distance to
    their nearest other release stamp: well above 1, the picture stamp lies off the release.
    """
    import keras

    embed = keras.Model(model.inputs, model.layers[-1].input)
    release = np.asarray(embed.predict(release_stamps, batch_size=256, verbose=0), dtype=np.float64)
    picture = np.asarray(embed.predict(picture_stamps, batch_size=256, verbose=0), dtype=np.float64)
    centre, scale = release.mean(axis=0), release.std(axis=0) + 1e-9
    release, picture = (release - centre) / scale, (picture - centre) / scale
    typical = typical_nearest_distance(release)
    out = []
    for point in picture:
        distance = np.sqrt(((release - point) ** 2).sum(axis=1))
        nearest = np.argsort(distance, kind="stable")[:k]
        names, counts = np.unique(kinds[nearest], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        out.append({"kinds": {str(names[i]): int(counts[i]) for i in order},
                    "distance_over_release_typical": round(float(distance[nearest[0]]) / typical, 3)})
    return out


def score_blurred(model, *, picture_stamps: np.ndarray, non_artifacts: np.ndarray, sigmas: list[float],  # noqa: ANN001
                  threshold: float) -> dict:
    """The picture's stamps and the release's non-artifacts scored with search and difference blurred by each sigma."""
    from realbogus.cnn.training import predict_artifact_scores

    out = {}
    for sigma in sigmas:
        picture_scores = predict_artifact_scores(model=model, stamps=blur_panels(picture_stamps, sigma))
        release_scores = predict_artifact_scores(model=model, stamps=blur_panels(non_artifacts, sigma))
        out[f"sigma_{sigma:g}"] = {
            "picture_artifact_score": [round(float(score), 4) for score in picture_scores],
            "release_non_artifacts": {"n": int(len(release_scores)),
                                      "median_score": round(float(np.median(release_scores)), 4),
                                      "share_at_or_above_threshold": round(float((release_scores >= threshold).mean()),
                                                                           4)}}
    return out


def control(args: argparse.Namespace) -> dict:
    from realbogus.cnn.training import predict_artifact_scores
    from realbogus.stamp_reader import read_rows
    from realbogus.survey.scoring import load_scoring_model

    sample = release_test_sample(ingested=args.ingested, split_path=args.split, n=args.n, seed=args.seed)
    labels = sample["label"].to_numpy().astype(int)
    stamps = read_rows(np.load(args.ingested / "stamps.npy", mmap_mode="r"), sample["row"].to_numpy())
    model, model_hash = load_scoring_model(args.model)
    as_they_are = predict_artifact_scores(model=model, stamps=stamps)
    out: dict = {"benchmark": "picture_round_trip control", "model": str(args.model), "model_hash": model_hash,
                 "ingested": str(args.ingested), "threshold": args.threshold, "seed": args.seed,
                 "release_test_stamps": {"as_they_are": score_summary(as_they_are, labels, threshold=args.threshold)}}
    if args.already_round_tripped:
        # The release's stamps went through the picture before: they compare with the picture's as they are.
        comparable, comparable_stamps = as_they_are, stamps
    else:
        tripped = round_trip(stamps)
        comparable, comparable_stamps = predict_artifact_scores(model=model, stamps=tripped), tripped
        change = np.abs(tripped.astype(np.int16) - stamps.astype(np.int16)).mean(axis=(1, 2, 3))
        out["grey_levels_changed_by_round_trip"] = {"per_pixel_mean_abs_median": round(float(np.median(change)), 2),
                                                    "p90": round(float(np.quantile(change, 0.9)), 2)}
        out["release_test_stamps"]["after_the_round_trip"] = score_summary(comparable, labels,
                                                                           threshold=args.threshold)
        out["score_change_by_round_trip"] = {
            name: round(float(np.median((comparable - as_they_are)[labels == label])), 4)
            for label, name in ((0, "non_artifacts_median"), (1, "artifacts_median"))}
    if args.picture is not None:
        picture_stamps = read_picture(args.picture)
        out["picture"] = score_picture(args, picture_stamps, model=model, comparable=comparable, labels=labels)
        if args.blur:
            out["picture"]["blurred_search_and_difference"] = score_blurred(
                model, picture_stamps=picture_stamps, non_artifacts=comparable_stamps[labels == 0], sigmas=args.blur,
                threshold=args.threshold)
        if args.truth is not None:
            out["picture"]["nearest_release_stamps"] = {
                "k": args.neighbours, "truth": str(args.truth),
                "per_stamp": nearest_kinds(model, picture_stamps=picture_stamps, release_stamps=comparable_stamps,
                                           kinds=release_kinds(args.truth, sample["id"].to_numpy()),
                                           k=args.neighbours)}
    return out


def score_picture(args: argparse.Namespace, picture_stamps: np.ndarray, *, model, comparable: np.ndarray,  # noqa: ANN001
                  labels: np.ndarray) -> dict:
    """The picture's stamps' scores; with ``--labels``, each one's percentile among the release's of its label.

    ``comparable``: the release test stamps' scores after the same round trip as the picture's.
    """
    from realbogus.cnn.training import predict_artifact_scores

    scores = predict_artifact_scores(model=model, stamps=picture_stamps)
    out: dict = {"path": str(args.picture), "artifact_score": [round(float(s), 4) for s in scores]}
    if args.labels is None:
        return out
    try:
        labels_of_picture = picture_labels(args.labels, n_stamps=len(scores))
    except ValueError as error:
        raise SystemExit(f"--labels: {error}") from None
    percentiles = [round(float((comparable[labels == label] < score).mean()), 3) if (labels == label).any() else None
                   for score, label in zip(scores, labels_of_picture)]
    out.update({"labels": labels_of_picture.tolist(),
                **score_summary(scores, labels_of_picture, threshold=args.threshold),
                "percentile_among_release_test_of_its_label": percentiles})
    if len(set(labels_of_picture.tolist())) == 2:
        out["auc"] = round(auc(labels=labels_of_picture, artifact_score=scores), 4)
    return out


def _round_trip_chunk(task: tuple[str, int, int]) -> tuple[int, np.ndarray]:
    path, start, stop = task
    return start, round_trip(np.asarray(np.load(path, mmap_mode="r")[start:stop]))


def write(args: argparse.Namespace) -> dict:
    source = args.ingested / "stamps.npy"
    stamps = np.load(source, mmap_mode="r")
    if stamps.ndim != 4 or stamps.dtype != np.uint8:
        raise SystemExit(f"{source}: expected the ingest stage's uint8 (N, 51, 51, 3) stamps, "
                         f"got {stamps.dtype} {stamps.shape}")
    tasks = [(str(source), start, min(start + CHUNK, len(stamps))) for start in range(0, len(stamps), CHUNK)]
    with atomic_path(args.out, is_dir=True, command=COMMAND, inputs=[args.ingested], force=args.force) as folder:
        out = np.lib.format.open_memmap(folder / "stamps.npy", mode="w+", dtype=np.uint8, shape=stamps.shape)
        if args.workers > 1:
            with ProcessPoolExecutor(max_workers=args.workers) as pool:
                for start, cut in pool.map(_round_trip_chunk, tasks):
                    out[start:start + len(cut)] = cut
        else:
            for start, cut in map(_round_trip_chunk, tasks):
                out[start:start + len(cut)] = cut
        out.flush()
        del out
        for entry in sorted(args.ingested.iterdir()):
            if entry.is_file() and entry.name != "stamps.npy" and not entry.name.startswith("."):
                shutil.copy2(entry, folder / entry.name)
    return {"benchmark": "picture_round_trip write", "ingested": str(args.ingested), "out": str(args.out),
            "n_stamps": int(len(stamps))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scoring = commands.add_parser("control", help="a model's scores on release stamps before and after the round trip")
    scoring.add_argument("--ingested", type=Path, required=True, help="the ingest stage's folder (stamps.npy, catalog)")
    scoring.add_argument("--split", type=Path, required=True, help="the split stage's split.csv")
    scoring.add_argument("--model", type=Path, required=True, help="a model.keras (or its folder)")
    scoring.add_argument("--n", type=int, default=300, help="test-split stamps, half of each given label")
    scoring.add_argument("--seed", type=int, default=0)
    scoring.add_argument("--threshold", type=float, default=0.5, help="artifact when the score is at least this")
    scoring.add_argument("--picture", type=Path, default=None, help="a picture of stamp triplets to score as well")
    scoring.add_argument("--labels", default=None, help="the picture's labels, comma-separated, left to right")
    scoring.add_argument("--truth", type=Path, default=None,
                         help="a simulated release's truth.parquet: name the kinds of each picture stamp's nearest "
                              "release stamps in the model's last hidden layer")
    scoring.add_argument("--neighbours", type=int, default=25, help="how many nearest release stamps (with --truth)")
    scoring.add_argument("--blur", type=lambda text: [float(value) for value in text.split(",")], default=[],
                         help="comma-separated Gaussian sigmas (px): score the picture's stamps and the release's "
                              "non-artifacts again with their search and difference panels blurred by each")
    scoring.add_argument("--already-round-tripped", action="store_true",
                         help="--ingested is a folder `write` made (the model trained on it): no second round trip")
    copying = commands.add_parser("write", help="a copy of an ingested folder with round-tripped stamps")
    copying.add_argument("--ingested", type=Path, required=True)
    copying.add_argument("--out", type=Path, required=True, help="a new folder (or one this command wrote)")
    copying.add_argument("--workers", type=int, default=2)
    copying.add_argument("--force", action="store_true", help="replace an existing folder this command did not write")
    args = parser.parse_args(argv)
    if args.command == "control" and args.n < 2:
        parser.error("--n must be at least 2")
    if args.command == "control" and args.truth is not None and (args.picture is None or args.neighbours < 1):
        parser.error("--truth needs --picture, and --neighbours at least 1")
    if args.command == "control" and args.blur and (args.picture is None or min(args.blur) <= 0):
        parser.error("--blur needs --picture, and sigmas above 0")
    if args.command == "write" and args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        out = control(args) if args.command == "control" else write(args)
    except OutputPathError as error:
        raise SystemExit(f"picture_round_trip.py write: {error}") from error
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
