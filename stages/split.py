"""DVC stage `split`: a seeded, label-stratified train/val/test(/reserve) assignment per id."""

from __future__ import annotations

import argparse

from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.split import split_table
from realbogus.stage_tables import read_table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", default="data/ingested/catalog.parquet")
    parser.add_argument("--out", default="data/split/split.csv")
    args = parser.parse_args(argv)
    split = section(load_params(), "split")
    catalog = read_table(args.catalog, columns=("id", "label"), what="ingested catalog", only=True)
    table = split_table(ids=catalog["id"].to_numpy(), labels=catalog["label"].to_numpy(),
                        fractions=split["fractions"], seed=split["seed"])
    with atomic_path(args.out, command="split", inputs=(args.catalog,)) as temporary:
        table.to_csv(temporary, index=False, lineterminator="\n")
    print(table["split"].value_counts().to_dict())


if __name__ == "__main__":
    run_stage(main)
