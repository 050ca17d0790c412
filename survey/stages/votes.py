"""Survey stage `votes`: simulated observers vet every detection (a votes table id, observer, vote).

With a real survey, the team's exported votes table takes this stage's place (point the
`vet` stage's --votes at it).
"""

from __future__ import annotations

import argparse

import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import config_from_mapping, load_params, section
from realbogus.survey.observers import ObserverConfig, simulate_votes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--truth", default="data/truth.parquet")
    parser.add_argument("--out", default="data/votes.csv")
    args = parser.parse_args(argv)
    config = config_from_mapping(ObserverConfig, section(load_params(), "votes"), where="survey/params.yaml votes")
    votes = simulate_votes(pd.read_parquet(args.truth), config=config)
    with atomic_path(args.out, command="survey votes", inputs=(args.truth,)) as temporary:
        votes.to_csv(temporary, index=False)
    print(f"{len(votes)} votes by {votes['observer'].nunique()} observers on {votes['id'].nunique()} detections")


if __name__ == "__main__":
    run_stage(main)
