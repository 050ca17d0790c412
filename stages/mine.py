"""DVC stage `mine` (one per review round): rank every sample by how likely its label is
wrong -- the ensemble's cross-fitted disagreement with it, the training dynamics, and from
the second round on what earlier reviews said -- and write the `--budget` most suspicious
samples that no earlier round reviewed as the round's review candidates.  Reads no ground
truth."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from realbogus import tracking
from realbogus.command_errors import run_stage
from realbogus.feature_models.matrix import read_feature_matrix
from realbogus.mining.evidence import EvidenceConfig
from realbogus.mining.rounds import read_round_labels
from realbogus.mining.run import mine_round, read_crossfit_scores
from realbogus.params import config_from_mapping, load_params, section
from realbogus.provenance import content_hash
from realbogus.release.layout import FEATURE_NAMES
from realbogus.stage_tables import LABELS_FILE, align, read_table, write_json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round", required=True)
    parser.add_argument("--budget", type=int, required=True, help="candidates to send to review")
    parser.add_argument("--start", required=True, help="the round's start folder (labels.csv, reviews.csv)")
    parser.add_argument("--crossfit-dir", required=True)
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--features", default="data/features/features.parquet")
    parser.add_argument("--out", required=True)
    parser.add_argument("--reports", required=True)
    parser.add_argument("--metrics", required=True, help="the round's metrics.json (dvc metrics)")
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "mine")
    evidence = config_from_mapping(EvidenceConfig, settings.get("evidence"), where="params.yaml mine.evidence")
    members = section(params, "ensemble")["members"]
    scores = read_crossfit_scores({member: Path(args.crossfit_dir) / f"{member}.parquet" for member in members})
    labels, reviews = read_round_labels(args.start)
    if not np.array_equal(align(labels, scores.ids, column="label", what=f"{args.start} labels"), scores.given_labels):
        raise ValueError(f"{args.crossfit_dir}: the members were cross-fitted on other labels than {args.start}; "
                         "re-run the round's crossfit stages")
    catalog = read_table(Path(args.ingested) / "catalog.parquet", columns=("id", "row"), what="ingested catalog",
                         only=True)
    rows = align(catalog, scores.ids, column="row", what="ingested catalog").astype(np.int64)
    if evidence.reliability_proxy not in FEATURE_NAMES:
        raise ValueError(f"params.yaml mine.evidence.reliability_proxy: {evidence.reliability_proxy!r} is not "
                         f"an autoScan feature; expected one of {list(FEATURE_NAMES)}")
    features = read_feature_matrix(args.features, ids=scores.ids)
    with tracking.stage_run(stage="mine", params={"mine": {key: value for key, value in settings.items()
                                                           if key != "rounds"},
                                                  "round": {"name": args.round, "budget": args.budget},
                                                  "ensemble": {"members": members}},
                            review_round=args.round,
                            data_version=content_hash(Path(args.ingested) / "catalog.parquet"),
                            labels_version=content_hash(Path(args.start) / LABELS_FILE),
                            data_source=str(section(params, "release")["path"])) as run:
        summary = mine_round(scores=scores, reviews=reviews, features=features,
                             stamps=np.load(Path(args.ingested) / "stamps.npy", mmap_mode="r"), rows=rows,
                             out_dir=args.out, reports_dir=args.reports, budget=args.budget,
                             method=settings.get("method", "ensemble_disagreement"),
                             weighting=settings["member_weighting"], rank_by=settings["rank_by"], evidence=evidence,
                             gallery_size=settings["gallery_size"], seed=int(section(params, "ensemble")["seed"]),
                             difficulty=features[:, FEATURE_NAMES.index(evidence.reliability_proxy)])
        write_json(summary, args.metrics)
        run.log_metrics({key: value for key, value in summary.items()
                         if isinstance(value, (int, float)) and not isinstance(value, bool)})
        run.log_artifacts(args.reports, artifact_path="mine")
        run.log_artifacts(Path(args.out) / "candidates.csv", artifact_path="mine")
    print({args.round: summary})


if __name__ == "__main__":
    run_stage(main)
