"""DVC stage `crossfit` (a matrix over review rounds and ensemble members): cross-fitted
artifact scores for mining -- each sample scored by a model that never trained on it (K
folds; K=2 is the paper's train-on-half, predict-the-rest) -- trained on the labels the
round starts from."""

from __future__ import annotations

import argparse

from realbogus.command_errors import run_stage
from realbogus.members import resolve_member
from realbogus.params import load_params, section
from realbogus.training_runs import crossfit_member, load_inputs, margin_score_source, records_training_dynamics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round", default=None, help="the review round these scores are for (MLflow grouping)")
    parser.add_argument("--member", required=True)
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--features", default="data/features/features.parquet")
    parser.add_argument("--labels", default="data/ingested/catalog.parquet")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "crossfit")
    spec = resolve_member(args.member, params)
    record = records_training_dynamics(settings.get("training_dynamics", False), member=args.member,
                                       known_members=[*(params.get("feature_models") or {}),
                                                      *(params.get("models") or {})])
    margin_scores = margin_score_source(settings.get("margin_scores", "epoch_end"))
    inputs = load_inputs(spec=spec, ingested_dir=args.ingested, features_path=args.features, labels_path=args.labels)
    table = crossfit_member(spec=spec, inputs=inputs, folds=settings["folds"], seed=settings["seed"],
                            validation_fraction=settings["validation_fraction"], out_path=args.out,
                            data_source=str(section(params, "release")["path"]), run_params={"crossfit": settings},
                            review_round=args.round, training_dynamics=record, margin_scores=margin_scores)
    print(f"{args.member}: cross-fitted scores for {table['artifact_score'].notna().sum()} samples")


if __name__ == "__main__":
    run_stage(main)
