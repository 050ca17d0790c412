"""DVC stage `merge` (one per review round): the labels the round started from + the
decisions on the round's candidates -> the round's label version and review ledger.

People's decisions (data/decisions/people.csv, git-tracked, appended by `realbogus
review`) take precedence over the simulated expert's.  One decisions file serves every
round: a round merges the decisions on its own candidates (no sample is a candidate in two
rounds).  Writes the round's labels.csv (its content hash is the label version) and
reviews.csv (every sample reviewed so far and the outcome) and a changelog.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from realbogus import tracking
from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.mining.rounds import read_round_labels, round_reviews, write_round_labels
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.relabel import merge_round
from realbogus.review.store import read_decisions
from realbogus.stage_tables import LABELS_FILE, read_table, write_json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round", required=True)
    parser.add_argument("--catalog", default="data/ingested/catalog.parquet")
    parser.add_argument("--start", required=True, help="the label folder the round started from")
    parser.add_argument("--candidates", required=True, help="the round's candidates.csv")
    parser.add_argument("--people", default="data/decisions/people.csv")
    parser.add_argument("--expert", required=True, help="the simulated expert's decisions on the round's candidates")
    parser.add_argument("--out", required=True, help="folder for the round's labels.csv and reviews.csv")
    parser.add_argument("--reports", required=True)
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "merge")
    labels, reviews = read_round_labels(args.start)
    candidates = read_table(args.candidates, columns=("id",), what="candidate list")["id"].to_numpy()
    people = read_decisions(args.people)  # reviewer names unescaped (see realbogus.review.store)
    expert = pd.read_csv(args.expert)
    merged = merge_round(labels=labels, people=people, expert=expert, min_votes=settings["min_votes"],
                         candidate_ids=candidates)
    this_round = round_reviews(round_name=args.round, candidate_ids=candidates,
                               old_labels=labels.set_index("id")["label"],
                               new_labels=merged.labels.set_index("id")["label"], decided_ids=merged.decided_ids)
    write_round_labels(labels=merged.labels, reviews=pd.concat([reviews, this_round], ignore_index=True),
                       folder=args.out, command="merge")
    reports = Path(args.reports)
    with atomic_path(reports / "changelog.csv", command="merge", inputs=(args.people, args.expert)) as temporary:
        merged.changelog.to_csv(temporary, index=False, lineterminator="\n")
    summary = {**merged.counts, "candidates": int(len(candidates)),
               "labels_version": content_hash(Path(args.out) / LABELS_FILE),
               "previous_labels_version": content_hash(Path(args.start) / LABELS_FILE)}
    write_json(summary, reports / "metrics.json")
    with tracking.stage_run(stage="merge", params={"merge": settings}, review_round=args.round,
                            data_version=content_hash(args.catalog), labels_version=summary["labels_version"],
                            data_source=str(section(params, "release")["path"])) as run:
        run.log_metrics({key: value for key, value in summary.items() if isinstance(value, int)})
        run.log_artifacts(reports, artifact_path="merge")
    print({args.round: summary})


if __name__ == "__main__":
    run_stage(main)
