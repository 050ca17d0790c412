"""benchmarks/strong_flags_by_kind.py: how much of a flagged sample's detection is its transient."""

from __future__ import annotations

import numpy as np
import pandas as pd

from realbogus.simulate import SimulationConfig, draw_truth_table
from realbogus.simulate.release import detection_id

from script_modules import load_script  # tests/ is on sys.path


def _truth(n: int, *, seed: int, config: dict):
    table = draw_truth_table(n=n, seed=seed, label_noise=0.015, flip_ratio=3.0,
                             config=SimulationConfig.from_mapping(config))
    table["id"] = [detection_id(index) for index in range(n)]
    return table.set_index("id")


def test_a_fake_without_a_host_is_all_transient_and_an_artifact_has_none() -> None:
    module = load_script("benchmarks/strong_flags_by_kind.py")
    simulate = {"seed": 7, "label_noise": 0.015, "flip_ratio": 3.0, "config": {"host_fraction": 0.0}}
    truth = _truth(40, seed=7, config=simulate["config"])
    chosen = truth[truth["scene_kind"].isin(["fake", "artifact"])].groupby("scene_kind").head(3)
    shares = module.transient_shares(chosen, simulate=simulate)
    fakes = chosen["scene_kind"] == "fake"
    assert fakes.sum() == 3 and np.isnan(shares[~fakes]).all()
    # Nothing static under a hostless fake: its detection is its own light.
    assert np.allclose(shares[fakes], 1.0, atol=0.05)
    described = module.describe(chosen.assign(transient_share=shares)[fakes])
    assert described["n_residual_dominated"] == 0 and described["transient_share_median"] > 0.95


def test_per_member_counts_each_members_own_flags_and_the_kinds_it_gets_wrong() -> None:
    module = load_script("benchmarks/strong_flags_by_kind.py")
    ids = [11, 12, 13, 14]
    votes = pd.DataFrame({"label": [1, 0, 1, 0], "rf": [1, 1, 0, 0], "hgb": [1, 0, 1, 0]}, index=ids)
    truth = pd.DataFrame({"true_label": [0, 0, 1, 0], "scene_kind": ["real_transient", "fake", "artifact", "fake"],
                          "artifact_type": ["none", "none", "noise_peak", "none"],
                          "detection_snr": [9.0, 5.2, 5.6, 30.0]}, index=ids)
    out = module.per_member(votes, truth, ["rf", "hgb"])
    # rf flags 11 (mislabelled: given 1, truly 0) and 12 (a correctly labelled fake).
    assert out["rf"] == {"n_strongly_misclassified": 2, "n_mislabelled": 1, "correct_by_kind": {"fake/none": 1},
                         "correct_detection_snr_median": 5.2}
    assert out["hgb"]["n_mislabelled"] == 1 and out["hgb"]["correct_by_kind"] == {"artifact/noise_peak": 1}
    assert module.per_member(votes.assign(rf=0), truth, ["rf"])["rf"]["correct_detection_snr_median"] is None
