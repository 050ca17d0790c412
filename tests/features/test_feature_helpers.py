"""Unit tests of the pixel, Gaussian-fit and photometry helpers behind the features."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sep

from realbogus.features.gauss_fit import fit_round_gaussian
from realbogus.features.photometry import (
    circular_aperture_flux,
    extract_nearest_source,
    magnitude,
    magnitude_error,
    spread_model,
)
from realbogus.features.pixels import (
    bin_2x2,
    fast_median,
    masked_pixels,
    robust_level_and_sigma,
    significance_stamp,
)


def test_masked_pixels_finds_markers_and_nans_but_keeps_zeros():
    stamp = np.ones((51, 51))
    stamp[0, 0] = 1e-30
    stamp[1, 1] = np.float32(1e-30)
    stamp[2, 2] = np.nan
    stamp[3, 3] = 0.0
    stamp[4, 4] = -1e-30
    mask = masked_pixels(stamp)
    assert mask[0, 0] and mask[1, 1] and mask[2, 2] and mask[4, 4]
    assert not mask[3, 3]
    assert mask.sum() == 4


@pytest.mark.parametrize("size", [1, 2, 7, 1000, 1001])
def test_fast_median_matches_numpy(size):
    values = np.random.default_rng(size).normal(size=size)
    assert fast_median(values) == pytest.approx(float(np.median(values)))


def test_robust_noise_ignores_the_central_source_and_masks():
    rng = np.random.default_rng(1)
    stamp = 50.0 + rng.normal(0.0, 4.0, (51, 51))
    stamp[15:36, 15:36] += 1000.0  # a big central source
    stamp[:, :3] = 1e-30
    level, sigma = robust_level_and_sigma(stamp, mask=masked_pixels(stamp), frame_width=8)
    assert level == pytest.approx(50.0, abs=0.5)
    assert sigma == pytest.approx(4.0, rel=0.1)


def test_bin_2x2_averages_unmasked_pixels_only():
    stamp = np.arange(51 * 51, dtype=float).reshape(51, 51)
    mask = np.zeros((51, 51), dtype=bool)
    mask[0, 0] = True
    mask[2:4, 2:4] = True
    binned, binned_mask = bin_2x2(stamp, mask=mask)
    assert binned.shape == (25, 25)
    assert binned[0, 0] == pytest.approx((stamp[0, 1] + stamp[1, 0] + stamp[1, 1]) / 3)
    assert binned_mask[1, 1] and binned_mask.sum() == 1
    assert binned[5, 7] == pytest.approx(stamp[10:12, 14:16].mean())


def test_significance_stamp_is_none_for_a_constant_image():
    constant = np.full((25, 25), 3.0)
    assert significance_stamp(constant, mask=np.zeros_like(constant, bool), frame_width=4) is None


def test_round_gaussian_fit_recovers_noiseless_parameters():
    ys, xs = np.mgrid[:51, :51]
    image = 0.8 * np.exp(-0.5 * ((xs - 25.3) ** 2 + (ys - 24.8) ** 2) / 2.4**2)
    image[26, 20] = np.nan  # a masked pixel is simply left out
    fit = fit_round_gaussian(image, x_centre=25.0, y_centre=25.0, half_width=7)
    assert fit is not None
    assert fit.amplitude == pytest.approx(0.8, rel=1e-4)
    assert fit.sigma_px == pytest.approx(2.4, rel=1e-4)
    assert (fit.x_centre, fit.y_centre) == pytest.approx((25.3, 24.8), abs=1e-3)
    assert fit.residual_sum_of_squares < 1e-8


def test_round_gaussian_fit_keeps_the_centre_within_half_a_pixel():
    ys, xs = np.mgrid[:51, :51]
    offset = np.exp(-0.5 * ((xs - 28.0) ** 2 + (ys - 25.0) ** 2) / 2.0**2)
    fit = fit_round_gaussian(offset, x_centre=25.0, y_centre=25.0, half_width=7)
    assert fit is not None and fit.x_centre <= 25.5 + 1e-12
    assert fit_round_gaussian(np.full((51, 51), np.nan), x_centre=25.0, y_centre=25.0,
                              half_width=7) is None


def test_round_gaussian_fit_amplitude_stays_bounded_on_a_mostly_masked_cutout():
    # A handful of usable noise pixels away from the centre let an unbounded fit push the
    # amplitude to ~1e13 (the simulated release once produced AMP ~ 1e48, which broke the
    # forest): the peak may exceed the brightest pixel only by a bounded factor.
    rng = np.random.default_rng(1)
    for _ in range(200):
        image = rng.normal(0.0, 0.3, (51, 51))
        usable = np.zeros((51, 51), dtype=bool)
        count = rng.integers(5, 12)
        usable[rng.integers(18, 33, count), rng.integers(18, 33, count)] = True
        image[~usable] = np.nan
        fit = fit_round_gaussian(image, x_centre=25.0, y_centre=25.0, half_width=7)
        if fit is not None:
            assert np.isfinite(fit.amplitude) and abs(fit.amplitude) <= 20.0 * np.nanmax(np.abs(image)) + 1e-9


def test_spread_model_of_a_noiseless_psf_is_zero():
    fwhm = 4.2
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    ys, xs = np.mgrid[:51, :51]
    psf = 1000.0 * np.exp(-0.5 * ((xs - 25.2) ** 2 + (ys - 24.9) ** 2) / sigma**2)
    mask = np.zeros((51, 51), dtype=bool)
    spread, error = spread_model(psf, mask=mask, noise_sigma=1.0, x=25.2, y=24.9,
                                 psf_fwhm_px=fwhm)
    assert spread == pytest.approx(0.0, abs=1e-12)
    assert error > 0


def test_extract_nearest_source_respects_the_match_radius():
    ys, xs = np.mgrid[:51, :51]
    image = 500.0 * np.exp(-0.5 * ((xs - 35.0) ** 2 + (ys - 25.0) ** 2) / 2.0**2)
    image += np.random.default_rng(2).normal(0.0, 1.0, (51, 51))
    mask = np.zeros((51, 51), dtype=bool)
    kwargs = dict(noise_sigma=1.0, mask=mask, x=25.0, y=25.0, threshold_sigma=1.2,
                  min_area_px=5)
    pixstack_before = sep.get_extract_pixstack()
    assert extract_nearest_source(image, max_distance_px=5.0, **kwargs) is None
    found = extract_nearest_source(image, max_distance_px=15.0, **kwargs)
    assert found is not None and found.distance_px == pytest.approx(10.0, abs=0.1)
    assert found.flux == pytest.approx(500.0 * 2 * math.pi * 4.0, rel=0.05)
    # sep's global pixel-stack setting is restored for other users in the process.
    assert sep.get_extract_pixstack() == pixstack_before


def test_aperture_and_magnitude_helpers():
    image = np.ones((51, 51))
    mask = np.zeros((51, 51), dtype=bool)
    assert circular_aperture_flux(image, mask=mask, x=25.0, y=25.0, radius_px=5.0) == \
        pytest.approx(math.pi * 25.0, rel=1e-3)
    assert magnitude(100.0, zeropoint=30.0) == pytest.approx(25.0)
    assert math.isnan(magnitude(-5.0, zeropoint=30.0))
    assert math.isnan(magnitude(100.0, zeropoint=math.nan))
    assert magnitude_error(100.0, 10.0) == pytest.approx(0.10857, rel=1e-4)


def test_max_column_median_ignores_masked_pixels_and_columns():
    from realbogus.features.autoscan import _max_column_median

    rng = np.random.default_rng(4)
    image = rng.normal(size=(51, 51))
    mask = rng.random((51, 51)) < 0.3
    mask[:, 7] = True  # a fully masked column
    image[:, 12] += 5.0  # the brightest column, partly masked
    masked_image = np.where(mask, np.nan, image)
    expected = np.nanmax(np.nanmedian(np.delete(masked_image, 7, axis=1), axis=0))
    assert _max_column_median(masked_image, mask) == pytest.approx(expected)
    unmasked = np.zeros((51, 51), dtype=bool)
    assert _max_column_median(image, unmasked) == pytest.approx(np.median(image, axis=0).max())
