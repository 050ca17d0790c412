"""benchmarks/subtraction_model_checks.py: the kernel's floor and the limit's Moffat index."""

from __future__ import annotations

import dataclasses

import numpy as np

from realbogus.simulate import SimulationConfig
from realbogus.simulate import scene
from realbogus.simulate.scene import draw_conditions
from script_modules import load_script  # tests/ is on sys.path

checks = load_script("benchmarks/subtraction_model_checks.py")


def test_the_kernel_floor_has_the_sign_of_the_convolved_image_and_a_tighter_blend_removes_it() -> None:
    config = SimulationConfig()
    rng = np.random.default_rng(3)
    conditions = [draw_conditions(rng, config=config) for _ in range(24)]
    constants = (scene.KERNEL_BLEND_POWER, scene.KERNEL_REGULARISATION)
    floors = checks.kernel_floors(conditions, config=config,
                                  settings={"simulator": constants, "tight": (1e-6, 1e-8)})
    assert (scene.KERNEL_BLEND_POWER, scene.KERNEL_REGULARISATION) == constants  # restored
    simulator, tight = floors["simulator"], floors["tight"]
    # A perfectly modelled star keeps a positive core where the template is convolved, a
    # negative one where the search image is; far below its own S/N through the filter.
    assert simulator["template_convolved"]["centre_ratio_median"] > 0.005
    assert simulator["search_convolved"]["centre_ratio_median"] < -0.005
    for image in ("template_convolved", "search_convolved"):
        assert abs(simulator[image]["filter_ratio_median"]) < 0.01
        assert abs(tight[image]["centre_ratio_median"]) < 0.3 * abs(simulator[image]["centre_ratio_median"])
    # The tighter kernel passes more of the convolved image's high-frequency noise.
    assert tight["all"]["noise_gain_median"] > simulator["all"]["noise_gain_median"]
    assert tight["all"]["lag1_median"] < simulator["all"]["lag1_median"]


def test_the_limit_moves_only_where_the_template_is_broader_and_its_index_differs() -> None:
    rng = np.random.default_rng(4)
    conditions = [draw_conditions(rng, config=SimulationConfig()) for _ in range(200)]
    moved = checks.limit_moffat_index(conditions)
    assert 0.3 < moved["template_broader_share"] < 0.7
    assert 0.0 < moved["limit_change_mag_p50_p90_max"][0] < moved["limit_change_mag_p50_p90_max"][2] < 0.3
    same_index = [dataclasses.replace(c, template_beta=c.search_beta) for c in conditions]
    assert checks.limit_moffat_index(same_index)["limit_change_mag_p50_p90_max"] == [0.0, 0.0, 0.0]
