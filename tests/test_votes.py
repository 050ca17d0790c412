"""Majority votes: latest vote per voter, undo, minimum votes, ties, bad tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.votes import LABEL_COLUMNS, UNDECIDED_COLUMNS, combine_votes


def votes_table(rows: list[tuple[int, str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "voter", "vote"])


def label_of(result, sample_id: int) -> int:
    row = result.labels.loc[result.labels["id"] == sample_id]
    assert len(row) == 1, f"id {sample_id} has no label: {result.undecided}"
    return int(row["label"].iloc[0])


def reason_of(result, sample_id: int) -> str:
    row = result.undecided.loc[result.undecided["id"] == sample_id]
    assert len(row) == 1, f"id {sample_id} is not undecided: {result.labels}"
    return str(row["reason"].iloc[0])


def test_majority_of_three_observers_both_ways() -> None:
    votes = votes_table([
        (1, "ann", 1), (1, "bob", 1), (1, "cy", 0),
        (2, "ann", 0), (2, "bob", "non-artifact"), (2, "cy", "artifact"),
    ])
    result = combine_votes(votes, min_votes=3)
    assert label_of(result, 1) == 1
    assert label_of(result, 2) == 0
    row = result.labels.set_index("id").loc[1]
    assert (row["n_votes"], row["n_artifact"], row["n_non_artifact"]) == (3, 2, 1)
    assert row["voters"] == "ann,bob,cy"
    assert result.undecided.empty
    assert list(result.labels.columns) == list(LABEL_COLUMNS)
    assert list(result.undecided.columns) == list(UNDECIDED_COLUMNS)


def test_ties_and_too_few_votes_are_reported_not_guessed() -> None:
    votes = votes_table([
        (1, "ann", 1), (1, "bob", 0), (1, "cy", 1), (1, "dee", 0),  # tie, enough votes
        (2, "ann", 1), (2, "bob", 1),            # two votes, three needed
        (3, "ann", 1), (3, "bob", "unsure"), (3, "cy", "skip"),  # abstentions do not count
    ])
    result = combine_votes(votes, min_votes=3)
    assert result.labels.empty
    assert reason_of(result, 1).startswith("tie")
    assert "too few votes: 2 of the 3" in reason_of(result, 2)
    assert "too few votes: 1 of the 3" in reason_of(result, 3)
    assert int(result.undecided.set_index("id").loc[3, "n_abstain"]) == 2
    # With two votes needed, the tie is still a tie but id 2 is decided.
    relaxed = combine_votes(votes, min_votes=2)
    assert label_of(relaxed, 2) == 1
    assert reason_of(relaxed, 1).startswith("tie")


def test_latest_vote_per_voter_wins_and_is_reported_as_duplicate() -> None:
    votes = votes_table([(7, "ann", "artifact"), (7, "ann", "non-artifact"), (8, "ann", 1)])
    result = combine_votes(votes, min_votes=1)
    assert label_of(result, 7) == 0
    assert result.duplicates.to_dict("records") == [{"id": 7, "voter": "ann", "n_records": 2}]
    assert any("latest vote was used" in note and "id 7" in note for note in result.notes)


def test_duplicate_voter_entries_can_be_refused_with_the_pair_named() -> None:
    votes = votes_table([(7, "ann", 1), (7, "bob", 1), (7, "ann", 0)])
    with pytest.raises(ValueError, match=r"id 7, voter 'ann': 2 votes"):
        combine_votes(votes, min_votes=1, on_duplicate="raise")


def test_undo_restores_the_voters_previous_vote() -> None:
    votes = votes_table([
        (5, "ann", "artifact"), (5, "ann", "non-artifact"), (5, "ann", "undo"),  # back to artifact
        (6, "ann", "artifact"), (6, "ann", "undo"),                              # nothing left
        (6, "bob", "undo"),                                                     # nothing to undo
    ])
    result = combine_votes(votes, min_votes=1, known_ids=[5, 6])
    assert label_of(result, 5) == 1
    assert "too few votes: 0" in reason_of(result, 6)
    assert any("1 undo record(s) had no earlier vote" in note for note in result.notes)


def test_undo_of_one_voter_leaves_other_voters_alone() -> None:
    votes = votes_table([(5, "ann", 0), (5, "bob", 1), (5, "cy", 1), (5, "bob", "undo")])
    result = combine_votes(votes, min_votes=2)
    assert reason_of(result, 5).startswith("tie")  # ann 0 vs cy 1 once bob's vote is gone


def test_known_ids_without_votes_are_undecided() -> None:
    result = combine_votes(votes_table([(1, "ann", 1)]), min_votes=1, known_ids=[1, 2, 3])
    assert result.labels["id"].tolist() == [1]
    assert result.undecided["id"].tolist() == [2, 3]


def test_unknown_ids_raise_or_are_reported() -> None:
    votes = votes_table([(1, "ann", 1), (99, "ann", 0), (98, "bob", 1)])
    with pytest.raises(ValueError, match=r"2 voted id\(s\) are not among the known samples: 98, 99"):
        combine_votes(votes, min_votes=1, known_ids=[1, 2])
    result = combine_votes(votes, min_votes=1, known_ids=[1, 2], on_unknown_id="report")
    assert result.labels["id"].tolist() == [1]
    assert reason_of(result, 99).startswith("unknown id")
    assert reason_of(result, 2).startswith("too few votes")


def test_empty_table_is_refused_unless_allowed() -> None:
    empty = votes_table([])
    with pytest.raises(ValueError, match="votes table is empty"):
        combine_votes(empty, min_votes=1)
    result = combine_votes(empty, min_votes=1, known_ids=[4, 5], allow_empty=True)
    assert result.labels.empty
    assert result.undecided["id"].tolist() == [4, 5]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(1, "ann", "maybe")], r"row\(s\) 2 \(id 1, voter 'ann': 'maybe'\).*expected one of"),
        ([(1, "ann", 1), (2, "bob", 2)], r"row\(s\) 3 \(id 2, voter 'bob': 2\)"),
        ([(1, "ann", True)], r"no vote"),
        ([(1, "ann", 0.5)], r"no vote"),
        ([("x1", "ann", 1)], r"column 'id' must hold integer sample ids.*row\(s\) 2 \('x1'\)"),
        ([(1.5, "ann", 1)], r"integer sample ids"),
        ([(1, "  ", 1), (2, None, 0)], r"column 'voter' must name the voter; empty at row\(s\) 2, 3"),
    ],
)
def test_bad_values_are_named_by_row(rows, message) -> None:
    with pytest.raises(ValueError, match=message):
        combine_votes(votes_table(rows), min_votes=1)


def test_missing_columns_and_bad_min_votes() -> None:
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['vote'\]"):
        combine_votes(pd.DataFrame({"id": [1], "voter": ["ann"]}), min_votes=1)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="min_votes"):
            combine_votes(votes_table([(1, "ann", 1)]), min_votes=bad)


def test_reviewer_decisions_file_columns_via_column_names() -> None:
    decisions = pd.DataFrame({
        "id": [3, 3, 4], "decision": ["artifact", "undo", "non-artifact"],
        "reviewer": ["ann", "ann", "ann"], "time": ["t1", "t2", "t3"],
    })
    result = combine_votes(decisions, min_votes=1, voter_column="reviewer", vote_column="decision",
                           known_ids=[3, 4])
    assert result.labels["id"].tolist() == [4]
    assert reason_of(result, 3).startswith("too few votes")


def test_matches_a_plain_recount_on_random_votes() -> None:
    """Cross-check against an independent recount (no undos, one vote per voter)."""
    rng = np.random.default_rng(11)
    n_samples, voters = 200, ["a", "b", "c", "d"]
    rows = [(i, v, int(rng.integers(0, 2))) for i in range(n_samples) for v in voters if rng.random() < 0.8]
    result = combine_votes(votes_table(rows), min_votes=3, known_ids=range(n_samples))
    frame = votes_table(rows)
    counts = frame.groupby("id")["vote"].agg(["sum", "count"]).reindex(range(n_samples), fill_value=0)
    expected = {
        i: int(row["sum"] * 2 > row["count"])
        for i, row in counts.iterrows() if row["count"] >= 3 and row["sum"] * 2 != row["count"]
    }
    assert dict(zip(result.labels["id"], result.labels["label"])) == expected
    assert len(result.labels) + len(result.undecided) == n_samples
