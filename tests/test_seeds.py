from __future__ import annotations

import math

import pytest

from realbogus.seeds import SEED_STRIDE, spread_of, spread_over_seeds, training_seeds


def test_seeds_start_at_the_base_seed_and_stay_clear_of_fold_seeds() -> None:
    assert training_seeds(base_seed=7, n_seeds=1) == [7]
    seeds = training_seeds(base_seed=7, n_seeds=3)
    assert seeds == [7, 7 + SEED_STRIDE, 7 + 2 * SEED_STRIDE]
    assert not set(seeds[1:]) & {7 + fold for fold in range(10)}  # crossfit trains fold k with seed + k
    with pytest.raises(ValueError, match="n_seeds must be >= 1"):
        training_seeds(base_seed=7, n_seeds=0)


def test_spread_is_mean_sample_std_and_range() -> None:
    spread = spread_of([0.97, 0.98, 0.99])
    assert spread.mean == pytest.approx(0.98) and spread.std == pytest.approx(0.01)
    assert (spread.low, spread.high, spread.n) == (0.97, 0.99, 3)
    assert spread.text(digits=3) == "0.980 +- 0.010 (3 seeds)"
    assert spread.as_metrics("auc") == pytest.approx({"auc_mean": 0.98, "auc_std": 0.01, "auc_min": 0.97,
                                                      "auc_max": 0.99})
    single = spread_of([0.5])
    assert single.std == 0.0 and single.text() == "0.500"
    with pytest.raises(ValueError, match="finite"):
        spread_of([0.1, math.nan])


def test_spread_over_seeds_keeps_figures_every_seed_has() -> None:
    figures = [{"auc": 0.98, "fpr_at_mdr_0.05": 0.05, "n": 100, "note": "x", "cat1": None},
               {"auc": 0.96, "fpr_at_mdr_0.05": 0.07, "n": 100, "note": "y", "cat1": 1.0}]
    spread = spread_over_seeds(figures)
    assert set(spread) == {"auc", "fpr_at_mdr_0.05", "n"}
    assert spread["auc"].mean == pytest.approx(0.97) and spread["auc"].values == (0.98, 0.96)
    assert spread["n"].std == 0.0
    with pytest.raises(ValueError, match="at least one seed"):
        spread_over_seeds([])
