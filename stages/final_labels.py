"""DVC stage `labels`: the last review round's label version becomes the labels the retrain
and Table 4 use (data/labels/labels.csv), with every change against the release's own
labels over all rounds (reports/merge: changelog and counts, which `realbogus labels log`
reads)."""

from __future__ import annotations

import argparse
from pathlib import Path

from realbogus import tracking
from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.mining.rounds import CORRECTED, UNDECIDED, read_round_labels, review_rounds
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.stage_tables import labels_from_catalog, read_table, write_json, write_labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds-dir", default="data/rounds")
    parser.add_argument("--catalog", default="data/ingested/catalog.parquet")
    parser.add_argument("--out", default="data/labels/labels.csv")
    parser.add_argument("--reports", default="reports/merge")
    args = parser.parse_args(argv)
    params = load_params()
    rounds = review_rounds(section(params, "mine").get("rounds"))
    last = rounds[-1].name
    labels, reviews = read_round_labels(Path(args.rounds_dir) / last)
    release = labels_from_catalog(read_table(args.catalog, columns=("id", "label"), what="ingested catalog", only=True))
    changed = reviews[reviews["outcome"] == CORRECTED].sort_values("id")
    # A sample is reviewed in one round only, so its label when reviewed is the release's.
    if not (release.set_index("id")["label"].reindex(changed["id"]).to_numpy() == changed["old_label"]).all():
        raise ValueError(f"{Path(args.rounds_dir) / last}: the review ledger's old labels differ from "
                         f"the release's labels in {args.catalog}; re-run the review rounds")
    write_labels(labels, args.out, command="labels")
    reports = Path(args.reports)
    with atomic_path(reports / "changelog.csv", command="labels") as temporary:
        changed.loc[:, ["id", "old_label", "new_label", "round"]].to_csv(temporary, index=False, lineterminator="\n")
    summary = {"changed_0_to_1": int(((changed["old_label"] == 0) & (changed["new_label"] == 1)).sum()),
               "changed_1_to_0": int(((changed["old_label"] == 1) & (changed["new_label"] == 0)).sum()),
               "reviewed": int(len(reviews)), "decided": int((reviews["outcome"] != UNDECIDED).sum()),
               "undecided": int((reviews["outcome"] == UNDECIDED).sum()),
               "rounds": len(rounds), "last_round": last, "labels_version": content_hash(args.out),
               "previous_labels_version": content_hash(release.to_csv(index=False).encode())}
    write_json(summary, reports / "metrics.json")
    with tracking.stage_run(stage="labels", params={"mine": {"rounds": section(params, "mine")["rounds"]}},
                            data_version=content_hash(args.catalog), labels_version=summary["labels_version"],
                            data_source=str(section(params, "release")["path"])) as run:
        run.log_metrics({key: value for key, value in summary.items() if isinstance(value, int)})
        run.log_artifacts(reports, artifact_path="labels")
    print(summary)


if __name__ == "__main__":
    run_stage(main)
