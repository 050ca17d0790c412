"""``realbogus ingest RELEASE_DIR OUT_DIR``: a release into one stamp array and a catalog."""

from __future__ import annotations

import argparse

from realbogus.cli._arguments import add_force, non_negative_int
from realbogus.release.layout import STAMP_FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("release_dir", metavar="RELEASE_DIR",
                        help="folder with stamps_*.tar (or unpacked folders) and autoscan_features.3.csv")
    parser.add_argument("out_dir", metavar="OUT_DIR",
                        help="output folder, new or an earlier ingest's: stamps.npy, catalog.parquet, skipped.csv, "
                             "ingest_report.json")
    parser.add_argument("--format", dest="stamp_format", choices=STAMP_FORMATS, default="gif",
                        help="stamp files to read (default gif: uint8, the paper's CNN input)")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="stop at the first bad file / ID, or skip it and list it in skipped.csv")
    parser.add_argument("--workers", type=non_negative_int, default=2,
                        help="decoding processes (default 2; 0 or 1: decode in this process)")
    parser.add_argument("--feature-table", default=None,
                        help="feature CSV (default RELEASE_DIR/autoscan_features.3.csv)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_force(parser, what="OUT_DIR")


def run(args: argparse.Namespace) -> int:
    from realbogus.ingest import ingest_release

    summary = ingest_release(release_dir=args.release_dir, out_dir=args.out_dir, stamp_format=args.stamp_format,
                             on_error=args.on_error, workers=args.workers, feature_table=args.feature_table,
                             progress=not args.no_progress, force=args.force)
    skipped = f", skipped {summary.n_skipped_ids} IDs ({summary.issues_by_reason})" if summary.n_skipped_ids else ""
    print(f"ingested {summary.n_samples} samples ({summary.stamp_format}) into {summary.out_dir}{skipped}")
    return 0
