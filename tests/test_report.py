"""Table 4 (report.before_after_table): which labels and which scores each column uses.

Hand-made tables where every wrong choice gives another number: old and new test splits
differ, train and validation rows carry scores that would change any figure they entered,
the new labels differ from the old on the old test split, the truth differs from both, and
every table comes in its own row order.
"""

from __future__ import annotations

import pandas as pd
import pytest

from realbogus.report import COLUMNS, before_after_table

# id: (split, label, artifact_score) of the first training, on the old labels.
OLD = {10: ("test", 1, 0.95), 11: ("test", 1, 0.05), 12: ("test", 0, 0.05), 13: ("test", 0, 0.70),
       14: ("test", 0, 0.30), 1: ("train", 0, 0.99), 2: ("train", 1, 0.01), 3: ("val", 1, 0.20)}
NEW_LABELS = {10: 1, 11: 0, 12: 0, 13: 1, 14: 0, 20: 1, 21: 0, 22: 1, 1: 0, 2: 1, 3: 1}
# The retraining on the new labels, with a new split: only 11 stays in the test split.
NEW = {11: ("test", 0, 0.40), 20: ("test", 1, 0.80), 21: ("test", 0, 0.60), 22: ("test", 1, 0.30),
       10: ("train", 1, 0.01), 12: ("train", 0, 0.99), 13: ("val", 1, 0.02), 14: ("train", 0, 0.97),
       1: ("train", 0, 0.98), 2: ("val", 1, 0.03), 3: ("train", 1, 0.04)}
TRUTH = {10: 1, 11: 0, 12: 0, 13: 0, 14: 0, 20: 1, 21: 1, 22: 1, 1: 0, 2: 1, 3: 0}

# Worked by hand: n, accuracy at 0.5, AUC (artifact ranked above non-artifact), categories %.
EXPECTED = {
    ("given labels", COLUMNS[0]): dict(n=5, accuracy=0.6, auc=3.5 / 6,
                                       cats=(20, 0, 20, 40, 20, 0)),  # old labels 1,1,0,0,0
    ("given labels", COLUMNS[1]): dict(n=5, accuracy=1.0, auc=1.0,
                                       cats=(0, 0, 40, 60, 0, 0)),  # new labels 1,0,0,1,0, old scores
    ("given labels", COLUMNS[2]): dict(n=4, accuracy=0.5, auc=0.5,
                                       cats=(0, 25, 25, 25, 25, 0)),  # new split, new scores
    ("truth", COLUMNS[0]): dict(n=5, accuracy=0.8, auc=1.0, cats=(0, 0, 20, 60, 20, 0)),
    ("truth", COLUMNS[1]): dict(n=5, accuracy=0.8, auc=1.0, cats=(0, 0, 20, 60, 20, 0)),
    ("truth", COLUMNS[2]): dict(n=4, accuracy=0.75, auc=2 / 3, cats=(0, 25, 50, 25, 0, 0)),
}


def _scores(rows: dict[int, tuple[str, int, float]]) -> pd.DataFrame:
    table = pd.DataFrame([(sample, *values) for sample, values in rows.items()],
                         columns=["id", "split", "label", "artifact_score"])
    return table.sample(frac=1.0, random_state=1).reset_index(drop=True)


def _labels(mapping: dict[int, int], column: str) -> pd.DataFrame:
    return pd.DataFrame({"id": list(mapping), column: list(mapping.values())}).sample(frac=1.0, random_state=2)


def _table(truth: pd.DataFrame | None) -> pd.DataFrame:
    return before_after_table(old_scores=_scores(OLD), new_scores=_scores(NEW),
                              new_labels=_labels(NEW_LABELS, "label"), truth=truth)


def test_each_column_uses_its_own_labels_and_scores():
    table = _table(_labels(TRUTH, "true_label"))
    assert list(zip(table["judged_by"], table["column"])) == list(EXPECTED)
    for (judge, column), expected in EXPECTED.items():
        row = table[(table["judged_by"] == judge) & (table["column"] == column)].iloc[0]
        where = f"{judge} / {column}"
        assert row["n"] == expected["n"], where
        assert row["accuracy"] == pytest.approx(expected["accuracy"]), where
        assert row["auc"] == pytest.approx(expected["auc"]), where
        assert [row[f"cat{k}"] for k in range(1, 7)] == pytest.approx(expected["cats"]), where


def test_the_columns_differ_from_each_other_as_the_hand_worked_numbers_do():
    """The three choices (old or new labels, old or new split and scores) each move a number."""
    given = _table(None).set_index("column")
    accuracy = given["accuracy"]
    assert len(set(accuracy.round(6))) == 3, accuracy


def test_without_truth_only_the_given_label_rows():
    for truth in (None, pd.DataFrame({"id": pd.Series(dtype="int64"), "true_label": pd.Series(dtype="int64")})):
        table = _table(truth)
        assert table["judged_by"].tolist() == ["given labels"] * 3
        assert table["column"].tolist() == list(COLUMNS)
