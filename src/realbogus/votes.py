"""Combine several people's votes on samples into labels by majority.

Used twice: for reviewers' decisions from ``realbogus review`` (relabelling the mined
candidates) and for survey observers' votes on new detections (Ayyar et al. 2022, 4.6:
each detection vetted by at least three observers, label by majority).

A votes table has one row per recorded vote, in the order the votes were recorded (the
decisions file is append-only, so its row order *is* the time order; clock times can tie
or go backwards between machines, row order cannot).  Vote values:

- ``artifact`` or ``1``: the sample is an artifact (label 1, "bogus");
- ``non-artifact`` or ``0``: the sample is a non-artifact (label 0, "real");
- ``unsure`` and ``skip``: the voter looked and abstains; it replaces that voter's earlier
  vote on the sample but counts for neither side;
- ``undo``: removes that voter's most recent vote on that sample (so an earlier one, if
  any, applies again).

Per (sample, voter) the latest remaining vote wins.  A sample gets a label when at least
``min_votes`` voters cast a counting vote (artifact or non-artifact) and one side has
strictly more than half of them; ties and too few votes are reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from realbogus.ids import exact_int64
from realbogus.release.layout import ARTIFACT, NON_ARTIFACT

ARTIFACT_VOTE = "artifact"
NON_ARTIFACT_VOTE = "non-artifact"
UNSURE_VOTE = "unsure"
SKIP_VOTE = "skip"
UNDO = "undo"
# What a reviewer can decide about one candidate (an undo is a separate record kind).
DECISIONS: tuple[str, ...] = (ARTIFACT_VOTE, NON_ARTIFACT_VOTE, UNSURE_VOTE, SKIP_VOTE)
RECORD_KINDS: tuple[str, ...] = DECISIONS + (UNDO,)
DECISION_LABEL: dict[str, int] = {ARTIFACT_VOTE: ARTIFACT, NON_ARTIFACT_VOTE: NON_ARTIFACT}

# Internal codes of a normalised vote.
_ABSTAIN = -1
_UNDO_CODE = -2
_VOTE_CODES: dict[str, int] = {
    ARTIFACT_VOTE: ARTIFACT,
    NON_ARTIFACT_VOTE: NON_ARTIFACT,
    str(ARTIFACT): ARTIFACT,
    str(NON_ARTIFACT): NON_ARTIFACT,
    UNSURE_VOTE: _ABSTAIN,
    SKIP_VOTE: _ABSTAIN,
    UNDO: _UNDO_CODE,
}
_ACCEPTED_VALUES = "artifact or 1, non-artifact or 0, unsure, skip, undo"
_SHOWN = 5  # how many offending entries an error message lists

LABEL_COLUMNS: tuple[str, ...] = (
    "id", "label", "n_votes", "n_artifact", "n_non_artifact", "n_abstain", "voters",
)
UNDECIDED_COLUMNS: tuple[str, ...] = (
    "id", "reason", "n_votes", "n_artifact", "n_non_artifact", "n_abstain",
)


@dataclass(frozen=True)
class VoteResult:
    """Outcome of :func:`combine_votes`.

    labels: one row per decided sample, columns ``LABEL_COLUMNS``: id, label (1 artifact,
        0 non-artifact), n_votes (voters with a counting vote), n_artifact,
        n_non_artifact, n_abstain (voters whose latest word was unsure or skip), voters
        (comma-separated names of the voters with a counting vote, sorted).
    undecided: one row per sample without a label, columns ``UNDECIDED_COLUMNS``; reason
        says why in words (too few votes, a tie, an unknown id).
    duplicates: (id, voter, n_records) for every pair that voted more than once before
        resolution; the latest vote was used.
    notes: sentences about anything handled without an error (superseded votes, an undo
        with nothing to undo), for logs and reports.
    """

    labels: pd.DataFrame
    undecided: pd.DataFrame
    duplicates: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["id", "voter", "n_records"])
    )
    notes: tuple[str, ...] = ()


def _examples(items: Iterable[object]) -> str:
    items = list(items)
    shown = ", ".join(str(item) for item in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _normalise_vote(value: object) -> int | None:
    """Internal code of one vote value, or None when the value is not a vote."""
    if isinstance(value, (bool, np.bool_)):
        return None  # True/False would silently read as 1/0: refuse instead
    if isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or value != int(value):
            return None
        text = str(int(value))
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        return None
    return _VOTE_CODES.get(text)


def _resolve_latest(ids: np.ndarray, voters: np.ndarray, codes: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Latest remaining vote per (id, voter) after applying undos in record order.

    Returns a frame (id, voter, code) with one row per pair that still has a vote, and how
    many undos had nothing to undo.
    """
    records = pd.DataFrame({"id": ids, "voter": voters, "code": codes})
    if not (codes == _UNDO_CODE).any():
        # No undo: the last record per pair is the answer (fast path for survey tables).
        return records.drop_duplicates(["id", "voter"], keep="last").reset_index(drop=True), 0
    stacks: dict[tuple[int, str], list[int]] = {}
    stray_undos = 0
    for sample_id, voter, code in zip(ids.tolist(), voters.tolist(), codes.tolist()):
        stack = stacks.setdefault((sample_id, voter), [])
        if code == _UNDO_CODE:
            if stack:
                stack.pop()
            else:
                stray_undos += 1
        else:
            stack.append(code)
    rows = [(sample_id, voter, stack[-1]) for (sample_id, voter), stack in stacks.items() if stack]
    return pd.DataFrame(rows, columns=["id", "voter", "code"]), stray_undos


def combine_votes(
    votes: pd.DataFrame,
    *,
    min_votes: int,
    known_ids: Iterable[int] | None = None,
    id_column: str = "id",
    voter_column: str = "voter",
    vote_column: str = "vote",
    on_unknown_id: Literal["raise", "report"] = "raise",
    on_duplicate: Literal["latest", "raise"] = "latest",
    allow_empty: bool = False,
) -> VoteResult:
    """Labels by majority from a table of votes (see the module docstring for the rules).

    votes: one row per recorded vote, in recording order, with at least the columns
        ``id_column`` (integer sample id), ``voter_column`` (non-empty name) and
        ``vote_column`` (artifact/1, non-artifact/0, unsure, skip, undo); other columns
        (time, candidates_version, ...) are ignored.
    min_votes: the fewest counting votes (artifact or non-artifact) a sample needs for a
        label; at least 1.
    known_ids: the sample ids the votes may refer to (e.g. the candidate list or the
        survey release).  Votes on other ids raise (``on_unknown_id="raise"``) or are
        reported in ``undecided`` (``"report"``).  Known ids without any vote are reported
        in ``undecided`` as having too few votes.
    on_duplicate: ``"latest"`` lets a voter's later vote on a sample replace the earlier
        one (a reviewer changing their mind) and lists the pairs in ``duplicates``;
        ``"raise"`` refuses a table where any voter voted twice on one sample (a survey
        export that should hold one vote per observer).
    allow_empty: an empty table raises unless this is True (a merge with no human
        decisions yet); then every known id is undecided.

    Raises ValueError naming the offending rows, ids or voters for missing columns, bad
    values, unknown ids and (on request) duplicates.
    """
    if isinstance(min_votes, (bool, np.bool_)) or not isinstance(min_votes, (int, np.integer)):
        raise ValueError(f"min_votes must be an integer >= 1, got {min_votes!r}")
    if min_votes < 1:
        raise ValueError(f"min_votes must be >= 1, got {min_votes}")
    if on_unknown_id not in ("raise", "report"):
        raise ValueError(f"on_unknown_id must be 'raise' or 'report', got {on_unknown_id!r}")
    if on_duplicate not in ("latest", "raise"):
        raise ValueError(f"on_duplicate must be 'latest' or 'raise', got {on_duplicate!r}")
    if not isinstance(votes, pd.DataFrame):
        raise ValueError(f"votes must be a pandas DataFrame, got {type(votes).__name__}")
    missing = [c for c in (id_column, voter_column, vote_column) if c not in votes.columns]
    if missing:
        raise ValueError(
            f"votes table lacks column(s) {missing}; expected at least "
            f"{[id_column, voter_column, vote_column]}, found {list(votes.columns)}"
        )
    known = None if known_ids is None else _validated_known_ids(known_ids)
    notes: list[str] = []

    if len(votes) == 0:
        if not allow_empty:
            raise ValueError(
                "votes table is empty: there is nothing to combine (pass allow_empty=True "
                "when no votes yet is expected)"
            )
        notes.append("votes table is empty")
        return _result(
            latest=pd.DataFrame({"id": [], "voter": [], "code": []}),
            undecided=_no_vote_rows(known, set(), min_votes), notes=notes,
            duplicates=pd.DataFrame(columns=["id", "voter", "n_records"]),
        )

    # Row numbers as a person counts them in a CSV with a header: first data row is 2.
    row_numbers = np.arange(len(votes)) + 2
    ids = _validated_ids(votes[id_column], row_numbers, id_column)
    voters = _validated_voters(votes[voter_column], row_numbers, voter_column)
    raw_votes = votes[vote_column].tolist()
    codes = np.array([_normalise_vote(v) for v in raw_votes], dtype=object)
    bad = np.flatnonzero(pd.isna(pd.Series(codes)).to_numpy())
    if bad.size:
        raise ValueError(
            f"column {vote_column!r} has values that are no vote at row(s) "
            + _examples(
                f"{row_numbers[i]} (id {ids[i]}, voter {voters[i]!r}: {raw_votes[i]!r})"
                for i in bad
            )
            + f"; expected one of: {_ACCEPTED_VALUES}"
        )
    codes = codes.astype(np.int64)

    unknown_rows = np.zeros(len(ids), dtype=bool)
    if known is not None:
        unknown_rows = ~np.isin(ids, np.fromiter(known, dtype=np.int64, count=len(known)))
        if unknown_rows.any():
            unknown = sorted(set(ids[unknown_rows].tolist()))
            message = f"{len(unknown)} voted id(s) are not among the known samples: {_examples(unknown)}"
            if on_unknown_id == "raise":
                raise ValueError(message)
            notes.append(message + " (reported as undecided)")

    counted = codes != _UNDO_CODE
    pair_counts = (
        pd.DataFrame({"id": ids[counted], "voter": voters[counted]})
        .value_counts(sort=False)
        .rename("n_records")
        .reset_index()
    )
    duplicates = pair_counts[pair_counts["n_records"] > 1].sort_values(["id", "voter"])
    duplicates = duplicates.reset_index(drop=True)
    if len(duplicates):
        pairs = [f"(id {r.id}, voter {r.voter!r}: {r.n_records} votes)" for r in duplicates.itertuples()]
        if on_duplicate == "raise":
            raise ValueError(
                f"{len(duplicates)} (id, voter) pair(s) voted more than once, expected one "
                f"vote per voter and sample: {_examples(pairs)}"
            )
        notes.append(
            f"{len(duplicates)} (id, voter) pair(s) voted more than once; the latest vote "
            f"was used: {_examples(pairs)}"
        )

    keep = ~unknown_rows
    latest, stray_undos = _resolve_latest(ids[keep], voters[keep], codes[keep])
    if stray_undos:
        notes.append(f"{stray_undos} undo record(s) had no earlier vote to undo and were ignored")

    undecided_rows = _no_vote_rows(known, set(latest["id"].tolist()), min_votes)
    if unknown_rows.any():
        for sample_id in sorted(set(ids[unknown_rows].tolist())):
            undecided_rows.append(
                {"id": sample_id, "reason": "unknown id: not among the known samples",
                 "n_votes": 0, "n_artifact": 0, "n_non_artifact": 0, "n_abstain": 0}
            )
    return _result(
        latest=latest, undecided=undecided_rows, notes=notes,
        duplicates=duplicates, min_votes=min_votes,
    )


def _validated_known_ids(known_ids: Iterable[int]) -> set[int]:
    values = np.asarray(list(known_ids) if not isinstance(known_ids, np.ndarray) else known_ids)
    if values.size and (values.dtype == bool or not np.issubdtype(values.dtype, np.integer)):
        raise ValueError(f"known_ids must be integer sample ids, got values of type {values.dtype}")
    parsed, bad = exact_int64(values)
    if bad.any():
        raise ValueError(f"known_ids must fit in 64 bits, got {values[np.flatnonzero(bad)[0]]}")
    return set(parsed.tolist())


def _validated_ids(column: pd.Series, row_numbers: np.ndarray, name: str) -> np.ndarray:
    # Exact: an id beyond 64 bits or a rounded float must be refused, never wrapped round.
    ids, bad_mask = exact_int64(column)
    bad = np.flatnonzero(bad_mask)
    if bad.size:
        raise ValueError(
            f"column {name!r} must hold integer sample ids that fit in 64 bits; bad value(s) at row(s) "
            + _examples(f"{row_numbers[i]} ({column.iloc[i]!r})" for i in bad)
        )
    return ids


def _validated_voters(column: pd.Series, row_numbers: np.ndarray, name: str) -> np.ndarray:
    text = column.astype("string").str.strip()
    bad = np.flatnonzero((text.isna() | (text == "")).to_numpy())
    if bad.size:
        raise ValueError(
            f"column {name!r} must name the voter; empty at row(s) "
            + _examples(str(row_numbers[i]) for i in bad)
        )
    return text.to_numpy().astype(object)


def _no_vote_rows(known: set[int] | None, voted: set[int], min_votes: int = 1) -> list[dict]:
    if known is None:
        return []
    return [
        {"id": sample_id, "reason": f"too few votes: 0 of the {min_votes} needed",
         "n_votes": 0, "n_artifact": 0, "n_non_artifact": 0, "n_abstain": 0}
        for sample_id in sorted(known - voted)
    ]


def _result(
    *,
    latest: pd.DataFrame,
    undecided: list[dict],
    notes: list[str],
    duplicates: pd.DataFrame,
    min_votes: int = 1,
) -> VoteResult:
    """Tally the resolved (id, voter, code) votes into labels and undecided samples."""
    code = latest["code"].to_numpy()
    tally = pd.DataFrame({
        "id": latest["id"].to_numpy(dtype=np.int64),
        "n_artifact": code == ARTIFACT,
        "n_non_artifact": code == NON_ARTIFACT,
        "n_abstain": (code != ARTIFACT) & (code != NON_ARTIFACT),
    }).groupby("id", sort=True).sum().astype(np.int64)
    tally["n_votes"] = tally["n_artifact"] + tally["n_non_artifact"]
    tally = tally.reset_index()
    too_few = tally["n_votes"] < min_votes
    tie = ~too_few & (tally["n_artifact"] == tally["n_non_artifact"])
    decided = tally[~too_few & ~tie].copy()
    decided["label"] = np.where(decided["n_artifact"] > decided["n_non_artifact"], ARTIFACT, NON_ARTIFACT)
    counting = latest[np.isin(code, (ARTIFACT, NON_ARTIFACT))]
    # Names joined per id by hand: a groupby-agg with a Python join is ~30x slower.
    counting = counting.sort_values(["id", "voter"], kind="stable")
    counting_ids, starts = np.unique(counting["id"].to_numpy(dtype=np.int64), return_index=True)
    names = np.split(counting["voter"].to_numpy(dtype=object), starts[1:]) if len(counting) else []
    voter_names = dict(zip(counting_ids.tolist(), (",".join(group) for group in names)))
    decided["voters"] = [voter_names.get(sample_id, "") for sample_id in decided["id"].tolist()]

    reasons = pd.concat([
        tally[too_few].assign(reason=[f"too few votes: {n} of the {min_votes} needed" for n in tally.loc[too_few, "n_votes"]]),
        tally[tie].assign(reason=[f"tie: {a} artifact vs {b} non-artifact"
                                  for a, b in zip(tally.loc[tie, "n_artifact"], tally.loc[tie, "n_non_artifact"])]),
        pd.DataFrame(undecided, columns=list(UNDECIDED_COLUMNS)),
    ], ignore_index=True)
    int_columns = ["id", "n_votes", "n_artifact", "n_non_artifact", "n_abstain"]
    labels_frame = decided[list(LABEL_COLUMNS)].astype({c: np.int64 for c in int_columns + ["label"]})
    undecided_frame = reasons[list(UNDECIDED_COLUMNS)].astype({c: np.int64 for c in int_columns})
    undecided_frame = undecided_frame.sort_values("id", kind="stable").reset_index(drop=True)
    return VoteResult(
        labels=labels_frame.reset_index(drop=True), undecided=undecided_frame,
        duplicates=duplicates, notes=tuple(notes),
    )
