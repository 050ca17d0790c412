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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    votes = actions.add_parser("votes", help="simulated observers' votes from a simulated truth table")
    votes.add_argument("truth", type=Path, help="truth parquet of a simulated release (id, true_label, ...)")
    votes.add_argument("--out", type=Path, required=True, help="votes CSV to write (id, observer, vote)")
    votes.add_argument("--seed", type=int, default=0)
    votes.add_argument("--observers-per-detection", type=int, default=3)

    vet = actions.add_parser("vet", help="majority labels from a votes table (id, observer, vote)")
    vet.add_argument("votes", type=Path, help="votes CSV: id, observer, vote (artifact/1, non-artifact/0, unsure, skip)")
    vet.add_argument("--min-votes", type=int, default=3, help="counting votes a label needs (default 3)")
    vet.add_argument("--ids", type=Path, default=None,
                     help="the survey's detections: a catalog.parquet or CSV with an id column (votes on other ids "
                          "are reported; detections without votes are listed as too few votes)")
    vet.add_argument("--on-unknown-id", choices=("report", "raise"), default="report")
    vet.add_argument("--on-duplicate", choices=("raise", "latest"), default="raise",
                     help="an observer voting twice on a detection: refuse (default) or keep the latest vote")
    vet.add_argument("--allow-empty", action="store_true", help="accept a votes table with no votes")
    vet.add_argument("--out", type=Path, default=None, help="folder for labels.csv, undecided.csv, vetting.json")

    threshold = actions.add_parser("threshold", help="the threshold a rule picks on vetted, scored detections")
    threshold.add_argument("scores", type=Path, help="a `realbogus score` table (id, artifact_score, ...)")
    threshold.add_argument("labels", type=Path, help="vetted labels CSV (id, label; 1 = artifact)")
    threshold.add_argument("--by", choices=("mdr", "fpr", "fixed"), default="mdr")
    threshold.add_argument("--target", type=float, default=0.05)


def _read_ids(path: Path):
    import pandas as pd

    table = pd.read_parquet(path, columns=["id"]) if path.suffix == ".parquet" else pd.read_csv(path, usecols=["id"])
    return table["id"].to_numpy()


def run(args: argparse.Namespace) -> int:
    try:
        return {"votes": _votes, "vet": _vet, "threshold": _threshold}[args.action](args)
    except (ValueError, FileNotFoundError, KeyError) as error:
        print(f"realbogus survey {args.action}: {error}", file=sys.stderr)
        return 1


def _votes(args: argparse.Namespace) -> int:
    import pandas as pd

    from realbogus.atomic import atomic_path
    from realbogus.survey.observers import ObserverConfig, simulate_votes

    config = ObserverConfig(seed=args.seed, observers_per_detection=args.observers_per_detection)
    votes = simulate_votes(pd.read_parquet(args.truth), config=config)
    with atomic_path(args.out) as temporary:
        votes.to_csv(temporary, index=False)
    print(f"wrote {len(votes)} votes on {votes['id'].nunique()} detections to {args.out}")
    return 0


def _vet(args: argparse.Namespace) -> int:
    from realbogus.survey.vetting import read_votes, vet_labels, vetting_report, write_vetting

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
        write_vetting(result, report, args.out)
    print(json.dumps(report, indent=2))
    return 0


def _threshold(args: argparse.Namespace) -> int:
    import pandas as pd

    from realbogus.survey.scoring import read_scores
    from realbogus.survey.threshold import ThresholdRule, choose_threshold

    joined = pd.read_csv(args.labels, usecols=["id", "label"]).merge(read_scores(args.scores), on="id", how="inner")
    if joined.empty:
        raise ValueError(f"no id is both in {args.labels} and in {args.scores}")
    rule = ThresholdRule(by=args.by, target=args.target)
    point = choose_threshold(labels=joined["label"].to_numpy(), artifact_score=joined["artifact_score"].to_numpy(),
                             rule=rule)
    print(json.dumps({"rule": rule.describe(), "n": len(joined), **point._asdict()}, indent=2))
    return 0
