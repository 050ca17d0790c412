"""Label versions after the fact: which versions exist in git history, and what changed.

A label version is a labels table the pipeline writes: the one the retrain uses
(``data/labels/labels.csv``, the last review round's labels) or a review round's own
(``data/rounds/<round>/labels.csv``); its identity is its content hash, recorded by DVC in
``dvc.lock``.  Each commit that changes that hash in ``dvc.lock`` introduces a version.
The tables themselves are read back through DVC (``dvc.api``), from the local cache or
the DVC remote, so any version reachable from a git revision can be compared.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

LABELS_PATH = "data/labels/labels.csv"
MERGE_REPORT = "reports/merge/metrics.json"
ROUND_LABELS_PATH = "data/rounds/{round}/labels.csv"
ROUND_MERGE_REPORT = "reports/rounds/{round}/merge/metrics.json"
_ROUND_LABELS = re.compile(r"^data/rounds/([^/]+)/labels\.csv$")


def merge_report(path: str) -> str:
    """The report whose change counts go with the labels table ``path``: a round's merge
    report for a round's labels, else the report of all rounds against the release."""
    matched = _ROUND_LABELS.match(path)
    return ROUND_MERGE_REPORT.format(round=matched.group(1)) if matched else MERGE_REPORT


@dataclass(frozen=True)
class LabelVersion:
    commit: str
    date: str
    subject: str
    labels_md5: str
    changed_0_to_1: int | None
    changed_1_to_0: int | None


def _git(args: list[str], *, repo: Path) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip()}")
    return result.stdout


def _labels_md5_in_lock(lock_text: str, *, path: str) -> str | None:
    lock = yaml.safe_load(lock_text) or {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == path:
                return out.get("md5")
    return None


def label_versions(*, repo: str | Path = ".", path: str = LABELS_PATH) -> list[LabelVersion]:
    """Every label version in the history of HEAD, newest first."""
    repo = Path(repo)
    log = _git(["log", "--format=%H%x09%cI%x09%s", "--", "dvc.lock"], repo=repo)
    versions: list[LabelVersion] = []
    previous_md5 = None
    for line in reversed(log.strip().splitlines()):
        commit, date, subject = line.split("\t", 2)
        md5 = _labels_md5_in_lock(_git(["show", f"{commit}:dvc.lock"], repo=repo), path=path)
        if md5 is None or md5 == previous_md5:
            continue
        previous_md5 = md5
        try:
            report = json.loads(_git(["show", f"{commit}:{merge_report(path)}"], repo=repo))
        except (RuntimeError, json.JSONDecodeError):
            report = {}
        versions.append(LabelVersion(commit=commit, date=date, subject=subject, labels_md5=md5,
                                     changed_0_to_1=report.get("changed_0_to_1"),
                                     changed_1_to_0=report.get("changed_1_to_0")))
    return list(reversed(versions))


def read_labels_at(rev: str, *, repo: str | Path = ".", path: str = LABELS_PATH) -> pd.DataFrame:
    """The labels table as it was at git revision ``rev`` (via DVC's cache or remote)."""
    import dvc.api

    try:
        text = dvc.api.read(path, repo=str(repo), rev=rev)
    except Exception as error:  # DVC raises many kinds; the user needs the rev and path
        raise RuntimeError(f"cannot read {path} at revision {rev!r}: {error}") from error
    return pd.read_csv(io.StringIO(text))


def diff_labels(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """id, old_label, new_label for every id whose label differs (ids in only one side too)."""
    merged = old.merge(new, on="id", how="outer", suffixes=("_old", "_new"), validate="1:1")
    changed = merged[merged["label_old"].ne(merged["label_new"])]
    return (changed.rename(columns={"label_old": "old_label", "label_new": "new_label"})
            .astype({"old_label": "Int64", "new_label": "Int64"}).sort_values("id").reset_index(drop=True))
