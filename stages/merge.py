"""DVC stage `merge`: current labels + review decisions -> a new label version.

People's decisions (data/decisions/people.csv, git-tracked, appended by `realbogus
review`) take precedence over the simulated expert's.  Writes the new labels table (its
version is its content hash) and a changelog of every changed label.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from realbogus import tracking
from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.relabel import merge_decisions
from realbogus.review.store import read_decisions
from realbogus.stage_tables import labels_from_catalog, read_table, write_json, write_labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", default="data/ingested/catalog.parquet")
    parser.add_argument("--people", default="data/decisions/people.csv")
    parser.add_argument("--expert", default="data/review/simulated_expert.csv")
    parser.add_argument("--out", default="data/labels/labels.csv")
    parser.add_argument("--reports", default="reports/merge")
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "merge")
    labels = labels_from_catalog(read_table(args.catalog, columns=("id", "label"), what="ingested catalog"))
    people = read_decisions(args.people)  # reviewer names unescaped (see realbogus.review.store)
    expert = pd.read_csv(args.expert)
    new_labels, changelog, counts = merge_decisions(labels=labels, people=people, expert=expert,
                                                    min_votes=settings["min_votes"])
    write_labels(new_labels, args.out)
    reports = Path(args.reports)
    with atomic_path(reports / "changelog.csv", command="merge", inputs=(args.people, args.expert)) as temporary:
        changelog.to_csv(temporary, index=False, lineterminator="\n")
    summary = {**counts, "labels_version": content_hash(args.out),
               "previous_labels_version": content_hash(labels.to_csv(index=False).encode())}
    write_json(summary, reports / "metrics.json")
    with tracking.stage_run(stage="merge", params={"merge": settings},
                            data_version=content_hash(args.catalog), labels_version=summary["labels_version"],
                            data_source=str(section(params, "release")["path"])) as run:
        run.log_metrics(counts)
        run.log_artifacts(reports, artifact_path="merge")
    print(summary)


if __name__ == "__main__":
    run_stage(main)
