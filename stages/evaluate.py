"""DVC stage `evaluate`: before/after the relabel for every member (the paper's Table 4,
against the given labels and, for simulated data, the truth), ROC before/after with
Goldstein's points, CNNs vs forest, all in MLflow and reports/summary.md; the tables behind
the pipeline's DVC plots (reports/evaluate/*.csv) and its headline numbers (reports/headline.json)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from realbogus import tracking
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.figure_tables import write_figure_tables
from realbogus.report import evaluate_member, pipeline_headline, write_summary
from realbogus.stage_tables import read_table, write_json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", default="data/labels/labels.csv")
    parser.add_argument("--truth", default="data/simulated/truth.parquet")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--headline", default="reports/headline.json")
    args = parser.parse_args(argv)
    params = load_params()
    members = section(params, "ensemble")["members"]
    reports = Path(args.reports)
    out = reports / "evaluate"
    out.mkdir(parents=True, exist_ok=True)
    new_labels = read_table(args.labels, columns=("id", "label"), what="new labels")
    truth = pd.read_parquet(args.truth)
    evaluations = {member: evaluate_member(member=member, old_dir=Path("data/models") / member,
                                           new_dir=Path("data/retrain") / member, new_labels=new_labels,
                                           truth=truth, out_dir=out)
                   for member in members}
    tables = {member: evaluation.table for member, evaluation in evaluations.items()}
    seed_tables = {member: evaluation.seed_table for member, evaluation in evaluations.items()
                   if evaluation.seed_table is not None}
    figures = [str(evaluation.figure.relative_to(reports)) for evaluation in evaluations.values()]
    metrics = {key: value for evaluation in evaluations.values() for key, value in evaluation.metrics.items()}
    write_figure_tables(out_dir=out, before={member: e.before for member, e in evaluations.items()},
                        after={member: e.after for member, e in evaluations.items()}, table4=tables,
                        histories={(member, when): history for member, e in evaluations.items()
                                   for when, history in e.histories.items()})
    write_json(metrics, out / "metrics.json")
    merge = json.loads(Path("reports/merge/metrics.json").read_text())
    mining_path = Path("reports/mine_truth/metrics.json")
    mining = json.loads(mining_path.read_text()) if mining_path.exists() else None
    headline = pipeline_headline(tables=tables, merge=merge, mining=mining)
    write_json(headline, args.headline)
    realism_path = reports / "realism" / "metrics.json"
    realism = json.loads(realism_path.read_text()) if realism_path.exists() else None
    write_summary(path=reports / "summary.md", tables=tables, merge=merge, mining=mining, figures=figures,
                  realism=realism, seed_tables=seed_tables,
                  reproducible_members=[member for member in members if member in (params.get("feature_models") or {})],
                  change_intervals={member: evaluation.fpr_change_interval for member, evaluation in evaluations.items()})
    with tracking.stage_run(stage="evaluate", params={"ensemble": section(params, "ensemble")},
                            data_version=content_hash("data/ingested/catalog.parquet"),
                            labels_version=content_hash(args.labels),
                            data_source=str(section(params, "release")["path"])) as run:
        run.log_metrics({key.replace("/", "_"): value for key, value in metrics.items()})
        # The headline numbers under the names dvc shows (rf.fpr_after, mining.auprc, labels.up).
        run.log_metrics({f"{group}.{key}": value for group, values in headline.items()
                         for key, value in values.items() if value is not None})
        run.log_artifacts(out, artifact_path="evaluate")
        run.log_artifacts(reports / "summary.md", artifact_path="evaluate")
    print((reports / "summary.md").read_text())


if __name__ == "__main__":
    run_stage(main)
