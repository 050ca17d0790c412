"""``realbogus labels log|diff``: the label versions in git history and what changed between two."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from realbogus.cli._arguments import add_force
from realbogus.label_versions import LABELS_PATH, diff_labels, label_versions, read_labels_at


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    log = sub.add_parser("log", help="label versions, newest first: date, commit, changes")
    log.add_argument("--repo", default=".")
    diff = sub.add_parser("diff", help="labels that differ between two git revisions")
    diff.add_argument("old", help="git revision (commit, tag, branch) of the older version")
    diff.add_argument("new", help="git revision of the newer version")
    diff.add_argument("--repo", default=".")
    diff.add_argument("--out", default=None, help="write the changed ids as CSV here (default: print)")
    add_force(diff, what="--out")
    for action in (log, diff):
        action.add_argument("--path", default=LABELS_PATH, help="the labels table in the repository")


def run(args: argparse.Namespace) -> int:
    if not Path(args.repo).is_dir():
        raise FileNotFoundError(f"repository folder {args.repo} does not exist (expected a git checkout of the project)")
    if args.action == "log":
        versions = label_versions(repo=args.repo, path=args.path)
        if not versions:
            print(f"no label versions of {args.path} in this history (commit dvc.lock after `dvc repro`)")
            return 0
        print(f"{'date':25}  {'commit':10}  {'labels md5':32}  {'0->1':>6}  {'1->0':>6}  subject")
        for version in versions:
            print(f"{version.date:25}  {version.commit[:10]}  {version.labels_md5:32}  "
                  f"{_count(version.changed_0_to_1):>6}  {_count(version.changed_1_to_0):>6}  {version.subject}")
        return 0
    changes = diff_labels(read_labels_at(args.old, repo=args.repo, path=args.path),
                          read_labels_at(args.new, repo=args.repo, path=args.path))
    up = int(((changes["old_label"] == 0) & (changes["new_label"] == 1)).sum())
    down = int(((changes["old_label"] == 1) & (changes["new_label"] == 0)).sum())
    print(f"{args.path}: {len(changes)} labels differ between {args.old} and {args.new} "
          f"({up} 0->1, {down} 1->0)", file=sys.stderr)
    if args.out is None:
        changes.to_csv(sys.stdout, index=False)
        return 0
    from realbogus.atomic import atomic_path

    with atomic_path(args.out, command="labels diff", force=args.force) as temporary:
        changes.to_csv(temporary, index=False)
    return 0


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
