"""DVC stages `feature_model` (a matrix over params.yaml feature_models), `train` (a matrix over
the ensemble's CNNs) and `retrain` (every member, on the new labels): one ensemble member
trained on the train split, scored on every sample, evaluated on val and test."""

from __future__ import annotations

import argparse

from realbogus.command_errors import run_stage
from realbogus.members import resolve_member
from realbogus.params import load_params, section
from realbogus.stage_tables import align, read_table
from realbogus.training_runs import load_inputs, new_split, read_release_labels, train_and_evaluate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--member", required=True, help="a name under params.yaml feature_models or models")
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--features", default="data/features/features.parquet")
    parser.add_argument("--labels", default="data/ingested/catalog.parquet")
    parser.add_argument("--split", default="data/split/split.csv")
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--reports", default=None)
    parser.add_argument("--stage", default="train")
    parser.add_argument("--new-split-seed", type=int, default=None,
                        help="draw a new split with this seed instead of reading --split (retraining after a relabel: "
                             "the paper's guard against mining bias), stratified by the release's own labels so "
                             "that every label version gets the same test samples")
    args = parser.parse_args(argv)
    params = load_params()
    spec = resolve_member(args.member, params)
    inputs = load_inputs(spec=spec, ingested_dir=args.ingested, features_path=args.features, labels_path=args.labels)
    split_settings = section(params, "split")
    if args.new_split_seed is None:
        split = align(read_table(args.split, columns=("id", "split"), what="split"), inputs.ids, column="split",
                      what=args.split)
    else:
        split_settings = {"fractions": split_settings["fractions"], "seed": args.new_split_seed}
        split = new_split(ids=inputs.ids, release_labels=read_release_labels(ingested_dir=args.ingested, ids=inputs.ids),
                          **split_settings)
    results = train_and_evaluate(spec=spec, inputs=inputs, split=split, seed=section(params, "ensemble")["seed"],
                                 model_dir=args.model_dir or f"data/models/{args.member}",
                                 reports_dir=args.reports or f"reports/train/{args.member}", stage=args.stage,
                                 data_source=str(section(params, "release")["path"]),
                                 run_params={"split": split_settings})
    print({name: {key: metrics[key] for key in ("auc", "accuracy")} for name, metrics in results.items()})


if __name__ == "__main__":
    run_stage(main)
