"""Score the stamps of a published picture of DES-like stamp triplets; prints JSON.

Real stamps are often only seen as figures: a grid on a white page, one column per
detection, three rows (template, search, difference), each panel a 51x51 stamp drawn a
little larger with a thin frame.  This script finds the panels (runs of non-white pixels
along the rows and columns), cuts each panel's inside out, resamples it to 51x51 by area
averaging (approximate: the picture was already resampled once when drawn) and scores the
triplets with a trained CNN.  Given the labels (1 = artifact, 0 = non-artifact, in column
order) it adds accuracy at the threshold and the AUC.  A rough check of how a model trained
on the simulated release transfers to real stamps, not a measurement of its FPR: a figure
holds a handful of stamps.  The round trip through the picture smooths the pixel noise and
by itself pushes release stamps toward "artifact" for a model trained on the release as it
is: ``picture_round_trip.py control`` measures that on the release's own test stamps, and
``picture_round_trip.py write`` makes a release to train a model that saw the same round trip.

    python benchmarks/score_stamp_picture.py PICTURE.png --model data/models/model1/model.keras \
        [--labels 1,0,1,...] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from realbogus.release.picture import picture_labels, read_picture


def auc(labels: np.ndarray, artifact_score: np.ndarray) -> float | None:
    """Share of (artifact, non-artifact) pairs the score orders right, ties counting half."""
    artifacts, reals = artifact_score[labels == 1], artifact_score[labels == 0]
    if not len(artifacts) or not len(reals):
        return None
    difference = artifacts[:, None] - reals[None, :]
    return float(((difference > 0).sum() + 0.5 * (difference == 0).sum()) / difference.size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("picture", type=Path)
    parser.add_argument("--model", type=Path, required=True, help="a model.keras (or its folder)")
    parser.add_argument("--labels", default=None, help="comma-separated 0/1 per column, left to right")
    parser.add_argument("--threshold", type=float, default=0.5, help="artifact when the score is at least this")
    args = parser.parse_args()

    from realbogus.cnn.training import predict_artifact_scores
    from realbogus.survey.scoring import load_scoring_model

    stamps = read_picture(args.picture)
    model, model_hash = load_scoring_model(args.model)
    scores = predict_artifact_scores(model=model, stamps=stamps)
    out: dict = {"picture": str(args.picture), "model": str(args.model), "model_hash": model_hash,
                 "n_stamps": int(len(stamps)), "artifact_score": [round(float(s), 4) for s in scores]}
    if args.labels is not None:
        try:
            labels = picture_labels(args.labels, n_stamps=len(stamps))
        except ValueError as error:
            raise SystemExit(f"--labels: {error}") from None
        predicted = (scores >= args.threshold).astype(int)
        out.update({"labels": labels.tolist(), "threshold": args.threshold,
                    "n_right": int((predicted == labels).sum()), "auc": auc(labels, scores)})
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
