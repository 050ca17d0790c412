"""Given labels versus truth: how the release's labels come to be wrong.

Ayyar et al. (2022) found two ways the DES-SN labels were wrong: fakes injected onto bad
CCD regions, masks or next to saturated stars were labelled non-artifact (0) though the
stamp is an artifact; and a few of the random detections labelled artifact (1) were real,
unknown transients.  Re-labelling changed about three 0->1 for each 1->0.  We add a few
label flips with no physical cause.  The total rate and the direction ratio are knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realbogus.simulate.config import (
    MECHANISMS_GIVEN0_TRUE1,
    MECHANISMS_GIVEN1_TRUE0,
    SimulationConfig,
)


@dataclass(frozen=True)
class LabelDraw:
    """One sample's given label, true label and the mechanism that separates them."""

    given_label: int
    true_label: int
    mislabel_mechanism: str  # "none" when given == true


def mislabel_probabilities(*, label_noise: float, flip_ratio: float,
                           artifact_fraction: float) -> tuple[float, float]:
    """P(mislabelled | given 0) and P(mislabelled | given 1).

    label_noise: fraction of ALL samples whose given label is wrong.
    flip_ratio: (given 0, truly 1) per (given 1, truly 0), i.e. the relabel direction
        0 -> 1 per 1 -> 0 (about 5,636 / 1,766 = 3.2 in the paper).
    artifact_fraction: share of samples with given label 1.
    """
    if not 0.0 <= label_noise < 1.0:
        raise ValueError(f"label_noise must be in [0, 1), got {label_noise}")
    if not flip_ratio > 0.0:
        raise ValueError(f"flip_ratio must be positive, got {flip_ratio}")
    rate_given0_true1 = label_noise * flip_ratio / (1.0 + flip_ratio)
    rate_given1_true0 = label_noise / (1.0 + flip_ratio)
    probability_given0 = rate_given0_true1 / (1.0 - artifact_fraction)
    probability_given1 = rate_given1_true0 / artifact_fraction
    if probability_given0 > 1.0 or probability_given1 > 1.0:
        raise ValueError(
            f"label_noise={label_noise} with flip_ratio={flip_ratio} needs more mislabelled samples "
            f"of one given label than exist at artifact_fraction={artifact_fraction}"
        )
    return probability_given0, probability_given1


def draw_labels(rng: np.random.Generator, *, label_noise: float, flip_ratio: float,
                config: SimulationConfig) -> LabelDraw:
    """Draw one sample's given label, then whether (and how) the truth differs."""
    probability_given0, probability_given1 = mislabel_probabilities(
        label_noise=label_noise, flip_ratio=flip_ratio, artifact_fraction=config.artifact_fraction)
    given_label = int(rng.random() < config.artifact_fraction)
    probability = probability_given1 if given_label else probability_given0
    if rng.random() >= probability:
        return LabelDraw(given_label=given_label, true_label=given_label, mislabel_mechanism="none")
    weights = (config.mislabel_mechanism_weights_given1 if given_label
               else config.mislabel_mechanism_weights_given0)
    mechanism = _choose(rng, weights)
    allowed = MECHANISMS_GIVEN1_TRUE0 if given_label else MECHANISMS_GIVEN0_TRUE1
    assert mechanism in allowed
    return LabelDraw(given_label=given_label, true_label=1 - given_label, mislabel_mechanism=mechanism)


def _choose(rng: np.random.Generator, weights: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in weights]
    values = np.array([weight for _, weight in weights], dtype=float)
    return names[int(rng.choice(len(names), p=values / values.sum()))]
