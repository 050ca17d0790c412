"""The PSF-matching kernel fitted on the Alard-Lupton basis, and its errors-in-variables term."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realbogus.simulate import kernel_fit
from realbogus.simulate.psf import gaussian_transfer, irfft2, moffat_peak, moffat_transfer, shift_transfer


def test_a_gaussian_kernel_between_gaussian_psfs_is_found_and_sums_to_one() -> None:
    sharp = gaussian_transfer(sigma_y=1.6, sigma_x=1.6)
    broad = gaussian_transfer(sigma_y=2.4, sigma_x=2.4)
    kernel = kernel_fit.fit_kernel(sharp, broad, regularisation=1e-9)
    assert kernel[0, 0].real == pytest.approx(1.0, abs=1e-12)     # unit sum: flux is the scale's job
    matched, target = irfft2(kernel * sharp), irfft2(broad)
    assert np.abs(matched - target).max() < 1e-3 * target.max()
    # Identical PSFs: the kernel is a delta function where the PSF has power.
    delta = kernel_fit.fit_kernel(sharp, sharp, regularisation=1e-9)
    assert np.abs(irfft2(delta * sharp) - irfft2(sharp)).max() < 1e-3 * irfft2(sharp).max()


def test_the_regularisation_keeps_the_kernel_from_amplifying_what_the_sharp_psf_lacks() -> None:
    # Moffat PSFs of different indices: the basis cannot follow their ratio exactly, and
    # where the sharp PSF has little power a weakly regularised fit grows the kernel.
    sharp = moffat_transfer(fwhm=4.2, beta=2.6)
    broad = moffat_transfer(fwhm=5.0, beta=3.8)
    gains = [float(np.mean(np.abs(kernel_fit.fit_kernel(sharp, broad, regularisation=value)) ** 2))
             for value in (1e-8, 1e-6, 1e-4)]
    assert gains[0] > gains[1] > gains[2]
    residuals = [float(np.abs(irfft2(kernel_fit.fit_kernel(sharp, broad, regularisation=value) * sharp) - irfft2(broad)).max())
                 for value in (1e-8, 1e-4)]
    assert residuals[0] < residuals[1]


def test_the_regularisation_is_the_substamps_noise_over_the_fit_stars_flux_squared() -> None:
    # The closed form against the sums over a drawn star population with the same cuts.
    fwhm, beta, sky_sigma, faint_flux, scale, saturation = 4.6, 3.0, 40.0, 2_000.0, 2.0, 130_000.0
    closed = kernel_fit.star_noise_regularisation(
        fwhm=fwhm, beta=beta, ellipticity=0.0, sky_sigma=sky_sigma, noise_scale=1.0, faint_flux=faint_flux,
        magnitude_scale=scale, saturation=saturation)
    rng = np.random.default_rng(1)
    flux = faint_flux * 10.0 ** (0.4 * rng.exponential(scale, size=4_000_000))
    peak = flux * moffat_peak(fwhm=fwhm, beta=beta)
    used = flux[(peak >= kernel_fit.FIT_THRESHOLD_SIGMA * sky_sigma) & (peak < saturation)]
    substamp = (2 * kernel_fit.SUBSTAMP_HALF_WIDTH + 1) ** 2
    drawn = (substamp * sky_sigma ** 2 * len(used) + used.sum()) / (used ** 2).sum()
    assert closed == pytest.approx(drawn, rel=0.05)
    # A template 1 mag deeper: its stars carry 10^-0.8 of the noise power, but fainter,
    # noisier ones now pass the threshold and enter the unweighted sums too.
    deeper = kernel_fit.star_noise_regularisation(
        fwhm=fwhm, beta=beta, ellipticity=0.0, sky_sigma=sky_sigma, noise_scale=10.0 ** -0.8, faint_flux=faint_flux,
        magnitude_scale=scale, saturation=saturation)
    assert 10.0 ** -0.8 * closed < deeper < closed
    with pytest.raises(ValueError, match="no star between"):
        kernel_fit.star_noise_regularisation(
            fwhm=fwhm, beta=beta, ellipticity=0.0, sky_sigma=sky_sigma, noise_scale=1.0, faint_flux=faint_flux,
            magnitude_scale=scale, saturation=10 * kernel_fit.FIT_THRESHOLD_SIGMA * sky_sigma * 0.01)


def test_the_moffat_peak_is_the_centre_of_the_unit_flux_profile() -> None:
    fwhm, beta = 4.5, 3.0
    image = np.fft.fftshift(irfft2(moffat_transfer(fwhm=fwhm, beta=beta)))
    # The drawn profile is sampled at pixel centres: its centre pixel is the peak value.
    assert image.max() == pytest.approx(moffat_peak(fwhm=fwhm, beta=beta), rel=0.02)
    assert moffat_peak(fwhm=fwhm, beta=beta, ellipticity=0.2) == pytest.approx(moffat_peak(fwhm=fwhm, beta=beta) / 0.8)
    assert math.isfinite(moffat_peak(fwhm=fwhm, beta=beta))


def test_point_symmetric_psfs_take_the_symmetric_block_with_the_same_kernel(monkeypatch) -> None:
    sharp = moffat_transfer(fwhm=4.2, beta=2.6, ellipticity=0.05, angle=0.3)
    broad = moffat_transfer(fwhm=5.0, beta=3.8, ellipticity=0.03, angle=1.1)
    symmetric = kernel_fit.fit_kernel(sharp, broad, regularisation=3e-6)
    monkeypatch.setattr(kernel_fit, "_point_symmetric", lambda transfer: False)
    full = kernel_fit.fit_kernel(sharp, broad, regularisation=3e-6)
    assert np.abs(symmetric - full).max() < 1e-7
    # A PSF off its centre (a misregistered one) needs the antisymmetric functions too.
    shifted = broad * shift_transfer(dy=0.3, dx=-0.2)
    kernel = kernel_fit.fit_kernel(sharp, shifted, regularisation=3e-6)
    assert np.abs(irfft2(kernel * sharp) - irfft2(shifted)).max() < 0.01 * irfft2(shifted).max()
