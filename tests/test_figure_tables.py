"""The tables behind the DVC plots and the headline numbers, on made-up scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.figure_tables import AFTER, BEFORE, write_figure_tables
from realbogus.metrics import fpr_at_mdr
from realbogus.report import COLUMNS, before_after_table, pipeline_headline
from realbogus.stage_tables import read_history, write_history


def _scores(seed: int, n: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    score = np.clip(0.5 + (labels - 0.5) * 0.6 + rng.normal(0, 0.2, n), 0, 1)
    return pd.DataFrame({"id": np.arange(n), "split": np.where(np.arange(n) % 3 == 0, "test", "train"),
                         "label": labels, "artifact_score": score.astype(np.float32)})


@pytest.fixture()
def tables(tmp_path: Path) -> dict[str, pd.DataFrame]:
    before = {"rf": _scores(1), "cnn": _scores(2)}
    after = {"rf": _scores(3), "cnn": _scores(4)}
    table4 = {member: before_after_table(old_scores=before[member], new_scores=after[member],
                                         new_labels=before[member][["id", "label"]]) for member in before}
    write_history({"loss": [0.7, 0.5], "val_loss": [0.72, 0.6]}, tmp_path / "model" / "history.csv")
    history = read_history(tmp_path / "model")
    assert read_history(tmp_path / "nothing-here") is None
    write_figure_tables(out_dir=tmp_path / "out", before=before, after=after, table4=table4,
                        histories={("cnn", BEFORE): history})
    return {"table4": table4, "before": before, **{path.stem: pd.read_csv(path) for path in (tmp_path / "out").iterdir()}}


def test_every_member_before_and_after_in_each_table(tables: dict) -> None:
    for name in ("roc", "score_hist", "threshold_curves"):
        pairs = set(zip(tables[name]["member"], tables[name]["when"]))
        assert pairs == {(member, when) for member in ("rf", "cnn") for when in (BEFORE, AFTER)}, name
    # The ROC is the test split's: its FPR at MDR 0.05 is the one the headline reports.
    rf_before = tables["roc"].query("member == 'rf' and when == @BEFORE")
    test = tables["before"]["rf"].query("split == 'test'")
    exact = fpr_at_mdr(labels=test["label"].to_numpy(), artifact_score=test["artifact_score"].to_numpy(), mdr=0.05)
    assert rf_before.loc[rf_before["mdr"] <= 0.05, "fpr"].min() == pytest.approx(exact, abs=1e-6)
    histogram = tables["score_hist"].query("member == 'rf' and when == @BEFORE")
    assert histogram["count"].sum() == len(test)
    categories = tables["categories"]
    assert set(categories["column"]) == set(COLUMNS) and sorted(set(categories["category"])) == [1, 2, 3, 4, 5, 6]
    for _, group in categories.groupby(["member", "column"]):
        assert group["percent"].sum() == pytest.approx(100.0)


def test_learning_curves_in_long_form(tables: dict) -> None:
    curves = tables["learning_curves"]
    assert curves.to_dict("records")[:2] == [
        {"member": "cnn", "when": BEFORE, "epoch": 1, "metric": "loss", "value": 0.7},
        {"member": "cnn", "when": BEFORE, "epoch": 2, "metric": "loss", "value": 0.5}]
    assert len(curves) == 4


def test_headline_holds_the_few_numbers_to_compare(tables: dict) -> None:
    mining = {"truth_available": True, "ours_precision_at_budget": 0.76, "ours_recall_at_budget": 0.7333333,
              "ours_auprc": 0.79212, "cumulative_recall": 0.861}
    headline = pipeline_headline(tables=tables["table4"], merge={"changed_0_to_1": 160, "changed_1_to_0": 60},
                                 mining=mining)
    given = tables["table4"]["rf"].query("judged_by == 'given labels'").set_index("column")
    assert headline["rf"] == {"auc": round(given.loc[COLUMNS[2], "auc"], 4),
                              "fpr_before": round(given.loc[COLUMNS[0], "fpr_at_mdr_0.05"], 4),
                              "fpr_after": round(given.loc[COLUMNS[2], "fpr_at_mdr_0.05"], 4)}
    assert headline["mining"] == {"precision": 0.76, "recall": 0.7333, "auprc": 0.7921, "recall_all_rounds": 0.861}
    assert headline["labels"] == {"up": 160, "down": 60}
    assert "mining" not in pipeline_headline(tables=tables["table4"], merge={}, mining={"truth_available": False})


def test_history_of_unequal_lengths_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="different lengths"):
        write_history({"loss": [0.7, 0.5], "val_loss": [0.7]}, tmp_path / "history.csv")
