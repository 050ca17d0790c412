"""Label versions after the fact: which versions exist in git history, and what changed.

A label version is a labels table the pipeline writes: the one the retrain uses
(``data/labels/labels.csv``, the last review round's labels) or a review round's own
(``data/rounds/<round>/labels.csv``); its identity is its content hash, recorded by DVC in
``dvc.lock``.  Each commit that changes that hash in ``dvc.lock`` introduces a version.
Before the first version, the labels in force are the release's own (``OBJECT_TYPE`` in the
ingested catalog, "version 0").  The tables themselves are read back through DVC
(``dvc.api``), from the local cache or the DVC remote, so any version reachable from a git
revision can be compared.

Every failure here is a :class:`LabelVersionError` whose message is one line naming the
revision and what to do, since the commands print it as it is.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

LABELS_PATH = "data/labels/labels.csv"
ROUND_LABELS_PATH = "data/rounds/{round}/labels.csv"
INGESTED_PATH = "data/ingested"
CATALOG_PATH = f"{INGESTED_PATH}/catalog.parquet"


class LabelVersionError(RuntimeError):
    """A revision, version or table that cannot be had; the message is one line for the user."""


@dataclass(frozen=True)
class Changes:
    """How the labels of one table differ from those of another, over the ids of both."""

    changed_0_to_1: int
    changed_1_to_0: int
    other: int  # ids in only one table, or labels that are neither 0 nor 1

    def describe(self) -> str:
        text = f"{self.changed_0_to_1} 0->1, {self.changed_1_to_0} 1->0"
        return text + (f", {self.other} other" if self.other else "")


@dataclass(frozen=True)
class LabelVersion:
    """One label version: the commit that introduced it and its changes against ``against``.

    against: ``"release"`` for the first version (its changes are against the release's
    own labels), else the commit of the previous version.  changes: None when a table
    could not be read (``unreadable`` says why).
    """

    commit: str
    date: str
    subject: str
    labels_md5: str
    against: str
    changes: Changes | None
    unreadable: str | None = None


@dataclass(frozen=True)
class LabelsAt:
    """The labels in force at a revision, and what they are, for messages."""

    revision: str
    commit: str
    table: pd.DataFrame  # id, label
    description: str  # "label version 1a2b3c4d" or "the release's labels (no label version yet)"


def _git(args: list[str], *, repo: Path) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    except FileNotFoundError:
        raise LabelVersionError("git is not installed: label versions live in git history") from None
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit status {result.returncode}"
        raise LabelVersionError(f"git {' '.join(args)} failed in {repo}: {reason}")
    return result.stdout


def _out_md5(lock_text: str, *, path: str) -> str | None:
    """The md5 DVC records for output ``path`` in a dvc.lock text (None if it has none)."""
    try:
        lock = yaml.safe_load(lock_text) or {}
    except yaml.YAMLError:
        return None
    for stage in (lock.get("stages") or {}).values():
        for out in (stage or {}).get("outs") or []:
            if out.get("path") == path:
                return out.get("md5")
    return None


def _lock_at(commit: str, *, repo: Path) -> str | None:
    """dvc.lock as committed in ``commit`` (None when that commit has none)."""
    result = subprocess.run(["git", "show", f"{commit}:dvc.lock"], cwd=repo, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def resolve_commit(revision: str, *, repo: str | Path = ".") -> str:
    """The full commit hash of a git revision (commit, tag, branch, HEAD~1, ...)."""
    repo = Path(repo)
    _check_git_repo(repo)
    result = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], cwd=repo,
                            capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        raise LabelVersionError(f"{revision!r} is not a commit, tag or branch of the git repository {repo}")
    return result.stdout.strip()


def _check_git_repo(repo: Path) -> None:
    if not repo.is_dir():
        raise LabelVersionError(f"repository folder {repo} does not exist (expected a git checkout of the project)")
    result = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise LabelVersionError(f"{repo} is not a git repository: label versions are commits of dvc.lock")


def _read_at(path: str, *, commit: str, repo: Path, binary: bool = False) -> str | bytes:
    import dvc.api
    from dvc.exceptions import PathMissingError

    try:
        if binary:
            with dvc.api.open(path, repo=str(repo), rev=commit, mode="rb") as handle:
                return handle.read()
        return dvc.api.read(path, repo=str(repo), rev=commit)
    except PathMissingError:
        # dvc.lock of that commit names the output, so its content is what is missing.
        raise LabelVersionError(
            f"cannot read {path} as of commit {commit[:10]}: its content is not in this clone's DVC cache "
            "(`dvc fetch --all-commits` with a DVC remote: every version; or check the commit out and `dvc pull`)"
        ) from None
    except Exception as error:  # DVC raises many kinds; the user needs the revision, path and remedy
        reason = " ".join(str(error).split()) or type(error).__name__
        raise LabelVersionError(f"cannot read {path} as of commit {commit[:10]}: {reason}") from None


def labels_at(revision: str, *, repo: str | Path = ".", path: str = LABELS_PATH) -> LabelsAt:
    """The labels in force at ``revision``: its label version, or the release's labels
    when the revision is older than the first label version but has an ingested release."""
    repo = Path(repo)
    commit = resolve_commit(revision, repo=repo)
    lock = _lock_at(commit, repo=repo)
    md5 = _out_md5(lock, path=path) if lock is not None else None
    if md5 is not None:
        table = pd.read_csv(io.StringIO(_read_at(path, commit=commit, repo=repo)))
        return LabelsAt(revision=revision, commit=commit, table=_checked_labels(table, where=f"{path}@{revision}"),
                        description=f"label version {md5[:8]}")
    if lock is None or _out_md5(lock, path=INGESTED_PATH) is None:
        what = "no dvc.lock" if lock is None else f"no {path} and no {INGESTED_PATH} in its dvc.lock"
        raise LabelVersionError(
            f"{revision} (commit {commit[:10]}) has {what}: no labels were committed there yet "
            "(commit dvc.lock after `dvc repro` to make a label version)")
    return LabelsAt(revision=revision, commit=commit, table=_release_labels(commit, repo=repo),
                    description="the release's labels (no label version yet)")


def _checked_labels(table: pd.DataFrame, *, where: str) -> pd.DataFrame:
    missing = [column for column in ("id", "label") if column not in table.columns]
    if missing:
        raise LabelVersionError(f"{where}: lacks column(s) {missing}; has {list(table.columns)}")
    if table["id"].duplicated().any():
        raise LabelVersionError(f"{where}: duplicate id(s), e.g. {table.loc[table['id'].duplicated(), 'id'].head(3).tolist()}")
    return table.loc[:, ["id", "label"]]


def diff_labels(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """id, old_label, new_label for every id whose label differs (ids in only one side too)."""
    merged = old.merge(new, on="id", how="outer", suffixes=("_old", "_new"), validate="1:1")
    changed = merged[merged["label_old"].ne(merged["label_new"])]
    return (changed.rename(columns={"label_old": "old_label", "label_new": "new_label"})
            .astype({"old_label": "Int64", "new_label": "Int64"}).sort_values("id").reset_index(drop=True))


def count_changes(changes: pd.DataFrame) -> Changes:
    """0->1, 1->0 and other counts of a :func:`diff_labels` table."""
    up = int(((changes["old_label"] == 0) & (changes["new_label"] == 1)).sum())
    down = int(((changes["old_label"] == 1) & (changes["new_label"] == 0)).sum())
    return Changes(changed_0_to_1=up, changed_1_to_0=down, other=len(changes) - up - down)


def label_versions(*, repo: str | Path = ".", path: str = LABELS_PATH) -> list[LabelVersion]:
    """Every label version in the history of HEAD, newest first, each with its changes
    against the previous version (the first: against the release's labels)."""
    repo = Path(repo)
    _check_git_repo(repo)
    has_commits = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=repo, capture_output=True)
    if has_commits.returncode != 0:
        return []
    log = _git(["log", "--format=%H%x09%cI%x09%s", "--", "dvc.lock"], repo=repo)
    introduced: list[tuple[str, str, str, str]] = []
    previous_md5 = None
    for line in reversed(log.strip().splitlines()):
        commit, date, subject = line.split("\t", 2)
        md5 = _out_md5(_lock_at(commit, repo=repo) or "", path=path)
        if md5 is None or md5 == previous_md5:
            continue
        previous_md5 = md5
        introduced.append((commit, date, subject, md5))

    versions: list[LabelVersion] = []
    previous_table: pd.DataFrame | None = None
    previous_commit: str | None = None
    for commit, date, subject, md5 in introduced:
        against = previous_commit or "release"
        changes = unreadable = table = None
        try:
            table = labels_at(commit, repo=repo, path=path).table
            if previous_commit is None:
                base = _release_labels(commit, repo=repo)
            else:
                base = previous_table if previous_table is not None else labels_at(previous_commit, repo=repo, path=path).table
            changes = count_changes(diff_labels(base, table))
        except LabelVersionError as error:
            unreadable = str(error)
        versions.append(LabelVersion(commit=commit, date=date, subject=subject, labels_md5=md5, against=against,
                                     changes=changes, unreadable=unreadable))
        previous_table, previous_commit = table, commit
    return list(reversed(versions))


def _release_labels(commit: str, *, repo: Path) -> pd.DataFrame:
    """The release's own labels as ingested at ``commit`` (the base of the first version)."""
    lock = _lock_at(commit, repo=repo) or ""
    if _out_md5(lock, path=INGESTED_PATH) is None:
        raise LabelVersionError(f"commit {commit[:10]} records no {INGESTED_PATH} in dvc.lock: "
                                "the release's labels to compare with are unknown")
    catalog = pd.read_parquet(io.BytesIO(_read_at(CATALOG_PATH, commit=commit, repo=repo, binary=True)),
                              columns=["id", "label"])
    return _checked_labels(catalog, where=f"{CATALOG_PATH}@{commit[:10]}")
