"""DVC stage `mine_truth`: how good was the mining?  Precision, recall and AUPRC of our
ranking and of cleanlab's methods on the same cross-fitted scores, against the simulated
truth (split by mislabel mechanism and direction).  With a real release (no truth) it
writes a note saying so."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus import tracking
from realbogus.command_errors import run_stage
from realbogus.mining.run import RANKING_FILE, evaluate_mining, read_crossfit_scores
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.stage_tables import align, read_table, write_json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crossfit-dir", default="data/crossfit")
    parser.add_argument("--mined", default="data/mine")
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
    members = section(params, "ensemble")["members"]
    scores = read_crossfit_scores({member: Path(args.crossfit_dir) / f"{member}.parquet" for member in members})
    rank_score = align(pd.read_parquet(Path(args.mined) / RANKING_FILE), scores.ids, column="rank_score",
                       what="mining ranking")
    catalog = read_table(Path(args.ingested) / "catalog.parquet", columns=("id", "row"), what="ingested catalog")
    rows = align(catalog, scores.ids, column="row", what="ingested catalog").astype(np.int64)
    budget = section(params, "mine")["budget"]
    with tracking.stage_run(stage="mine_truth", params={"mine": section(params, "mine")},
                            data_version=content_hash(Path(args.ingested) / "catalog.parquet"),
                            labels_version=content_hash(args.truth),
                            data_source=str(section(params, "release")["path"])) as run:
        comparison = evaluate_mining(scores=scores, rank_score=rank_score, truth=truth, budget=budget,
                                     stamps=np.load(Path(args.ingested) / "stamps.npy", mmap_mode="r"), rows=rows,
                                     reports_dir=reports)
        ours = comparison.iloc[0]
        headline = {"truth_available": True, "budget": int(budget),
                    "n_mislabelled": int((truth["true_label"] != truth["given_label"]).sum()),
                    **{f"ours_{key}": float(ours[key]) for key in ("auprc", "precision_at_budget", "recall_at_budget")},
                    "best_cleanlab_auprc": float(comparison.iloc[1:]["auprc"].max()),
                    "best_cleanlab_method": str(comparison.iloc[1:].sort_values("auprc").iloc[-1]["method"])}
        write_json(headline, reports / "metrics.json")
        run.log_metrics({key: value for key, value in headline.items() if isinstance(value, (int, float))})
        run.log_artifacts(reports, artifact_path="mine_truth")
    print(comparison.loc[:, ["method", "auprc", "precision_at_budget", "recall_at_budget"]].to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
