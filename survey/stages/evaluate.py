"""Survey stage `evaluate`: original vs fine-tuned vs from scratch on the vetted test split,
threshold chosen on the validation split; the paper's survey plots; one MLflow run per scorer."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from realbogus import tracking
from realbogus.command_errors import run_stage
from realbogus.params import config_from_mapping, load_params, section
from realbogus.provenance import content_hash
from realbogus.stage_tables import write_json
from realbogus.survey.report import compare_scorers, survey_headline
from realbogus.survey.scoring import read_scores
from realbogus.survey.threshold import ThresholdRule

SCORERS = ("original", "finetune", "scratch")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vetted", default="data/vetted")
    parser.add_argument("--scores", default="data/scores")
    parser.add_argument("--truth", default=None)
    parser.add_argument("--reports", default="reports/evaluate")
    parser.add_argument("--figures", default="reports/figures", help="folder of the survey's figures (DVC plots)")
    parser.add_argument("--headline", default="reports/headline/headline.json", help="the survey's headline numbers")
    args = parser.parse_args(argv)
    params = load_params()
    rule = config_from_mapping(ThresholdRule, section(params, "threshold"), where="survey/params.yaml threshold")
    vetted = pd.read_csv(Path(args.vetted) / "labels.csv")
    truth = pd.read_parquet(args.truth, columns=["id", "true_label"]) if args.truth else None
    scores = {name: read_scores(Path(args.scores) / f"{name}.csv") for name in SCORERS}
    results = compare_scorers(vetted=vetted, scores=scores, rule=rule, alert_threshold=float(params["alert_threshold"]),
                              out_dir=args.reports, figures_dir=args.figures, truth=truth)
    write_json(survey_headline(results), args.headline)
    labels_version = content_hash(Path(args.vetted) / "labels.csv")
    for name, metrics in results.items():
        with tracking.stage_run(stage="survey_evaluate", run_name=f"survey-evaluate-{name}",
                                params={"scorer": name, "threshold": section(params, "threshold"),
                                        "alert_threshold": params["alert_threshold"]},
                                data_version=content_hash(Path(args.scores) / f"{name}.csv"),
                                labels_version=labels_version, data_source="simulated survey",
                                tags={"scorer": name}) as run:
            run.log_metrics({key: value for key, value in metrics.items() if value is not None})
            run.log_artifacts(Path(args.reports) / name, artifact_path="evaluation")
            for figure in sorted(Path(args.figures).glob(f"*_{name}.png")):
                run.log_artifacts(figure, artifact_path="evaluation")
    print((Path(args.reports) / "summary.md").read_text())


if __name__ == "__main__":
    run_stage(main)
