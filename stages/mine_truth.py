"""DVC stage `mine_truth`: how good was the mining, round by round?  For each review round,
precision, recall and AUPRC of the miner's ranking and of cleanlab's methods on the same
round's cross-fitted scores, among the same not-yet-reviewed samples, at the same budget,
against the simulated truth (split by mislabel mechanism and direction), and the recall of
all rounds so far.  With a real release (no truth) it writes a note saying so."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus import tracking
from realbogus.command_errors import run_stage
from realbogus.mining.rounds import review_rounds
from realbogus.mining.run import evaluate_rounds
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.stage_tables import align, read_table, write_json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds-dir", default="data/rounds")
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--truth", default="data/simulated/truth.parquet")
    parser.add_argument("--reports", default="reports/mine_truth")
    args = parser.parse_args(argv)
    params = load_params()
    reports = Path(args.reports)
    truth = pd.read_parquet(args.truth)
    if truth.empty:
        write_json({"truth_available": False}, reports / "metrics.json")
        print("no simulated truth for this release: mining not evaluated")
        return
    mine = section(params, "mine")
    rounds = review_rounds(mine.get("rounds"))
    catalog = read_table(Path(args.ingested) / "catalog.parquet", columns=("id", "row"), what="ingested catalog",
                         only=True)
    ids = np.sort(catalog["id"].to_numpy())
    with tracking.stage_run(stage="mine_truth", params={"mine": mine},
                            data_version=content_hash(Path(args.ingested) / "catalog.parquet"),
                            labels_version=content_hash(args.truth),
                            data_source=str(section(params, "release")["path"])) as run:
        evaluation = evaluate_rounds(rounds=rounds, rounds_dir=args.rounds_dir,
                                     members=section(params, "ensemble")["members"],
                                     miner=mine.get("method", "ensemble_disagreement"), truth=truth,
                                     stamps=np.load(Path(args.ingested) / "stamps.npy", mmap_mode="r"),
                                     rows=align(catalog, ids, column="row", what="ingested catalog").astype(np.int64),
                                     reports_dir=reports)
        write_json(evaluation.headline, reports / "metrics.json")
        run.log_metrics({key: value for key, value in evaluation.headline.items()
                         if isinstance(value, (int, float)) and not isinstance(value, bool)})
        run.log_artifacts(reports, artifact_path="mine_truth")
    print(evaluation.rounds.loc[evaluation.rounds["subset"] == "all",
                                ["round", "method", "auprc", "precision_at_budget", "recall_at_budget",
                                 "cumulative_recall"]].to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
