"""``realbogus survey votes|vet|threshold``: survey-mode helpers around observers' votes.

* ``survey votes TRUTH --out votes.csv``: simulated observers' votes from a simulated truth table;
* ``survey vet VOTES --min-votes 3 [--ids catalog.parquet] --out DIR``: majority labels;
  ties, too few votes, unknown ids and duplicate observer entries reported with a message;
* ``survey threshold SCORES LABELS --by mdr --target 0.05``: the alert threshold a rule picks.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from realbogus.cli._arguments import add_force, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    votes = actions.add_parser("votes", help="simulated observers' votes from a simulated truth table")
    votes.add_argument("truth", type=Path, help="truth parquet of a simulated release (id, true_label, ...)")
    votes.add_argument("--out", type=Path, required=True, help="votes CSV to write (id, observer, vote)")
    votes.add_argument("--seed", type=int, default=0)
    votes.add_argument("--observers-per-detection", type=positive_int, default=3)
    add_force(votes, what="--out")

    vet = actions.add_parser("vet", help="majority labels from a votes table (id, observer, vote)")
    vet.add_argument("votes", type=Path, help="votes CSV: id, observer, vote (artifact/1, non-artifact/0, unsure, skip)")
    vet.add_argument("--min-votes", type=positive_int, default=3, help="counting votes a label needs (default 3)")
    vet.add_argument("--ids", type=Path, default=None,
                     help="the survey's detections: a catalog.parquet or CSV with an id column (votes on other ids "
                          "are reported; detections without votes are listed as too few votes)")
    vet.add_argument("--on-unknown-id", choices=("report", "raise"), default="report")
    vet.add_argument("--on-duplicate", choices=("raise", "latest"), default="raise",
                     help="an observer voting twice on a detection: refuse (default) or keep the latest vote")
    vet.add_argument("--allow-empty", action="store_true", help="accept a votes table with no votes")
    vet.add_argument("--out", type=Path, default=None, help="folder for labels.csv, undecided.csv, vetting.json")
    add_force(vet, what="--out")

    threshold = actions.add_parser("threshold", help="the threshold a rule picks on vetted, scored detections")
    threshold.add_argument("scores", type=Path, help="a `realbogus score` table (id, artifact_score, ...)")
    threshold.add_argument("labels", type=Path, help="vetted labels CSV (id, label; 1 = artifact)")
    threshold.add_argument("--by", choices=("mdr", "fpr", "fixed"), default="mdr")
    threshold.add_argument("--target", type=float, default=0.05)


def _read_ids(path: Path):
    """The id column of a catalog.parquet or CSV, every value an integer that fits in 64 bits."""
    import pandas as pd

    from realbogus.ids import exact_int64

    expected = "expected a catalog.parquet or a CSV with an id column"
    if not path.is_file():
        raise FileNotFoundError(f"ids table {path} does not exist ({expected})")
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    except Exception as error:  # noqa: BLE001 - pyarrow and pandas raise many kinds for a bad file
        reason = " ".join(str(error).split())[:200]
        raise ValueError(f"ids table {path} cannot be read ({type(error).__name__}: {reason}); {expected}") from None
    if "id" not in table.columns:
        raise ValueError(f"ids table {path} has no 'id' column (columns: {list(table.columns)[:8]}); {expected}")
    ids, bad = exact_int64(table["id"])
    if bad.any():
        first = int(bad.argmax())
        line = f"line {first + 2}" if path.suffix != ".parquet" else f"row {first}"
        raise ValueError(f"ids table {path} {line}: id {table['id'].iloc[first]!r} is not an integer that fits "
                         "in 64 bits")
    return ids


def run(args: argparse.Namespace) -> int:
    return {"votes": _votes, "vet": _vet, "threshold": _threshold}[args.action](args)


def _votes(args: argparse.Namespace) -> int:
    import pandas as pd

    from realbogus.atomic import atomic_path, check_output
    from realbogus.survey.observers import ObserverConfig, simulate_votes

    output_rule = {"command": "survey votes", "inputs": (args.truth,), "force": args.force}
    check_output(args.out, **output_rule)
    if not args.truth.is_file():
        raise FileNotFoundError(f"truth table {args.truth} does not exist (expected the truth parquet of a "
                                "simulated release: id, true_label, ...)")
    config = ObserverConfig(seed=args.seed, observers_per_detection=args.observers_per_detection)
    votes = simulate_votes(pd.read_parquet(args.truth), config=config)
    with atomic_path(args.out, **output_rule) as temporary:
        votes.to_csv(temporary, index=False)
    print(f"wrote {len(votes)} votes on {votes['id'].nunique()} detections to {args.out}")
    return 0


def _vet(args: argparse.Namespace) -> int:
    from realbogus.atomic import check_output
    from realbogus.survey.vetting import VET_COMMAND, read_votes, vet_labels, vetting_report, write_vetting

    inputs = (args.votes, args.ids)
    if args.out is not None:  # refuse a bad --out before reading anything
        check_output(args.out, command=VET_COMMAND, inputs=inputs, is_dir=True, force=args.force)
    known = _read_ids(args.ids) if args.ids is not None else None
    result = vet_labels(read_votes(args.votes), min_votes=args.min_votes, known_ids=known,
                        on_unknown_id=args.on_unknown_id, on_duplicate=args.on_duplicate,
                        allow_empty=args.allow_empty)
    report = vetting_report(result, n_detections=None if known is None else len(known))
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for row in result.undecided.head(10).itertuples():
        print(f"undecided: id {row.id}: {row.reason}", file=sys.stderr)
    if len(result.undecided) > 10:
        print(f"undecided: ... and {len(result.undecided) - 10} more", file=sys.stderr)
    if args.out is not None:
        write_vetting(result, report, args.out, inputs=inputs, force=args.force)
    print(json.dumps(report, indent=2))
    return 0


def _threshold(args: argparse.Namespace) -> int:
    import pandas as pd

    from realbogus.survey.scoring import read_scores
    from realbogus.survey.threshold import ThresholdRule, choose_threshold

    for path, what in ((args.scores, "score table"), (args.labels, "vetted labels")):
        if not path.is_file():
            raise FileNotFoundError(f"{what} {path} does not exist")
    labels = pd.read_csv(args.labels)
    missing = [column for column in ("id", "label") if column not in labels.columns]
    if missing:
        raise ValueError(f"vetted labels {args.labels} lack column(s) {missing}; expected id, label (1 = artifact)")
    joined = labels[["id", "label"]].merge(read_scores(args.scores), on="id", how="inner")
    if joined.empty:
        raise ValueError(f"no id is both in {args.labels} and in {args.scores}")
    rule = ThresholdRule(by=args.by, target=args.target)
    point = choose_threshold(labels=joined["label"].to_numpy(), artifact_score=joined["artifact_score"].to_numpy(),
                             rule=rule)
    print(json.dumps({"rule": rule.describe(), "n": len(joined), **point._asdict()}, indent=2))
    return 0
