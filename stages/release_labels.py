"""DVC stage `release_labels`: label version 0, the release's own labels, with an empty
review ledger -- what the first review round starts from."""

from __future__ import annotations

import argparse

from realbogus.command_errors import run_stage
from realbogus.mining.rounds import empty_reviews, write_round_labels
from realbogus.stage_tables import labels_from_catalog, read_table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", default="data/ingested/catalog.parquet")
    parser.add_argument("--out", default="data/rounds/release", help="folder for labels.csv and reviews.csv")
    args = parser.parse_args(argv)
    labels = labels_from_catalog(read_table(args.catalog, columns=("id", "label"), what="ingested catalog", only=True))
    write_round_labels(labels=labels, reviews=empty_reviews(), folder=args.out, command="release_labels")
    print(f"label version 0: {len(labels)} labels from {args.catalog}")


if __name__ == "__main__":
    run_stage(main)
