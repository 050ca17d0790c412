"""Survey stage `ingest`: the survey release's GIF stamps into one stamps.npy plus a catalog."""

from __future__ import annotations

import argparse

from realbogus.command_errors import run_stage
from realbogus.ingest import ingest_release
from realbogus.params import load_params, section


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--release", default="data/release")
    parser.add_argument("--out", default="data/ingested")
    args = parser.parse_args(argv)
    workers = section(load_params(), "simulate")["workers"]
    summary = ingest_release(release_dir=args.release, out_dir=args.out, stamp_format="gif", workers=workers)
    print(f"ingested {summary.n_samples} survey detections into {summary.out_dir}")


if __name__ == "__main__":
    run_stage(main)
