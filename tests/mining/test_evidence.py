from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from realbogus.mining.evidence import (
    EvidenceConfig,
    base_suspicion,
    combined_rank_score,
    difficulty_regions,
    ensemble_margin_area,
    regional_reliability,
    reliability_weighted_disagreement,
    review_context,
    review_outcome_probability,
)
from realbogus.mining.run import EnsembleScores, rank_round, select_round_candidates
from realbogus.mining.rounds import empty_reviews
from realbogus.training_dynamics import margin_area


def test_margin_area_averages_the_given_label_margin_over_the_recorded_steps():
    labels = np.array([1, 0, 1])
    epoch_scores = np.array([[0.9, 0.8, np.nan],
                             [0.7, 0.6, np.nan]])
    # label 1: 2s - 1 -> 0.8, 0.4; label 0: 1 - 2s -> -0.6, -0.2; never recorded -> NaN.
    np.testing.assert_allclose(margin_area(given_labels=labels, epoch_scores=epoch_scores)[:2], [0.6, -0.4])
    assert np.isnan(margin_area(given_labels=labels, epoch_scores=epoch_scores)[2])
    with pytest.raises(ValueError, match="expected shape"):
        margin_area(given_labels=labels, epoch_scores=epoch_scores[:, :2])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        margin_area(given_labels=labels, epoch_scores=epoch_scores + 0.5)


def test_margin_suspicion_joins_the_disagreement_where_a_member_recorded_one():
    areas = np.array([[0.5, np.nan], [np.nan, np.nan], [-1.0, 0.0]])
    area = ensemble_margin_area(margin_areas=areas, member_weights=np.array([1.0, 3.0]))
    np.testing.assert_allclose(area[[0, 2]], [0.5, -0.25])
    assert np.isnan(area[1])
    disagreement = np.array([0.2, 0.3, 0.4])
    np.testing.assert_array_equal(base_suspicion(mean_disagreement=disagreement, margin_area=area,
                                                 training_dynamics=0.0), disagreement)
    mixed = base_suspicion(mean_disagreement=disagreement, margin_area=area, training_dynamics=0.5)
    np.testing.assert_allclose(mixed, [0.5 * 0.2 + 0.5 * 0.25, 0.3, 0.5 * 0.4 + 0.5 * 0.625])
    with pytest.raises(ValueError, match="training_dynamics must be in"):
        EvidenceConfig(training_dynamics=1.5)


def _systematic_noise(seed: int = 0):
    """Two look-alike groups the members cannot tell apart, both at disagreement ~0.75:
    in group A (feature 1 high) every label-0 sample is mislabelled (a fake on a defect),
    in group B (feature 2 high) the label-0 samples are right but hard.  Everything else is
    easy and correct."""
    rng = np.random.default_rng(seed)
    n = 3000
    group = rng.choice(["easy", "A", "B"], size=n, p=[0.9, 0.05, 0.05])
    labels = rng.integers(0, 2, n)
    labels[group != "easy"] = 0
    wrong = group == "A"
    features = rng.normal(0.0, 1.0, (n, 4))
    features[group == "A", 1] += 3.0
    features[group == "B", 2] += 3.0
    artifact = np.where(group == "easy", np.where(labels == 1, 0.95, 0.05), 0.75)
    member_scores = np.clip(artifact[:, None] + rng.normal(0.0, 0.08, (n, 3)), 0.0, 1.0)
    ids = np.arange(1000, 1000 + n)
    return ids, labels, wrong, features, member_scores


def test_the_review_model_learns_which_disagreement_was_real():
    ids, labels, wrong, features, member_scores = _systematic_noise()
    scores = EnsembleScores(ids=ids, given_labels=labels, member_names=("a", "b", "c"), member_scores=member_scores)
    first = rank_round(scores=scores, reviews=empty_reviews(), features=features)
    reviewed = select_round_candidates(ranking=first, budget=120)
    # The reviewers answer; the corrected labels are what round 2's members trained on,
    # but the ledger keeps the label each sample had when it was reviewed.
    reviews = pd.DataFrame({"id": ids[reviewed], "round": "round1", "old_label": labels[reviewed],
                            "new_label": np.where(wrong[reviewed], 1 - labels[reviewed], labels[reviewed]),
                            "outcome": np.where(wrong[reviewed], "corrected", "confirmed")})
    assert 0 < wrong[reviewed].sum() < len(reviewed)  # both outcomes came back
    after = labels.copy()
    after[reviewed] = reviews["new_label"].to_numpy()
    second_scores = EnsembleScores(ids=ids, given_labels=after, member_names=("a", "b", "c"),
                                   member_scores=member_scores)
    with_reviews = rank_round(scores=second_scores, reviews=reviews, features=features)
    without = rank_round(scores=second_scores, reviews=reviews, features=features,
                         evidence=EvidenceConfig(review_model=False))
    pool = ~with_reviews.reviewed
    assert pool.sum() == len(ids) - 120
    assert np.isfinite(with_reviews.review_probability).all() and np.isnan(without.review_probability).all()
    auprc_with = average_precision_score(wrong[pool], with_reviews.rank_score[pool])
    auprc_without = average_precision_score(wrong[pool], without.rank_score[pool])
    assert auprc_without < 0.7 < 0.95 < auprc_with, (auprc_without, auprc_with)
    # The round's candidates come from the pool only.
    candidates = select_round_candidates(ranking=with_reviews, budget=50)
    assert not np.isin(candidates, reviewed).any() and wrong[candidates].mean() > 0.9


def test_the_review_model_waits_for_both_outcomes():
    context = review_context(labels=np.array([0, 1] * 20), member_scores=np.full((40, 2), 0.5), features=None)
    assert context.shape == (40, 3)
    rows = np.arange(12)
    too_few = review_outcome_probability(context=context, reviewed_rows=rows,
                                         label_was_wrong=np.arange(12) < 8, config=EvidenceConfig(), seed=0)
    assert too_few is None  # only 4 confirmed
    with pytest.raises(ValueError, match="one outcome per reviewed row"):
        review_outcome_probability(context=context, reviewed_rows=rows, label_was_wrong=np.ones(3, bool),
                                   config=EvidenceConfig(), seed=0)
    np.testing.assert_array_equal(combined_rank_score(base=np.array([0.5, 0.2]), review_probability=None), [0.5, 0.2])
    np.testing.assert_allclose(combined_rank_score(base=np.array([0.5, 0.2]), review_probability=np.array([0.2, 1.0])),
                               [0.1, 0.2])


def test_cleanlab_as_the_miner_ranks_with_cleanlab_alone():
    ids, labels, wrong, features, member_scores = _systematic_noise(seed=1)
    scores = EnsembleScores(ids=ids, given_labels=labels, member_names=("a", "b", "c"), member_scores=member_scores)
    from realbogus.mining.cleanlab_methods import cleanlab_suspicion

    ranking = rank_round(scores=scores, reviews=empty_reviews(), features=features,
                         method="cleanlab_ensemble_self_confidence")
    expected = cleanlab_suspicion(given_labels=labels, member_scores=member_scores)["cleanlab_ensemble_self_confidence"]
    np.testing.assert_allclose(ranking.rank_score, expected[0])
    with pytest.raises(ValueError, match="mine.method must be"):
        rank_round(scores=scores, reviews=empty_reviews(), features=features, method="confident")


def test_difficulty_regions_are_quantile_bins_per_given_label_with_a_missing_proxy_the_faintest():
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    proxy = np.array([5.0, 1.0, 3.0, np.nan, 2.0, 4.0, 10.0, 30.0, np.nan, 20.0])
    regions = difficulty_regions(given_labels=labels, proxy=proxy, bins=2)
    # label 0: values 1..5 cut at their median 3 (a tie goes up), the missing one lowest;
    # label 1: 10, 20, 30 cut at 20, regions 2 and 3.
    np.testing.assert_array_equal(regions, [1, 0, 1, 0, 0, 1, 2, 3, 2, 3])
    np.testing.assert_array_equal(difficulty_regions(given_labels=labels, proxy=proxy, bins=1), [0] * 6 + [1] * 4)
    with pytest.raises(ValueError, match="one value per sample"):
        difficulty_regions(given_labels=labels, proxy=proxy[:5], bins=2)


def test_regional_reliability_is_each_members_agreement_rate_in_the_region():
    disagreement = np.array([[0.1, 0.9], [0.3, 0.5], [0.8, 0.0], [0.2, 0.2]])
    regions = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(regional_reliability(disagreement=disagreement, regions=regions),
                               [[0.8, 0.3], [0.8, 0.3], [0.5, 0.9], [0.5, 0.9]])
    with pytest.raises(ValueError, match="expected"):
        regional_reliability(disagreement=disagreement, regions=regions[:3])
    weights = np.array([1.0, 3.0])
    reliability = regional_reliability(disagreement=disagreement, regions=regions)
    np.testing.assert_allclose(reliability_weighted_disagreement(disagreement=disagreement, reliability=reliability,
                                                                 member_weights=weights, strength=0.0),
                               disagreement @ weights / 4.0)
    np.testing.assert_allclose(reliability_weighted_disagreement(disagreement=disagreement, reliability=reliability,
                                                                 member_weights=weights, strength=1.0),
                               (disagreement * reliability) @ weights / 4.0)
    for bad in ({"reliability": -0.1}, {"reliability": float("inf")}, {"reliability_bins": 0}, {"reliability_bins": 2.5},
                {"reliability_proxy": ""}):
        with pytest.raises(ValueError, match="reliability"):
            EvidenceConfig(**bad)


def test_regional_reliability_can_count_only_the_samples_the_other_members_trust():
    # Three members, one region.  Rows 0-1: every member doubts the label (a mislabel); rows 2-5:
    # member 0 alone errs on row 2.  Counted on every sample, the mislabels are member 0's errors.
    disagreement = np.array([[0.9, 0.8, 0.9], [0.8, 0.9, 0.9], [0.6, 0.1, 0.0],
                             [0.0, 0.1, 0.1], [0.1, 0.0, 0.1], [0.1, 0.1, 0.0]])
    regions = np.zeros(6, dtype=int)
    everyone = regional_reliability(disagreement=disagreement, regions=regions)
    trusted = regional_reliability(disagreement=disagreement, regions=regions, trust=0.5)
    np.testing.assert_allclose(everyone[0], 1.0 - disagreement.mean(axis=0))
    np.testing.assert_allclose(trusted[0], 1.0 - disagreement[2:].mean(axis=0))
    np.testing.assert_array_equal(regional_reliability(disagreement=disagreement, regions=regions, trust=1.0), everyone)
    # A region none of whose samples the others trust keeps every sample's estimate; one member
    # has no others, so it counts every sample.
    only_doubted = np.array([0, 0, 1, 1, 1, 1])
    fallback = regional_reliability(disagreement=disagreement, regions=only_doubted, trust=0.5)
    np.testing.assert_allclose(fallback[0], 1.0 - disagreement[:2].mean(axis=0))
    np.testing.assert_allclose(regional_reliability(disagreement=disagreement[:, :1], regions=regions, trust=0.5),
                               1.0 - np.full((6, 1), disagreement[:, 0].mean()))
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="trust"):
            regional_reliability(disagreement=disagreement, regions=regions, trust=bad)
        with pytest.raises(ValueError, match="reliability_trust"):
            EvidenceConfig(reliability_trust=bad)


def test_trusted_reliability_stops_the_mislabels_of_a_region_from_discounting_themselves():
    """Mislabels gather where the members are sure (30 % of the bright samples, every member
    doubts them: an extreme share, to show the mechanism); 20 % of the faint samples are
    correct samples every member doubts alike,
    among members that each err on their own there.  Counted on every sample the bright
    region's error rate is its mislabels, higher than the faint one's, and the mislabels rank
    below the hard samples; counted on the samples the other members trust, it is not."""
    rng = np.random.default_rng(3)
    n = 6000
    bright = rng.random(n) < 0.5
    wrong = bright & (rng.random(n) < 0.3)
    hard = ~bright & (rng.random(n) < 0.2)
    shared = np.where(wrong | hard, 0.85, 0.05)[:, None] + rng.normal(0.0, 0.03, (n, 3))
    own_error = (~bright & ~hard)[:, None] & (rng.random((n, 3)) < 0.15)
    doubt = np.clip(np.where(own_error, 0.5, shared), 0.0, 1.0)
    labels = rng.integers(0, 2, n)
    member_scores = np.where(labels[:, None] == 1, 1.0 - doubt, doubt)
    scores = EnsembleScores(ids=np.arange(n) + 1, given_labels=labels, member_names=("a", "b", "c"),
                            member_scores=member_scores)
    proxy = np.where(bright, 10.0, 1.0) + rng.random(n)
    auprc = {}
    for trust in (1.0, 0.5):
        ranking = rank_round(scores=scores, reviews=empty_reviews(), features=None, difficulty=proxy,
                             evidence=EvidenceConfig(reliability=3.0, reliability_bins=2, reliability_trust=trust))
        auprc[trust] = average_precision_score(wrong, ranking.rank_score)
    assert auprc[1.0] < 0.6 < 0.9 < auprc[0.5], auprc


def _faint_and_bright(seed: int = 0):
    """Faint samples (proxy low) are hard: the members doubt many correct labels there, at
    ~0.6; bright samples are easy, and the few mislabels among them are doubted at ~0.55 (the
    members learned part of the systematic noise).  Per sample the two look alike; only the
    region says which doubt is unusual."""
    rng = np.random.default_rng(seed)
    n = 4000
    bright = rng.random(n) < 0.5
    labels = rng.integers(0, 2, n)
    wrong = bright & (rng.random(n) < 0.03)
    hard = ~bright & (rng.random(n) < 0.15)
    doubt = np.where(wrong, 0.55, np.where(hard, 0.6, 0.05)) + rng.normal(0.0, 0.05, n)
    doubt = np.where(~bright & ~hard, doubt + 0.2, doubt)  # the members are less sure of every faint label
    artifact = np.clip(np.where(labels == 1, 1.0 - doubt, doubt), 0.0, 1.0)
    member_scores = np.clip(artifact[:, None] + rng.normal(0.0, 0.03, (n, 2)), 0.0, 1.0)
    proxy = np.where(bright, rng.uniform(2.0, 5.0, n), rng.uniform(-1.0, 2.0, n))
    proxy[rng.random(n) < 0.02] = np.nan
    return np.arange(n) + 10, labels, wrong, member_scores, np.where(np.isnan(proxy) & bright, 3.0, proxy)


def test_reliability_weighting_ranks_a_doubt_where_members_are_usually_right_first():
    ids, labels, wrong, member_scores, proxy = _faint_and_bright()
    scores = EnsembleScores(ids=ids, given_labels=labels, member_names=("a", "b"), member_scores=member_scores)
    plain = rank_round(scores=scores, reviews=empty_reviews(), features=None, difficulty=proxy)
    weighted = rank_round(scores=scores, reviews=empty_reviews(), features=None, difficulty=proxy,
                          evidence=EvidenceConfig(reliability=1.0, reliability_bins=2))
    np.testing.assert_array_equal(plain.rank_score, plain.mean_disagreement)  # reliability 0: the plain ranking
    np.testing.assert_array_equal(weighted.mean_disagreement, plain.mean_disagreement)
    auprc_plain = average_precision_score(wrong, plain.rank_score)
    auprc_weighted = average_precision_score(wrong, weighted.rank_score)
    assert auprc_plain < 0.3 < 0.7 < auprc_weighted, (auprc_plain, auprc_weighted)
    with pytest.raises(ValueError, match="no difficulty proxy"):
        rank_round(scores=scores, reviews=empty_reviews(), features=None,
                   evidence=EvidenceConfig(reliability=1.0))


def test_the_default_evidence_of_params_yaml_names_an_autoscan_feature_as_its_proxy():
    from pathlib import Path

    import yaml

    from realbogus.params import config_from_mapping
    from realbogus.release.layout import FEATURE_NAMES

    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    evidence = config_from_mapping(EvidenceConfig, params["mine"]["evidence"], where="params.yaml mine.evidence")
    assert evidence.reliability > 0 and evidence.reliability_proxy in FEATURE_NAMES
