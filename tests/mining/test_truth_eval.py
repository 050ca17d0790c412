from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from realbogus.mining.ranking import ensemble_rank_score
from realbogus.mining.truth_eval import (
    CLEANLAB_METHODS,
    auprc_margin_interval,
    OUR_METHOD,
    check_truth,
    cleanlab_suspicion,
    compare_with_cleanlab,
    comparison_as_records,
    evaluate_suspicion,
    truth_annotations,
)


def test_evaluate_suspicion_hand_example():
    # 8 samples; rows 0 (given 0, truly 1) and 5 (given 1, truly 0) are mislabelled.
    given = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    truth = np.array([1, 0, 0, 0, 1, 0, 1, 1])
    mechanism = np.array(["bad_ccd", "none", "none", "none", "none", "real_transient", "none", "none"])
    suspicion = np.array([0.9, 0.1, 0.8, 0.0, 0.2, 0.7, 0.3, 0.8])  # rows 2 and 7 tie at 0.8
    table = evaluate_suspicion(
        suspicion=suspicion, given_labels=given, true_labels=truth, mechanism=mechanism, budget=3
    )
    overall = table[table["subset_kind"] == "all"].iloc[0]
    # Order: 0 (0.9), 2 (0.8, lower row wins the tie), 7 (0.8), 5 (0.7): top 3 = {0, 2, 7}.
    assert overall["n_selected"] == 3 and overall["n_found"] == 1
    assert overall["precision_at_budget"] == pytest.approx(1 / 3)
    assert overall["recall_at_budget"] == pytest.approx(1 / 2)
    assert overall["auprc"] == pytest.approx(average_precision_score(given != truth, suspicion))
    # Recall 1 at precision 0.5 needs a cut of 4; precision 0.9 only allows the first.
    assert overall["recall_at_target_precision"] == pytest.approx(0.5) and overall["cut_at_target_precision"] == 1
    rows = table.set_index("subset")
    # Direction given0_true1: subset = given 0 rows {0,1,2,3}; selected there {0, 2}.
    assert rows.loc["given0_true1", "precision_at_budget"] == pytest.approx(0.5)
    assert rows.loc["given0_true1", "recall_at_budget"] == pytest.approx(1.0)
    assert rows.loc["given1_true0", "recall_at_budget"] == pytest.approx(0.0)
    expected = average_precision_score([0, 1, 0, 0], [0.2, 0.7, 0.3, 0.8])  # given-1 rows 4..7
    assert rows.loc["given1_true0", "auprc"] == pytest.approx(expected)
    # Mechanism real_transient: subset = correct rows + row 5.
    assert rows.loc["real_transient", "n_mislabelled"] == 1
    assert rows.loc["real_transient", "precision_at_budget"] == pytest.approx(0.0)
    assert set(rows.index) == {"all", "given0_true1", "given1_true0", "bad_ccd", "real_transient"}


def test_inconsistent_truth_names_the_row():
    with pytest.raises(ValueError, match="row 1 has given label 0, true label 0 and mechanism 'bad_ccd'"):
        check_truth(given_labels=np.array([1, 0]), true_labels=np.array([0, 0]), mechanism=np.array(["x", "bad_ccd"]))
    with pytest.raises(ValueError, match="row 0 has given label 1, true label 0 and mechanism 'none'"):
        check_truth(given_labels=np.array([1, 0]), true_labels=np.array([0, 0]), mechanism=np.array(["none", "none"]))


def test_cleanlab_suspicion_turns_quality_into_suspicion():
    given = np.array([0, 0, 0, 1, 1, 1] * 10)
    scores = np.tile(np.array([[0.1, 0.2], [0.05, 0.1], [0.95, 0.97], [0.9, 0.8], [0.85, 0.95], [0.02, 0.05]]), (10, 1))
    methods = cleanlab_suspicion(given_labels=given, member_scores=scores)
    assert tuple(methods) == CLEANLAB_METHODS
    for name, (suspicion, flagged) in methods.items():
        # Rows 2 and 5 contradict their label under both members: the most suspicious.
        top = np.argsort(-suspicion, kind="stable")[:20]
        assert set(top % 6) == {2, 5}, name
        if name.startswith("cleanlab_find_label_issues"):
            assert flagged is not None and flagged[2] and not flagged[0]
        else:
            assert flagged is None


def test_compare_with_cleanlab_returns_every_method(ensemble):
    score = ensemble_rank_score(given_labels=ensemble.given_labels, member_scores=ensemble.member_scores)
    n_flips = int((ensemble.given_labels != ensemble.true_labels).sum())
    comparison = compare_with_cleanlab(
        rank_score=score, given_labels=ensemble.given_labels, member_scores=ensemble.member_scores,
        true_labels=ensemble.true_labels, mechanism=ensemble.mechanism, budget=n_flips,
    )
    assert list(comparison["method"]) == [OUR_METHOD, *CLEANLAB_METHODS]
    for column in ("auprc", "precision_at_budget", "recall_at_budget", "recall_at_target_precision",
                   "auprc[direction=given0_true1]", "recall_at_budget[mechanism=bad_ccd]",
                   "precision_flagged"):
        assert column in comparison.columns, column
    # Everything finds most flips on these easy members; budget = number of flips, so
    # precision equals recall.
    assert (comparison["auprc"] > 0.8).all()
    np.testing.assert_allclose(comparison["precision_at_budget"], comparison["recall_at_budget"])
    ours = comparison.iloc[0]
    assert ours["auprc"] == pytest.approx(average_precision_score(ensemble.given_labels != ensemble.true_labels, score))
    # Only find_label_issues has a flagged set.
    flagged = comparison.set_index("method")["precision_flagged"]
    assert flagged[[m for m in CLEANLAB_METHODS if "find_label_issues" in m]].notna().all()
    assert flagged[[OUR_METHOD, "cleanlab_ensemble_self_confidence"]].isna().all()
    records = comparison_as_records(comparison)
    assert json.loads(json.dumps(records, allow_nan=False))[0]["method"] == OUR_METHOD


def test_truth_annotations():
    lines = truth_annotations(
        rows=np.array([1, 0]), given_labels=np.array([1, 0]), true_labels=np.array([0, 0]),
        mechanism=np.array(["real_transient", "none"]),
    )
    assert lines == ["truth 0: label correct", "truth 0: MISLABELLED (real_transient)"]


def test_the_auprc_margin_interval_is_paired_and_excludes_zero_for_a_real_margin():
    rng = np.random.default_rng(4)
    wrong = np.zeros(5000, dtype=bool)
    wrong[:60] = True
    shared = rng.normal(0.0, 1.0, wrong.size)  # what both rankings see: the hard samples they share
    weak = shared + 1.5 * wrong
    strong = weak + 1.0 * wrong
    # The same ranking twice: every resample gives 0, so does the interval (pairing).
    assert auprc_margin_interval(is_mislabelled=wrong, ours=weak, theirs=weak, resamples=200) == (0.0, 0.0)
    low, high = auprc_margin_interval(is_mislabelled=wrong, ours=strong, theirs=weak, resamples=200)
    assert 0.0 < low < high
    assert low <= average_precision_score(wrong, strong) - average_precision_score(wrong, weak) <= high
    # The reverse comparison mirrors it (the same seed draws the same resamples).
    assert auprc_margin_interval(is_mislabelled=wrong, ours=weak, theirs=strong, resamples=200) == pytest.approx(
        (-high, -low))
    # Nothing mislabelled: no AUPRC, no interval.
    assert auprc_margin_interval(is_mislabelled=np.zeros(10, dtype=bool), ours=np.arange(10.0),
                                 theirs=np.arange(10.0)) is None
    with pytest.raises(ValueError, match="one entry per sample"):
        auprc_margin_interval(is_mislabelled=wrong, ours=weak[:-1], theirs=weak)


def test_compare_with_cleanlab_uses_the_cleanlab_scores_it_is_given(ensemble):
    score = ensemble_rank_score(given_labels=ensemble.given_labels, member_scores=ensemble.member_scores)
    given = cleanlab_suspicion(given_labels=ensemble.given_labels, member_scores=ensemble.member_scores)
    reversed_scores = {name: (-suspicion, flagged) for name, (suspicion, flagged) in given.items()}
    kwargs = dict(rank_score=score, given_labels=ensemble.given_labels, member_scores=ensemble.member_scores,
                  true_labels=ensemble.true_labels, mechanism=ensemble.mechanism, budget=10)
    computed = compare_with_cleanlab(**kwargs).set_index("method")["auprc"]
    passed = compare_with_cleanlab(**kwargs, cleanlab_scores=given).set_index("method")["auprc"]
    pd.testing.assert_series_equal(computed, passed)
    reversed_auprc = compare_with_cleanlab(**kwargs, cleanlab_scores=reversed_scores).set_index("method")["auprc"]
    assert (reversed_auprc.drop(OUR_METHOD) < computed.drop(OUR_METHOD)).all()


def test_the_resampled_auprc_is_sklearns_on_the_resample_ties_included():
    from realbogus.metrics import stratified_bootstrap_rows
    from realbogus.mining.truth_eval import _RankedForResampling

    rng = np.random.default_rng(8)
    positive = rng.random(400) < 0.1
    score = np.round(rng.normal(0.0, 1.0, 400) + positive, 1)  # rounded: many ties
    ranked = _RankedForResampling(positive=positive, score=score)
    assert ranked.average_precision(np.ones(400, dtype=int)) == pytest.approx(average_precision_score(positive, score))
    for _ in range(5):
        rows = stratified_bootstrap_rows(positive, rng=rng)
        counts = np.bincount(rows, minlength=400)
        assert ranked.average_precision(counts) == pytest.approx(average_precision_score(positive[rows], score[rows]))
