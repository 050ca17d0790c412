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
from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.figure_tables import AFTER, BEFORE, write_figure_tables
from realbogus.report import (
    COLUMNS,
    before_after_table,
    pipeline_headline,
    plot_before_after,
    seed_spread_table,
    spread_summary,
    write_summary,
)
from realbogus.stage_tables import read_history, read_seed_scores, read_table, write_json


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
    tables, seed_tables, figures, metrics = {}, {}, [], {}
    before, after, histories = {}, {}, {}
    for member in members:
        old_dir, new_dir = Path("data/models") / member, Path("data/retrain") / member
        old = before[member] = pd.read_parquet(old_dir / "scores.parquet")
        new = after[member] = pd.read_parquet(new_dir / "scores.parquet")
        for when, model_dir in ((BEFORE, old_dir), (AFTER, new_dir)):
            if (history := read_history(model_dir)) is not None:
                histories[member, when] = history
        table = before_after_table(old_scores=old, new_scores=new, new_labels=new_labels, truth=truth)
        tables[member] = table
        with atomic_path(out / f"table4_{member}.csv") as temporary:
            table.to_csv(temporary, index=False, lineterminator="\n", float_format="%.6g")
        old_seeds, new_seeds = read_seed_scores(old_dir), read_seed_scores(new_dir)
        if old_seeds and new_seeds:  # trained over several seeds (train.seeds): figures as mean and spread
            per_seed = seed_tables[member] = seed_spread_table(old_scores=old, new_scores=new, old_seed_scores=old_seeds,
                                                               new_seed_scores=new_seeds, new_labels=new_labels,
                                                               truth=truth)
            with atomic_path(out / f"table4_{member}_seeds.csv") as temporary:
                per_seed.to_csv(temporary, index=False, lineterminator="\n", float_format="%.6g")
            for _, row in spread_summary(per_seed).iterrows():
                prefix = f"{member}.{'truth' if row['judged_by'] == 'truth' else 'given'}.{COLUMNS.index(row['column'])}"
                metrics.update({f"{prefix}.fpr_at_mdr_0.05_{stat}": float(row[f"fpr_at_mdr_0.05_{stat}"])
                                for stat in ("mean", "std")})
        figure = out / f"roc_before_after_{member}.png"
        plot_before_after(old_scores=old, new_scores=new, new_labels=new_labels, member=member, path=figure)
        figures.append(str(figure.relative_to(reports)))
        for _, row in table.iterrows():
            prefix = f"{member}.{'truth' if row['judged_by'] == 'truth' else 'given'}.{COLUMNS.index(row['column'])}"
            metrics.update({f"{prefix}.{key}": float(row[key]) for key in ("auc", "fpr_at_mdr_0.05", "accuracy")})
    write_json(metrics, out / "metrics.json")
    write_figure_tables(out_dir=out, before=before, after=after, table4=tables, histories=histories)
    merge = json.loads(Path("reports/merge/metrics.json").read_text())
    mining_path = Path("reports/mine_truth/metrics.json")
    mining = json.loads(mining_path.read_text()) if mining_path.exists() else None
    headline = pipeline_headline(tables=tables, merge=merge, mining=mining)
    write_json(headline, args.headline)
    realism_path = reports / "realism" / "metrics.json"
    realism = json.loads(realism_path.read_text()) if realism_path.exists() else None
    write_summary(path=reports / "summary.md", tables=tables, merge=merge, mining=mining, figures=figures,
                  realism=realism, seed_tables=seed_tables,
                  reproducible_members=[member for member in members if member in (params.get("feature_models") or {})])
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
