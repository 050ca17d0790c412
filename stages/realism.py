"""DVC stage `realism`: how much the release behaves like the real DES-SN release -- its GIF
pixel statistics beside the real ones, the forest's ROC beside Goldstein et al. 2015, each
member's share of strongly misclassified test samples, and (simulated data only) how many
of the samples several members strongly misclassify are truly mislabelled."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from realbogus import tracking
from realbogus.ingest import load_stamps
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.realism import METRICS_FILE, flat_numbers, realism_report, sample_rows
from realbogus.stage_tables import read_table
from realbogus.stamp_reader import read_rows

SCORE_COLUMNS = ("id", "split", "label", "artifact_score")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--models", default="data/models", help="folder of <member>/scores.parquet")
    parser.add_argument("--truth", default="data/simulated/truth.parquet",
                        help="simulated truth; absent or empty for a real release")
    parser.add_argument("--reports", default="reports/realism")
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "realism")
    members = section(params, "ensemble")["members"]
    stamps = load_stamps(args.ingested)
    rows = sample_rows(len(stamps), max_rows=int(settings["max_stamps"]), seed=int(settings["seed"]))
    scores = {member: read_table(Path(args.models) / member / "scores.parquet", columns=SCORE_COLUMNS,
                                 what=f"{member} scores") for member in members}
    truth_path = Path(args.truth)
    truth = None
    if truth_path.exists():  # the report needs the true label only (the table has ~40 columns)
        present = pq.read_schema(truth_path).names
        truth = pd.read_parquet(truth_path, columns=["id", "true_label"] if "true_label" in present else None)
    catalog = Path(args.ingested) / "catalog.parquet"
    with tracking.stage_run(stage="realism", params={"realism": settings, "ensemble": {"members": members}},
                            data_version=content_hash(catalog), labels_version=content_hash(catalog),
                            data_source=str(section(params, "release")["path"])) as run:
        metrics = realism_report(stamps=read_rows(stamps, rows), scores_by_member=scores, truth=truth,
                                 out_dir=args.reports, min_members=int(settings["min_members"]))
        run.log_metrics(flat_numbers(metrics))
        run.log_artifacts(args.reports, artifact_path="realism")
    print((Path(args.reports) / METRICS_FILE).read_text())


if __name__ == "__main__":
    run_stage(main)
