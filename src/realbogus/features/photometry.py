"""Source extraction, photometry and SPREAD_MODEL on single stamps, built on ``sep``.

``sep`` is the SExtractor core as a library, so A/B axes, extraction flags and Kron
(MAG_AUTO-style) photometry follow SExtractor's definitions, as the DES pipeline's did.
Images passed in are background-subtracted (51, 51) float64 arrays; ``noise_sigma`` is
the per-pixel background noise in the same units; ``mask`` is True on unusable pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sep

# SExtractor FLAGS bits (SExtractor manual, "Extraction flags").
SEXTRACTOR_FLAG_NEIGHBOURS = 1  # other sources or bad pixels bias the photometry
SEXTRACTOR_FLAG_BLENDED = 2  # the object was deblended from a larger one
SEXTRACTOR_FLAG_TRUNCATED = 8  # the object touches the image edge
SEXTRACTOR_FLAG_APERTURE_INCOMPLETE = 16  # aperture data incomplete or masked
SEXTRACTOR_FLAG_DEBLEND_OVERFLOW = 64  # memory overflow while deblending

# 2.5 / ln(10): magnitude error of a flux with relative error fluxerr / flux.
MAGNITUDE_ERROR_FACTOR = 2.5 / math.log(10.0)
# SExtractor's MAG_AUTO defaults: aperture 2.5 Kron radii, at least 3.5 (scaled) pixels.
KRON_FACTOR = 2.5
MIN_KRON_RADIUS = 3.5
# SPREAD_MODEL's galaxy model: the PSF convolved with an exponential disc of scale
# FWHM / 16 (Desai et al. 2012; SExtractor's definition).
SPREAD_MODEL_DISC_SCALE_PER_FWHM = 1.0 / 16.0
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
# Deblending levels (SExtractor's default is 32): half of them separate the few blends
# of a 51x51 stamp as well and make extraction measurably faster (benchmarks/).
DEBLEND_LEVELS = 16
# Pixel-stack size for sep.extract, per image pixel (an object cannot hold more pixels
# than the image; the margin covers sep's deblending copies).
_PIXSTACK_PER_IMAGE_PIXEL = 4


@dataclass(frozen=True)
class MeasuredSource:
    """One extracted source: position, shape and Kron photometry (flux in image units).

    x, y: centroid in stamp pixels (x = column, y = row).
    semi_major_px, semi_minor_px: SExtractor A_IMAGE / B_IMAGE (second-moment axes).
    flags: SExtractor-convention FLAGS bits (see module constants).
    flux, flux_error: Kron (AUTO) aperture flux and its 1-sigma error.
    distance_px: distance from the position the source was matched to.
    """

    x: float
    y: float
    semi_major_px: float
    semi_minor_px: float
    flags: int
    flux: float
    flux_error: float
    distance_px: float


def extract_nearest_source(
    image: np.ndarray,
    *,
    noise_sigma: float,
    mask: np.ndarray,
    x: float,
    y: float,
    max_distance_px: float,
    threshold_sigma: float,
    min_area_px: int,
) -> MeasuredSource | None:
    """Extract sources above ``threshold_sigma`` and measure the one nearest (x, y).

    Returns None when no source lies within ``max_distance_px`` of (x, y), when the
    noise is unmeasurable, or when sep gives up on the image (e.g. a deblending
    overflow in a pathological stamp): the caller turns that into NaN features.
    """
    if not (np.isfinite(noise_sigma) and noise_sigma > 0.0):
        return None
    data = np.where(mask, 0.0, image)
    # sep allocates its pixel stack (300,000 pixels by default) on every call, which
    # costs far more than extracting a 2,601-pixel stamp; a stack of a few stamps' size
    # suffices here.  Restored afterwards so other sep users in the process are unaffected.
    previous_pixstack = sep.get_extract_pixstack()
    sep.set_extract_pixstack(_PIXSTACK_PER_IMAGE_PIXEL * data.size)
    try:
        objects = sep.extract(
            data, threshold_sigma, err=noise_sigma, mask=mask, minarea=min_area_px,
            deblend_nthresh=DEBLEND_LEVELS,
        )
    except Exception:  # sep raises bare Exceptions for buffer/deblend overflows
        return None
    finally:
        sep.set_extract_pixstack(previous_pixstack)
    if len(objects) == 0:
        return None
    distances = np.hypot(objects["x"] - x, objects["y"] - y)
    nearest = int(np.argmin(distances))
    if distances[nearest] > max_distance_px:
        return None
    source = objects[nearest : nearest + 1]
    flux, flux_error, aperture_flags, kron_aperture_radius = _kron_photometry(
        data, source, noise_sigma=noise_sigma, mask=mask
    )
    # Another source inside the Kron aperture biases the photometry (SExtractor bit 1).
    separations = np.hypot(objects["x"] - source["x"][0], objects["y"] - source["y"][0])
    separations[nearest] = np.inf
    flags = _sextractor_flags(
        int(source["flag"][0]), aperture_flags=aperture_flags,
        has_neighbour=bool(np.any(separations < kron_aperture_radius)),
    )
    return MeasuredSource(
        x=float(source["x"][0]),
        y=float(source["y"][0]),
        semi_major_px=float(source["a"][0]),
        semi_minor_px=float(source["b"][0]),
        flags=flags,
        flux=flux,
        flux_error=flux_error,
        distance_px=float(distances[nearest]),
    )


def _kron_photometry(
    data: np.ndarray, source: np.ndarray, *, noise_sigma: float, mask: np.ndarray
) -> tuple[float, float, int, float]:
    """FLUX_AUTO-style photometry of one sep object: (flux, error, sep aperture flags,
    Kron aperture semi-major axis in pixels)."""
    x, y = source["x"], source["y"]
    a, b, theta = source["a"], source["b"], source["theta"]
    # Degenerate (single-row/column) objects have b = 0; a circle keeps sep well-defined.
    if not (a[0] > 0.0 and b[0] > 0.0 and np.isfinite(theta[0])):
        a = b = np.array([1.0])
        theta = np.array([0.0])
    kron_radius, kron_flags = sep.kron_radius(data, x, y, a, b, theta, 6.0, mask=mask)
    kron_radius = np.where(np.isfinite(kron_radius) & (kron_radius > 0.0), kron_radius, 0.0)
    # SExtractor's floor: never shrink the AUTO aperture below MIN_KRON_RADIUS in
    # units of sqrt(a*b), so faint sources keep a sensible aperture.
    scaled_radius = np.maximum(KRON_FACTOR * kron_radius, MIN_KRON_RADIUS)
    try:
        flux, flux_error, sum_flags = sep.sum_ellipse(
            data, x, y, a, b, theta, scaled_radius, err=noise_sigma, mask=mask, subpix=1
        )
    except Exception as error:  # sep raises a bare Exception for an ellipse it rejects
        if "invalid aperture parameters" not in str(error):
            raise
        # A few extraction ellipses (nearly one-dimensional objects on bad columns) are
        # rejected by sep's aperture code; like SExtractor, report the photometry as unmeasured.
        return math.nan, math.nan, int(kron_flags[0]), float(scaled_radius[0] * a[0])
    return (
        float(flux[0]),
        float(flux_error[0]),
        int(kron_flags[0]) | int(sum_flags[0]),
        float(scaled_radius[0] * a[0]),
    )


def _sextractor_flags(sep_flags: int, *, aperture_flags: int, has_neighbour: bool) -> int:
    """Translate sep's object and aperture flags into SExtractor's FLAGS convention."""
    flags = 0
    if sep_flags & sep.OBJ_MERGED:
        flags |= SEXTRACTOR_FLAG_BLENDED
    if sep_flags & sep.OBJ_TRUNC:
        flags |= SEXTRACTOR_FLAG_TRUNCATED
    if sep_flags & sep.OBJ_DOVERFLOW:
        flags |= SEXTRACTOR_FLAG_DEBLEND_OVERFLOW
    if aperture_flags & (sep.APER_TRUNC | sep.APER_HASMASKED | sep.APER_ALLMASKED):
        flags |= SEXTRACTOR_FLAG_APERTURE_INCOMPLETE
    if aperture_flags & sep.APER_HASMASKED or has_neighbour:
        flags |= SEXTRACTOR_FLAG_NEIGHBOURS
    return flags


def circular_aperture_flux(
    image: np.ndarray, *, mask: np.ndarray, x: float, y: float, radius_px: float
) -> float:
    """Sum of unmasked pixels of ``image`` within ``radius_px`` of (x, y) (exact overlap)."""
    data = np.where(mask, 0.0, image)
    flux, _, _ = sep.sum_circle(data, [x], [y], radius_px, mask=mask, subpix=0)
    return float(flux[0])


def spread_model(
    image: np.ndarray,
    *,
    mask: np.ndarray,
    noise_sigma: float,
    x: float,
    y: float,
    psf_fwhm_px: float,
) -> tuple[float, float]:
    """SExtractor's SPREAD_MODEL and SPREADERR_MODEL at (x, y) for a Gaussian PSF.

    SPREAD_MODEL = (G.d)/(P.d) - (G.P)/(P.P), where d is the image, P the local PSF and
    G the PSF convolved with an exponential disc of scale FWHM/16; both models have unit
    total flux.  A point source gives ~0, an extended source > 0 and anything sharper
    than the PSF (cosmic ray, hot pixel) < 0.  The error propagates uniform pixel noise
    ``noise_sigma`` through that ratio.  G is approximated by a Gaussian whose variance
    adds the disc's second moment (3 s^2 per axis for an exponential of scale s): the
    disc is a fraction of a pixel, so the convolution is nearly Gaussian anyway.

    Returns (nan, nan) when the PSF width is unknown or the fit is undefined.
    """
    if not (np.isfinite(psf_fwhm_px) and psf_fwhm_px > 0.0 and np.isfinite(noise_sigma)):
        return math.nan, math.nan
    psf_sigma = psf_fwhm_px / FWHM_PER_SIGMA
    disc_scale = SPREAD_MODEL_DISC_SCALE_PER_FWHM * psf_fwhm_px
    galaxy_variance = psf_sigma**2 + 3.0 * disc_scale**2

    # The models are negligible beyond ~3 FWHM; a cutout keeps the dot products cheap.
    half_width = min(int(math.ceil(3.0 * psf_fwhm_px)), image.shape[0] // 2)
    row, column = int(round(y)), int(round(x))
    rows = slice(max(row - half_width, 0), min(row + half_width + 1, image.shape[0]))
    columns = slice(max(column - half_width, 0), min(column + half_width + 1, image.shape[1]))
    usable = ~mask[rows, columns]
    data = image[rows, columns][usable]
    if data.size < 5:
        return math.nan, math.nan
    ys, xs = np.mgrid[rows, columns]
    r2 = (xs[usable] - x) ** 2 + (ys[usable] - y) ** 2
    psf = np.exp(-0.5 * r2 / psf_sigma**2) / (2.0 * math.pi * psf_sigma**2)
    galaxy = np.exp(-0.5 * r2 / galaxy_variance) / (2.0 * math.pi * galaxy_variance)

    psf_data = float(psf @ data)
    galaxy_data = float(galaxy @ data)
    psf_psf = float(psf @ psf)
    galaxy_psf = float(galaxy @ psf)
    galaxy_galaxy = float(galaxy @ galaxy)
    if psf_data == 0.0 or not np.isfinite(psf_data):
        return math.nan, math.nan
    spread = galaxy_data / psf_data - galaxy_psf / psf_psf
    variance_numerator = (
        galaxy_galaxy * psf_data**2
        - 2.0 * galaxy_data * psf_data * galaxy_psf
        + galaxy_data**2 * psf_psf
    )
    spread_error = noise_sigma * math.sqrt(max(variance_numerator, 0.0)) / psf_data**2
    return float(spread), float(spread_error)


def magnitude(flux: float, *, zeropoint: float) -> float:
    """AB magnitude of a positive flux in counts; NaN for flux <= 0 or unknown zeropoint."""
    if not (np.isfinite(flux) and flux > 0.0 and np.isfinite(zeropoint)):
        return math.nan
    return zeropoint - 2.5 * math.log10(flux)


def magnitude_error(flux: float, flux_error: float) -> float:
    """1-sigma magnitude error of a flux measurement; NaN for flux <= 0."""
    if not (np.isfinite(flux) and flux > 0.0 and np.isfinite(flux_error)):
        return math.nan
    return MAGNITUDE_ERROR_FACTOR * flux_error / flux
