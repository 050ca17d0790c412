import numpy as np
import pytest

from realbogus.split import assign_splits, split_table


def _labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2, n)


def test_fractions_and_stratification():
    ids = np.arange(10_000) * 7 + 3
    labels = _labels(10_000)
    splits = assign_splits(ids=ids, labels=labels, fractions={"train": 0.7, "val": 0.1, "test": 0.2}, seed=1)
    for name, fraction in {"train": 0.7, "val": 0.1, "test": 0.2}.items():
        chosen = splits == name
        assert abs(chosen.mean() - fraction) < 1e-3
        # each split keeps the overall class balance
        assert abs(labels[chosen].mean() - labels.mean()) < 0.01


def test_paper_first_analysis_with_reserve():
    ids = np.arange(2000)
    splits = assign_splits(ids=ids, labels=_labels(2000),
                           fractions={"train": 0.5, "val": 0.05, "test": 0.05, "reserve": 0.4}, seed=3)
    counts = {name: int((splits == name).sum()) for name in ("train", "val", "test", "reserve")}
    assert sum(counts.values()) == 2000
    assert counts["reserve"] == pytest.approx(800, abs=2)


def test_seeded_and_independent_of_row_order():
    ids = np.arange(500)
    labels = _labels(500)
    first = split_table(ids=ids, labels=labels, fractions={"train": 0.7, "val": 0.1, "test": 0.2}, seed=5)
    order = np.random.default_rng(9).permutation(500)
    shuffled = split_table(ids=ids[order], labels=labels[order], fractions={"train": 0.7, "val": 0.1, "test": 0.2}, seed=5)
    assert first.equals(shuffled)
    other_seed = split_table(ids=ids, labels=labels, fractions={"train": 0.7, "val": 0.1, "test": 0.2}, seed=6)
    assert not first.equals(other_seed)


@pytest.mark.parametrize("fractions, message", [
    ({"train": 0.7, "val": 0.1}, "sum to 1"),
    ({"train": 0.9, "val": 0.05, "test": 0.1}, "sum to 1"),
    ({"train": 1.0, "val": 0.0, "test": 0.0}, r"\(0, 1\]"),
    ({"train": 0.8, "validation": 0.1, "test": 0.1}, "'val'"),
])
def test_bad_fractions_are_refused(fractions, message):
    with pytest.raises(ValueError, match=message):
        assign_splits(ids=np.arange(10), labels=_labels(10), fractions=fractions, seed=0)


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="unique"):
        assign_splits(ids=np.array([1, 1, 2]), labels=np.array([0, 1, 0]),
                      fractions={"train": 0.7, "val": 0.1, "test": 0.2}, seed=0)
