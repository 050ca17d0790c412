"""The default simulated release's GIFs fall inside the real DES-SN pixel statistics."""

from __future__ import annotations

import numpy as np
import pytest

from realbogus.realism import pixel_comparison
from realbogus.release.display import display_triplet
from realbogus.release.layout import CHANNELS
from realbogus.simulate import SimulationConfig, simulate_sample

N_SAMPLES = 300


@pytest.fixture(scope="module")
def gif_stamps() -> np.ndarray:
    config = SimulationConfig()
    stamps = np.empty((N_SAMPLES, 51, 51, 3), dtype=np.uint8)
    for index in range(N_SAMPLES):
        _, rendered = simulate_sample(seed=2013, index=index, label_noise=0.0082, flip_ratio=3.19, config=config)
        stamps[index] = display_triplet(rendered.template, rendered.search, rendered.difference)
    return stamps


def test_every_channel_sits_inside_the_real_ranges(gif_stamps: np.ndarray) -> None:
    comparison = pixel_comparison(gif_stamps)
    failed = {channel: [name for name, passed in comparison[channel]["checks"].items() if not passed]
              for channel in CHANNELS}
    assert comparison["all_checks_pass"], failed


def test_templates_are_dark_and_differences_grainy_as_in_real_stamps(gif_stamps: np.ndarray) -> None:
    comparison = pixel_comparison(gif_stamps)
    template, difference = comparison["temp"]["release"], comparison["diff"]["release"]
    # Real: template sky 12 (noise 5) of 255, difference sky 106 (noise 39).
    assert template["background"][1] < 40 and template["noise"][1] < 15
    assert difference["background"][1] > 60 and difference["noise"][1] > 24
    assert difference["background"][1] > 2 * template["background"][1]


def test_difference_display_matches_the_real_level_spread_and_clipping(gif_stamps: np.ndarray) -> None:
    # Real difference (ten public stamps): sky 62 / 106 / 123, noise 24 / 39 / 45, 0.5 % of the
    # pixels at 0 and ~0.3 % at 255 besides the ticks. Stretched to its central maximum (the
    # second pass) the simulated difference had sky 32 / 89 / 112 and noise 8.9 / 32.6 / 43.
    difference = pixel_comparison(gif_stamps)["diff"]["release"]
    assert 95 <= difference["background"][1] <= 125 and 34 <= difference["noise"][1] <= 46
    assert difference["background"][2] <= 135 and difference["noise"][2] <= 52
    assert 0.001 <= difference["fraction_at_255_outside_ticks"] <= 0.006
    assert 0.003 <= difference["fraction_at_0"] <= 0.01
