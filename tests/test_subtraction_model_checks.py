"""benchmarks/subtraction_model_checks.py: the fitted kernel's floor and noise, and the limit's Moffat index."""

from __future__ import annotations

import dataclasses

import numpy as np

from realbogus.simulate import SimulationConfig
from realbogus.simulate.scene import draw_conditions
from script_modules import load_script  # tests/ is on sys.path

checks = load_script("benchmarks/subtraction_model_checks.py")


def test_the_fitted_kernel_leaves_a_smaller_floor_than_the_psf_ratio_and_regularisation_trades_floor_for_noise() -> None:
    config = SimulationConfig()
    rng = np.random.default_rng(3)
    conditions = [draw_conditions(rng, config=config) for _ in range(24)]
    floors = checks.kernel_floors(conditions, config=config, factors=(0.1, 10.0))
    simulator, weaker, stronger, ratio = (floors[name] for name in (
        "simulator", "regularisation_x0.1", "regularisation_x10", "psf_ratio"))
    # The template is always convolved: broadened where it is the sharper, else sharpened.
    assert sorted(simulator) == ["all", "template_broadened", "template_sharpened"]
    for image in ("template_broadened", "template_sharpened"):
        # A perfectly modelled star: the old kernel's blend left ~2 % of its core, the fit
        # far less; through the detection filter both stay far below its own S/N.
        assert abs(simulator[image]["centre_ratio_median"]) < 0.5 * abs(ratio[image]["centre_ratio_median"])
        assert abs(simulator[image]["filter_ratio_median"]) < 0.01
        # A stronger regularisation (noisier fitting stars) leaves more of the core and
        # passes less of the convolved image's fine noise.
        assert abs(stronger[image]["centre_ratio_median"]) > abs(simulator[image]["centre_ratio_median"])
        assert weaker[image]["noise_gain_median"] > simulator[image]["noise_gain_median"] > stronger[image]["noise_gain_median"]
        assert weaker[image]["lag1_median"] < simulator[image]["lag1_median"] < stronger[image]["lag1_median"]
        low, middle, high = simulator[image]["regularisation_p10_p50_p90"]
        assert 0.0 < low <= middle <= high
    # A kernel that sharpens passes the template's fine noise (about all of it: a mean |K|^2
    # near 1) and rings; one that broadens smooths most of it away.
    sharpened_gain, broadened_gain = (simulator[image]["noise_gain_median"]
                                      for image in ("template_sharpened", "template_broadened"))
    assert sharpened_gain > 0.5 and sharpened_gain > 5 * broadened_gain
    assert simulator["template_sharpened"]["ringing_p10_p50"][1] < -0.1 < simulator["template_broadened"]["ringing_p10_p50"][1]


def test_convolving_the_sharper_image_never_sharpens_and_the_deep_templates_fits_are_regularised_less() -> None:
    config = SimulationConfig(convolved_image="sharper")
    rng = np.random.default_rng(3)
    conditions = [draw_conditions(rng, config=config) for _ in range(24)]
    simulator = checks.kernel_floors(conditions, config=config, factors=())["simulator"]
    assert sorted(simulator) == ["all", "search_broadened", "template_broadened"]
    # The deep template's stars are less noisy: its fits are regularised less.
    assert (simulator["template_broadened"]["regularisation_p10_p50_p90"][1]
            < simulator["search_broadened"]["regularisation_p10_p50_p90"][1])


def test_the_limit_moves_only_where_the_template_is_broader_and_its_index_differs() -> None:
    rng = np.random.default_rng(4)
    conditions = [draw_conditions(rng, config=SimulationConfig(convolved_image="sharper")) for _ in range(200)]
    moved = checks.limit_moffat_index(conditions)
    assert 0.3 < moved["search_convolved_share"] < 0.7
    assert 0.0 < moved["limit_change_mag_p50_p90_max"][0] < moved["limit_change_mag_p50_p90_max"][2] < 0.3
    same_index = [dataclasses.replace(c, template_beta=c.search_beta) for c in conditions]
    assert checks.limit_moffat_index(same_index)["limit_change_mag_p50_p90_max"] == [0.0, 0.0, 0.0]
    # Convolving the template always: the difference has the search image's PSF, index included.
    always = checks.limit_moffat_index([draw_conditions(rng, config=SimulationConfig()) for _ in range(50)])
    assert always == {"conditions": 50, "search_convolved_share": 0.0, "limit_change_mag_p50_p90_max": None}
