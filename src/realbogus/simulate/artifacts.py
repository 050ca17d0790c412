"""Recipes for the artifact types: what each puts on the sky and on the detector.

Each recipe has two steps, called by ``scene.render_signal`` and ``scene.render_noisy``:

* ``setup(canvas, rng, on_fake)``: before rendering -- central sources, misregistration,
  PSF-model or flux-scale errors, noise excess;
* ``detector(canvas, rng, on_fake)``: after the noisy search and template exist and
  before the subtraction -- pixel-level defects (cosmic rays, bad columns, hot pixels,
  saturation and bleed trails) and masks.

``on_fake`` is True when a faint source lies under the defect (a fake: a label-noise
mechanism, or a faint transient in a correctly labelled artifact): the defect is then
placed on or next to it and dominates it, which is why scanners call it an artifact.  Amplitudes are in units of the
search image's per-pixel noise so they mean the same in every band and sky.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from realbogus.simulate.canvas import add_galaxy
from realbogus.simulate.psf import GRID


@dataclass(frozen=True)
class Recipe:
    setup: Callable[..., None]
    detector: Callable[..., None]


def _nothing(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001 - recipe signature
    return None


def _center(canvas) -> tuple[float, float]:  # noqa: ANN001
    return canvas.detection_y, canvas.detection_x


def _static_source_magnitude(canvas, rng: np.random.Generator) -> float:  # noqa: ANN001
    """Magnitude of a star or galaxy a residual could be made of (``config.artifact_source_mag_range`` above the limit).

    Sources get rarer toward bright magnitudes (number counts: density ~ 10^(-0.3 dm) above
    the limit, ``config.artifact_source_mag_scale`` = 1 / (0.3 ln 10) = 1.45 mag).
    """
    faintest, brightest = canvas.config.artifact_source_mag_range
    span = brightest - faintest
    scale = canvas.config.artifact_source_mag_scale
    above_faintest = -scale * math.log(1.0 - rng.random() * (1.0 - math.exp(-span / scale))) if span > 0 else 0.0
    return canvas.conditions.limiting_mag - faintest - above_faintest


@dataclass(frozen=True)
class ResidualCause:
    """A source and the errors of its subtraction: what a residual artifact is made of."""

    magnitude: float
    shift_y: float = 0.0        # the source's own position change, search minus template (px)
    shift_x: float = 0.0
    psf_error: float = 0.0      # fractional FWHM error of one image's modelled PSF at the source
    shape_error: tuple[float, float] = (0.0, 0.0)  # ellipticity error (e1, e2) of the same image's model
    psf_error_on_template: bool = True
    flux_change: float = 0.0    # fractional flux change of the source in the search image (a variable star)
    galaxy: bool = False        # an extended source: its residual is smaller than a star's

    def predicted_snr(self, canvas) -> float:  # noqa: ANN001
        """Noise-free S/N of the residual's positive part, an upper estimate, with the canvas's image-wide errors.

        A point source of S/N s leaves about s * (0.17 |shift| + r |kernel error| + q |shape
        error| + max(flux change - scale error, 0)): 0.17 per pixel of shift (noise-free renders
        of stars: 0.156-0.177), r = 1 per unit FWHM error of the matching kernel when its
        residual has a positive core, 0.15 when the positive part is the ring around a negative
        core, q per unit ellipticity error of the kernel (a four-lobed residual, two lobes
        positive; larger where the kernel sharpens; the terms add, so the sum stays an upper
        estimate).  A galaxy leaves
        at most 0.6 of a star's (noise-free renders of galaxy cores: median 0.53, p90 0.84 of
        the star estimate).  A flux drop leaves a negative residual, which a detection of
        positive sources does not pick up.
        """
        source_snr = 5.0 * 10.0 ** (0.4 * (canvas.conditions.limiting_mag - self.magnitude))
        if self.galaxy:
            source_snr *= GALAXY_RESPONSE
        shift = math.hypot(canvas.shift_y + self.shift_y, canvas.shift_x + self.shift_x)
        search_error = canvas.search_psf_model_error + (0.0 if self.psf_error_on_template else self.psf_error)
        template_error = canvas.template_psf_model_error + (self.psf_error if self.psf_error_on_template else 0.0)
        kernel_error = kernel_width_error(template_error=template_error, search_error=search_error)
        core_response = 1.0 if kernel_error > 0.0 else RING_RESPONSE
        shape_error = math.hypot(*self.kernel_shape_error(canvas))
        net_flux_change = self.flux_change - canvas.flux_scale_error
        return source_snr * (SHIFT_RESPONSE_PER_PX * shift + core_response * abs(kernel_error)
                             + shape_response(canvas.conditions) * shape_error + max(net_flux_change, 0.0))

    def kernel_shape_error(self, canvas) -> tuple[float, float]:  # noqa: ANN001
        """Ellipticity error (e1, e2) of the matching kernel at the source: search model minus template model."""
        search, template = canvas.search_psf_shape_error, canvas.template_psf_shape_error
        if self.psf_error_on_template:
            template = _added(template, self.shape_error)
        else:
            search = _added(search, self.shape_error)
        return search[0] - template[0], search[1] - template[1]


def kernel_width_error(*, template_error: float, search_error: float) -> float:
    """Fractional width error of the matching kernel from the two PSF models' FWHM errors.

    Positive when the kernel is too broad -- the template PSF modelled too narrow or the
    search PSF too wide: the convolved template is then wider than the search image's
    source, which sticks out in the middle (a positive core and a negative ring).
    """
    return search_error - template_error


# Residual S/N of a point source of S/N 1 per pixel of shift (noise-free renders: 0.156-0.177).
SHIFT_RESPONSE_PER_PX = 0.17
# Residual S/N per unit FWHM error when the residual's positive part is a ring, relative to a core.
RING_RESPONSE = 0.15
GALAXY_RESPONSE = 0.6
# Residual S/N of a point source of S/N 1 per unit ellipticity error of the matching kernel
# (noise-free renders of stars: median 0.13, p90 0.155): at the same fractional error a shape
# error leaves a far weaker positive residual than a width error, two lobes of a four-lobed
# pattern instead of a core.
SHAPE_RESPONSE = 0.16
# The same where the kernel sharpens the template (the search image the sharper): the
# difference keeps the sharper PSF, and the lobes stand out more (noise-free renders of
# stars: median 0.16, p90 0.24).
SHAPE_RESPONSE_SHARPENING = 0.24


def shape_response(conditions) -> float:  # noqa: ANN001
    """Residual S/N per unit kernel ellipticity error of a point source of S/N 1 (an upper estimate)."""
    return SHAPE_RESPONSE_SHARPENING if conditions.kernel_sharpens else SHAPE_RESPONSE


# A cause whose predicted residual S/N is below this is drawn again before rendering: with
# the measured S/N scattering by 1 around it, it would pass S/N 5 less than 0.2 % of the time.
PRESCREEN_SNR = 2.0
MAX_CAUSE_DRAWS = 200


def _draw_cause(canvas, rng: np.random.Generator, *, shift: bool, psf: bool, flux_change: bool,  # noqa: ANN001
                galaxy: bool = False) -> ResidualCause:
    """A source from the number counts with its own subtraction errors, drawn until detectable.

    The errors are the Gaussian scatter of what differs at one source between the two
    images (its position change, the local PSF-model error, its flux change).  The
    pipeline detects a residual only where source and errors together pass the threshold,
    so the release's residual artifacts are the tail: mostly bright-ish sources with
    errors a few sigma out, crowding the threshold.  Causes whose residual could not reach
    it are drawn again here, cheaply, before any rendering (``scene`` then keeps only
    renderings that pass).
    """
    config = canvas.config
    for _ in range(MAX_CAUSE_DRAWS):
        cause = ResidualCause(
            magnitude=_static_source_magnitude(canvas, rng),
            shift_y=float(rng.normal(0.0, config.source_shift_px_sigma)) if shift else 0.0,
            shift_x=float(rng.normal(0.0, config.source_shift_px_sigma)) if shift else 0.0,
            psf_error=float(rng.normal(0.0, config.source_psf_error_sigma)) if psf else 0.0,
            shape_error=(_shape_error(canvas.shape_rng, sigma=config.source_psf_shape_error_sigma) if psf
                         else (0.0, 0.0)),
            psf_error_on_template=bool(rng.random() < 0.5),
            flux_change=float(rng.normal(0.0, config.star_flux_change_sigma)) if flux_change else 0.0,
            galaxy=galaxy,
        )
        if cause.predicted_snr(canvas) >= PRESCREEN_SNR:
            break
    return cause


def _shape_error(rng: np.random.Generator, *, sigma: float) -> tuple[float, float]:
    """An ellipticity error (e1, e2), each component Gaussian; none drawn when sigma is 0."""
    if sigma <= 0.0:
        return (0.0, 0.0)
    e1, e2 = rng.normal(0.0, sigma, size=2)
    return (float(e1), float(e2))


def _apply_errors(canvas, cause: ResidualCause, *, y: float, x: float, source: tuple[str, int]) -> None:  # noqa: ANN001
    """Put a cause's errors on top of the image-wide ones already on the canvas.

    ``source`` ("star" | "galaxy", its index on the canvas) at y, x is the source the cause
    belongs to.  Its own position change moves it alone: the neighbours keep the image's
    misregistration.  Its PSF-model errors are the kernel's at the source, which varies
    slowly across a CCD, so they hold over the whole stamp.
    """
    canvas.details["predicted_snr"] = cause.predicted_snr(canvas)
    if cause.shift_y or cause.shift_x:
        canvas.own_shifts[source] = (cause.shift_y, cause.shift_x)
    if cause.psf_error_on_template:
        canvas.template_psf_model_error += cause.psf_error
        canvas.template_psf_shape_error = _added(canvas.template_psf_shape_error, cause.shape_error)
    else:
        canvas.search_psf_model_error += cause.psf_error
        canvas.search_psf_shape_error = _added(canvas.search_psf_shape_error, cause.shape_error)
    if cause.flux_change:
        # Where the search image has the star: a variable star's change is light of the star.
        shift_y, shift_x = canvas.search_shift(*source)
        canvas.flux_changes.append((y + shift_y, x + shift_x, cause.flux_change * canvas.conditions.flux(cause.magnitude)))
    canvas.details["source_magnitude"] = cause.magnitude


def _added(first: tuple[float, float], second: tuple[float, float]) -> tuple[float, float]:
    return (first[0] + second[0], first[1] + second[1])


# --------------------------------------------------------------------------- sky-side artifacts


def _dipole_setup(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """A static source at the detection whose position differs between template and search."""
    y, x = _center(canvas)
    star = rng.random() < 0.7
    cause = _draw_cause(canvas, rng, shift=True, psf=False, flux_change=False, galaxy=not star)
    if star:
        canvas.stars.append((y, x, canvas.conditions.flux(cause.magnitude)))
        canvas.details["artifact_detail"] = "star"
        source = ("star", len(canvas.stars) - 1)
    else:
        add_galaxy(canvas, rng, y=y, x=x, magnitude=cause.magnitude, half_light_radius=float(rng.uniform(0.6, 2.0)),
                   index=float(rng.uniform(1.0, 4.0)))
        canvas.details["artifact_detail"] = "galaxy"
        source = ("galaxy", len(canvas.galaxies) - 1)
    _apply_errors(canvas, cause, y=y, x=x, source=source)
    # The detection sits on the positive lobe, which the search image's shift points to.
    canvas.detection_y, canvas.detection_x = y + 0.5 * cause.shift_y, x + 0.5 * cause.shift_x


def _bad_subtraction_setup(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """A star whose subtraction leaves a ring or a core: a local PSF-model error, a flux change in half."""
    y, x = _center(canvas)
    cause = _draw_cause(canvas, rng, shift=False, psf=True, flux_change=rng.random() < 0.5)
    canvas.stars.append((y, x, canvas.conditions.flux(cause.magnitude)))
    _apply_errors(canvas, cause, y=y, x=x, source=("star", len(canvas.stars) - 1))


def _galaxy_core_setup(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """A concentrated galaxy whose nucleus is imperfectly subtracted (PSF-model error and shift).

    No flux change: a galaxy does not vary, and a scale error is fit from all the CCD's stars.
    """
    y, x = _center(canvas)
    cause = _draw_cause(canvas, rng, shift=True, psf=True, flux_change=False, galaxy=True)
    add_galaxy(canvas, rng, y=y, x=x, magnitude=cause.magnitude, half_light_radius=float(rng.uniform(0.8, 3.0)),
               index=float(rng.uniform(1.5, 4.0)))
    _apply_errors(canvas, cause, y=y, x=x, source=("galaxy", len(canvas.galaxies) - 1))


def _noise_peak_setup(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """Noise locally larger than the noise model: the detector finds a peak in it."""
    y, x = _center(canvas)
    # The patch is at least PSF-sized: the detection filter averages over a smaller one.
    canvas.noise_excess = (y, x, float(rng.uniform(10.0, 25.0)), float(rng.uniform(*canvas.config.noise_peak_excess_range)))


def _noise_peak_detector(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001 - recipe signature
    """The fluctuation the pipeline detected: a peak of the noise that passed the threshold.

    Draws only where in the Gaussian tail above the threshold the peak lies (a uniform
    quantile of it); ``scene`` turns it into the nominal S/N once it knows the noise's true
    sigma at the peak, and conditions the noise on reaching that S/N there: conditioning
    instead of re-drawing the noise until a peak passes keeps the simulator fast.
    """
    threshold = canvas.config.detection_snr_min
    if not math.isfinite(threshold):
        return  # no threshold (an experiment's -inf): nothing selects a fluctuation, the noise stays as drawn
    y, x = _center(canvas)
    canvas.noise_peak = (y, x, 1.0 - float(rng.uniform()))  # in (0, 1]: 1 is on the threshold


# --------------------------------------------------------------------------- detector-side artifacts


def _cosmic_ray(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """A sharp hit or track in the search image (never PSF-shaped).

    It hit one exposure of the visit.  The median of two exposures is their mean, which
    halves its charge against a noise sqrt(2) below one exposure's: it stands sqrt(2) less
    far above the coadd's noise (``search_noise``) than above its own exposure's.  Visits of
    three or more reject it and never reach here (``scene.draw_plan``).
    """
    y, x = _center(canvas)
    sigma = canvas.conditions.search_noise
    length = float(rng.choice([0.0, rng.uniform(1.0, 4.0), rng.uniform(4.0, 16.0)], p=[0.3, 0.35, 0.35]))
    angle = rng.uniform(0.0, math.pi)
    amplitude = sigma * rng.uniform(8.0, 80.0) / math.sqrt(canvas.conditions.search_exposures)
    if length == 0.0 and canvas.conditions.search_exposures == 1:
        # A single exposure on its own grid: the hit's charge is in the one pixel it struck.
        # (A coadd resampled the exposure it hit, which spreads it: the bilinear deposit below.)
        canvas.search[int(round(y)), int(round(x))] += amplitude
        canvas.details["artifact_detail"] = "hit"
        return
    n_steps = max(1, int(length * 3))
    for step in range(n_steps):
        fraction = step / max(n_steps - 1, 1) - 0.5
        point_y = y + fraction * length * math.sin(angle)
        point_x = x + fraction * length * math.cos(angle)
        _deposit(canvas.search, point_y, point_x, amplitude * rng.uniform(0.6, 1.2) / 3.0 if length else amplitude)
    canvas.details["artifact_detail"] = "hit" if length == 0.0 else f"track{length:.0f}px"


def _deposit(image: np.ndarray, y: float, x: float, amount: float) -> None:
    """Bilinear deposit of ``amount`` at a sub-pixel position (sharp, unlike the PSF)."""
    row, column = int(math.floor(y)), int(math.floor(x))
    fraction_y, fraction_x = y - row, x - column
    for d_row, weight_y in ((0, 1 - fraction_y), (1, fraction_y)):
        for d_column, weight_x in ((0, 1 - fraction_x), (1, fraction_x)):
            if 0 <= row + d_row < GRID and 0 <= column + d_column < GRID:
                image[row + d_row, column + d_column] += amount * weight_y * weight_x


def _bad_column(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """A hot column (part or all of the stamp's height) through or beside the detection."""
    y, x = _center(canvas)
    sigma = canvas.conditions.search_noise
    column = int(round(x)) + (int(rng.integers(-1, 2)) if on_fake else int(rng.integers(-2, 3)))
    start = int(rng.integers(0, int(y))) if rng.random() < 0.5 else 0
    level = sigma * (rng.uniform(6.0, 20.0) if on_fake else rng.uniform(3.0, 15.0))
    values = level * (1.0 + 0.2 * rng.standard_normal(GRID - start))
    canvas.search[start:, column] += values
    if rng.random() < 0.3:
        canvas.search[start:, column + 1] += 0.4 * values  # charge spilling into the neighbour
    if rng.random() < 0.2:
        # The template's own bad column elsewhere: a negative column in the difference.
        other = column + int(rng.choice([-1, 1])) * int(rng.integers(5, 20))
        canvas.template[:, other] += sigma * rng.uniform(2.0, 8.0) * 10 ** (-0.4 * canvas.conditions.template_depth_mag)
    canvas.details["artifact_detail"] = "partial_column" if start else "full_column"


def _hot_pixels(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """One to four hot pixels clustered at the detection."""
    y, x = _center(canvas)
    sigma = canvas.conditions.search_noise
    count = int(rng.integers(1, 5))
    row, column = int(round(y)), int(round(x))
    for _ in range(count):
        canvas.search[row + int(rng.integers(-1, 2)), column + int(rng.integers(-1, 2))] += sigma * rng.uniform(10.0, 150.0)
    canvas.details["artifact_detail"] = f"{count}px"


def _saturated_setup(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """A star bright enough to saturate, at or near the detection."""
    y, x = _center(canvas)
    conditions = canvas.conditions
    offset = rng.uniform(4.0, 10.0) if on_fake else rng.uniform(0.0, 4.0)
    angle = rng.uniform(0.0, 2 * math.pi)
    star_y, star_x = y + offset * math.sin(angle), x + offset * math.cos(angle)
    # Peak over saturation by a factor 1.5 .. 40 (peak fraction of a Moffat ~ 1/(1.1 FWHM^2)).
    peak_fraction = 1.0 / (1.13 * conditions.seeing_fwhm_px ** 2)
    flux = canvas.config.saturation_electrons * rng.uniform(1.5, 40.0) / peak_fraction
    canvas.stars.append((star_y, star_x, flux))
    canvas.details["saturated_star_offset_px"] = offset
    if not on_fake:
        # The detection is on the residual of the saturated core.
        canvas.detection_y, canvas.detection_x = star_y, star_x
    canvas.flux_scale_error += rng.normal(0.0, 0.03)
    # The residual of a saturated core can be negative at the star: the detection is then
    # on the brightest positive part of the residual or the trail nearby.
    canvas.detection_radius = 8


def _bleed(image: np.ndarray, level: float) -> np.ndarray:
    """Clip ``image`` at ``level`` and spread each column's excess charge along the column.

    Returns the boolean map of saturated (clipped or bled) pixels.
    """
    excess = np.maximum(image - level, 0.0)
    saturated = excess > 0.0
    if not saturated.any():
        return saturated
    np.minimum(image, level, out=image)
    for column in np.flatnonzero(saturated.any(axis=0)):
        rows = np.flatnonzero(saturated[:, column])
        extra_pixels = int(excess[:, column].sum() / level)
        low = max(0, rows.min() - extra_pixels // 2)
        high = min(image.shape[0], rows.max() + 1 + (extra_pixels - extra_pixels // 2))
        image[low:high, column] = level
        saturated[low:high, column] = True
    return saturated


def _saturated_detector(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    saturation = canvas.config.saturation_electrons
    search_saturated = _bleed(canvas.search, saturation)
    # The template coadd saturates at its own level (other exposure times, other gains).
    template_saturated = _bleed(canvas.template, saturation * rng.uniform(0.8, 3.0))
    if rng.random() < 0.5:
        # The pipeline masks saturated pixels in the difference (1e-30 in the release).
        canvas.mask(all_channels=False)[search_saturated | template_saturated] = True
        canvas.details["artifact_detail"] = "masked_core"
    else:
        canvas.details["artifact_detail"] = "bleed_trail"


def _masked_setup(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    """Edge of the CCD, or a masked patch, at the detection."""
    subtype = "mask" if on_fake or rng.random() < 0.5 else "ccd_edge"
    canvas.details["artifact_detail"] = subtype
    if subtype == "mask":
        # A masked region usually hides a mis-subtracted source: leave a residual at its border.
        y, x = _center(canvas)
        if not on_fake:
            cause = _draw_cause(canvas, rng, shift=False, psf=True, flux_change=rng.random() < 0.5)
            offset = rng.uniform(1.0, 3.0)
            angle = rng.uniform(0, 2 * math.pi)
            star_y, star_x = y + offset * math.sin(angle), x + offset * math.cos(angle)
            canvas.stars.append((star_y, star_x, canvas.conditions.flux(cause.magnitude)))
            _apply_errors(canvas, cause, y=star_y, x=star_x, source=("star", len(canvas.stars) - 1))


def _masked_detector(canvas, rng, *, on_fake: bool) -> None:  # noqa: ANN001
    y, x = _center(canvas)
    row, column = int(round(y)), int(round(x))
    sigma = canvas.conditions.search_noise
    if canvas.details.get("artifact_detail") == "mask" and on_fake:
        # The source sits on a mask's border: a large patch hides one side of it right up
        # to the peak pixel (a detection is never on a masked pixel itself).
        depth, across = int(rng.integers(5, 15)), int(rng.integers(8, 18))
        side = int(rng.integers(4))
        start = column - int(rng.integers(2, across - 2)) if side < 2 else row - int(rng.integers(2, across - 2))
        if side == 0:
            patch = (slice(row + 1, row + 1 + depth), slice(max(start, 0), start + across))
        elif side == 1:
            patch = (slice(max(row - depth, 0), row), slice(max(start, 0), start + across))
        elif side == 2:
            patch = (slice(max(start, 0), start + across), slice(column + 1, column + 1 + depth))
        else:
            patch = (slice(max(start, 0), start + across), slice(max(column - depth, 0), column))
        canvas.mask(all_channels=rng.random() < 0.3)[patch] = True
        return
    if canvas.details.get("artifact_detail") == "mask":
        height, width = int(rng.integers(3, 16)), int(rng.integers(3, 16))
        # The patch covers part of the detection's neighbourhood, not its peak pixel.
        top = row + int(rng.integers(-height, 2)) if rng.random() < 0.5 else row + int(rng.integers(1, 4))
        left = column + int(rng.integers(-width, 2)) if rng.random() < 0.5 else column + int(rng.integers(1, 4))
        top, left = max(top, 0), max(left, 0)
        patch = (slice(top, top + height), slice(left, left + width))
        if (row - top) in range(height) and (column - left) in range(width):
            # Keep the peak pixel itself visible: move the patch off it.
            patch = (slice(row + 1, row + 1 + height), patch[1])
        canvas.mask(all_channels=rng.random() < 0.3)[patch] = True
        return
    # CCD edge: the stamp runs off the CCD on one side; the pixels beyond it are masked
    # in all three stamps and the last columns/rows before it glow (edge transition).
    side = int(rng.integers(4))
    distance = int(rng.integers(2, 12))
    glow = sigma * rng.uniform(3.0, 12.0)
    scale = rng.uniform(1.0, 3.0)
    mask = canvas.mask(all_channels=True)
    indices = np.arange(GRID)
    if side in (0, 1):  # left / right edge: a column boundary
        edge = column - distance if side == 0 else column + distance
        inside = indices >= edge if side == 0 else indices <= edge
        depth = np.abs(indices - edge).astype(float)
        mask[:, ~inside] = True
        canvas.search[:, inside] += (glow * np.exp(-depth[inside] / scale))[None, :]
        canvas.ccd_edge = ("x", "low" if side == 0 else "high", edge)
    else:  # bottom / top edge: a row boundary
        edge = row - distance if side == 2 else row + distance
        inside = indices >= edge if side == 2 else indices <= edge
        depth = np.abs(indices - edge).astype(float)
        mask[~inside, :] = True
        canvas.search[inside, :] += (glow * np.exp(-depth[inside] / scale))[:, None]
        canvas.ccd_edge = ("y", "low" if side == 2 else "high", edge)


RECIPES: dict[str, Recipe] = {
    "dipole": Recipe(_dipole_setup, _nothing),
    "bad_subtraction": Recipe(_bad_subtraction_setup, _nothing),
    "galaxy_core": Recipe(_galaxy_core_setup, _nothing),
    "cosmic_ray": Recipe(_nothing, _cosmic_ray),
    "bad_column": Recipe(_nothing, _bad_column),
    "hot_pixel": Recipe(_nothing, _hot_pixels),
    "saturated_star": Recipe(_saturated_setup, _saturated_detector),
    "masked_edge": Recipe(_masked_setup, _masked_detector),
    "noise_peak": Recipe(_noise_peak_setup, _noise_peak_detector),
}
