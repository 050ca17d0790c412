"""Table 4 (report.before_after_table): which labels and which scores each column uses.

Hand-made tables where every wrong choice gives another number: old and new test splits
differ, train and validation rows carry scores that would change any figure they entered,
the new labels differ from the old on the old test split, the truth differs from both, and
every table comes in its own row order.
"""

from __future__ import annotations

import pandas as pd
import pytest

from realbogus.figure_tables import AFTER
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


def _table(truth: pd.DataFrame | None, *, intervals: bool = False) -> pd.DataFrame:
    return before_after_table(old_scores=_scores(OLD), new_scores=_scores(NEW),
                              new_labels=_labels(NEW_LABELS, "label"), truth=truth, intervals=intervals)


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


def _seed(scores: pd.DataFrame, shift: float) -> pd.Series:
    """A seed's scores: the table's own, moved by ``shift`` for the ids of one half."""
    moved = scores.set_index("id")["artifact_score"].copy()
    moved.loc[moved.index % 2 == 0] = (moved.loc[moved.index % 2 == 0] + shift).clip(0, 1)
    return moved


def test_each_seed_pair_gives_the_table_its_own_scores_give():
    from realbogus.report import seed_spread_table, spread_summary

    old, new = _scores(OLD), _scores(NEW)
    new_labels, truth = _labels(NEW_LABELS, "label"), _labels(TRUTH, "true_label")
    old_seeds = {7: _seed(old, 0.0), 1007: _seed(old, 0.6), 2007: _seed(old, -0.4)}
    new_seeds = {7: _seed(new, 0.0), 1007: _seed(new, -0.5), 2007: _seed(new, 0.3)}
    per_seed = seed_spread_table(old_scores=old, new_scores=new, old_seed_scores=old_seeds,
                                 new_seed_scores=new_seeds, new_labels=new_labels, truth=truth)
    assert sorted(per_seed["seed_index"].unique()) == [0, 1, 2]
    # Seed k of the first training is paired with seed k of the retraining.
    for k, (old_seed, new_seed) in enumerate(zip(old_seeds.values(), new_seeds.values())):
        expected = before_after_table(
            old_scores=old.assign(artifact_score=old_seed.loc[old["id"]].to_numpy()),
            new_scores=new.assign(artifact_score=new_seed.loc[new["id"]].to_numpy()),
            new_labels=new_labels, truth=truth)
        got = per_seed[per_seed["seed_index"] == k].drop(columns="seed_index").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
    # Seed 7 scores are the table's own: its rows are the single-run Table 4.
    pd.testing.assert_frame_equal(per_seed[per_seed["seed_index"] == 0].drop(columns="seed_index")
                                  .reset_index(drop=True), _table(truth))
    summary = spread_summary(per_seed).set_index(["judged_by", "column"])
    cell = per_seed[(per_seed["judged_by"] == "truth") & (per_seed["column"] == COLUMNS[2])]["accuracy"]
    assert summary.loc[("truth", COLUMNS[2]), "accuracy_mean"] == pytest.approx(cell.mean())
    assert summary.loc[("truth", COLUMNS[2]), "accuracy_std"] == pytest.approx(cell.std(ddof=1))
    assert cell.std() > 0  # the seeds really differ there


def test_a_seed_spread_needs_two_seeds_on_both_sides():
    from realbogus.report import seed_spread_table

    old, new = _scores(OLD), _scores(NEW)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_spread_table(old_scores=old, new_scores=new, old_seed_scores={7: _seed(old, 0)},
                          new_seed_scores={7: _seed(new, 0), 1007: _seed(new, 0.1)}, new_labels=_labels(NEW_LABELS, "label"))


@pytest.mark.parametrize(("before", "after", "reproducible", "says"), [
    ([0.020], [0.015], False, "no conclusion is drawn"),  # one CNN training: never a conclusion
    ([0.020], [0.015], True, "relabelling lowers"),  # a feature model reproduces exactly
    ([0.020], [0.025], True, "relabelling raises"),
    ([0.020, 0.021, 0.019], [0.015, 0.0155, 0.0145], False, "relabelling lowers"),  # -0.5 +- 0.05 points
    ([0.020, 0.021, 0.019], [0.026, 0.027, 0.025], False, "relabelling raises"),
    ([0.020, 0.021, 0.019], [0.015, 0.024, 0.018], False, "within the seed spread"),  # -0.1 +- 0.4 points
    ([0.020, 0.020, 0.020], [0.015, 0.016, 0.0205], False, "within the seed spread"),  # signs disagree
])
def test_a_conclusion_is_drawn_only_beyond_the_seed_spread(before, after, reproducible, says):
    from realbogus.report import relabel_conclusion

    text = relabel_conclusion(fpr_before=before, fpr_after=after, same_on_every_machine=reproducible)
    assert says in text, text
    if len(before) > 1:
        assert f"over {len(before)} seeds" in text


@pytest.mark.parametrize(("before", "after", "reproducible", "interval", "says"), [
    ([0.020], [0.015], True, (-0.009, -0.001), "relabelling lowers"),  # beyond the sampling too
    ([0.020], [0.015], True, (-0.011, 0.002), "within the test splits' sampling"),
    ([0.020], [0.025], True, (-0.003, 0.012), "within the test splits' sampling"),
    ([0.020], [0.015], True, (0.001, 0.004), "within the test splits' sampling"),  # excludes 0 on the other side
    ([0.020], [0.015], False, (-0.009, -0.001), "no conclusion is drawn"),  # one CNN training: still none
    ([0.020, 0.021, 0.019], [0.015, 0.0155, 0.0145], False, (-0.009, -0.002), "beyond the seed spread."),
    ([0.020, 0.021, 0.019], [0.015, 0.0155, 0.0145], False, (-0.012, 0.003),
     "beyond the seed spread but within the test splits' sampling"),
])
def test_a_conclusion_also_needs_the_change_beyond_the_test_splits_sampling(before, after, reproducible, interval,
                                                                             says):
    from realbogus.report import relabel_conclusion

    text = relabel_conclusion(fpr_before=before, fpr_after=after, same_on_every_machine=reproducible,
                              sampling_interval=interval)
    assert says in text, text
    if reproducible or len(before) > 1:
        assert f"90% interval of {100 * interval[0]:+.2f} to {100 * interval[1]:+.2f} points" in text, text
    if "within" in says:
        assert "no conclusion is drawn" in text


def test_the_summary_states_the_spread_and_gates_the_conclusion(tmp_path):
    from realbogus.report import seed_spread_table, write_summary

    old, new = _scores(OLD), _scores(NEW)
    new_labels = _labels(NEW_LABELS, "label")
    table = _table(None)
    per_seed = seed_spread_table(old_scores=old, new_scores=new, old_seed_scores={7: _seed(old, 0), 1007: _seed(old, 0.6)},
                                 new_seed_scores={7: _seed(new, 0), 1007: _seed(new, -0.5)}, new_labels=new_labels)
    path = tmp_path / "summary.md"
    write_summary(path=path, tables={"rf": table, "model1": table, "model2": table}, merge={}, mining=None, figures=[],
                  seed_tables={"model2": per_seed}, reproducible_members=["rf"])
    text = path.read_text()
    sections = {name: text.split(f"## {name}\n")[1].split("\n## ")[0] for name in ("rf", "model1", "model2")}
    assert "reproduce exactly on every machine" in sections["rf"]
    assert "one training" in sections["model1"] and "no conclusion" in sections["model1"]
    assert "Mean and spread over 2 seeds" in sections["model2"] and "over 2 seeds" in sections["model2"].split("Conclusion")[1]
    assert "fpr_at_mdr_0.05_std" in sections["model2"]
    # A member's sampling interval gates its conclusion: rf's change is now within it.
    write_summary(path=path, tables={"rf": table}, merge={}, mining=None, figures=[], reproducible_members=["rf"],
                  change_intervals={"rf": (-0.01, 0.002)})
    rf = path.read_text().split("## rf\n")[1]
    assert "within the test splits' sampling" in rf.split("Conclusion")[1] and "no conclusion is drawn" in rf


def test_evaluate_member_writes_the_table_the_figure_and_flat_metrics(tmp_path):
    from realbogus.report import evaluate_member

    old_dir, new_dir, out = tmp_path / "models" / "m", tmp_path / "retrain" / "m", tmp_path / "evaluate"
    for folder, rows in ((old_dir, OLD), (new_dir, NEW)):
        folder.mkdir(parents=True)
        _scores(rows).to_parquet(folder / "scores.parquet")
    (new_dir / "history.csv").write_text("epoch,loss,val_loss\n1,0.5,0.6\n2,0.4,0.5\n")
    out.mkdir()
    truth = _labels(TRUTH, "true_label")
    evaluation = evaluate_member(member="m", old_dir=old_dir, new_dir=new_dir,
                                 new_labels=_labels(NEW_LABELS, "label"), truth=truth, out_dir=out)
    pd.testing.assert_frame_equal(evaluation.table, _table(truth, intervals=True))
    written = pd.read_csv(out / "table4_m.csv")
    assert written["auc"].to_numpy() == pytest.approx(evaluation.table["auc"].to_numpy(), rel=1e-5)
    assert evaluation.figure == out / "roc_before_after_m.png" and evaluation.figure.stat().st_size > 0
    assert list(evaluation.histories) == [AFTER]  # the first training wrote no learning curves
    assert evaluation.seed_table is None and not (out / "table4_m_seeds.csv").exists()
    # truth, train-new/test-new: 0.75 worked by hand above; column index 2
    assert evaluation.metrics["m.truth.2.accuracy"] == pytest.approx(0.75)
    assert evaluation.metrics["m.given.0.auc"] == pytest.approx(3.5 / 6)
    # judged by given/truth x three columns x five figures (auc, FPR with its interval's ends, accuracy),
    # and the ends of the FPR change's interval
    assert len(evaluation.metrics) == 2 * 3 * 5 + 2
    for _, row in evaluation.table.iterrows():
        assert row["fpr_at_mdr_0.05_low"] <= row["fpr_at_mdr_0.05"] <= row["fpr_at_mdr_0.05_high"]
    low, high = evaluation.fpr_change_interval
    assert (evaluation.metrics["m.given.fpr_change_low"], evaluation.metrics["m.given.fpr_change_high"]) == (low, high)
    assert low <= high


def test_the_summary_gives_the_mining_margin_its_interval(tmp_path):
    from realbogus.report import write_summary

    rounds = [{"round": "round1", "budget": 180, "mislabelled_in_pool": 177, "miner_precision_at_budget": 0.73,
               "miner_recall_at_budget": 0.74, "miner_auprc": 0.844, "best_cleanlab_auprc": 0.791,
               "auprc_margin_low": 0.021, "auprc_margin_high": 0.088, "cumulative_recall": 0.74}]
    mining = {"truth_available": True, "n_mislabelled": 177, "budget": 180, "ours_precision_at_budget": 0.73,
              "ours_recall_at_budget": 0.74, "ours_auprc": 0.844, "best_cleanlab_auprc": 0.791,
              "best_cleanlab_method": "cleanlab_ensemble_self_confidence", "auprc_margin_low": 0.021,
              "auprc_margin_high": 0.088, "rounds": rounds}
    path = tmp_path / "summary.md"
    write_summary(path=path, tables={"rf": _table(None)}, merge={}, mining=mining, figures=[])
    text = path.read_text()
    assert "our margin +0.053, 90% interval +0.021 to +0.088" in text
    assert "auprc_margin_low" in text and "| 0.0210 | 0.0880 |" in text  # the rounds table's columns
    # Metrics of a stage run before the interval existed: the line without it, the table with n/a.
    older = {key: value for key, value in mining.items() if not key.startswith("auprc_margin")}
    older["rounds"] = [{key: value for key, value in rounds[0].items() if not key.startswith("auprc_margin")}]
    write_summary(path=path, tables={"rf": _table(None)}, merge={}, mining=older, figures=[])
    text = path.read_text()
    assert "our margin" not in text and "| n/a | n/a |" in text
