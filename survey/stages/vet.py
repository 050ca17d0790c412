"""Survey stage `vet`: majority labels from the votes (ties / too few votes reported), and a split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from realbogus import tracking
from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import config_from_mapping, load_params, section
from realbogus.provenance import content_hash
from realbogus.split import assign_splits
from realbogus.survey.config import VetConfig
from realbogus.survey.vetting import numeric_report, read_votes, vet_labels, vetting_report, write_vetting


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--votes", default="data/votes.csv")
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--truth", default=None, help="simulated truth (id, true_label), to measure label errors")
    parser.add_argument("--out", default="data/vetted")
    parser.add_argument("--reports", default="reports/vet")
    args = parser.parse_args(argv)
    params = load_params()
    config = config_from_mapping(VetConfig, section(params, "vet"), where="survey/params.yaml vet")
    ids = pd.read_parquet(Path(args.ingested) / "catalog.parquet", columns=["id"])["id"].to_numpy()
    truth = pd.read_parquet(args.truth, columns=["id", "true_label"]) if args.truth else None
    result = vet_labels(read_votes(args.votes), min_votes=config.min_votes, known_ids=ids)
    labels = result.labels.copy()
    labels["split"] = assign_splits(ids=labels["id"].to_numpy(), labels=labels["label"].to_numpy(),
                                    fractions=dict(config.fractions), seed=config.split_seed)
    result = type(result)(labels=labels, undecided=result.undecided, duplicates=result.duplicates,
                          notes=result.notes)
    report = vetting_report(result, n_detections=len(ids), truth=truth)
    write_vetting(result, report, args.out, inputs=(args.votes, args.ingested, args.truth))
    metrics = numeric_report(report)
    with atomic_path(Path(args.reports) / "metrics.json") as temporary:
        temporary.write_text(json.dumps(metrics, indent=2) + "\n")
    with tracking.stage_run(stage="survey_vet", params={"vet": section(params, "vet")},
                            data_version=content_hash(Path(args.ingested) / "catalog.parquet"),
                            labels_version=content_hash(args.votes), data_source="simulated survey",
                            run_name="survey-vet") as run:
        run.log_metrics(metrics)
        run.log_artifacts(args.out, artifact_path="vetted")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    run_stage(main)
