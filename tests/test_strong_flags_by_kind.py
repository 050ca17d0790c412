"""benchmarks/strong_flags_by_kind.py: how much of a flagged sample's detection is its transient."""

from __future__ import annotations

import numpy as np

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
