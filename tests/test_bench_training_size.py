"""benchmarks/bench_training_size.py: the realism figures on one fixed test split per training-set size."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.params import load_params

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from feature_models.synthetic import synthetic_features  # noqa: E402
from script_modules import load_script  # noqa: E402


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    return load_script("benchmarks/bench_training_size.py")


def test_training_sets_are_nested_and_validation_shrinks_in_proportion(bench):
    split = np.array(["train"] * 700 + ["val"] * 100 + ["test"] * 200)
    chosen = bench.nested_training_rows(split, sizes=[70, 350, 700], seed=3)
    small, middle, full = (chosen[size] for size in (70, 350, 700))
    assert [rows.size for rows, _ in (small, middle, full)] == [70, 350, 700]
    assert [val.size for _, val in (small, middle, full)] == [10, 50, 100]
    assert set(small[0]) <= set(middle[0]) <= set(full[0])
    assert set(small[1]) <= set(middle[1])
    assert np.all(split[full[0]] == "train") and np.all(split[full[1]] == "val")
    with pytest.raises(ValueError, match="701 must be in 1..700"):
        bench.nested_training_rows(split, sizes=[701], seed=3)


def test_curve_splits_the_strong_share_into_mislabelled_and_correct(bench):
    n = 2000
    table, true_labels = synthetic_features(n, seed=5)
    rng = np.random.default_rng(5)
    flipped = rng.random(n) < 0.04
    given = np.where(flipped, 1 - true_labels, true_labels)
    table["MAG"] += 6 * true_labels  # a third feature, so that the members are sure of the true class
    features = table.assign(id=np.arange(1, n + 1), label=given)
    truth = pd.DataFrame({"id": features["id"], "true_label": true_labels,
                          "scene_kind": np.where(true_labels == 0, "fake", "artifact"),
                          "artifact_type": np.where(true_labels == 0, "none", "dipole")})
    params = copy.deepcopy(load_params(REPO / "params.yaml"))
    params["feature_models"]["rf"]["n_estimators"] = 40
    params["feature_models"]["hgb"]["max_iter"] = 60

    curve = bench.training_size_curve(features=features, truth=truth, params=params, sizes=[150, 1400],
                                      members=["rf", "hgb"], seed=1)

    assert [point["train_size"] for point in curve] == [150, 1400]
    assert len({point["test_size"] for point in curve}) == 1  # one fixed test split
    for point in curve:
        for member in ("rf", "hgb"):
            figures = point[member]
            assert figures["n"] == point["test_size"]
            assert figures["strong_mislabelled_share"] + figures["strong_correct_share"] == pytest.approx(
                figures["strongly_misclassified_share"])
        several = point["several_strongly_misclassified"]
        assert several["n_flagged"] - several["n_flagged_mislabelled"] == sum(several["correct_by_kind"].values())
        assert set(several["correct_by_kind"]) <= {"fake", "artifact:dipole"}
    # Three features carry the true label, so the bigger training set finds many of the flipped test labels, and little else.
    # (4 % of the labels are flipped: with the rows misaligned, a flag would be a mislabel 4 % of the time.)
    big = curve[1]
    assert big["several_strongly_misclassified"]["mislabelled_share"] > 0.8
    assert big["several_strongly_misclassified"]["recall"] > 0.3
    assert big["rf"]["strong_mislabelled_share"] > big["rf"]["strong_correct_share"]
