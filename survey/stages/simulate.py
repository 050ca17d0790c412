"""Survey stage `simulate`: a simulated survey release (other conditions, ~15% real) and its truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.simulate import SimulationConfig, simulate_release


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="data")
    args = parser.parse_args(argv)
    settings = section(load_params(), "simulate")
    config = SimulationConfig.from_mapping(settings.get("config") or {}, where="survey/params.yaml simulate.config")
    out = Path(args.out)
    # A survey has no given labels to be wrong: its labels come from the observers' votes.
    summary = simulate_release(out_dir=out / "release", truth_path=out / "truth.parquet", n=settings["n"],
                               seed=settings["seed"], label_noise=0.0, workers=settings["workers"], config=config)
    print(summary.as_dict())


if __name__ == "__main__":
    run_stage(main)
