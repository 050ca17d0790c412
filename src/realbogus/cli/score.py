"""``realbogus score INPUT --model PATH``: artifact / real scores of new detections, and who passes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from realbogus.cli._arguments import add_force, fraction, positive_int
from realbogus.survey.scoring import DEFAULT_ALERT_THRESHOLD, DEFAULT_BATCH_SIZE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", type=Path,
                        help="a release folder (tars or unpacked GIF stamps), one .tar, an ingested folder "
                             "(stamps.npy + catalog.parquet) or an .npy of (N, 51, 51, 3) uint8 stamps "
                             "(ids = row numbers)")
    parser.add_argument("--model", required=True, type=Path,
                        help="trained Keras model: data/models/<name>/model.keras (or its folder)")
    parser.add_argument("--threshold", type=fraction, default=DEFAULT_ALERT_THRESHOLD,
                        help=f"a detection passes when artifact_score < threshold (default {DEFAULT_ALERT_THRESHOLD}, "
                             "the paper's survey choice)")
    parser.add_argument("--out", type=Path, default=Path("scores.csv"),
                        help="output CSV: id, artifact_score, real_score, passes (default scores.csv)")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                        help=f"stamps per inference batch; bounds the memory (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_force(parser, what="--out")


def run(args: argparse.Namespace) -> int:
    from realbogus.atomic import check_output
    from realbogus.survey.scoring import load_scoring_model, open_stamp_source, score_output_rule, score_stamps

    # Refuse a bad --out before the minutes a model load and a release scan can take.
    check_output(args.out, **score_output_rule(source_path=args.input, model_path=args.model, force=args.force))
    source = open_stamp_source(args.input)
    model, model_hash = load_scoring_model(args.model)
    print(f"model {args.model} (sha256 {model_hash}), threshold {args.threshold}: "
          f"a detection passes when artifact_score < {args.threshold}", file=sys.stderr)
    summary = score_stamps(source=source, model=model, model_path=str(args.model), model_hash=model_hash,
                           out_path=args.out, threshold=args.threshold, batch_size=args.batch_size,
                           progress=not args.no_progress, force=args.force)
    print(json.dumps(summary.as_dict(), indent=2))
    return 0
