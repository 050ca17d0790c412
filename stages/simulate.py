"""DVC stage `simulate`: the default data source, a simulated DES-like release in the real
release's format, with its ground truth kept beside it (never inside the release).

When ``release.path`` points elsewhere (a user's real release), there is nothing to
simulate: the stage writes an empty release folder and an empty truth table, so the
pipeline's shape stays the same and later stages know no truth exists.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.simulate import SimulationConfig, simulate_release

RUN_KEYS = ("n", "seed", "label_noise", "flip_ratio", "workers")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="data/simulated")
    args = parser.parse_args(argv)
    params = load_params()
    settings = section(params, "simulate")
    out = Path(args.out)
    release_dir, truth_path = out / "release", out / "truth.parquet"
    if Path(section(params, "release")["path"]).resolve() != release_dir.resolve():
        with atomic_path(release_dir, is_dir=True, command="simulate") as temporary:
            (temporary / "NOT_USED.txt").write_text(
                "release.path points at another release; nothing was simulated.\n")
        with atomic_path(truth_path, command="simulate") as temporary:
            pd.DataFrame({"id": pd.Series(dtype="int64")}).to_parquet(temporary, index=False)
        print(f"release.path is {section(params, 'release')['path']}: simulation skipped")
        return
    config = SimulationConfig.from_mapping(settings.get("config") or {}, where="params.yaml simulate.config")
    summary = simulate_release(out_dir=release_dir, truth_path=truth_path, preview_path=out / "preview.png",
                               config=config, **{key: settings[key] for key in RUN_KEYS})
    print(summary.as_dict())


if __name__ == "__main__":
    run_stage(main)
