"""Point-spread functions and galaxy profiles on the simulator's square pixel grid.

Images are rendered on a ``GRID x GRID`` canvas larger than the 51x51 stamp, and every
convolution is a product in Fourier space (``numpy.fft.rfft2`` layout).  The canvas is
large enough that Moffat wings wrapping around its edges stay far below the noise in the
central stamp.  Coordinates: ``x`` is the column, ``y`` the row, in pixels, origin at the
first pixel's centre.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import scipy.fft

GRID = 72  # canvas side: stamp + detection search + kernel margin; 2**3 * 3**2 keeps FFTs fast
CENTER = GRID // 2  # canvas pixel the stamp is centred on


@lru_cache(maxsize=4)
def _frequencies(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Spatial frequencies (cycles per pixel) of the rfft2 layout: (size, size//2+1) each."""
    frequency_y = np.fft.fftfreq(size)[:, None]
    frequency_x = np.fft.rfftfreq(size)[None, :]
    return frequency_y, frequency_x


@lru_cache(maxsize=4)
def _wrapped_offsets(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets from pixel (0, 0) with wrap-around, for kernels centred at the origin."""
    offsets = np.fft.fftfreq(size) * size
    return offsets[:, None], offsets[None, :]


def moffat_alpha(*, fwhm: float, beta: float) -> float:
    """Moffat core width alpha for a given FWHM (pixels) and wing index beta."""
    return fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))


def moffat_peak(*, fwhm: float, beta: float, ellipticity: float = 0.0) -> float:
    """Central value of a unit-flux Moffat PSF (per pixel, not pixel-integrated): (beta - 1) / (pi alpha_major alpha_minor)."""
    alpha = moffat_alpha(fwhm=fwhm, beta=beta)
    return (beta - 1.0) / (math.pi * alpha * alpha * (1.0 - ellipticity))


def _elliptical_radius2(dy: np.ndarray, dx: np.ndarray, *, axis_ratio: float, angle: float) -> np.ndarray:
    """Squared elliptical radius: major axis at ``angle`` (radians from +x), minor = ratio * major."""
    cos, sin = math.cos(angle), math.sin(angle)
    along = dx * cos + dy * sin
    across = -dx * sin + dy * cos
    return along * along + (across / axis_ratio) ** 2


def moffat_transfer(*, fwhm: float, beta: float, ellipticity: float = 0.0, angle: float = 0.0,
                    size: int = GRID) -> np.ndarray:
    """Fourier transform (rfft2 layout, complex (size, size//2+1)) of a unit-flux Moffat PSF.

    fwhm: along the major axis, pixels; ellipticity: 1 - minor/major.
    """
    dy, dx = _wrapped_offsets(size)
    alpha = moffat_alpha(fwhm=fwhm, beta=beta)
    radius2 = _elliptical_radius2(dy, dx, axis_ratio=1.0 - ellipticity, angle=angle)
    image = (1.0 + radius2 / (alpha * alpha)) ** (-beta)
    # Taper the far wings to zero before the canvas edge: a wing cut off sharply there
    # would ring through bright (saturated) stars in the Fourier convolution.
    image *= _edge_taper(size)
    transfer = rfft2(image / image.sum())
    # Drop the Nyquist row and column: a sub-pixel phase ramp there is not Hermitian, so the
    # inverse real FFT would turn it into +-1 stripes through very bright (saturated) stars.
    # The PSF has no meaningful power at Nyquist anyway.
    if size % 2 == 0:
        transfer[size // 2, :] = 0.0
        transfer[:, -1] = 0.0
    return transfer


@lru_cache(maxsize=4)
def _edge_taper(size: int) -> np.ndarray:
    dy, dx = _wrapped_offsets(size)
    radius = np.sqrt(dy * dy + dx * dx)
    inner, outer = 0.6 * (size / 2), size / 2
    ramp = np.clip((outer - radius) / (outer - inner), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def moffat_image(*, y: float, x: float, fwhm: float, beta: float, ellipticity: float = 0.0, angle: float = 0.0,
                 size: int = GRID) -> np.ndarray:
    """Unit-flux Moffat PSF centred at canvas position (y, x), sampled at pixel centres.

    Used for very bright stars, where shifting a pixel-sampled PSF by a Fourier phase ramp
    would ring visibly; normalised analytically so flux beyond the canvas is not re-added.
    """
    rows = np.arange(size, dtype=float)[:, None]
    columns = np.arange(size, dtype=float)[None, :]
    alpha = moffat_alpha(fwhm=fwhm, beta=beta)
    axis_ratio = 1.0 - ellipticity
    radius2 = _elliptical_radius2(rows - y, columns - x, axis_ratio=axis_ratio, angle=angle)
    return (beta - 1.0) / (math.pi * alpha * alpha * axis_ratio) * (1.0 + radius2 / (alpha * alpha)) ** (-beta)


def gaussian_transfer(*, sigma_y: float, sigma_x: float, size: int = GRID) -> np.ndarray:
    """Fourier transform of a unit-flux Gaussian kernel (real, (size, size//2+1))."""
    frequency_y, frequency_x = _frequencies(size)
    two_pi2 = 2.0 * math.pi * math.pi
    return np.exp(-two_pi2 * (sigma_y * sigma_y * frequency_y ** 2 + sigma_x * sigma_x * frequency_x ** 2))


def shift_transfer(*, dy: float, dx: float, size: int = GRID) -> np.ndarray:
    """Fourier phase ramp that moves an image by (+dy, +dx) pixels when multiplied in."""
    frequency_y, frequency_x = _frequencies(size)
    return np.exp(-2j * math.pi * frequency_y * dy) * np.exp(-2j * math.pi * frequency_x * dx)


def point_sources_transfer(*, ys: np.ndarray, xs: np.ndarray, fluxes: np.ndarray,
                           size: int = GRID) -> np.ndarray:
    """Fourier transform of delta functions of ``fluxes`` at canvas positions (ys, xs).

    Multiplied by a PSF transfer this renders exact, sub-pixel-placed point sources.
    """
    frequency_y, frequency_x = _frequencies(size)
    total = np.zeros((size, size // 2 + 1), dtype=complex)
    for y, x, flux in zip(ys, xs, fluxes):
        # The phase ramp is separable: an outer product of two 1-d ramps.
        total += (flux * np.exp(-2j * math.pi * frequency_y * y)) * np.exp(-2j * math.pi * frequency_x * x)
    return total


def sersic_b(index: float) -> float:
    """b_n of the Sersic profile (Ciotti & Bertin 1999 expansion), so r_e holds half the light."""
    return 2.0 * index - 1.0 / 3.0 + 4.0 / (405.0 * index) + 46.0 / (25515.0 * index * index)


# Sub-grid of the core pixels of a Sersic profile (see sersic_image), and how far out it reaches (px).
CORE_SUBSAMPLING = 5
CORE_RADIUS = 1.5
_CORE_OFFSETS = (np.arange(CORE_SUBSAMPLING) + 0.5) / CORE_SUBSAMPLING - 0.5


# A Sersic profile is rendered out to this many half-light radii; the box holds its whole flux
# (the light the profile has beyond it, 0.2 % at n = 1, 11.5 % at n = 4, is spread inside).
SERSIC_EXTENT = 5.0


def sersic_image(*, y: float, x: float, half_light_radius: float, index: float, axis_ratio: float,
                 angle: float, size: int = GRID) -> np.ndarray:
    """Unit-sum Sersic galaxy (before the PSF) on the canvas, float (size, size).

    Each pixel holds the profile's mean over the pixel: evaluated at the pixel centre where
    the profile is smooth, and on a ``CORE_SUBSAMPLING``^2 sub-grid in the few pixels
    around the centre, where a cuspy profile changes across a pixel (sampled at the centre
    alone, the nearest pixel of an n = 2-4 core would hold 1.3-1.4x its light: a star-like
    point on the galaxy).
    """
    extent = SERSIC_EXTENT * half_light_radius
    # The profile's whole box, also where it runs off the canvas: the unit sum is over all of
    # it, so a galaxy whose centre lies off the canvas puts only its share of light on it.
    row_low, row_high = int(math.floor(y - extent)), int(math.ceil(y + extent)) + 1
    column_low, column_high = int(math.floor(x - extent)), int(math.ceil(x + extent)) + 1
    image = np.zeros((size, size))
    if row_high <= 0 or column_high <= 0 or row_low >= size or column_low >= size:
        return image
    rows = np.arange(row_low, row_high, dtype=float)[:, None]
    columns = np.arange(column_low, column_high, dtype=float)[None, :]
    b_n = sersic_b(index)
    radius = np.sqrt(_elliptical_radius2(rows - y, columns - x, axis_ratio=axis_ratio, angle=angle)) / half_light_radius
    box = np.exp(-b_n * (radius ** (1.0 / index) - 1.0))
    box[radius > SERSIC_EXTENT] = 0.0
    # The core: the pixels within CORE_RADIUS of the centre, averaged over a sub-grid.
    core_rows = np.arange(max(row_low, int(math.floor(y - CORE_RADIUS))), min(row_high, int(math.ceil(y + CORE_RADIUS)) + 1))
    core_columns = np.arange(max(column_low, int(math.floor(x - CORE_RADIUS))),
                             min(column_high, int(math.ceil(x + CORE_RADIUS)) + 1))
    if core_rows.size and core_columns.size:
        sub_y = (core_rows[:, None] + _CORE_OFFSETS[None, :]).reshape(-1, 1)  # (rows * k, 1)
        sub_x = (core_columns[:, None] + _CORE_OFFSETS[None, :]).reshape(1, -1)  # (1, columns * k)
        sub_radius = np.sqrt(_elliptical_radius2(sub_y - y, sub_x - x, axis_ratio=axis_ratio, angle=angle)) / half_light_radius
        sub = np.exp(-b_n * (sub_radius ** (1.0 / index) - 1.0))
        k = CORE_SUBSAMPLING
        means = sub.reshape(core_rows.size, k, core_columns.size, k).mean(axis=(1, 3))
        box[core_rows[0] - row_low:core_rows[-1] - row_low + 1, core_columns[0] - column_low:core_columns[-1] - column_low + 1] = means
    total = box.sum()
    if total > 0:
        on_canvas = box[max(0, -row_low):size - row_low, max(0, -column_low):size - column_low]
        image[max(0, row_low):min(size, row_high), max(0, column_low):min(size, column_high)] = on_canvas / total
    return image


def _direct_pocketfft():  # type: ignore[no-untyped-def]
    """scipy's pocketfft kernels, called without scipy.fft's dispatch layer, or None.

    ``scipy.fft.rfft2`` / ``irfft2`` spend ~7 us of their ~25 us per (72, 72) call on
    argument normalisation and backend dispatch, at about ten calls per sample.  The
    kernels are private API, so they are used only if they exist and reproduce the public
    functions bit for bit here; otherwise everything goes through ``scipy.fft``.
    """
    try:
        from scipy.fft._pocketfft import pypocketfft  # noqa: PLC0415
        probe = np.random.default_rng(0).standard_normal((GRID, GRID))
        forward = pypocketfft.r2c(probe, (0, 1), True, 0, None, 1)
        backward = pypocketfft.c2r(forward, (0, 1), GRID, False, 2, None, 1)
        if (np.array_equal(forward, scipy.fft.rfft2(probe))
                and np.array_equal(backward, scipy.fft.irfft2(forward, s=(GRID, GRID)))):
            return pypocketfft
    except Exception:  # any change in the private API: fall back to the public one
        pass
    return None


_POCKETFFT = _direct_pocketfft()
_TRANSFORM_SHAPE = (GRID, GRID // 2 + 1)


def rfft2(image: np.ndarray) -> np.ndarray:
    """Real 2-d FFT of a canvas image (scipy's is faster than numpy's at these sizes)."""
    if _POCKETFFT is not None and image.dtype == np.float64 and image.shape == (GRID, GRID):
        # Exactly what scipy.fft.rfft2 computes: forward, no normalisation, one thread.
        return _POCKETFFT.r2c(image, (0, 1), True, 0, None, 1)
    return scipy.fft.rfft2(image)


def irfft2(transform: np.ndarray) -> np.ndarray:
    """Inverse of ``rfft2`` back to a (GRID, GRID) canvas image."""
    if _POCKETFFT is not None and transform.dtype == np.complex128 and transform.shape == _TRANSFORM_SHAPE:
        # Exactly what scipy.fft.irfft2(transform, s=(GRID, GRID)) computes: 1/n normalisation.
        return _POCKETFFT.c2r(transform, (0, 1), GRID, False, 2, None, 1)
    return scipy.fft.irfft2(transform, s=(GRID, GRID))


def model_error_transfer(*, sigma_psf: float, fractional_error: float,
                         shape_error: tuple[float, float] = (0.0, 0.0), size: int = GRID) -> np.ndarray:
    """Fourier factor that turns a PSF into a mis-modelled one: wider (or, for a negative
    error, narrower) by ``fractional_error`` and, with ``shape_error`` = (e1, e2), more
    elongated by that much.

    A Gaussian of covariance ((1 + e)^2 - 1) sigma_psf^2 I + sigma_psf^2 [[e1, e2], [e2, -e1]]:
    exact for Gaussian PSFs (whose ellipticity (Ixx - Iyy, 2 Ixy) / (Ixx + Iyy) then changes
    by (e1, e2)), close for Moffat cores; it lets a mis-modelled PSF be made without another FFT.
    """
    variance = ((1.0 + fractional_error) ** 2 - 1.0) * sigma_psf * sigma_psf
    e1, e2 = shape_error
    frequency_y, frequency_x = _frequencies(size)
    quadratic = variance * (frequency_y ** 2 + frequency_x ** 2)
    if e1 or e2:
        quadratic = quadratic + sigma_psf * sigma_psf * (
            e1 * (frequency_x ** 2 - frequency_y ** 2) + 2.0 * e2 * frequency_x * frequency_y)
    exponent = -2.0 * math.pi * math.pi * quadratic
    # A narrowing factor grows with frequency; cap it where the PSF has no power anyway.
    return np.exp(np.minimum(exponent, 3.0))


LANCZOS_ORDER = 3  # SWarp's default resampling kernel, LANCZOS3


_LANCZOS_TAPS = np.arange(-LANCZOS_ORDER + 1, LANCZOS_ORDER + 1, dtype=float)
# Sub-pixel offsets are taken at the centres of this many bins per pixel: 1/64 px makes no
# visible difference to the noise, and the per-offset spectra become a table lookup.
OFFSET_BINS = 64


def _lanczos_weights(offsets: np.ndarray) -> np.ndarray:
    """(n, taps) flux-preserving Lanczos-3 weights that interpolate at each offset in (0, 1)."""
    distance = _LANCZOS_TAPS[None, :] - offsets[:, None]
    weights = np.sinc(distance) * np.sinc(distance / LANCZOS_ORDER)
    return weights / weights.sum(axis=1, keepdims=True)


@lru_cache(maxsize=4)
def _lanczos_power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """|DFT|^2 of the Lanczos-3 taps at each offset bin: (bins, size) along y, (bins, size // 2 + 1) along x."""
    frequency_y, frequency_x = _frequencies(size)
    weights = _lanczos_weights((np.arange(OFFSET_BINS) + 0.5) / OFFSET_BINS)
    tables = []
    for frequencies in (frequency_y[:, 0], frequency_x[0, :]):
        phases = np.exp(-2j * math.pi * _LANCZOS_TAPS[:, None] * frequencies[None, :])
        tables.append(np.abs(weights @ phases) ** 2)
    return tables[0], tables[1]


def resampling_noise_transfer(offsets: np.ndarray, *, size: int = GRID) -> np.ndarray:
    """Zero-phase Fourier filter that gives white noise the correlation of resampled exposures.

    offsets: (n, 2) sub-pixel (dy, dx) in [0, 1) of n exposures, each interpolated onto the
    common grid with Lanczos-3 (as SWarp does) and averaged into one image.  The averaged
    noise has power ``mean_i |L_i(f)|^2`` (independent exposures), so the filter is its square
    root, normalised to unit gain at f = 0 (the average of n exposures keeps the flux; its
    per-pixel noise drop from averaging is accounted for by the caller's sigma).  Real,
    shape (size, size // 2 + 1).
    """
    bins = np.minimum((np.asarray(offsets, dtype=float).reshape(-1, 2) * OFFSET_BINS).astype(np.intp),
                      OFFSET_BINS - 1)
    table_y, table_x = _lanczos_power_tables(size)
    power = table_y[bins[:, 0]].T @ table_x[bins[:, 1]]  # sum over exposures of |L_y|^2 |L_x|^2
    return np.sqrt(power * (1.0 / power[0, 0]))


def effective_area(*, fwhm: float, beta: float) -> float:
    """Noise-equivalent area (pixels) 1 / sum(psf^2) of a Moffat PSF: sets point-source S/N."""
    alpha = moffat_alpha(fwhm=fwhm, beta=beta)
    # Integral of the squared unit-flux Moffat: (beta-1)^2 / (pi alpha^2 (2 beta - 1)).
    return math.pi * alpha * alpha * (2.0 * beta - 1.0) / (beta - 1.0) ** 2
