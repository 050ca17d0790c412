"""DVC stage `ingest`: the release (simulated by default, or a real one) -> stamps.npy + catalog.

The release's location and stamp format are params (``release.path``, ``release.format``):
a user with the real DES-SN autoScan release changes ``release.path`` and nothing else.
"""

from __future__ import annotations

import argparse

from realbogus.command_errors import run_stage
from realbogus.ingest import ingest_release
from realbogus.params import load_params, section


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="data/ingested")
    args = parser.parse_args(argv)
    release = section(load_params(), "release")
    ingest = section(load_params(), "ingest")
    summary = ingest_release(release_dir=release["path"], out_dir=args.out, stamp_format=release["format"],
                             on_error=ingest["on_error"], workers=ingest["workers"])
    print(summary)


if __name__ == "__main__":
    run_stage(main)
