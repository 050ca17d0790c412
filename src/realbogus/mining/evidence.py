"""Evidence about a given label beyond the cross-fitted scores, and how it joins the ranking.

The disagreement ranking (:mod:`realbogus.mining.ranking`) and cleanlab's methods read the
same thing: each member's cross-fitted probability of the given label.  On those alone our
ranking is cleanlab's ensemble self-confidence up to member weights (docs/mining.md).  Two
kinds of evidence are not functions of those probabilities:

**Training dynamics: the area under the margin** (Pleiss et al. 2020).  While a member
trains, a sample whose label contradicts the samples that look like it is fitted late or
never: its margin -- the model's probability of the given label minus that of the other
label, 2 P(given) - 1 in [-1, 1] -- stays low over the epochs (a CNN) or the boosting
iterations (the boosted trees), while a correctly labelled hard sample is fitted as soon as
the model has capacity for it.  The cross-fit records it
(:func:`realbogus.training_dynamics.margin_area`, at the cost of scoring the training rows
once per epoch) as each member's ``margin_area`` column; each sample gets it from the folds
it trained in, and :func:`ensemble_margin_area` averages the members'.

**What the reviews said** (from the second round on).  The samples earlier rounds sent to
review come back corrected (their label was wrong) or confirmed (it was right).  Which kinds
of disagreement turned out real is exactly what a one-shot method cannot know: a cheap model
(:func:`review_outcome_probability`) learns P(label wrong | evidence, features, label) from
the reviewed samples and re-ranks the rest.

**Where each member is reliable** (from the first round on).  A member's doubt means more
where that member usually agrees with the given labels.  Per member j, per given label and
per quantile bin of a difficulty proxy the release carries (``reliability_proxy``, an
autoScan feature, SNR by default: the detection's signal-to-noise ratio), the
member's mean disagreement over the bin is its cross-fitted error rate there against the
given labels, e_j(region); its reliability is 1 - e_j (:func:`regional_reliability`).  A
mislabel is confidently contradicted where the members are usually right (a fake on a bad
column well above the limit); a hard but correct sample is doubted where they often err
(a faint fake near the limit, a noise peak).  The members' disagreement is weighted by it
(:func:`reliability_weighted_disagreement`, strength b = ``reliability``):

    mean_disagreement_i = sum_j w_j d_ij (1 - e_j(region_i))^b / sum_j w_j

b = 0 is the plain mean disagreement.  The regions come from the features, so this is not a
function of the probabilities either.

The error rate e_j is measured on the samples whose label the *other* members trust: their
mean disagreement with it at most ``reliability_trust`` (0.5: they side with the label).
Measured on every sample, e_j counts the region's mislabels as the member's errors, and
mislabels gather in regions (fakes on bad columns and saturated stars are bright): the
estimate then discounted the doubt exactly where the mislabels are, the more so the more
labels are wrong and the finer the regions.  Left out of it, the mislabels no longer
subtract themselves, and finer regions help instead of hurting (docs/mining.md, seventh
pass).  ``reliability_trust`` 1 counts every sample (the estimate before that).

How they combine (:func:`combined_rank_score`), all truth-free:

    base_i = (1 - a) mean_disagreement_i + a (1 - margin_area_i) / 2      a = training_dynamics
    rank_score_i = base_i                                    before any review outcome
    rank_score_i = base_i * P(wrong | review model)_i        from the second round on

``(1 - margin_area) / 2`` is in [0, 1] like the disagreement, 1 when the label was never
fitted.  A sample without a margin (a member that records none, or a sample that only
validated) keeps its disagreement.  The product reads as P(flagged) x P(wrong | flagged,
like the reviewed ones): the review model only ever saw flagged samples, so it re-orders
suspicious samples and the disagreement keeps the unsuspicious ones at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realbogus.mining._inputs import check_given_labels, check_member_scores

# A review model needs both outcomes, and enough of them to learn more than its prior.
MIN_OUTCOMES_PER_CLASS = 5


@dataclass(frozen=True)
class EvidenceConfig:
    """params.yaml ``mine.evidence``.

    training_dynamics: weight a of the area-under-the-margin suspicion in the base score
        (0 ignores it; 1 uses it alone where a margin exists).  Off by default: with the
        boosted trees' margins, 0.5 ranked round 1 0.12-0.18 AUPRC worse (docs/mining.md).
    reliability: the exponent b of the regional reliability weighting of the members'
        disagreement (0 turns it off; 1 weights each doubt by the member's agreement rate
        with the given labels in the sample's region; larger b discounts the doubt in
        regions where the members often err more steeply).
    reliability_proxy: the autoScan feature whose quantile bins (per given label) are the
        regions; reliability_bins: how many.
    reliability_trust: a member's error rate in a region is measured on the samples whose
        other members' mean disagreement with the label is at most this (0.5: the samples
        they think correctly labelled); 1 counts every sample.
    review_model: learn from earlier rounds' review outcomes (from the second round on).
    review_model_iterations / review_model_leaf_nodes / review_model_min_leaf: the
        boosted trees of the review model (small: a few hundred reviewed samples).
    """

    training_dynamics: float = 0.0
    reliability: float = 0.0
    reliability_proxy: str = "SNR"
    reliability_bins: int = 2
    reliability_trust: float = 1.0
    review_model: bool = True
    review_model_iterations: int = 100
    review_model_leaf_nodes: int = 8
    review_model_min_leaf: int = 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.training_dynamics <= 1.0:
            raise ValueError(f"training_dynamics must be in [0, 1], got {self.training_dynamics!r}")
        if not 0.0 <= self.reliability < float("inf"):
            raise ValueError(f"reliability must be a finite exponent >= 0, got {self.reliability!r}")
        if isinstance(self.reliability_bins, bool) or int(self.reliability_bins) != self.reliability_bins \
                or self.reliability_bins < 1:
            raise ValueError(f"reliability_bins must be a positive whole number, got {self.reliability_bins!r}")
        if not 0.0 < self.reliability_trust <= 1.0:
            raise ValueError(f"reliability_trust must be in (0, 1], got {self.reliability_trust!r}")
        if not isinstance(self.reliability_proxy, str) or not self.reliability_proxy:
            raise ValueError(f"reliability_proxy must name an autoScan feature, got {self.reliability_proxy!r}")
        for name in ("review_model_iterations", "review_model_leaf_nodes", "review_model_min_leaf"):
            if int(getattr(self, name)) < (2 if name == "review_model_leaf_nodes" else 1):
                raise ValueError(f"{name} must be a positive whole number, got {getattr(self, name)!r}")


def difficulty_regions(*, given_labels: np.ndarray, proxy: np.ndarray, bins: int) -> np.ndarray:
    """(N,) region number per sample: its given label and the quantile bin of ``proxy`` among
    the samples with that label (``bins`` bins of about equal size), label * bins + bin.

    A missing proxy counts as the lowest value: for the flux-based proxies (SNR,
    MAG_FROM_LIMIT) it is missing where the source has no positive flux, fainter than any
    measured one.  (As a region of its own it held many mislabels -- 15 of the 90 of the
    default release had no SNR -- whose doubt was then discounted as the region's usual error.)
    """
    labels = check_given_labels(given_labels)
    values = np.asarray(proxy, dtype=np.float64)
    if values.shape != labels.shape:
        raise ValueError(f"proxy: expected one value per sample ({labels.shape[0]}), got shape {values.shape}")
    values = np.where(np.isnan(values), -np.inf, values)
    regions = np.empty(labels.shape[0], dtype=np.int64)
    for label in (0, 1):
        members = labels == label
        if not members.any():
            continue
        finite = values[members][np.isfinite(values[members])]
        # Cut points at the inner quantiles; ties fall into the upper bin.
        cuts = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1]) if finite.size else np.zeros(0)
        regions[members] = label * bins + np.searchsorted(cuts, values[members], side="right")
    return regions


def regional_reliability(*, disagreement: np.ndarray, regions: np.ndarray, trust: float = 1.0) -> np.ndarray:
    """(N, M) each member's reliability in each sample's region: 1 - its mean disagreement with
    the given labels over the region's trusted samples (its cross-fitted agreement rate there).

    disagreement: (N, M) from :func:`realbogus.mining.ranking.label_disagreement`.
    regions: (N,) from :func:`difficulty_regions`.
    trust: for member j, a sample counts when the mean disagreement of the other members is
        at most ``trust`` (1: every sample; with one member, every sample).  A region where
        none counts falls back to all its samples.
    """
    doubt = np.asarray(disagreement, dtype=np.float64)
    region = np.asarray(regions, dtype=np.int64)
    if doubt.ndim != 2 or region.shape != (doubt.shape[0],):
        raise ValueError(f"disagreement (N, M) and regions (N,) expected, got {doubt.shape} and {region.shape}")
    if not 0.0 < trust <= 1.0:
        raise ValueError(f"trust must be in (0, 1], got {trust!r}")
    _, index = np.unique(region, return_inverse=True)
    n_regions = int(index.max()) + 1 if index.size else 0
    n_members = doubt.shape[1]
    reliability = np.empty_like(doubt)
    everyone_counts = np.bincount(index, minlength=n_regions)
    row_sums = doubt.sum(axis=1)
    for member in range(n_members):
        counted = np.ones(doubt.shape[0], dtype=bool)
        if n_members > 1 and trust < 1.0:
            others = (row_sums - doubt[:, member]) / (n_members - 1)
            counted = others <= trust
        totals = np.bincount(index[counted], weights=doubt[counted, member], minlength=n_regions)
        counts = np.bincount(index[counted], minlength=n_regions).astype(np.float64)
        everyone = np.bincount(index, weights=doubt[:, member], minlength=n_regions) / everyone_counts
        mean_doubt = np.where(counts > 0, totals / np.maximum(counts, 1.0), everyone)
        reliability[:, member] = 1.0 - mean_doubt[index]
    return reliability


def reliability_weighted_disagreement(*, disagreement: np.ndarray, reliability: np.ndarray, member_weights: np.ndarray,
                                      strength: float) -> np.ndarray:
    """(N,) sum_j w_j d_ij r_ij^strength / sum_j w_j (module docstring); strength 0 gives the
    plain weighted mean disagreement."""
    doubt = np.asarray(disagreement, dtype=np.float64)
    weights = np.asarray(member_weights, dtype=np.float64)
    if strength == 0.0:
        return doubt @ weights / weights.sum()
    factor = np.clip(np.asarray(reliability, dtype=np.float64), 0.0, 1.0) ** strength
    return (doubt * factor) @ weights / weights.sum()


def ensemble_margin_area(*, margin_areas: np.ndarray, member_weights: np.ndarray | None = None) -> np.ndarray:
    """(N,) the members' areas under the margin averaged with the ranking's member weights
    (equal when None), over the members that recorded one; NaN where none did.

    margin_areas: (N, M), NaN where a member recorded none for the sample.
    """
    areas = np.asarray(margin_areas, dtype=np.float64)
    if areas.ndim != 2:
        raise ValueError(f"margin_areas: expected shape (N, M), got {areas.shape}")
    weights = np.ones(areas.shape[1]) if member_weights is None else np.asarray(member_weights, dtype=np.float64)
    if weights.shape != (areas.shape[1],):
        raise ValueError(f"member_weights: expected {areas.shape[1]} weights, got shape {weights.shape}")
    available = np.isfinite(areas)
    weight_sum = available.astype(np.float64) @ weights
    total = np.where(available, areas, 0.0) @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight_sum > 0, total / weight_sum, np.nan)


def base_suspicion(*, mean_disagreement: np.ndarray, margin_area: np.ndarray | None,
                   training_dynamics: float) -> np.ndarray:
    """(N,) the base score: the disagreement mixed with the margin suspicion (module docstring).

    margin_area: (N,) from :func:`ensemble_margin_area`, NaN where there is none (the
    sample keeps its disagreement).
    """
    disagreement = np.asarray(mean_disagreement, dtype=np.float64)
    if margin_area is None or training_dynamics == 0.0:
        return disagreement
    area = np.asarray(margin_area, dtype=np.float64)
    if area.shape != disagreement.shape:
        raise ValueError(f"margin_area: expected shape {disagreement.shape}, got {area.shape}")
    mixed = (1.0 - training_dynamics) * disagreement + training_dynamics * (1.0 - area) / 2.0
    return np.where(np.isfinite(area), mixed, disagreement)


def review_context(*, labels: np.ndarray, member_scores: np.ndarray, features: np.ndarray | None) -> np.ndarray:
    """(N, F) what the review model reads about a sample with label ``labels``: the label, each
    member's disagreement with it, and the features (NaN allowed; the trees handle it).

    For reviewed samples pass the label they had when reviewed: the model learns whether
    *that* label was wrong given this evidence, and is asked the same of the others.
    """
    given = check_given_labels(labels, name="labels")
    scores = check_member_scores(member_scores, n_samples=given.shape[0]).astype(np.float64)
    disagreement = np.where((given == 1)[:, None], 1.0 - scores, scores)
    columns = [given[:, None].astype(np.float64), disagreement]
    if features is not None:
        matrix = np.asarray(features, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != given.shape[0]:
            raise ValueError(f"features: expected shape ({given.shape[0]}, F), got {matrix.shape}")
        columns.append(matrix)
    return np.column_stack(columns)


def review_outcome_probability(*, context: np.ndarray, reviewed_rows: np.ndarray, label_was_wrong: np.ndarray,
                               config: EvidenceConfig, seed: int) -> np.ndarray | None:
    """(N,) P(label wrong) from a model of the earlier reviews' outcomes, or None when there
    are too few outcomes of either kind (fewer than ``MIN_OUTCOMES_PER_CLASS``).

    context: (N, F) from :func:`review_context`.  reviewed_rows: (R,) rows with a decided
    review; label_was_wrong: (R,) bool, corrected (True) or confirmed (False).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows = np.asarray(reviewed_rows, dtype=np.int64)
    outcome = np.asarray(label_was_wrong, dtype=bool)
    if outcome.shape != rows.shape:
        raise ValueError(f"label_was_wrong: expected one outcome per reviewed row ({rows.shape[0]}), "
                         f"got shape {outcome.shape}")
    if min(int(outcome.sum()), int((~outcome).sum())) < MIN_OUTCOMES_PER_CLASS:
        return None
    model = HistGradientBoostingClassifier(
        max_iter=config.review_model_iterations, learning_rate=0.1, max_leaf_nodes=config.review_model_leaf_nodes,
        min_samples_leaf=config.review_model_min_leaf, l2_regularization=1.0, early_stopping=False,
        random_state=seed)
    model.fit(context[rows], outcome.astype(np.int64))
    return model.predict_proba(context)[:, list(model.classes_).index(1)]


def combined_rank_score(*, base: np.ndarray, review_probability: np.ndarray | None) -> np.ndarray:
    """(N,) the ranking score: the base score, times P(wrong | review model) when there is one."""
    score = np.asarray(base, dtype=np.float64)
    return score if review_probability is None else score * np.asarray(review_probability, dtype=np.float64)
