"""DVC stage `mine`: rank every sample by how strongly the ensemble's cross-fitted scores
disagree with its given label, and write the top `mine.budget` as review candidates.
Reads no ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from realbogus import tracking
from realbogus.command_errors import run_stage
from realbogus.mining.run import mine_ensemble, read_crossfit_scores
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.stage_tables import align, read_table, write_json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crossfit-dir", default="data/crossfit")
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--out", default="data/mine")
    parser.add_argument("--reports", default="reports/mine")
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "mine")
    members = section(params, "ensemble")["members"]
    scores = read_crossfit_scores({member: Path(args.crossfit_dir) / f"{member}.parquet" for member in members})
    catalog = read_table(Path(args.ingested) / "catalog.parquet", columns=("id", "row"), what="ingested catalog")
    rows = align(catalog, scores.ids, column="row", what="ingested catalog").astype(np.int64)
    stamps = np.load(Path(args.ingested) / "stamps.npy", mmap_mode="r")
    with tracking.stage_run(stage="mine", params={"mine": settings, "ensemble": section(params, "ensemble")},
                            # The cross-fitted members trained on the release's own labels, the catalog's.
                            data_version=content_hash(Path(args.ingested) / "catalog.parquet"),
                            labels_version=content_hash(Path(args.ingested) / "catalog.parquet"),
                            data_source=str(section(params, "release")["path"])) as run:
        summary = mine_ensemble(scores=scores, stamps=stamps, rows=rows, out_dir=args.out, reports_dir=args.reports,
                                budget=settings["budget"], weighting=settings["member_weighting"],
                                rank_by=settings["rank_by"],
                                gallery_size=settings["gallery_size"])
        write_json(summary, Path(args.reports) / "metrics.json")
        run.log_metrics(summary)
        run.log_artifacts(args.reports, artifact_path="mine")
        run.log_artifacts(Path(args.out) / "candidates.csv", artifact_path="mine")
    print(summary)


if __name__ == "__main__":
    run_stage(main)
