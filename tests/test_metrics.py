"""The paper's metric definitions: hand-computed cases, scikit-learn agreement, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix
from sklearn.metrics import roc_auc_score as sklearn_roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from realbogus import metrics

# Six samples small enough to work through by hand (see docs/metrics.md for the rules).
#                 real (label 0)        artifact (label 1)
HAND_LABELS = np.array([0, 0, 0, 1, 1, 1])
HAND_SCORES = np.array([0.05, 0.5, 0.95, 0.1, 0.3, 0.9])


def test_confusion_and_rates_by_hand():
    # At 0.5: real 0.05 passes (Tp), real 0.5 and 0.95 are cut (Fn, Fn);
    # artifacts 0.1 and 0.3 pass (Fp, Fp), artifact 0.9 is cut (Tn).
    counts = metrics.confusion_at(labels=HAND_LABELS, artifact_score=HAND_SCORES, threshold=0.5)
    assert counts == metrics.ConfusionCounts(tp=1, fn=2, fp=2, tn=1)
    rates = metrics.rates_at(labels=HAND_LABELS, artifact_score=HAND_SCORES, threshold=0.5)
    assert rates.tpr == pytest.approx(1 / 3)
    assert rates.fpr == pytest.approx(2 / 3)
    assert rates.mdr == pytest.approx(2 / 3)
    assert metrics.accuracy_at(labels=HAND_LABELS, artifact_score=HAND_SCORES) == pytest.approx(2 / 6)
    # A score equal to the threshold is predicted artifact.
    at_point_three = metrics.confusion_at(labels=HAND_LABELS, artifact_score=HAND_SCORES, threshold=0.3)
    assert at_point_three == metrics.ConfusionCounts(tp=1, fn=2, fp=1, tn=2)


def test_rates_are_nan_when_a_class_is_missing():
    rates = metrics.rates_at(labels=[1, 1], artifact_score=[0.2, 0.8], threshold=0.5)
    assert np.isnan(rates.tpr) and np.isnan(rates.mdr)
    assert rates.fpr == 0.5


def test_roc_curve_by_hand():
    curve = metrics.roc_curve(labels=HAND_LABELS, artifact_score=HAND_SCORES)
    np.testing.assert_array_equal(curve.thresholds[:-1], [0.05, 0.1, 0.3, 0.5, 0.9, 0.95])
    assert 0.95 < curve.thresholds[-1] < 0.95 + 1e-12  # just above the top score
    np.testing.assert_allclose(curve.tpr, [0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(curve.fpr, [0, 0, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    np.testing.assert_allclose(curve.mdr, 1 - curve.tpr)
    # Mann-Whitney by hand: real 0.05 is below 3 artifacts, real 0.5 below 1, real 0.95 below 0.
    assert metrics.auc(labels=HAND_LABELS, artifact_score=HAND_SCORES) == pytest.approx(4 / 9)


def test_operating_points_by_hand():
    curve = metrics.roc_curve(labels=HAND_LABELS, artifact_score=HAND_SCORES)
    point = metrics.operating_point_at_mdr(curve=curve, mdr=0.5)
    assert point.threshold == 0.9 and point.fpr == pytest.approx(2 / 3) and point.mdr == pytest.approx(1 / 3)
    # The target is inclusive: MDR exactly 1/3 meets a target of 1/3.
    assert metrics.operating_point_at_mdr(curve=curve, mdr=1 / 3).threshold == 0.9
    assert metrics.fpr_at_mdr(labels=HAND_LABELS, artifact_score=HAND_SCORES, mdr=0.7) == 0.0
    assert metrics.fpr_at_mdr(labels=HAND_LABELS, artifact_score=HAND_SCORES, mdr=0.0) == 1.0
    np.testing.assert_allclose(
        metrics.fpr_at_mdr(labels=HAND_LABELS, artifact_score=HAND_SCORES, mdr=[0.0, 0.5, 0.7]), [1.0, 2 / 3, 0.0]
    )
    assert metrics.mdr_at_fpr(labels=HAND_LABELS, artifact_score=HAND_SCORES, fpr=0.5) == pytest.approx(2 / 3)
    assert metrics.mdr_at_fpr(labels=HAND_LABELS, artifact_score=HAND_SCORES, fpr=1.0) == 0.0
    np.testing.assert_allclose(
        metrics.mdr_at_fpr(labels=HAND_LABELS, artifact_score=HAND_SCORES, fpr=[0.0, 2 / 3]), [2 / 3, 1 / 3]
    )


def test_fpr_at_mdr_is_exact_at_decimal_targets():
    # 100 reals, 5 of them scored above every artifact: MDR 5/100 must meet the target 0.05.
    real_scores = np.r_[np.full(95, 0.01), np.full(5, 0.99)]
    artifact_scores = np.linspace(0.2, 0.9, 50)
    labels = np.r_[np.zeros(100, int), np.ones(50, int)]
    scores = np.r_[real_scores, artifact_scores]
    assert metrics.fpr_at_mdr(labels=labels, artifact_score=scores, mdr=0.05) == 0.0
    assert metrics.fpr_at_mdr(labels=labels, artifact_score=scores, mdr=0.04) == 1.0


def test_categories_by_hand_with_boundary_scores():
    per_sample = metrics.categories(labels=HAND_LABELS, artifact_score=HAND_SCORES)
    # real 0.05 -> 4, real 0.5 (boundary) -> 5, real 0.95 -> 6,
    # artifact 0.1 (boundary) -> 2, artifact 0.3 -> 2, artifact 0.9 -> 3.
    np.testing.assert_array_equal(per_sample, [4, 5, 6, 2, 2, 3])
    table = metrics.category_table(labels=HAND_LABELS, artifact_score=HAND_SCORES)
    assert list(table) == ["cat1", "cat2", "cat3", "cat4", "cat5", "cat6"]
    np.testing.assert_allclose(list(table.values()), np.array([0, 2, 1, 1, 1, 1]) * 100 / 6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("label", "score", "expected"),
    [
        (1, 0.0, 1), (1, 0.0999, 1), (1, 0.1, 2), (1, 0.4999, 2), (1, 0.5, 3), (1, 0.9, 3), (1, 1.0, 3),
        (0, 0.0, 4), (0, 0.4999, 4), (0, 0.5, 5), (0, 0.8999, 5), (0, 0.9, 6), (0, 1.0, 6),
    ],
)
def test_category_boundaries(label, score, expected, dtype):
    # float32 0.9 is slightly below float64 0.9; it must still read as 0.9 (category 6).
    category = metrics.categories(labels=[label], artifact_score=np.array([score], dtype=dtype))
    assert category.tolist() == [expected]


def test_float32_threshold_matches_categories():
    scores = np.array([0.9, 0.3], dtype=np.float32)
    counts = metrics.confusion_at(labels=[0, 0], artifact_score=scores, threshold=0.9)
    assert counts.fn == 1 and counts.tp == 1


def test_threshold_curves_by_hand():
    curves = metrics.threshold_curves(labels=HAND_LABELS, artifact_score=HAND_SCORES, thresholds=[0.0, 0.5, 1.0])
    np.testing.assert_allclose(curves.fpr, [0, 2 / 3, 1])
    np.testing.assert_allclose(curves.mdr, [1, 2 / 3, 0])
    np.testing.assert_allclose(curves.tpr, [0, 1 / 3, 1])
    default = metrics.threshold_curves(labels=HAND_LABELS, artifact_score=HAND_SCORES)
    assert default.thresholds.shape == (101,)
    assert np.all(np.diff(default.fpr) >= 0) and np.all(np.diff(default.mdr) <= 0)


def test_stream_cleanliness_by_hand():
    curve = metrics.stream_cleanliness(labels=HAND_LABELS, artifact_score=HAND_SCORES, real_fraction=0.15)
    assert np.isnan(curve.cleanliness[0])  # nothing passes at the lowest threshold
    assert curve.cleanliness[1] == 1.0  # only the real 0.05 passes
    # At 0.5: TPR 1/3, FPR 2/3 -> 0.15/3 / (0.15/3 + 0.85 * 2/3).
    assert curve.cleanliness[3] == pytest.approx(0.05 / (0.05 + 0.85 * 2 / 3))
    assert curve.cleanliness[-1] == pytest.approx(0.15)  # everything passes: the stream's mix
    np.testing.assert_array_equal(curve.mdr, metrics.roc_curve(labels=HAND_LABELS, artifact_score=HAND_SCORES).mdr)
    balanced = metrics.cleanliness_from_rates(tpr=[2 / 3], fpr=[2 / 3], real_fraction=0.5)
    assert balanced[0] == pytest.approx(0.5)


def test_headline_metrics_keys_and_values():
    headline = metrics.headline_metrics(labels=HAND_LABELS, artifact_score=HAND_SCORES, fpr_targets=[0.5])
    assert headline["n"] == 6 and headline["n_artifact"] == 3 and headline["n_non_artifact"] == 3
    assert headline["auc"] == pytest.approx(4 / 9)
    assert {"fpr_at_mdr_0.03", "fpr_at_mdr_0.04", "fpr_at_mdr_0.05", "mdr_at_fpr_0.5"} <= set(headline)
    assert headline["fpr_at_mdr_0.05"] == 1.0  # only the all-pass point has MDR <= 0.05
    assert headline["mdr_at_fpr_0.5"] == pytest.approx(2 / 3)
    assert headline["accuracy"] == pytest.approx(1 / 3)
    assert headline["cat2"] == pytest.approx(100 / 3)
    one_class = metrics.headline_metrics(labels=[1, 1], artifact_score=[0.2, 0.8])
    assert one_class["auc"] is None and one_class["fpr_at_mdr_0.05"] is None and one_class["tpr"] is None


def test_goldstein_points_and_default_targets():
    assert metrics.GOLDSTEIN_2015_POINTS == ((0.03, 0.038), (0.04, 0.024), (0.05, 0.016))
    assert metrics.DEFAULT_MDR_TARGETS == (0.03, 0.04, 0.05)


# ------------------------------------------------------------- agreement with sklearn


@st.composite
def scored_samples(draw, *, grid: bool = False):
    size = draw(st.integers(min_value=2, max_value=60))
    labels = np.array(draw(st.lists(st.integers(0, 1), min_size=size, max_size=size)))
    labels[:2] = (0, 1)  # both classes present
    if grid:  # coarse grid: many ties, and 1 - s is exact
        scores = np.array(draw(st.lists(st.integers(0, 20), min_size=size, max_size=size))) / 20
    else:
        scores = np.array(draw(st.lists(
            st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False), min_size=size, max_size=size)))
    return labels, scores


@settings(max_examples=60, deadline=None)
@given(scored_samples())
def test_roc_curve_agrees_with_sklearn(sample):
    labels, scores = sample
    curve = metrics.roc_curve(labels=labels, artifact_score=scores)
    # -score rather than 1 - score: negation is exact, so distinct scores stay distinct.
    sk_fpr, sk_tpr, _ = sklearn_roc_curve(1 - labels, -scores, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, sk_fpr)
    np.testing.assert_allclose(curve.tpr, sk_tpr)
    assert metrics.auc(labels=labels, artifact_score=scores) == pytest.approx(
        sklearn_roc_auc_score(1 - labels, -scores), abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(scored_samples(grid=True))
def test_roc_and_auc_agree_with_sklearn_one_minus_score(sample):
    labels, scores = sample
    curve = metrics.roc_curve(labels=labels, artifact_score=scores)
    sk_fpr, sk_tpr, sk_thresholds = sklearn_roc_curve(1 - labels, 1 - scores, drop_intermediate=False)
    np.testing.assert_allclose(curve.fpr, sk_fpr)
    np.testing.assert_allclose(curve.tpr, sk_tpr)
    # sklearn's threshold k is 1 - (our threshold k - 1): the same cut, written the other way.
    np.testing.assert_allclose(1 - sk_thresholds[1:], curve.thresholds[:-1], atol=1e-12)
    assert metrics.auc(labels=labels, artifact_score=scores) == pytest.approx(
        sklearn_roc_auc_score(1 - labels, 1 - scores), abs=1e-12
    )


@settings(max_examples=40, deadline=None)
@given(scored_samples(grid=True), st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.55, 1.0]))
def test_confusion_agrees_with_sklearn(sample, threshold):
    labels, scores = sample
    counts = metrics.confusion_at(labels=labels, artifact_score=scores, threshold=threshold)
    predicted_artifact = (scores >= threshold).astype(int)
    (tn, fp), (fn, tp) = sklearn_confusion_matrix(labels, predicted_artifact, labels=[0, 1])
    # sklearn's positive is the artifact; ours is the non-artifact, so the roles swap.
    assert counts == metrics.ConfusionCounts(tp=int(tn), fn=int(fp), fp=int(fn), tn=int(tp))


@settings(max_examples=40, deadline=None)
@given(scored_samples(grid=True), st.floats(0.0, 1.0))
def test_fpr_at_mdr_is_best_over_all_cuts(sample, target):
    labels, scores = sample
    # Brute force: try every cut (each distinct score and one above all) with confusion_at.
    candidates = np.r_[np.unique(scores), 2.0]
    rates = [metrics.rates_at(labels=labels, artifact_score=scores, threshold=t) for t in candidates]
    best_fpr = min(r.fpr for r in rates if r.mdr <= target)
    best_mdr = min(r.mdr for r in rates if r.fpr <= target)
    assert metrics.fpr_at_mdr(labels=labels, artifact_score=scores, mdr=target) == pytest.approx(best_fpr)
    assert metrics.mdr_at_fpr(labels=labels, artifact_score=scores, fpr=target) == pytest.approx(best_mdr)


@settings(max_examples=40, deadline=None)
@given(scored_samples())
def test_category_table_sums_to_100_and_matches_threshold_rule(sample):
    labels, scores = sample
    table = metrics.category_table(labels=labels, artifact_score=scores)
    assert sum(table.values()) == pytest.approx(100.0)
    per_sample = metrics.categories(labels=labels, artifact_score=scores)
    counts = metrics.confusion_at(labels=labels, artifact_score=scores, threshold=0.5)
    # Categories 3 and 4 are exactly the correct predictions at 0.5.
    assert np.count_nonzero(per_sample == 3) == counts.tn
    assert np.count_nonzero(per_sample == 4) == counts.tp


# --------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 2, 1], [0.1, 0.2, 0.3], r"only 0 \(non-artifact\) and 1 \(artifact\); found np.int64\(2\) at index 1"),
        ([0, 0.5], [0.1, 0.2], r"found np.float64\(0.5\) at index 1"),
        ([0, 1], [0.1, float("nan")], r"must not hold NaN; found .* at index 1"),
        ([0, 1], [0.1, 1.5], r"must lie in \[0, 1\]; found np.float64\(1.5\) at index 1"),
        ([0, 1], [-0.1, 0.5], r"must lie in \[0, 1\]; found .* at index 0"),
        ([0, 1, 1], [0.1, 0.2], r"got 3 labels and 2 scores"),
        ([[0, 1]], [[0.1, 0.2]], r"labels must be a 1-D array"),
        ([0, 1], [[0.1, 0.2]], r"artifact_score must be a 1-D array"),
        ([], [], r"empty"),
        (["a", "b"], [0.1, 0.2], r"labels must be numeric"),
        ([0, 1], ["x", "y"], r"artifact_score must be a float array"),
    ],
)
def test_bad_input_is_named(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_at(labels=labels, artifact_score=scores, threshold=0.5)


def test_many_bad_values_are_summarised():
    with pytest.raises(ValueError, match=r"and 2 more"):
        metrics.validate_scores(np.array([2.0, 3.0, 4.0, 5.0, 6.0]))


def test_one_class_curves_and_bad_targets_are_errors():
    with pytest.raises(ValueError, match=r"roc_curve needs both classes; labels hold only artifacts"):
        metrics.auc(labels=[1, 1, 1], artifact_score=[0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"only non-artifacts"):
        metrics.fpr_at_mdr(labels=[0, 0], artifact_score=[0.1, 0.5], mdr=0.05)
    with pytest.raises(ValueError, match=r"mdr target must lie in \[0, 1\]"):
        metrics.fpr_at_mdr(labels=HAND_LABELS, artifact_score=HAND_SCORES, mdr=5)
    with pytest.raises(ValueError, match=r"real_fraction must lie strictly between 0 and 1"):
        metrics.stream_cleanliness(labels=HAND_LABELS, artifact_score=HAND_SCORES, real_fraction=1.0)
    with pytest.raises(ValueError, match=r"threshold must be a real number"):
        metrics.confusion_at(labels=HAND_LABELS, artifact_score=HAND_SCORES, threshold=float("nan"))
    with pytest.raises(ValueError, match=r"thresholds must be a non-empty 1-D array"):
        metrics.threshold_curves(labels=HAND_LABELS, artifact_score=HAND_SCORES, thresholds=[[0.5]])


def test_bool_and_integer_inputs_are_accepted():
    counts = metrics.confusion_at(labels=np.array([False, True]), artifact_score=np.array([0, 1]), threshold=0.5)
    assert counts == metrics.ConfusionCounts(tp=1, fn=0, fp=0, tn=1)


# ------------------------------------------------------------------ bootstrap intervals


def _binormal_split(rng: np.random.Generator, *, n_per_class: int, separation: float) -> tuple[np.ndarray, np.ndarray]:
    """Non-artifacts' latent score N(0, 1), artifacts' N(separation, 1), squashed into (0, 1)."""
    latent = np.concatenate([rng.normal(0.0, 1.0, n_per_class), rng.normal(separation, 1.0, n_per_class)])
    labels = np.repeat([0, 1], n_per_class)
    return labels, 1.0 / (1.0 + np.exp(-latent))


def test_the_fpr_interval_covers_the_population_value_about_as_often_as_its_level():
    from scipy.stats import norm

    # The population's FPR at MDR 0.05: cut at the non-artifacts' 95th percentile.
    separation = 3.5
    true_fpr = norm.cdf(norm.ppf(0.95) - separation)  # 3.2 %
    rng = np.random.default_rng(11)
    covered = []
    for repeat in range(60):
        labels, scores = _binormal_split(rng, n_per_class=1000, separation=separation)
        low, high = metrics.fpr_at_mdr_interval(labels=labels, artifact_score=scores, mdr=0.05, resamples=200,
                                                seed=repeat)
        covered.append(low <= true_fpr <= high)
    # 90 % intervals: 54 of 60 expected; 45 is three binomial sigmas below.
    assert 45 <= sum(covered) <= 60, sum(covered)


def test_the_fpr_interval_is_seeded_holds_the_estimate_and_narrows_with_more_samples():
    rng = np.random.default_rng(5)
    labels, scores = _binormal_split(rng, n_per_class=1000, separation=3.0)
    interval = metrics.fpr_at_mdr_interval(labels=labels, artifact_score=scores, resamples=300, seed=1)
    assert interval.shape == (len(metrics.DEFAULT_MDR_TARGETS), 2)
    np.testing.assert_array_equal(
        interval, metrics.fpr_at_mdr_interval(labels=labels, artifact_score=scores, resamples=300, seed=1))
    estimate = metrics.fpr_at_mdr(labels=labels, artifact_score=scores)
    assert np.all(interval[:, 0] <= estimate) and np.all(estimate <= interval[:, 1])
    assert np.all(interval[:, 0] < interval[:, 1])
    # One target gives one (low, high), the same as that row of the sequence's answer.
    np.testing.assert_array_equal(
        metrics.fpr_at_mdr_interval(labels=labels, artifact_score=scores, mdr=0.03, resamples=300, seed=1),
        metrics.fpr_at_mdr_interval(labels=labels, artifact_score=scores, mdr=[0.03], resamples=300, seed=1)[0])
    # Sixteen times the samples: about a quarter of the width (sampling noise ~ 1 / sqrt(n)).
    big_labels, big_scores = _binormal_split(rng, n_per_class=16_000, separation=3.0)
    big = metrics.fpr_at_mdr_interval(labels=big_labels, artifact_score=big_scores, mdr=0.05, resamples=300, seed=1)
    small = interval[list(metrics.DEFAULT_MDR_TARGETS).index(0.05)]
    assert 0.15 < (big[1] - big[0]) / (small[1] - small[0]) < 0.4


def test_the_bootstrap_keeps_each_class_count():
    # One artifact among 50 non-artifacts: a resample drawn from all 51 together would lack the
    # artifact a third of the time ((50/51)^51) and have no FPR; each class drawn on its own
    # keeps it in every resample, so the FPR is always 0 or 1 (its one artifact passed or cut).
    labels = np.r_[np.zeros(50, dtype=int), 1]
    scores = np.r_[np.linspace(0.0, 0.6, 50), 0.5]
    samples = metrics.bootstrap_fpr_at_mdr(labels=labels, artifact_score=scores, mdr=[0.05], resamples=200,
                                           rng=np.random.default_rng(0))
    assert samples.shape == (200, 1)
    assert set(np.unique(samples)) == {0.0, 1.0}


def test_the_change_interval_excludes_zero_only_for_a_real_change():
    rng = np.random.default_rng(9)
    before = _binormal_split(rng, n_per_class=3000, separation=3.0)
    same = _binormal_split(rng, n_per_class=3000, separation=3.0)
    better = _binormal_split(rng, n_per_class=3000, separation=3.6)
    kwargs = {"mdr": 0.05, "resamples": 300, "seed": 2}
    low, high = metrics.fpr_change_interval(labels_before=before[0], score_before=before[1], labels_after=better[0],
                                            score_after=better[1], **kwargs)
    assert high < 0  # FPR at MDR 0.05: 6.2 % -> 2.4 % in the population
    low, high = metrics.fpr_change_interval(labels_before=before[0], score_before=before[1], labels_after=same[0],
                                            score_after=same[1], **kwargs)
    assert low < 0 < high


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"resamples": 0}, "resamples must be a whole number"),
    ({"level": 1.0}, "level must lie strictly between 0 and 1"),
    ({"mdr": 1.5}, "mdr target must lie in"),
])
def test_the_fpr_interval_rejects_bad_settings(kwargs, message):
    labels, scores = _binormal_split(np.random.default_rng(0), n_per_class=50, separation=2.0)
    with pytest.raises(ValueError, match=message):
        metrics.fpr_at_mdr_interval(labels=labels, artifact_score=scores, **kwargs)


def test_the_fpr_interval_needs_both_classes():
    with pytest.raises(ValueError, match="needs both classes"):
        metrics.fpr_at_mdr_interval(labels=[1, 1, 1], artifact_score=[0.2, 0.5, 0.9])


def test_share_interval_is_wilsons():
    # Wilson's 90 % interval by hand for 0 of 10: (0, z^2 / (n + z^2)) with z = 1.6449.
    z2 = 1.6448536 ** 2
    assert metrics.share_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    low, high = metrics.share_interval(32, 43)
    assert (round(low, 3), round(high, 3)) == (0.623, 0.837)
    # k of n mirrors n - k of n, and more samples narrow it around the same share.
    assert metrics.share_interval(11, 43) == pytest.approx((1 - high, 1 - low))
    wide, narrow = metrics.share_interval(8, 10), metrics.share_interval(800, 1000)
    assert wide[0] < narrow[0] < 0.8 < narrow[1] < wide[1]
    assert metrics.share_interval(0, 0) is None
    with pytest.raises(ValueError, match="0 <= count <= total"):
        metrics.share_interval(5, 4)
