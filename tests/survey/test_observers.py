"""Simulated observers: disagree on marginal detections (faint, on galaxies, galaxy cores)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.params import config_from_mapping
from realbogus.survey.observers import ObserverConfig, marginality, simulate_votes
from realbogus.survey.vetting import vet_labels


def _truth(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    true_label = (rng.random(n) < 0.85).astype(int)
    artifact_type = np.where(true_label == 1, rng.choice(["dipole", "galaxy_core", "cosmic_ray", "noise_peak"], n),
                             "none")
    return pd.DataFrame({
        "id": np.arange(1, n + 1), "true_label": true_label, "artifact_type": artifact_type,
        "mag_from_limit": np.where(true_label == 0, -rng.uniform(0, 4, n), np.nan),
        "host_galaxy": (true_label == 0) & (rng.random(n) < 0.6),
    })


def test_marginality_is_high_for_faint_reals_on_hosts_and_galaxy_cores():
    truth = pd.DataFrame({"id": [1, 2, 3, 4, 5], "true_label": [0, 0, 0, 1, 1],
                          "artifact_type": ["none", "none", "none", "galaxy_core", "cosmic_ray"],
                          "mag_from_limit": [-3.0, -0.1, -3.0, np.nan, np.nan],
                          "host_galaxy": [False, False, True, False, False]})
    hardness = marginality(truth)
    assert hardness[0] == 0.0 and hardness[4] == 0.0
    assert hardness[1] > 0.8 and hardness[3] > 0.5 and 0 < hardness[2] < hardness[1]


def test_votes_disagree_mostly_on_marginal_detections_and_are_deterministic():
    truth = _truth()
    config = ObserverConfig(seed=1)
    votes = simulate_votes(truth, config=config)
    assert list(votes.columns) == ["id", "observer", "vote"]
    pd.testing.assert_frame_equal(votes, simulate_votes(truth, config=config))
    assert set(votes["observer"]) <= set(config.observers)
    assert not votes.duplicated(["id", "observer"]).any()
    per_id = votes.groupby("id").size()
    assert per_id.min() >= config.observers_per_detection - 1 and per_id.max() <= config.observers_per_detection + 1
    counting = votes[votes["vote"] != "unsure"]
    split = counting.groupby("id")["vote"].nunique() > 1
    hardness = pd.Series(marginality(truth), index=truth["id"])
    disagreement_marginal = split[hardness.loc[split.index] >= 0.5].mean()
    disagreement_easy = split[hardness.loc[split.index] == 0].mean()
    assert disagreement_marginal > 3 * disagreement_easy
    result = vet_labels(votes, min_votes=3, known_ids=truth["id"])
    reasons = result.undecided["reason"].str.split(":").str[0].value_counts()
    assert reasons.get("tie", 0) > 0 and reasons.get("too few votes", 0) > 0
    joined = result.labels.merge(truth, on="id")
    assert (joined["label"] != joined["true_label"]).mean() < 0.1
    assert 0.1 < (result.labels["label"] == 0).mean() < 0.2


@pytest.mark.parametrize("changes, message", [
    ({"observers": ("a", "a", "b", "c")}, "distinct"),
    ({"base_error": (0.1,)}, "one entry per observer"),
    ({"observers_per_detection": 5}, "observers_per_detection"),
    ({"marginal_error": (0.6, 0.1, 0.1, 0.1)}, "probabilities"),
])
def test_config_is_validated(changes, message):
    with pytest.raises(ValueError, match=message):
        ObserverConfig(**changes)


def test_config_from_params_refuses_unknown_keys():
    with pytest.raises(ValueError, match="unknown key"):
        config_from_mapping(ObserverConfig, {"observer": ["a"]}, where="votes")
