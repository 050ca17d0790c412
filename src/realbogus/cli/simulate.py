"""``realbogus simulate OUT --n N --seed S``: write a simulated DES-like release."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from realbogus.cli._arguments import add_force, fraction, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path,
                        help="release folder to write: new, empty, or an earlier simulate's (replaced whole)")
    parser.add_argument("--n", type=positive_int, required=True, help="number of samples")
    parser.add_argument("--seed", type=int, required=True, help="random seed (same seed: same bytes)")
    # Defaults: the paper's relabelling, 7,402 of 898,963 changed, 5,636 0->1 per 1,766 1->0
    # (realbogus.simulate.config.DEFAULT_LABEL_NOISE / DEFAULT_FLIP_RATIO).
    parser.add_argument("--label-noise", type=fraction, default=0.0082,
                        help="fraction of samples whose given label is wrong (default 0.0082, the paper's)")
    parser.add_argument("--flip-ratio", type=float, default=3.19,
                        help="given-0-truly-1 per given-1-truly-0 mislabels (default 3.19, the paper's)")
    parser.add_argument("--truth", type=Path, default=None,
                        help="ground-truth parquet (default: OUT's parent / OUT.name + '_truth.parquet')")
    parser.add_argument("--workers", type=positive_int, default=2, help="worker processes (default 2)")
    parser.add_argument("--unpacked", action="store_true", help="write folders stamps_k/ instead of tars")
    parser.add_argument("--preview", type=Path, default=None, help="also draw a gallery PNG of the release")
    parser.add_argument("--params", type=Path, default=None,
                        help="params.yaml whose simulate.config section overrides the simulator's knobs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_force(parser, what="OUT, the truth file and the preview")


def default_truth_path(out: Path) -> Path:
    """Truth table beside (never inside) the release folder."""
    return out.parent / f"{out.name}_truth.parquet"


def run(args: argparse.Namespace) -> int:
    from realbogus.simulate import SimulationConfig, simulate_release

    config = SimulationConfig()
    if args.params is not None:
        from realbogus.params import load_params, section

        simulate_section = section(load_params(args.params), "simulate")
        config = SimulationConfig.from_mapping(simulate_section.get("config") or {},
                                               where=f"{args.params}: simulate.config")
    summary = simulate_release(
        out_dir=args.out, truth_path=args.truth or default_truth_path(args.out), n=args.n, seed=args.seed,
        label_noise=args.label_noise, flip_ratio=args.flip_ratio, workers=args.workers,
        packed=not args.unpacked, preview_path=args.preview, config=config, progress=not args.no_progress,
        force=args.force)
    print(json.dumps(summary.as_dict(), indent=2))
    return 0
