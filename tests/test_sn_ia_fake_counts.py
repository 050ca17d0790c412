"""benchmarks/sn_ia_fake_counts.py: how steeply SN Ia fakes crowd the limit, from the rate and cosmology."""

from __future__ import annotations

import numpy as np
import pytest

from realbogus.simulate import SimulationConfig

from script_modules import load_script  # tests/ is on sys.path

counts = load_script("benchmarks/sn_ia_fake_counts.py")


def test_the_distance_modulus_is_flat_lambda_cdm() -> None:
    grid = counts.cosmology_grid()
    # H0 70, Omega_m 0.3: mu(0.5) = 42.27 and mu(1.0) = 44.10 (standard calculators).
    assert np.interp(0.5, grid["z"], grid["modulus"]) == pytest.approx(42.27, abs=0.02)
    assert np.interp(1.0, grid["z"], grid["modulus"]) == pytest.approx(44.10, abs=0.02)
    # More volume and a rising rate: the observed rate density grows up to z ~ 1.
    rate = np.interp([0.2, 0.5, 0.9], grid["z"], grid["observed_rate"])
    assert rate[0] < rate[1] < rate[2]


def test_the_light_curve_rises_to_its_peak_and_fades_ever_more_slowly() -> None:
    days = np.array([-20.0, -18.0, -9.0, 0.0, 15.0, 40.0, 100.0])
    offset = counts.light_curve_offset(days)
    assert np.isinf(offset[:2]).all()  # before the explosion
    assert offset[3] == 0.0
    assert offset[2] > 0.0
    assert offset[4] == pytest.approx(1.1)
    assert offset[5] == pytest.approx(2.35)
    assert offset[6] == pytest.approx(2.35 + 0.015 * 60.0)


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_the_fit_recovers_a_truncated_exponential_scale(scale: float) -> None:
    rng = np.random.default_rng(3)
    low, high, span = -5.0, 1.0, 6.0
    depth = -scale * np.log(1.0 - rng.random(40_000) * (1.0 - np.exp(-span / scale)))
    assert counts.truncated_exponential_scale(high - depth, low, high) == pytest.approx(scale, rel=0.05)


def test_epochs_of_fading_supernovae_crowd_the_limit_more_steeply_than_their_peaks() -> None:
    rng = np.random.default_rng(5)
    grid = counts.cosmology_grid()
    config = SimulationConfig()
    low, high = config.fake_mag_from_limit_min, config.fake_mag_from_limit_max
    epochs, below_peak, peaks = counts.epochs_from_limit(rng, supernovae=20_000, band="r", limit=23.4,
                                                         sed="sn_ia", peak_spread=0.25, grid=grid)
    assert len(epochs) == len(below_peak) > len(peaks) * 0.5
    assert (below_peak >= 0.0).all()
    # A fading supernova spends more nights at fainter magnitudes than its peak: epochs crowd
    # the limit more steeply than peaks.
    assert counts.truncated_exponential_scale(epochs, low, high) < counts.truncated_exponential_scale(peaks, low, high)
    mean_below = counts.detected_mean_below_peak(epochs, below_peak, low, high, config)
    assert 0.3 < mean_below < 3.0
