"""Review rounds: what params.yaml ``mine.rounds`` defines, and the ledger of what earlier
rounds reviewed.  Truth-free: every function takes given labels and decisions only.

The paper mined once.  Here the relabel loop runs in rounds: round k cross-fits every
member on the labels round k-1's merge produced, mines among the samples no earlier round
sent to review, sends its candidates to review and merges the decisions into label version
k.  Members retrained on cleaner labels absorb less of the systematic label noise, and
the reviews themselves are evidence (:mod:`realbogus.mining.evidence`).

``mine.rounds`` maps each round's name to its settings, in order::

    rounds:
      round1: {after: release, budget: 190}   # cross-fitted on the release's own labels
      round2: {after: round1, budget: 110}    # ... on the labels round1's merge wrote
      round3: {after: round2, budget: 75}

``after`` names the label version the round starts from (``release``: label version 0,
the release's own labels), ``budget`` how many candidates go to review.  ``after`` is
spelled out, though it is always the round before, because dvc.yaml's templating cannot
compute it; :func:`review_rounds` checks that it is.

The review ledger (``reviews.csv``) lists every sample sent to review so far, one row each:
id, round, old_label (its label when reviewed), new_label (after the merge), outcome:
``corrected`` (the label changed), ``confirmed`` (the review kept it) or ``undecided``
(no counting vote, or a tie: it keeps its label and is not reviewed again either).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.stage_tables import LABELS_FILE, read_table, write_labels

REVIEWS_FILE = "reviews.csv"  # beside labels.csv in every label folder (data/rounds/<round>/labels)
RELEASE = "release"  # label version 0: the release's own labels, before any review round
REVIEW_COLUMNS: tuple[str, ...] = ("id", "round", "old_label", "new_label", "outcome")
CORRECTED, CONFIRMED, UNDECIDED = "corrected", "confirmed", "undecided"
OUTCOMES: tuple[str, ...] = (CORRECTED, CONFIRMED, UNDECIDED)
# Round names become folder names and DVC stage names (crossfit@round2-rf): keep them plain.
_ROUND_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ReviewRound:
    """One review round: its name, the label version it starts from, its review budget."""

    name: str
    after: str
    budget: int


def review_rounds(rounds: Mapping[str, object], *, where: str = "params.yaml mine.rounds") -> tuple[ReviewRound, ...]:
    """``mine.rounds`` checked, in order: names usable as folders and stage names, each
    round's ``after`` the round before it (``release`` for the first), budgets >= 0."""
    if not isinstance(rounds, Mapping) or not rounds:
        raise ValueError(f"{where}: expected a mapping of at least one round, name -> {{after, budget}}, "
                         f"got {rounds!r}")
    checked: list[ReviewRound] = []
    previous = RELEASE
    for name, settings in rounds.items():
        name = str(name)
        if not _ROUND_NAME.match(name) or name == RELEASE:
            raise ValueError(f"{where}: round name {name!r} must start with a letter and hold only letters, digits "
                             f"and '_' (and not be {RELEASE!r}, the release's own labels)")
        if not isinstance(settings, Mapping) or set(settings) != {"after", "budget"}:
            raise ValueError(f"{where}.{name}: expected exactly the keys after and budget, got {settings!r}")
        if settings["after"] != previous:
            raise ValueError(f"{where}.{name}: after is {settings['after']!r}, expected {previous!r} "
                             f"(each round starts from the labels of the round before it)")
        budget = settings["budget"]
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
            raise ValueError(f"{where}.{name}: budget must be a whole number of samples >= 0, got {budget!r}")
        checked.append(ReviewRound(name=name, after=previous, budget=budget))
        previous = name
    return tuple(checked)


def empty_reviews() -> pd.DataFrame:
    """A review ledger with no rows (before the first round)."""
    return pd.DataFrame({"id": pd.Series(dtype=np.int64), "round": pd.Series(dtype=object),
                         "old_label": pd.Series(dtype=np.int64), "new_label": pd.Series(dtype=np.int64),
                         "outcome": pd.Series(dtype=object)})


def check_reviews(reviews: pd.DataFrame, *, where: str) -> pd.DataFrame:
    """A review ledger with its columns, one row per id, labels 0/1 and known outcomes."""
    missing = [column for column in REVIEW_COLUMNS if column not in reviews.columns]
    if missing:
        raise ValueError(f"{where}: review ledger lacks column(s) {missing}; expected {list(REVIEW_COLUMNS)}")
    if reviews["id"].duplicated().any():
        raise ValueError(f"{where}: id {int(reviews.loc[reviews['id'].duplicated(), 'id'].iloc[0])} was reviewed "
                         "twice; a sample goes to review in one round only")
    for column in ("old_label", "new_label"):
        bad = reviews.loc[~reviews[column].isin([0, 1]), "id"]
        if len(bad):
            raise ValueError(f"{where}: {column} of id {int(bad.iloc[0])} is not 0 or 1")
    bad = reviews.loc[~reviews["outcome"].isin(OUTCOMES), "id"]
    if len(bad):
        raise ValueError(f"{where}: outcome of id {int(bad.iloc[0])} is not one of {list(OUTCOMES)}")
    return reviews.loc[:, list(REVIEW_COLUMNS)].astype({"id": np.int64, "old_label": np.int64,
                                                        "new_label": np.int64})


def round_reviews(*, round_name: str, candidate_ids: np.ndarray, old_labels: pd.Series, new_labels: pd.Series,
                  decided_ids: np.ndarray) -> pd.DataFrame:
    """One round's rows of the ledger, in candidate order.

    candidate_ids: (K,) the ids sent to review; old_labels / new_labels: labels by id
    before and after the merge; decided_ids: the ids the votes decided (a counting
    majority), the others are ``undecided``.
    """
    ids = np.asarray(candidate_ids, dtype=np.int64)
    old = old_labels.reindex(ids).to_numpy(dtype=np.int64)
    new = new_labels.reindex(ids).to_numpy(dtype=np.int64)
    decided = np.isin(ids, np.asarray(decided_ids, dtype=np.int64))
    outcome = np.where(~decided, UNDECIDED, np.where(old != new, CORRECTED, CONFIRMED))
    return pd.DataFrame({"id": ids, "round": round_name, "old_label": old, "new_label": new, "outcome": outcome})


def reviewed_mask(*, ids: np.ndarray, reviews: pd.DataFrame) -> np.ndarray:
    """(N,) bool: which of ``ids`` an earlier round already sent to review."""
    return np.isin(np.asarray(ids), reviews["id"].to_numpy())


def write_round_labels(*, labels: pd.DataFrame, reviews: pd.DataFrame, folder: str | os.PathLike[str],
                       command: str | None) -> None:
    """``folder/labels.csv`` (a label version) and ``folder/reviews.csv`` (the ledger), each
    written whole and deterministically (the same labels, the same bytes).  command: the
    stage writing them, for their markers; None inside an output folder already checked."""
    folder = Path(folder)
    reviews = check_reviews(reviews, where=str(folder / REVIEWS_FILE))
    write_labels(labels, folder / LABELS_FILE, command=command)
    with atomic_path(folder / REVIEWS_FILE, command=command) as temporary:
        reviews.sort_values("id").to_csv(temporary, index=False, lineterminator="\n")


def read_round_labels(folder: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(labels, reviews) of a folder written by :func:`write_round_labels`."""
    folder = Path(folder)
    labels = read_table(folder / LABELS_FILE, columns=("id", "label"), what="labels")
    reviews = read_table(folder / REVIEWS_FILE, columns=REVIEW_COLUMNS, what="review ledger")
    unknown = np.setdiff1d(reviews["id"].to_numpy(), labels["id"].to_numpy())
    if unknown.size:
        raise ValueError(f"{folder / REVIEWS_FILE}: id(s) {unknown[:5].tolist()} have no label in {LABELS_FILE}")
    return labels, check_reviews(reviews, where=str(folder / REVIEWS_FILE))
