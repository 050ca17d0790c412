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
    epochs = counts.epochs_from_limit(rng, supernovae=20_000, band="r", limit=23.4, sed="sn_ia", peak_spread=0.25,
                                      host_red_fraction=0.3, grid=grid)
    assert len(epochs.from_limit) == len(epochs.below_peak) == len(epochs.host_minus_peak)
    assert len(epochs.from_limit) > len(epochs.peak_from_limit) * 0.5
    assert (epochs.below_peak >= 0.0).all()
    # A fading supernova spends more nights at fainter magnitudes than its peak: epochs crowd
    # the limit more steeply than peaks.
    assert (counts.truncated_exponential_scale(epochs.from_limit, low, high)
            < counts.truncated_exponential_scale(epochs.peak_from_limit, low, high))
    inside, detected = counts.detected_weights(epochs, low, high, config)
    assert 0.0 < detected.min() and detected.max() <= 1.0
    assert 0.3 < np.average(epochs.below_peak[inside], weights=detected) < 3.0
    assert 0.3 < counts.figures(epochs, low=low, high=high, near=2.0, config=config)["detected_mean_below_peak"] < 3.0


def test_the_host_outshines_its_supernova_more_the_redder_the_rest_wavelength_a_band_sees() -> None:
    # At the same redshift a redder band sees a redder rest wavelength, where a galaxy is
    # brighter against a blue SN Ia at peak; a red host more than a blue one.
    rest = np.array([3200.0, 4400.0, 6600.0])
    for red in (False, True):
        host_over_peak = counts.peak_absolute_ab(rest, "sn_ia") - counts.host_absolute_ab(rest, red=np.full(3, red))
        assert host_over_peak[2] > max(host_over_peak[0], host_over_peak[1]) + 1.0
    blue = counts.peak_absolute_ab(rest, "sn_ia") - counts.host_absolute_ab(rest, red=np.zeros(3, bool))
    red = counts.peak_absolute_ab(rest, "sn_ia") - counts.host_absolute_ab(rest, red=np.ones(3, bool))
    assert red[0] < blue[0]  # in the UV the passive host is the fainter


def test_per_band_derivation_puts_the_brightest_hosts_in_the_reddest_band() -> None:
    rng = np.random.default_rng(9)
    grid = counts.cosmology_grid()
    config = SimulationConfig()
    low, high = config.fake_mag_from_limit_min, config.fake_mag_from_limit_max
    over = {}
    for band, limit in {"g": 23.4, "z": 22.3}.items():
        epochs = counts.epochs_from_limit(rng, supernovae=20_000, band=band, limit=limit, sed="sn_ia",
                                          peak_spread=0.25, host_red_fraction=0.3, grid=grid)
        over[band] = counts.figures(epochs, low=low, high=high, near=2.0, config=config)["detected_mean_host_over_peak"]
    assert over["z"] > over["g"] + 1.0
