"""``realbogus labels log|diff``: the label versions in git history and what changed between two."""

from __future__ import annotations

import argparse
import sys

from realbogus.cli._arguments import add_force
from realbogus.label_versions import (LABELS_PATH, ROUND_LABELS_PATH, count_changes, diff_labels, label_versions,
                                      labels_at)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    log = sub.add_parser("log", help="label versions, newest first: date, commit, changes against the one before")
    log.add_argument("--repo", default=".")
    diff = sub.add_parser("diff", help="labels that differ between two git revisions (before the first label "
                                       "version: the release's own labels)")
    diff.add_argument("old", help="git revision (commit, tag, branch) of the older version")
    diff.add_argument("new", help="git revision of the newer version")
    diff.add_argument("--repo", default=".")
    diff.add_argument("--out", default=None, help="write the changed ids as CSV here (default: print)")
    add_force(diff, what="--out")
    for action in (log, diff):
        which = action.add_mutually_exclusive_group()
        which.add_argument("--path", default=None,
                           help=f"the labels table in the repository (default: {LABELS_PATH}, the last review round's)")
        which.add_argument("--round", default=None, metavar="NAME",
                           help=f"a review round's own labels ({ROUND_LABELS_PATH.format(round='NAME')})")


def run(args: argparse.Namespace) -> int:
    if args.path is None:
        args.path = LABELS_PATH if args.round is None else ROUND_LABELS_PATH.format(round=args.round)
    if args.action == "log":
        return _log(args)
    old = labels_at(args.old, repo=args.repo, path=args.path)
    new = labels_at(args.new, repo=args.repo, path=args.path)
    changes = diff_labels(old.table, new.table)
    print(f"{args.path}: {len(changes)} labels differ ({count_changes(changes).describe()}) between "
          f"{args.old} ({old.commit[:10]}, {old.description}) and {args.new} ({new.commit[:10]}, {new.description})",
          file=sys.stderr)
    if args.out is None:
        changes.to_csv(sys.stdout, index=False)
        return 0
    from realbogus.atomic import atomic_path

    with atomic_path(args.out, command="labels diff", force=args.force) as temporary:
        changes.to_csv(temporary, index=False)
    return 0


def _log(args: argparse.Namespace) -> int:
    versions = label_versions(repo=args.repo, path=args.path)
    if not versions:
        print(f"no label versions of {args.path} in this history (commit dvc.lock after `dvc repro`)")
        return 0
    print(f"{'date':25}  {'commit':10}  {'labels md5':10}  {'0->1':>6}  {'1->0':>6}  {'against':10}  subject")
    for version in versions:
        against = "release" if version.against == "release" else version.against[:10]
        if version.changes is None:
            up = down = "?"
        else:
            up, down = str(version.changes.changed_0_to_1), str(version.changes.changed_1_to_0)
        print(f"{version.date:25}  {version.commit[:10]}  {version.labels_md5[:10]}  {up:>6}  {down:>6}  "
              f"{against:10}  {version.subject}")
    for version in versions:
        if version.unreadable:
            print(f"? {version.commit[:10]}: {version.unreadable}", file=sys.stderr)
    print("changes: each version against the one before it; the first against the release's own labels",
          file=sys.stderr)
    return 0
