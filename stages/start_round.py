"""DVC stage `start` (one per review round): what the round starts from -- the labels and
the review ledger the round before it left (`--after`), copied into the round's folder so
that the round's cross-fit stages, a matrix over rounds and members, can name them."""

from __future__ import annotations

import argparse

from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.mining.rounds import read_round_labels, write_round_labels


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round", required=True)
    parser.add_argument("--after", required=True,
                        help="the folder holding the labels.csv and reviews.csv of the round before")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    labels, reviews = read_round_labels(args.after)
    with atomic_path(args.out, is_dir=True, command="start", inputs=(args.after,)) as temporary:
        write_round_labels(labels=labels, reviews=reviews, folder=temporary, command=None)
    print(f"{args.round} starts from {args.after}: {len(labels)} labels, {len(reviews)} samples reviewed before")


if __name__ == "__main__":
    run_stage(main)
