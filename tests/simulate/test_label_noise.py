"""Label noise: configured rates and directions are what a release gets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realbogus.simulate import SimulationConfig, draw_truth_table, mislabel_probabilities
from realbogus.simulate.config import MECHANISM_ARTIFACT, MECHANISMS_GIVEN0_TRUE1, MECHANISMS_GIVEN1_TRUE0


def test_mislabel_probabilities_give_the_configured_rates() -> None:
    given0, given1 = mislabel_probabilities(label_noise=0.02, flip_ratio=3.0, artifact_fraction=0.4)
    # rate(given 0, true 1) = 0.6 * given0 = 0.015; rate(given 1, true 0) = 0.4 * given1 = 0.005
    assert math.isclose(0.6 * given0, 0.015)
    assert math.isclose(0.4 * given1, 0.005)


@pytest.mark.parametrize("kwargs", [dict(label_noise=-0.1, flip_ratio=3.0), dict(label_noise=0.01, flip_ratio=0.0),
                                    dict(label_noise=0.9, flip_ratio=100.0)])
def test_impossible_label_noise_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="label_noise|flip_ratio"):
        mislabel_probabilities(artifact_fraction=0.5, **kwargs)


@pytest.mark.parametrize("label_noise, flip_ratio", [(0.015, 3.0), (0.05, 1.0)])
def test_measured_flip_rate_and_direction_match_the_configuration(label_noise: float, flip_ratio: float) -> None:
    n = 6000
    truth = draw_truth_table(n=n, seed=11, label_noise=label_noise, flip_ratio=flip_ratio)
    given, true = truth["given_label"].to_numpy(), truth["true_label"].to_numpy()
    given0_true1 = int(np.sum((given == 0) & (true == 1)))
    given1_true0 = int(np.sum((given == 1) & (true == 0)))
    expected0 = n * label_noise * flip_ratio / (1 + flip_ratio)
    expected1 = n * label_noise / (1 + flip_ratio)
    # Counts are binomial: allow four standard deviations.
    assert abs(given0_true1 - expected0) < 4 * math.sqrt(expected0) + 1
    assert abs(given1_true0 - expected1) < 4 * math.sqrt(expected1) + 1
    # Class balance follows the real release's (about half artifacts).
    assert abs(given.mean() - SimulationConfig().artifact_fraction) < 0.03


def test_default_mislabels_are_the_papers_two_mechanisms_only() -> None:
    truth = draw_truth_table(n=4000, seed=5, label_noise=0.1, flip_ratio=3.0)
    wrong = truth[truth["given_label"] != truth["true_label"]]
    assert set(wrong.loc[wrong["given_label"] == 0, "mislabel_mechanism"]) == set(MECHANISM_ARTIFACT)
    assert set(wrong.loc[wrong["given_label"] == 1, "mislabel_mechanism"]) == {"real_transient"}


def test_mechanisms_match_their_direction_and_scene() -> None:
    with_flips = SimulationConfig(
        mislabel_mechanism_weights_given0=(("fake_on_bad_column", 0.3), ("fake_on_mask", 0.25),
                                           ("fake_near_saturated_star", 0.25), ("random_flip", 0.2)),
        mislabel_mechanism_weights_given1=(("real_transient", 0.8), ("random_flip", 0.2)))
    truth = draw_truth_table(n=4000, seed=5, label_noise=0.1, flip_ratio=3.0, config=with_flips)
    wrong = truth[truth["given_label"] != truth["true_label"]]
    right = truth[truth["given_label"] == truth["true_label"]]
    assert (right["mislabel_mechanism"] == "none").all()
    assert set(wrong.loc[wrong["given_label"] == 0, "mislabel_mechanism"]) == set(MECHANISMS_GIVEN0_TRUE1)
    assert set(wrong.loc[wrong["given_label"] == 1, "mislabel_mechanism"]) == set(MECHANISMS_GIVEN1_TRUE0)
    for mechanism, artifact in MECHANISM_ARTIFACT.items():
        rows = truth[truth["mislabel_mechanism"] == mechanism]
        assert (rows["artifact_type"] == artifact).all() and (rows["scene_kind"] == "fake_on_artifact").all()
        assert rows["magnitude"].notna().all()  # the fake is there, under the defect
    real = truth[truth["mislabel_mechanism"] == "real_transient"]
    assert (real["true_label"] == 0).all() and (real["scene_kind"] == "real_transient").all()


def test_zero_label_noise_gives_clean_labels() -> None:
    truth = draw_truth_table(n=1000, seed=1, label_noise=0.0)
    assert (truth["given_label"] == truth["true_label"]).all()
