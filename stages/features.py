"""DVC stage `features`: the 38 autoScan features per sample (the release's own, or computed
from its FITS stamps when it has none; ``features.source``)."""

from __future__ import annotations

import argparse

from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.feature_table import build_feature_table
from realbogus.params import load_params, section
from realbogus.release.layout import FEATURE_NAMES
from realbogus.stage_tables import read_table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", default="data/ingested/catalog.parquet")
    parser.add_argument("--out", default="data/features/features.parquet")
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "features")
    # The release's own features (when it has them) and what computing them needs; not the rest.
    catalog = read_table(args.catalog, columns=("id", "row", "band", *FEATURE_NAMES), what="ingested catalog",
                         only=True)
    table, origin = build_feature_table(catalog=catalog, release_dir=section(params, "release")["path"],
                                        source=settings["source"], workers=settings["workers"])
    with atomic_path(args.out, command="features", inputs=(args.catalog,)) as temporary:
        table.to_parquet(temporary, index=False)
    print(f"features of {len(table)} samples from the {origin}")


if __name__ == "__main__":
    run_stage(main)
