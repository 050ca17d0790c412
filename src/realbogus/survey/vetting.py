"""Vetted survey labels: observers' votes -> majority labels, with every problem reported.

:func:`vet_labels` is :func:`realbogus.votes.combine_votes` with the survey's rules: the
votes table has columns (id, observer, vote); a detection gets a label when at least
``min_votes`` observers cast a counting vote and one side has the strict majority.  Ties
and too few votes are *reported* in ``undecided`` (never guessed); votes on ids that are
not in the survey release are reported or refused (``on_unknown_id``); an observer voting
twice on one detection is refused (``on_duplicate="raise"``, a survey export should hold
one vote per observer) or resolved to the latest vote (``"latest"``); an empty table is
refused unless ``allow_empty``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.votes import VoteResult, combine_votes

LABELS_FILE = "labels.csv"
UNDECIDED_FILE = "undecided.csv"
DUPLICATES_FILE = "duplicates.csv"
REPORT_FILE = "vetting.json"
VET_COMMAND = "survey vet"  # names its outputs' marker (realbogus.atomic)


def read_votes(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a votes CSV (id, observer, vote, ...); a clear error for a missing or blank file."""
    votes_path = Path(path)
    if not votes_path.is_file():
        raise FileNotFoundError(f"votes table {votes_path} does not exist (expected a CSV with id, observer, vote)")
    try:
        return pd.read_csv(votes_path, dtype={"observer": str, "vote": str}, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"votes table {votes_path} is empty: not even a header line "
                         "(expected columns id, observer, vote)") from None


def vet_labels(
    votes: pd.DataFrame,
    *,
    min_votes: int,
    known_ids: Iterable[int] | None = None,
    on_unknown_id: Literal["raise", "report"] = "report",
    on_duplicate: Literal["latest", "raise"] = "raise",
    allow_empty: bool = False,
) -> VoteResult:
    """Majority labels of survey detections from their observers' votes (see the module docstring).

    votes: one row per vote, columns id, observer, vote (artifact/1, non-artifact/0,
    unsure, skip).  Returns ``VoteResult``: labels (id, label, n_votes, ...), undecided
    (id, reason, ...), duplicates, notes.  Raises ValueError with the offending rows / ids
    / observers named.
    """
    return combine_votes(votes, min_votes=min_votes, known_ids=known_ids, voter_column="observer",
                         on_unknown_id=on_unknown_id, on_duplicate=on_duplicate, allow_empty=allow_empty)


def vetting_report(result: VoteResult, *, n_detections: int | None = None,
                   truth: pd.DataFrame | None = None) -> dict[str, Any]:
    """Counts for metrics.json / MLflow: labelled, undecided by reason, agreement, real fraction.

    With a simulated ``truth`` (id, true_label) also ``majority_label_error``: the share
    of vetted labels that differ from the truth.
    """
    labels = result.labels
    reasons = result.undecided["reason"].str.split(":").str[0] if len(result.undecided) else pd.Series(dtype=str)
    unanimous = (labels[["n_artifact", "n_non_artifact"]].min(axis=1) == 0) if len(labels) else pd.Series(dtype=bool)
    report: dict[str, Any] = {
        "n_labelled": int(len(labels)),
        "n_undecided": int(len(result.undecided)),
        "n_tie": int((reasons == "tie").sum()),
        "n_too_few_votes": int((reasons == "too few votes").sum()),
        "n_unknown_id": int((reasons == "unknown id").sum()),
        "n_duplicate_pairs": int(len(result.duplicates)),
        "real_fraction": float((labels["label"] == 0).mean()) if len(labels) else None,
        "unanimous_fraction": float(unanimous.mean()) if len(labels) else None,
        "notes": list(result.notes),
    }
    if n_detections is not None:
        report["n_detections"] = int(n_detections)
    if truth is not None and len(labels):
        joined = labels.merge(truth[["id", "true_label"]], on="id", how="inner")
        report["majority_label_error"] = float((joined["label"] != joined["true_label"]).mean())
    return report


def write_vetting(result: VoteResult, report: dict[str, Any], out_dir: str | os.PathLike[str], *,
                  inputs: Iterable[str | os.PathLike[str] | None] = (), force: bool = False) -> Path:
    """Write labels.csv, undecided.csv, duplicates.csv and vetting.json into ``out_dir`` (whole).

    inputs: the votes and ids files, which ``out_dir`` must not be, hold or lie inside;
    force: replace an ``out_dir`` that is not an earlier vetting output
    (``realbogus.atomic.check_output``).
    """
    with atomic_path(out_dir, is_dir=True, command=VET_COMMAND, inputs=inputs, force=force) as temporary:
        result.labels.to_csv(temporary / LABELS_FILE, index=False)
        result.undecided.to_csv(temporary / UNDECIDED_FILE, index=False)
        result.duplicates.to_csv(temporary / DUPLICATES_FILE, index=False)
        (temporary / REPORT_FILE).write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return Path(out_dir)


def numeric_report(report: dict[str, Any]) -> dict[str, float]:
    """The numbers of a vetting report (for metrics.json / MLflow), None and text left out."""
    return {key: float(value) for key, value in report.items()
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)}
