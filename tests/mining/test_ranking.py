from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from realbogus.mining import ranking
from realbogus.mining.ranking import (
    candidate_table,
    disagreement_ranking,
    ensemble_rank_score,
    member_quality_weights,
    rank_order,
    select_candidates,
    write_candidates_csv,
)

from .synthetic import make_ensemble


def test_ranking_finds_the_flips(ensemble):
    score = ensemble_rank_score(given_labels=ensemble.given_labels, member_scores=ensemble.member_scores)
    is_flipped = ensemble.given_labels != ensemble.true_labels
    auprc = average_precision_score(is_flipped, score)
    base_rate = is_flipped.mean()
    assert auprc > 0.85, f"AUPRC {auprc:.3f} at a base rate of {base_rate:.3f}"
    # Most of the top-budget candidates are real flips.
    top = select_candidates(rank_score=score, budget=int(is_flipped.sum()))
    assert is_flipped[top].mean() > 0.8


def test_equal_weights_rank_by_strong_votes_then_margin():
    # Given label 0 everywhere: a score >= 0.9 is a strong vote (category 6).
    given = np.array([0, 0, 0, 0, 1, 1])
    scores = np.array(
        [
            [0.95, 0.95, 0.20],  # 2 strong votes, mean disagreement 0.70
            [0.91, 0.91, 0.91],  # 3 strong votes, mean 0.91
            [0.99, 0.89, 0.89],  # 1 strong vote, mean 0.923: more margin, fewer votes
            [0.10, 0.20, 0.30],  # agrees with the label
            [0.05, 0.50, 0.60],  # given 1, one member at < 0.1 (category 1), mean 0.617
            [0.10, 0.01, 0.60],  # given 1; 0.10 is category 2 (boundary), 0.01 category 1; mean 0.763
        ]
    )
    result = disagreement_ranking(given_labels=given, member_scores=scores, weighting="equal",
                                  rank_by="strong_votes")
    np.testing.assert_array_equal(result.strong_votes, [2, 3, 1, 0, 1, 1])
    np.testing.assert_allclose(result.mean_disagreement, [0.7, 0.91, 2.77 / 3, 0.2, 1.85 / 3, 2.29 / 3])
    # Votes first (rows 1 > 0 > {2, 5, 4} > 3); within one vote, the larger margin first.
    np.testing.assert_array_equal(rank_order(rank_score=result.rank_score), [1, 0, 2, 5, 4, 3])
    # The default ranks by the mean margin alone: row 2 (mean 0.923, one strong vote) now
    # leads, row 0 (two strong votes but mean 0.70) falls behind row 5 (mean 0.763).
    by_mean = disagreement_ranking(given_labels=given, member_scores=scores, weighting="equal")
    np.testing.assert_allclose(by_mean.rank_score, by_mean.mean_disagreement)
    np.testing.assert_array_equal(rank_order(rank_score=by_mean.rank_score), [2, 1, 5, 0, 4, 3])
    with pytest.raises(ValueError, match="rank_by"):
        disagreement_ranking(given_labels=given, member_scores=scores, rank_by="votes")


def test_quality_weights_silence_a_chance_level_member():
    data = make_ensemble(n_samples=3000, seed=3, member_noise=(1.0, 1.0, 1.0))
    rng = np.random.default_rng(7)
    with_noise_member = np.column_stack([data.member_scores, rng.random(3000)])
    weights, auc = member_quality_weights(given_labels=data.given_labels, member_scores=with_noise_member)
    assert abs(auc[-1] - 0.5) < 0.05
    assert weights[-1] < 0.1 * weights[:-1].min()
    np.testing.assert_allclose(weights.mean(), 1.0)
    is_flipped = data.given_labels != data.true_labels
    weighted = ensemble_rank_score(given_labels=data.given_labels, member_scores=with_noise_member)
    equal = ensemble_rank_score(given_labels=data.given_labels, member_scores=with_noise_member, weighting="equal")
    assert average_precision_score(is_flipped, weighted) > average_precision_score(is_flipped, equal)


def test_ties_are_broken_by_row_deterministically():
    score = np.array([0.5, 2.0, 0.5, 2.0, 1.0, 0.5])
    np.testing.assert_array_equal(rank_order(rank_score=score), [1, 3, 4, 0, 2, 5])
    np.testing.assert_array_equal(select_candidates(rank_score=score, budget=4), [1, 3, 4, 0])
    np.testing.assert_array_equal(select_candidates(rank_score=score, budget=10, min_rank_score=1.0), [1, 3, 4])
    assert select_candidates(rank_score=score, budget=0).size == 0


def test_candidates_csv_columns_and_byte_identical(ensemble, tmp_path):
    def write(path):
        score = ensemble_rank_score(given_labels=ensemble.given_labels, member_scores=ensemble.member_scores)
        rows = select_candidates(rank_score=score, budget=25)
        table = candidate_table(
            ids=ensemble.ids,
            given_labels=ensemble.given_labels,
            member_scores=ensemble.member_scores,
            member_names=ensemble.member_names,
            rank_score=score,
            rows=rows,
        )
        write_candidates_csv(table=table, path=path)
        return score, rows

    score, rows = write(tmp_path / "a" / "candidates.csv")
    write(tmp_path / "b" / "candidates.csv")
    first = (tmp_path / "a" / "candidates.csv").read_bytes()
    assert first == (tmp_path / "b" / "candidates.csv").read_bytes()
    assert not [p for p in (tmp_path / "a").iterdir() if p.name != "candidates.csv"], "temporary files left behind"

    table = pd.read_csv(tmp_path / "a" / "candidates.csv")
    names = ensemble.member_names
    assert list(table.columns) == [
        "id", "row", "given_label", "rank", "rank_score",
        *(f"score_{name}" for name in names), *(f"cat_{name}" for name in names),
    ]
    np.testing.assert_array_equal(table["rank"], np.arange(1, 26))
    np.testing.assert_array_equal(table["row"], rows)
    np.testing.assert_array_equal(table["id"], ensemble.ids[rows])
    assert (np.diff(table["rank_score"]) <= 1e-6).all()
    # Categories agree with the label and score: given 1 -> 1..3, given 0 -> 4..6.
    for name in names:
        given = table["given_label"].to_numpy()
        category = table[f"cat_{name}"].to_numpy()
        assert ((given == 1) & np.isin(category, [1, 2, 3]) | (given == 0) & np.isin(category, [4, 5, 6])).all()
        s = table[f"score_{name}"].to_numpy()
        assert ((category != 1) | (s < 0.1)).all() and ((category != 6) | (s >= 0.9)).all()


@pytest.mark.parametrize(
    ("given", "scores", "message"),
    [
        (np.array([0, 2]), np.array([[0.1], [0.2]]), "row 1 holds 2"),
        (np.array([0, 1]), np.array([[0.1], [1.2]]), "row 1, member column 0"),
        (np.array([0, 1]), np.array([[0.1], [np.nan]]), "finite and in \\[0, 1\\]"),
        (np.array([0, 1]), np.array([0.1, 0.2]), "shape \\(N, M\\)"),
        (np.array([0, 1, 1]), np.array([[0.1], [0.2]]), "expected one per sample \\(3\\)"),
        (np.array([0.0, 1.0]), np.array([[0.1], [0.2]]), "integer labels"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(given, scores, message):
    with pytest.raises(ValueError, match=message):
        ensemble_rank_score(given_labels=given, member_scores=scores, weighting="equal")


def test_auc_weighting_needs_both_labels_and_a_useful_member():
    with pytest.raises(ValueError, match="both given labels"):
        member_quality_weights(given_labels=np.array([1, 1]), member_scores=np.array([[0.2], [0.9]]))
    with pytest.raises(ValueError, match="no ensemble member beats chance"):
        # Scores reversed (non-artifact scores passed by mistake): AUC 0 for every member.
        reversed_scores = np.array([[0.9], [0.1], [0.8], [0.2]])
        member_quality_weights(given_labels=np.array([0, 1, 0, 1]), member_scores=reversed_scores)


def test_candidate_table_refuses_bad_names_and_ids(ensemble):
    kwargs = dict(
        ids=ensemble.ids, given_labels=ensemble.given_labels, member_scores=ensemble.member_scores,
        member_names=ensemble.member_names, rank_score=np.zeros(ensemble.ids.size), rows=np.array([0, 1]),
    )
    with pytest.raises(ValueError, match="duplicate name"):
        candidate_table(**{**kwargs, "member_names": ("a", "a", "b", "c", "d")})
    with pytest.raises(ValueError, match="not a usable name"):
        candidate_table(**{**kwargs, "member_names": ("a,b", "c", "d", "e", "f")})
    with pytest.raises(ValueError, match="appear more than once"):
        candidate_table(**{**kwargs, "ids": np.zeros(ensemble.ids.size, dtype=np.int64)})
    with pytest.raises(ValueError, match="outside 0.."):
        candidate_table(**{**kwargs, "rows": np.array([ensemble.ids.size])})
    with pytest.raises(ValueError, match="budget"):
        select_candidates(rank_score=np.zeros(3), budget=-1)


def test_module_exports_documented_columns():
    assert ranking.CANDIDATE_LEADING_COLUMNS == ("id", "row", "given_label", "rank", "rank_score")


def test_float32_boundary_scores_count_as_strong_votes():
    # A float32 score that reads 0.9 is category 6 (metrics.categories compares at the
    # scores' own precision); in float64 it would be 0.89999998 and fall in category 5.
    given = np.array([0, 1, 0, 1])
    scores = np.array([[0.9], [0.0999], [0.5], [0.6]], dtype=np.float32)
    result = disagreement_ranking(given_labels=given, member_scores=scores, weighting="equal")
    np.testing.assert_array_equal(result.strong_votes, [1, 1, 0, 0])
