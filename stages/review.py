"""DVC stage `review` (one per review round, unattended): the simulated expert's decisions on
the round's mined candidates.

With simulated data the expert answers from the truth, wrong at `review.expert_error_rate`,
so `dvc repro` runs the whole relabel loop.  With a real release there is no truth and the
stage writes an empty table: the decisions come from people (`realbogus review --round
NAME`, appending to data/decisions/people.csv, which `merge` reads and which takes precedence).
"""

from __future__ import annotations

import argparse

import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.relabel import empty_decisions, round_seed, simulated_expert_decisions
from realbogus.stage_tables import read_table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round", default=None,
                        help="the review round: the expert's slips are drawn afresh for each round")
    parser.add_argument("--candidates", required=True, help="the round's candidates.csv")
    parser.add_argument("--truth", default="data/simulated/truth.parquet")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    settings = section(load_params(), "review")
    truth = pd.read_parquet(args.truth)
    candidates = read_table(args.candidates, columns=("id", "given_label"), what="candidate list")
    if truth.empty or not settings["simulated_expert"]:
        decisions = empty_decisions()
    else:
        decisions = simulated_expert_decisions(candidates=candidates, truth=truth,
                                               error_rate=settings["expert_error_rate"],
                                               seed=round_seed(settings["seed"], args.round),
                                               candidates_version=content_hash(args.candidates))
    with atomic_path(args.out, command="review", inputs=(args.candidates, args.truth)) as temporary:
        decisions.to_csv(temporary, index=False, lineterminator="\n")
    print(f"simulated expert decided {len(decisions)} candidates")


if __name__ == "__main__":
    run_stage(main)
