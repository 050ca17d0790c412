"""One detection: draw its observing conditions and contents, then render its stamps.

The model of one stamp (all fluxes in search-image electrons until the template is
written out in its own units):

* a static sky (field stars as Moffat point sources, Sersic galaxies) seen by the template
  through PSF_T and by the search image through PSF_S, shifted by the misregistration;
* a transient (an injected fake, or a real transient) seen only in the search image;
* sky + read + source Poisson noise, correlated by the resampling both images went
  through; the template is deeper (less noise);
* detector effects (cosmic rays, bad columns, hot pixels, saturation and bleeding, masks)
  added to the pixels, not to the sky;
* the difference ``search - scale * (K * template)`` with the matching kernel K fitted to
  MODELLED PSFs (with their errors) and the scale with its error; K takes the template to
  the search image's PSF, sharpening it where the search image is the sharper, so the
  difference rings around sources and in its noise (``SimulationConfig.convolved_image``
  may convolve the sharper image instead: ``K * search - scale * template``);
* a detection: the stamp is centred on the difference's smoothed peak near the object,
  like SExtractor on the difference image; masked pixels become 1e-30.

The per-sample random stream is used in a fixed order (plan first, then the rendering),
so a sample is a pure function of (seed, index, config, label-noise settings).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from realbogus.features.context import ObservationContext
from realbogus.release.layout import (
    BANDS,
    CCD_SHAPE,
    MASKED_PIXEL_VALUE,
    PIXEL_SCALE_ARCSEC,
    STAMP_SIZE,
)
from realbogus.simulate import artifacts, kernel_fit
from realbogus.simulate.canvas import Canvas, Conditions, add_galaxy
from realbogus.simulate.config import MECHANISM_ARTIFACT, MEDIAN_REJECTS_FROM, SimulationConfig
from realbogus.simulate.label_noise import LabelDraw, draw_labels

# The defects a fake can land on (a label-noise mechanism), and the scene kinds that put a
# faint source under such a defect: the mislabelled fake and its correctly labelled twin.
DEFECTS_OVER_SOURCES: frozenset[str] = frozenset(MECHANISM_ARTIFACT.values())
ON_DEFECT_KINDS: tuple[str, ...] = ("fake_on_artifact", "source_on_artifact")
from realbogus.simulate.psf import (
    CENTER,
    GRID,
    SERSIC_EXTENT,
    effective_area,
    irfft2,
    model_error_transfer,
    moffat_image,
    moffat_transfer,
    point_sources_transfer,
    resampling_noise_transfer,
    rfft2,
    sersic_b,
    sersic_image,
    shift_transfer,
)

HALF_STAMP = STAMP_SIZE // 2
# DES-SN fields (shallow and deep) and the Y1 season's nights.
SN_FIELDS: tuple[str, ...] = ("C1", "C2", "C3", "E1", "E2", "S1", "S2", "X1", "X2", "X3")
# The two deep fields, whose search images are coadds of the night's exposures.
DEEP_FIELDS: frozenset[str] = frozenset({"C3", "X3"})
SEASON_START = np.datetime64("2013-08-31")
SEASON_DAYS = 166  # to mid-February 2014
# DECam CCD 61 has been dead since 2012; the others (1..62) take data.
LIVE_CCDS: tuple[int, ...] = tuple(ccd for ccd in range(1, 63) if ccd != 61)
# Field stars' counts: magnitudes exponential (this scale) brighter than the limit plus
# FIELD_STAR_FAINT_END_MAG; the stamps draw none brighter than 17 (``_add_field``), the
# kernel fit's stars run up to saturation (``kernel_fit.star_noise_regularisation``).
FIELD_STAR_MAGNITUDE_SCALE = 2.0
FIELD_STAR_FAINT_END_MAG = 0.5
# Hosts brighter than this (a galaxy at z ~ 0.05) are not drawn: the brightest SN hosts of a
# 30 deg^2 survey.
HOST_BRIGHTEST_MAG = 17.0
# Stars brighter than this (electrons) are drawn in pixel space (see psf.moffat_image).
BRIGHT_STAR_ELECTRONS = 2e6
# Scenes of one sample drawn, and noise drawn on each, until a rendering passes the threshold.
# A residual's scene passes the efficiency about one time in six for bad subtractions (whose
# prescreen is the loosest): 20 draws left 2.8 % of them below S/N 5, 100 leave none.
MAX_SCENE_DRAWS = 100
MAX_NOISE_DRAWS = 20
# Scatter of the measured detection S/N around the noise-free one (measured on this simulator's
# fakes, new noise on the same scene: mean -0.1..+0.1, standard deviation 1.0-1.1 at every
# S/N): the matched filter's noise in units of the pipeline's nominal noise.
DETECTION_SNR_SCATTER = 1.0
# Draws of an injected fake's magnitude until one is detected (the efficiency is ~1 at
# the bright end, so this bound is never reached in practice).
MAX_INJECTION_DRAWS = 1000
# Draws of a cosmic ray's conditions until its visit has fewer than MEDIAN_REJECTS_FROM exposures
# (the config check makes such visits possible; at the defaults 8 draws in 10 are one: the
# shallow fields').
MAX_CONDITION_DRAWS = 1000
# Half width (pixels) of the matched filter that measures a detection's S/N.
DETECTION_FILTER_HALF_WIDTH = 7
# A noise filter that leaves white noise white (an image never resampled).
_UNFILTERED = np.ones((GRID, GRID // 2 + 1))
_UNFILTERED.setflags(write=False)


@dataclass(frozen=True)
class SamplePlan:
    """Everything drawn about one sample before rendering: labels, kind, conditions."""

    index: int
    labels: LabelDraw
    # fake | real_transient | artifact | fake_on_artifact (a mislabel) | source_on_artifact
    # (the same look, correctly labelled artifact)
    scene_kind: str
    artifact_type: str     # one of ARTIFACT_TYPES, or "none"
    conditions: Conditions
    magnitude: float       # transient magnitude (NaN without a transient)
    host_galaxy: bool


@dataclass(frozen=True)
class RenderedSample:
    """The three float32 (51, 51) stamps in FITS units, their context and truth extras."""

    template: np.ndarray
    search: np.ndarray
    difference: np.ndarray
    context: ObservationContext
    truth: dict[str, object]


# --------------------------------------------------------------------------- planning


def _log_normal_mostly_inside(rng: np.random.Generator, low: float, high: float) -> float:
    """Log-normal whose central 95 % (its +-2 sigma) spans (low, high); its tails run past them.

    A seeing is "mostly" inside its range (DESIGN.md), not bounded by it. Clipping the draw
    to the range, as up to the seventh pass, piled 2.3 % of the draws onto each bound and
    left no search image sharper than the lower one, though DECam often delivers sharper.
    The tails are thin: beyond 4 sigma (0.64" and 2.5" for 0.9-1.8") lie 6 in 100,000 draws.
    """
    if low == high:
        return low
    middle = 0.5 * (math.log(low) + math.log(high))
    width = 0.25 * (math.log(high) - math.log(low))
    return float(math.exp(rng.normal(middle, width)))


def draw_conditions(rng: np.random.Generator, *, config: SimulationConfig) -> Conditions:
    """Draw one detection's band, seeing, depth, zeropoints, CCD position and night."""
    band = BANDS[int(rng.integers(len(BANDS)))]
    zeropoint = config.band_value("zeropoint", band) + rng.normal(0.0, config.zeropoint_scatter_mag)
    sky = config.band_value("sky_electrons", band) * rng.uniform(0.7, 1.5)  # moon, airmass
    search_noise = math.sqrt(sky + config.read_noise_electrons ** 2)
    seeing_px = _log_normal_mostly_inside(rng, *config.seeing_fwhm_arcsec_range) / PIXEL_SCALE_ARCSEC
    # The template coadds several exposures: its PSF is about the mean of theirs.
    template_exposures = int(rng.integers(config.template_exposures_range[0], config.template_exposures_range[1] + 1))
    template_seeing_px = float(np.mean([_log_normal_mostly_inside(rng, *config.template_epoch_seeing_fwhm_arcsec_range)
                                        for _ in range(template_exposures)])) / PIXEL_SCALE_ARCSEC
    depth = rng.uniform(*config.template_depth_mag_range)
    search_beta = rng.uniform(2.5, 4.0)
    template_beta = rng.uniform(2.5, 4.0)
    # The difference's noise: search noise plus the (matched) template noise.
    difference_noise = search_noise * math.sqrt(1.0 + 10.0 ** (-0.8 * depth))
    # The difference's point source has the unconvolved image's PSF, Moffat index included.
    convolves_template = config.convolved_image == "template" or template_seeing_px <= seeing_px
    difference_fwhm, difference_beta = ((seeing_px, search_beta) if convolves_template
                                        else (template_seeing_px, template_beta))
    area = effective_area(fwhm=difference_fwhm, beta=difference_beta)
    limiting_mag = zeropoint - 2.5 * math.log10(5.0 * difference_noise * math.sqrt(area))
    night = str(SEASON_START + np.timedelta64(int(rng.integers(SEASON_DAYS)), "D")).replace("-", "")
    # Drawn in the order written (the stream's order); the visit's exposures follow from them.
    drawn = dict(
        band=band, zeropoint=float(zeropoint),
        # Templates are coadds normalised to their own zeropoint.
        template_zeropoint=float(zeropoint + rng.normal(0.0, 0.3)),
        sky_electrons=float(sky), search_noise=search_noise, template_depth_mag=float(depth),
        seeing_fwhm_px=seeing_px, template_seeing_fwhm_px=template_seeing_px, template_exposures=template_exposures,
        search_beta=float(search_beta), template_beta=float(template_beta),
        search_psf_ellipticity=float(rng.uniform(0.0, 0.08)), search_psf_angle=float(rng.uniform(0, math.pi)),
        template_psf_ellipticity=float(rng.uniform(0.0, 0.05)), template_psf_angle=float(rng.uniform(0, math.pi)),
        limiting_mag=float(limiting_mag), ccdid=int(LIVE_CCDS[int(rng.integers(len(LIVE_CCDS)))]),
        x_ccd=float(rng.uniform(40.0, CCD_SHAPE[1] - 40.0)), y_ccd=float(rng.uniform(40.0, CCD_SHAPE[0] - 40.0)),
        night=night, field_name=SN_FIELDS[int(rng.integers(len(SN_FIELDS)))],
    )
    table = "search_exposures_deep" if drawn["field_name"] in DEEP_FIELDS else "search_exposures_shallow"
    return Conditions(**drawn, search_exposures=int(config.band_value(table, band)),
                      convolves_template=convolves_template)


def _choose(rng: np.random.Generator, weights: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in weights]
    values = np.array([weight for _, weight in weights], dtype=float)
    return names[int(rng.choice(len(names), p=values / values.sum()))]


def detection_efficiency(nominal_snr: float, *, config: SimulationConfig) -> float:
    """Probability that a point source of PSF-fit S/N ``nominal_snr`` is detected.

    The S/N the pipeline measures at the detection scatters around the noise-free one by
    ``DETECTION_SNR_SCATTER``, so the efficiency is a smooth step through the threshold:
    50 % at the threshold, as DES-SN measured with its fakes (Kessler et al. 2015).
    """
    return 0.5 * math.erfc((config.detection_snr_min - nominal_snr) / (DETECTION_SNR_SCATTER * math.sqrt(2.0)))


def _injected_mag_from_limit(rng: np.random.Generator, *, config: SimulationConfig) -> float:
    """An injected fake's magnitude minus the limit: a truncated exponential, densest at the faint end."""
    span = config.fake_mag_from_limit_max - config.fake_mag_from_limit_min
    scale = config.fake_mag_from_limit_scale
    # Inverse CDF of an exponential truncated to [0, span].
    depth_below_max = -scale * math.log(1.0 - rng.random() * (1.0 - math.exp(-span / scale)))
    return config.fake_mag_from_limit_max - depth_below_max


def draw_fake_mag_from_limit(rng: np.random.Generator, *, config: SimulationConfig) -> float:
    """Magnitude minus the limit of a DETECTED fake: injected fakes weighted by the detection efficiency.

    Fakes are injected whether or not the pipeline can see them, fainter than the limit
    too; the release holds the detected ones, so the injected distribution is thinned by
    the efficiency at each magnitude (an injected fake rejected here is one the pipeline
    missed).  Near the limit the thinning is gradual: fakes a little fainter than it are
    detected when the noise helps them, brighter ones are missed when it does not.
    """
    for _ in range(MAX_INJECTION_DRAWS):
        offset = _injected_mag_from_limit(rng, config=config)
        # The limit is the 5-sigma magnitude: a fake at the limit has nominal S/N 5.
        if rng.random() < detection_efficiency(5.0 * 10.0 ** (-0.4 * offset), config=config):
            return offset
    return min(offset, 0.0)


def _conditions_keeping_cosmic_rays(rng: np.random.Generator, *, conditions: Conditions,
                                    config: SimulationConfig) -> Conditions:
    """Conditions of a visit whose search image can show a cosmic ray: at most two exposures.

    The search image of a visit of several exposures is their median (SWarp; a DES-SN thesis's
    summary of DiffImg, after Kessler et al. 2015).  A cosmic ray hits one exposure, so the
    median of three or more rejects it, and the pipeline never detects it there: cosmic-ray
    detections come from visits of one exposure or two (whose median is their mean).  The
    release holds detections, so the mix's cosmic-ray share stays as weighted and the
    conditions are those of the visits that can produce one.
    """
    for _ in range(MAX_CONDITION_DRAWS):
        if conditions.search_exposures < MEDIAN_REJECTS_FROM:
            return conditions
        conditions = draw_conditions(rng, config=config)
    raise RuntimeError(f"no visit of fewer than {MEDIAN_REJECTS_FROM} search exposures in {MAX_CONDITION_DRAWS} "
                       "draws: a cosmic ray needs one (SimulationConfig.search_exposures_shallow / _deep)")


def draw_plan(rng: np.random.Generator, *, index: int, label_noise: float, flip_ratio: float,
              config: SimulationConfig) -> SamplePlan:
    """Draw labels, kind and conditions of one sample (no pixels: the cheap 'dry' part)."""
    labels = draw_labels(rng, label_noise=label_noise, flip_ratio=flip_ratio, config=config)
    mechanism = labels.mislabel_mechanism
    if mechanism in MECHANISM_ARTIFACT:
        scene_kind, artifact_type = "fake_on_artifact", MECHANISM_ARTIFACT[mechanism]
    elif labels.true_label == 0:
        scene_kind = "real_transient" if mechanism == "real_transient" else "fake"
        artifact_type = "none"
    else:
        scene_kind, artifact_type = "artifact", _choose(rng, config.artifact_type_weights)
        if artifact_type in DEFECTS_OVER_SOURCES and rng.random() < config.defect_over_source_fraction:
            scene_kind = "source_on_artifact"
    conditions = draw_conditions(rng, config=config)
    if artifact_type == "cosmic_ray":
        conditions = _conditions_keeping_cosmic_rays(rng, conditions=conditions, config=config)
    if scene_kind == "artifact":
        magnitude, host = math.nan, False
    else:
        offset = draw_fake_mag_from_limit(rng, config=config)
        if scene_kind in ON_DEFECT_KINDS:
            offset = max(offset, -1.5)  # a faint fake (within 1.5 mag of the limit), which the defect swamps
        magnitude = conditions.limiting_mag + offset
        host_probability = min(1.0, config.host_fraction + (0.25 if scene_kind == "real_transient" else 0.0))
        host = bool(rng.random() < host_probability)
    return SamplePlan(index=index, labels=labels, scene_kind=scene_kind, artifact_type=artifact_type,
                      conditions=conditions, magnitude=float(magnitude), host_galaxy=host)


# --------------------------------------------------------------------------- scene


def _add_field(canvas: Canvas, rng: np.random.Generator) -> None:
    """Field stars and galaxies scattered over the canvas (not only the stamp)."""
    conditions, config = canvas.conditions, canvas.config
    area_ratio = (GRID / STAMP_SIZE) ** 2
    low, high = 0.0, GRID - 1.0
    for _ in range(rng.poisson(config.star_density * area_ratio)):
        magnitude = max(17.0, conditions.limiting_mag + FIELD_STAR_FAINT_END_MAG - rng.exponential(FIELD_STAR_MAGNITUDE_SCALE))
        canvas.stars.append((rng.uniform(low, high), rng.uniform(low, high), conditions.flux(magnitude)))
    for _ in range(rng.poisson(config.galaxy_density * area_ratio)):
        magnitude = max(18.0, conditions.limiting_mag + 0.7 - rng.exponential(1.6))
        add_galaxy(canvas, rng, y=rng.uniform(low, high), x=rng.uniform(low, high), magnitude=magnitude)


def add_transient(canvas: Canvas, rng: np.random.Generator, *, magnitude: float, host: bool,
                  nuclear_probability: float = 0.0) -> None:
    """The fake (or real transient) at the nominal detection position, on a host if asked.

    The host's magnitude follows the transient's (docs/simulation.md: both are set by the
    redshift), so a fake near the limit sits on a faint, distant host, a bright fake on a
    bright, nearby one.  The position on the host follows the host's light, as DES placed its fakes (SNANA's
    host library): for a Sersic profile of index n, b (r / r_e)^(1/n) of a light-weighted
    position is Gamma(2n)-distributed, so half the fakes lie beyond r_e.  A real transient
    may also be nuclear (an AGN flare) with ``nuclear_probability``.
    """
    y, x = canvas.detection_y, canvas.detection_x
    canvas.transients.append((y, x, canvas.conditions.flux(magnitude)))
    if not host:
        return
    config = canvas.config
    # The host is as bright as the fake's redshift makes it: brighter than the SN at peak by
    # their colour at the rest wavelength this band sees, and the fake may be caught some way
    # past its peak.
    band = canvas.conditions.band
    host_magnitude = float(max(HOST_BRIGHTEST_MAG, magnitude - config.band_value("host_over_peak_mag", band)
                               - rng.exponential(config.band_value("transient_below_peak_mag_scale", band))
                               + rng.normal(0.0, config.host_luminosity_scatter_mag)))
    galaxy_y, galaxy_x = y, x
    galaxy = add_galaxy(canvas, rng, y=y, x=x, magnitude=host_magnitude)
    if rng.random() >= nuclear_probability:
        index = galaxy["index"]
        # Only where the rendered host has light (within SERSIC_EXTENT r_e): a fake placed by
        # the host's light never lands beyond it.
        light_coordinate = rng.gamma(2.0 * index)
        while light_coordinate > sersic_b(index) * SERSIC_EXTENT ** (1.0 / index):
            light_coordinate = rng.gamma(2.0 * index)
        radius = galaxy["half_light_radius"] * (light_coordinate / sersic_b(index)) ** index
        angle = rng.uniform(0.0, 2 * math.pi)
        # Along the ellipse: the minor axis is axis_ratio times the major.
        along, across = radius * math.cos(angle), radius * galaxy["axis_ratio"] * math.sin(angle)
        cos, sin = math.cos(galaxy["angle"]), math.sin(galaxy["angle"])
        galaxy_y, galaxy_x = y - (along * sin + across * cos), x - (along * cos - across * sin)
        galaxy["y"], galaxy["x"] = galaxy_y, galaxy_x
    canvas.details["host_magnitude"] = host_magnitude
    canvas.details["host_offset_px"] = math.hypot(galaxy_y - y, galaxy_x - x)


# --------------------------------------------------------------------------- rendering


def _white_noise_transfer(rng: np.random.Generator, *, sigma_map: np.ndarray) -> np.ndarray:
    """Fourier transform of Gaussian white noise with per-pixel sigma ``sigma_map``."""
    return rfft2(rng.standard_normal((GRID, GRID)) * sigma_map)


def _resampled_noise_filters(rng: np.random.Generator, *, conditions: Conditions,
                             config: SimulationConfig) -> tuple[np.ndarray, np.ndarray]:
    """Noise filters (search, template) from the resampling each image went through.

    DES-SN (Kessler et al. 2015): the template, a coadd of several earlier exposures each
    resampled onto the coadd's grid, is resampled again (SWarp, Lanczos-3) onto the search
    image's grid; the search image stays on its own grid, unless it is a coadd of the
    visit's exposures (deep fields, and z in the shallow ones).  Each resampling correlates neighbouring pixels with the
    interpolation kernel's slightly negative side lobes, which gives real difference noise
    its fine-grained look.
    """
    template_offsets = rng.random((conditions.template_exposures, 2))
    remap = rng.random((1, 2))
    template_filter = resampling_noise_transfer(template_offsets) * resampling_noise_transfer(remap)
    exposures = conditions.search_exposures
    search_filter = resampling_noise_transfer(rng.random((exposures, 2))) if exposures > 1 else _UNFILTERED
    return search_filter, template_filter


def _sky_transfers(canvas: Canvas) -> tuple[np.ndarray, np.ndarray]:
    """Fourier transforms of the static sky before the PSF, without the bright stars, as the
    template and as the search image see it.

    The search image sees it shifted by the misregistration, and a source that moved by
    itself (``Canvas.own_shifts``) by its own position change on top.  Each galaxy is
    rendered once; the fixed sources share one transform and one shift.
    """
    def moves(kind: str, index: int) -> bool:
        return (kind, index) in canvas.own_shifts

    def galaxy_image(galaxy: dict[str, float]) -> np.ndarray:
        return galaxy["flux"] * sersic_image(
            y=galaxy["y"], x=galaxy["x"], half_light_radius=galaxy["half_light_radius"],
            index=galaxy["index"], axis_ratio=galaxy["axis_ratio"], angle=galaxy["angle"])

    stars = [star for index, star in enumerate(canvas.stars) if star[2] <= BRIGHT_STAR_ELECTRONS and not moves("star", index)]
    fixed = point_sources_transfer(ys=np.array([s[0] for s in stars]), xs=np.array([s[1] for s in stars]),
                                   fluxes=np.array([s[2] for s in stars]))
    galaxies = [galaxy for index, galaxy in enumerate(canvas.galaxies) if not moves("galaxy", index)]
    if galaxies:
        fixed = fixed + rfft2(sum(galaxy_image(galaxy) for galaxy in galaxies))
    template, search = fixed, fixed * shift_transfer(dy=canvas.shift_y, dx=canvas.shift_x)
    for (kind, index), (own_y, own_x) in canvas.own_shifts.items():
        if kind == "star":
            y, x, flux = canvas.stars[index]
            if flux > BRIGHT_STAR_ELECTRONS:
                continue  # drawn in pixel space, at its own search position (render_signal)
            light = point_sources_transfer(ys=np.array([y]), xs=np.array([x]), fluxes=np.array([flux]))
        else:
            light = rfft2(galaxy_image(canvas.galaxies[index]))
        template = template + light
        search = search + light * shift_transfer(dy=canvas.shift_y + own_y, dx=canvas.shift_x + own_x)
    return template, search


def _fwhm_to_sigma(fwhm: float) -> float:
    return fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))


@dataclass(frozen=True)
class _Subtraction:
    """How the difference is made: the matching kernel (from the modelled PSFs) and the scale."""

    kernel: np.ndarray
    convolve_template: bool   # the template is convolved (else the search image)
    scale: float              # 1 + the flux-scale error


@dataclass
class SignalRendering:
    """The noise-free part of one rendering: the scene, its images and their difference.

    Drawing the noise again on the same signal is how a detection is conditioned on
    passing the threshold without drawing the scene again.
    """

    canvas: Canvas
    recipe: artifacts.Recipe | None
    on_fake: bool
    subtraction: _Subtraction
    search_psf: np.ndarray    # the search image's PSF, as a transform
    template_signal_transfer: np.ndarray
    search_signal_transfer: np.ndarray
    template_signal: np.ndarray
    search_signal: np.ndarray
    difference_signal: np.ndarray

    @property
    def has_residual_cause(self) -> bool:
        """Whether the detection is a subtraction residual of a source (its cause was drawn by ``artifacts``)."""
        return "source_magnitude" in self.canvas.details

    def detection_snr(self) -> float:
        """S/N of the noise-free difference at its detection, with the pipeline's nominal noise."""
        return self.detection_snr_of(self.difference_signal)

    def detection_snr_of(self, part: np.ndarray) -> float:
        """S/N of ``part`` (a piece of the noise-free difference) through the detection filter at the
        whole difference's detection: the filter is linear, so the pieces' S/N add up to
        :meth:`detection_snr`."""
        center_y, center_x = _detect(self.canvas, self.difference_signal)
        return _detection_snr(part, self.canvas, center_y=center_y, center_x=center_x,
                              fwhm=self.canvas.conditions.difference_psf[0],
                              noise=_difference_noise(self.canvas.conditions))

    def transients_difference(self) -> np.ndarray:
        """What the subtraction leaves of the transients alone (an injected fake or a real
        transient: the search image's new point sources), without any host's or other source's
        residual: the rest of :attr:`difference_signal` is the static scene's residual."""
        transients = self.canvas.transients
        transfer = point_sources_transfer(ys=np.array([t[0] for t in transients]),
                                          xs=np.array([t[1] for t in transients]),
                                          fluxes=np.array([t[2] for t in transients])) * self.search_psf
        return _subtract(self.subtraction, search_transfer=transfer, template_transfer=np.zeros_like(transfer))


def _difference_noise(conditions: Conditions) -> float:
    """The difference's nominal per-pixel sigma: search noise plus the (matched) template noise."""
    return conditions.search_noise * math.sqrt(1.0 + 10.0 ** (-0.8 * conditions.template_depth_mag))


def render_signal(plan: SamplePlan, rng: np.random.Generator, *, config: SimulationConfig) -> SignalRendering:
    """Draw the scene of ``plan`` and render it without noise (the search, template and difference signal)."""
    conditions = plan.conditions
    canvas = Canvas(conditions=conditions, config=config,
                    detection_y=CENTER + rng.uniform(-0.5, 0.5), detection_x=CENTER + rng.uniform(-0.5, 0.5))
    canvas.shift_y, canvas.shift_x = rng.normal(0.0, config.registration_error_px, size=2)
    canvas.template_psf_model_error, canvas.search_psf_model_error = rng.normal(0.0, config.psf_model_error, size=2)
    canvas.flux_scale_error = float(rng.normal(0.0, config.flux_scale_error))
    # A jump ahead of this rendering's stream: its own, and it leaves ``rng`` where it was.
    canvas.shape_rng = np.random.Generator(rng.bit_generator.jumped())
    if config.psf_shape_error > 0.0:
        template_shape, search_shape = canvas.shape_rng.normal(0.0, config.psf_shape_error, size=(2, 2))
        canvas.template_psf_shape_error = (float(template_shape[0]), float(template_shape[1]))
        canvas.search_psf_shape_error = (float(search_shape[0]), float(search_shape[1]))
    _add_field(canvas, rng)
    if plan.scene_kind in ("fake", "real_transient", *ON_DEFECT_KINDS):
        add_transient(canvas, rng, magnitude=plan.magnitude, host=plan.host_galaxy,
                      nuclear_probability=0.3 if plan.scene_kind == "real_transient" else 0.0)
    recipe = artifacts.RECIPES.get(plan.artifact_type)
    on_fake = plan.scene_kind in ON_DEFECT_KINDS
    if recipe is not None:
        recipe.setup(canvas, rng, on_fake=on_fake)

    # Sky through the two PSFs; the search sees the sky shifted by the misregistration.
    template_psf = moffat_transfer(fwhm=conditions.template_seeing_fwhm_px, beta=conditions.template_beta,
                                   ellipticity=conditions.template_psf_ellipticity, angle=conditions.template_psf_angle)
    search_psf = moffat_transfer(fwhm=conditions.seeing_fwhm_px, beta=conditions.search_beta,
                                 ellipticity=conditions.search_psf_ellipticity, angle=conditions.search_psf_angle)
    template_sky, search_sky = _sky_transfers(canvas)
    search_only = canvas.transients + canvas.flux_changes
    transients = point_sources_transfer(ys=np.array([t[0] for t in search_only]),
                                        xs=np.array([t[1] for t in search_only]),
                                        fluxes=np.array([t[2] for t in search_only]))
    template_signal_transfer = template_sky * template_psf
    search_signal_transfer = (search_sky + transients) * search_psf
    bright = [(star, canvas.search_shift("star", index)) for index, star in enumerate(canvas.stars)
              if star[2] > BRIGHT_STAR_ELECTRONS]
    if bright:
        template_bright = sum(flux * moffat_image(
            y=y, x=x, fwhm=conditions.template_seeing_fwhm_px, beta=conditions.template_beta,
            ellipticity=conditions.template_psf_ellipticity, angle=conditions.template_psf_angle)
            for (y, x, flux), _ in bright)
        search_bright = sum(flux * moffat_image(
            y=y + shift_y, x=x + shift_x, fwhm=conditions.seeing_fwhm_px, beta=conditions.search_beta,
            ellipticity=conditions.search_psf_ellipticity, angle=conditions.search_psf_angle)
            for (y, x, flux), (shift_y, shift_x) in bright)
        template_signal_transfer = template_signal_transfer + rfft2(template_bright)
        search_signal_transfer = search_signal_transfer + rfft2(search_bright)
    subtraction = _subtraction(canvas, template_psf=template_psf, search_psf=search_psf)
    return SignalRendering(
        canvas=canvas, recipe=recipe, on_fake=on_fake, subtraction=subtraction, search_psf=search_psf,
        template_signal_transfer=template_signal_transfer, search_signal_transfer=search_signal_transfer,
        template_signal=irfft2(template_signal_transfer), search_signal=irfft2(search_signal_transfer),
        difference_signal=_subtract(subtraction, search_transfer=search_signal_transfer,
                                    template_transfer=template_signal_transfer))


def render_noisy(plan: SamplePlan, signal: SignalRendering, rng: np.random.Generator, *,
                 config: SimulationConfig) -> RenderedSample:
    """Add noise and detector defects to ``signal``, detect, and cut the three stamps."""
    conditions = plan.conditions
    # The detector step writes the noisy images, masks and details: give it a canvas of its own.
    canvas = dataclasses.replace(signal.canvas, details=dict(signal.canvas.details))
    recipe, on_fake, subtraction = signal.recipe, signal.on_fake, signal.subtraction

    # Noise: sky + read + source Poisson, then correlated by the resampling (in Fourier space).
    search_filter, template_filter = _resampled_noise_filters(rng, conditions=conditions, config=config)
    search_sigma = np.sqrt(conditions.search_noise ** 2 + np.maximum(signal.search_signal, 0.0))
    if canvas.noise_excess is not None:
        # A patch where the noise is larger than the pipeline's noise model believes.
        peak_y, peak_x, envelope_sigma, factor = canvas.noise_excess
        rows, columns = np.ogrid[:GRID, :GRID]
        envelope = np.exp(-0.5 * ((rows - peak_y) ** 2 + (columns - peak_x) ** 2) / envelope_sigma ** 2)
        search_sigma = search_sigma * (1.0 + (factor - 1.0) * envelope)
    # The template is a deeper coadd: its source Poisson noise shrinks with its depth too.
    template_sigma = np.sqrt(conditions.search_noise ** 2 + np.maximum(signal.template_signal, 0.0)) \
        * 10.0 ** (-0.4 * conditions.template_depth_mag)
    search_noise = _white_noise_transfer(rng, sigma_map=search_sigma) * search_filter
    template_noise = _white_noise_transfer(rng, sigma_map=template_sigma) * template_filter
    canvas.search = signal.search_signal + irfft2(search_noise)
    canvas.template = signal.template_signal + irfft2(template_noise)
    # The subtraction is linear: the noise-free difference plus the noise's own.
    difference = signal.difference_signal + _subtract(subtraction, search_transfer=search_noise,
                                                       template_transfer=template_noise)
    if recipe is not None:
        clean_search, clean_template = canvas.search.copy(), canvas.template.copy()
        recipe.detector(canvas, rng, on_fake=on_fake)
        if canvas.noise_peak is not None:
            _condition_noise_on_peak(canvas, difference=difference, subtraction=subtraction,
                                     search=(search_sigma, search_filter), template=(template_sigma, template_filter))
        # Detector defects enter the difference linearly: add their own subtraction.
        search_defects, template_defects = canvas.search - clean_search, canvas.template - clean_template
        if search_defects.any() or template_defects.any():
            difference = difference + _subtract(subtraction, search_transfer=rfft2(search_defects),
                                                template_transfer=rfft2(template_defects))

    center_y, center_x = _detect(canvas, difference)
    rows = slice(center_y - HALF_STAMP, center_y + HALF_STAMP + 1)
    columns = slice(center_x - HALF_STAMP, center_x + HALF_STAMP + 1)
    template_units = 1.0 / conditions.scale  # template electrons per search electron
    stamps = {
        "template": canvas.template[rows, columns] * template_units,
        "search": canvas.search[rows, columns].copy(),
        "difference": difference[rows, columns].copy(),
    }
    if canvas.difference_mask is not None:
        stamps["difference"][canvas.difference_mask[rows, columns]] = MASKED_PIXEL_VALUE
    if canvas.stamp_mask is not None:
        for name in stamps:
            stamps[name][canvas.stamp_mask[rows, columns]] = MASKED_PIXEL_VALUE
    masked_fraction = float(np.mean(stamps["difference"] == MASKED_PIXEL_VALUE))

    # The detection moved by the recentring: keep the CCD position consistent with it.
    x_ccd = conditions.x_ccd + (center_x - CENTER)
    y_ccd = conditions.y_ccd + (center_y - CENTER)
    if canvas.ccd_edge is not None:
        # The stamp runs off the CCD: put the detection that far from the CCD's edge.
        axis, side, edge = canvas.ccd_edge
        center = center_x if axis == "x" else center_y
        extent = CCD_SHAPE[1] if axis == "x" else CCD_SHAPE[0]
        position = float(center - edge) if side == "low" else float(extent - 1 - (edge - center))
        if axis == "x":
            x_ccd = position
        else:
            y_ccd = position
        canvas.details["edge_distance_px"] = float(abs(center - edge))
    fitted_scale = conditions.scale * (1.0 + canvas.flux_scale_error)
    context = ObservationContext(
        band=conditions.band, ccdid=conditions.ccdid, x_ccd=float(x_ccd), y_ccd=float(y_ccd),
        zeropoint=conditions.zeropoint, template_zeropoint=conditions.template_zeropoint,
        limiting_mag=conditions.limiting_mag, seeing_fwhm_px=conditions.seeing_fwhm_px,
        template_seeing_fwhm_px=conditions.template_seeing_fwhm_px, scale=float(fitted_scale),
    )
    difference_noise = _difference_noise(conditions)
    difference_fwhm, difference_beta = conditions.difference_psf
    area = effective_area(fwhm=difference_fwhm, beta=difference_beta)
    transient_flux = canvas.transients[0][2] if canvas.transients else math.nan
    # The search image's shift at the detection's source includes that source's own position
    # change (a dipole's or galaxy core's; no other source of a stamp has one).
    own_shift = next(iter(canvas.own_shifts.values()), (0.0, 0.0))
    detection_snr = _detection_snr(difference, canvas, center_y=center_y, center_x=center_x,
                                   fwhm=difference_fwhm, noise=difference_noise)
    truth = {
        "snr": transient_flux / (difference_noise * math.sqrt(area)),
        "detection_snr": detection_snr,
        "transient_flux": transient_flux,
        "shift_px": math.hypot(canvas.shift_y + own_shift[0], canvas.shift_x + own_shift[1]),
        "template_psf_model_error": float(canvas.template_psf_model_error),
        "search_psf_model_error": float(canvas.search_psf_model_error),
        "psf_shape_error": float(math.hypot(*np.subtract(canvas.search_psf_shape_error,
                                                         canvas.template_psf_shape_error))),
        "flux_scale_error": canvas.flux_scale_error,
        "masked_fraction": masked_fraction,
        "detection_offset_px": math.hypot(center_y - canvas.detection_y, center_x - canvas.detection_x),
        "host_magnitude": math.nan,
        "host_offset_px": math.nan,
        "artifact_detail": "",
    }
    truth.update(canvas.details)
    return RenderedSample(
        template=stamps["template"].astype(np.float32), search=stamps["search"].astype(np.float32),
        difference=stamps["difference"].astype(np.float32), context=context, truth=truth)


def _condition_noise_on_peak(canvas: Canvas, *, difference: np.ndarray, subtraction: _Subtraction,
                             search: tuple[np.ndarray, np.ndarray], template: tuple[np.ndarray, np.ndarray]) -> None:
    """Condition the noise of both images on the detection filter reaching ``canvas.noise_peak``'s S/N.

    The S/N comes first (:func:`noise_peak_snr`): the filter's true sigma here, from the
    noise's sigma maps, correlation and subtraction, against the nominal one the pipeline
    thresholds with.  Then a constrained realisation (Hoffman & Ribak 1991): Gaussian noise n, conditioned on a
    linear statistic f = w . d(n) taking the value nu, is n + C A^T w (nu - f) / Var(f), where
    C is n's covariance and A how n enters the difference d.  Here w is the detection's
    Gaussian filter at the peak, each image's noise is F diag(sigma) z (``search`` and
    ``template`` give sigma's map and the resampling filter F), and A is the subtraction:
    the kernel K on the convolved image, -scale on the template.  So the peak's shape follows
    the noise's own correlation: where the search image is convolved, K spreads the search
    noise and the peak is the filter smoothed by K twice, broader than a point source at
    either PSF; the template's share of the noise enters as a dip in the template.  Adds the
    images' conditional means to ``canvas.search`` and ``canvas.template``; the caller
    subtracts them like any detector defect.
    """
    conditions = canvas.conditions
    peak_y, peak_x, tail_quantile = canvas.noise_peak
    sigma = _fwhm_to_sigma(conditions.difference_psf[0])
    rows, columns = np.ogrid[:GRID, :GRID]
    weights = np.exp(-0.5 * ((rows - peak_y) ** 2 + (columns - peak_x) ** 2) / (sigma * sigma))
    filter_transfer = rfft2(weights)
    if subtraction.convolve_template:
        search_adjoint, template_adjoint = 1.0, -subtraction.scale * np.conj(subtraction.kernel)
    else:
        search_adjoint, template_adjoint = np.conj(subtraction.kernel), -subtraction.scale

    def covariance_times(sigma_map: np.ndarray, noise_filter: np.ndarray, transfer: np.ndarray) -> np.ndarray:
        # C v with C = F diag(sigma^2) F^T; F is real and zero-phase, its own transpose.
        return irfft2(noise_filter * rfft2(sigma_map ** 2 * irfft2(noise_filter * transfer)))

    search_mean = covariance_times(*search, search_adjoint * filter_transfer)
    template_mean = covariance_times(*template, template_adjoint * filter_transfer)
    response = float(np.sum(weights * _subtract(subtraction, search_transfer=rfft2(search_mean),
                                                 template_transfer=rfft2(template_mean))))
    # The pipeline's nominal S/N is the filter's response over (nominal sigma x its norm);
    # ``response`` is the response's true variance, w A C A^T w.
    nominal_sigma = _difference_noise(conditions) * float(np.sqrt(np.sum(weights * weights)))
    excess = math.sqrt(response) / nominal_sigma
    snr = noise_peak_snr(tail_quantile, threshold=canvas.config.detection_snr_min, excess=excess)
    # In the rendering's truth (not the release's table): what the benchmarks read of the tail.
    canvas.details["noise_peak_excess"], canvas.details["noise_peak_snr"] = excess, snr
    amount = (snr * nominal_sigma - float(np.sum(weights * difference))) / response
    canvas.search = canvas.search + amount * search_mean
    canvas.template = canvas.template + amount * template_mean


def noise_peak_snr(tail_quantile: float, *, threshold: float, excess: float) -> float:
    """Nominal S/N of a noise fluctuation that passed the pipeline's ``threshold``.

    The filter's response is Gaussian with a true sigma ``excess`` times the nominal one, so
    a fluctuation that passed lies in the tail above ``threshold / excess`` true sigmas; the
    peak is the point of that tail with ``tail_quantile`` of it beyond (uniform: the tail's
    own distribution).  Its overshoot above the threshold has a scale of about
    ``excess**2 / threshold`` in nominal units: small where the noise is only a little
    under-estimated, larger where a detection needs less luck.
    """
    floor = threshold / excess  # the threshold in the noise's true sigma
    tail = special.ndtr(-floor)
    if tail <= 0.0:  # beyond double precision: the peak sits on the threshold
        return float(threshold)
    return float(excess * -special.ndtri(tail_quantile * tail))


def _subtraction(canvas: Canvas, *, template_psf: np.ndarray, search_psf: np.ndarray) -> _Subtraction:
    """The matching kernel fitted to the MODELLED (erroneous) PSFs, and the fitted scale.

    The template (or, with ``convolved_image: sharper``, the sharper image) is convolved
    with K, fitted as HOTPANTS fits it (``kernel_fit``) so that K * convolved_model ~=
    target_model; K also filters that image's noise, smoothing it where K broadens and
    ringing where K sharpens.  The fit's stars carry the convolved image's own noise
    (its template depth where the template is convolved), which regularises the fit.
    """
    conditions = canvas.conditions
    template_model = template_psf * model_error_transfer(
        sigma_psf=_fwhm_to_sigma(conditions.template_seeing_fwhm_px), fractional_error=canvas.template_psf_model_error,
        shape_error=canvas.template_psf_shape_error)
    search_model = search_psf * model_error_transfer(
        sigma_psf=_fwhm_to_sigma(conditions.seeing_fwhm_px), fractional_error=canvas.search_psf_model_error,
        shape_error=canvas.search_psf_shape_error)
    convolved, target = ((template_model, search_model) if conditions.convolves_template
                         else (search_model, template_model))
    kernel = kernel_fit.fit_kernel(convolved, target, regularisation=kernel_fit_regularisation(conditions, config=canvas.config))
    return _Subtraction(kernel=kernel, convolve_template=conditions.convolves_template, scale=1.0 + canvas.flux_scale_error)


def kernel_fit_regularisation(conditions: Conditions, *, config: SimulationConfig) -> float:
    """The kernel fit's errors-in-variables term for these conditions: the convolved image's
    stars (the field-star counts of ``_add_field``, up to saturation) with its noise (the
    template ``template_depth_mag`` deeper than the search image)."""
    if conditions.convolves_template:
        psf = (conditions.template_seeing_fwhm_px, conditions.template_beta, conditions.template_psf_ellipticity)
        noise_scale = 10.0 ** (-0.8 * conditions.template_depth_mag)
    else:
        psf = (conditions.seeing_fwhm_px, conditions.search_beta, conditions.search_psf_ellipticity)
        noise_scale = 1.0
    return kernel_fit.star_noise_regularisation(
        fwhm=psf[0], beta=psf[1], ellipticity=psf[2], sky_sigma=conditions.search_noise, noise_scale=noise_scale,
        faint_flux=conditions.flux(conditions.limiting_mag + FIELD_STAR_FAINT_END_MAG),
        magnitude_scale=FIELD_STAR_MAGNITUDE_SCALE, saturation=config.saturation_electrons - conditions.sky_electrons)


def _subtract(subtraction: _Subtraction, *, search_transfer: np.ndarray, template_transfer: np.ndarray) -> np.ndarray:
    """PSF-matched difference of two images given as transforms: ``search - scale * K * template`` (or K on the search)."""
    if subtraction.convolve_template:
        return irfft2(search_transfer - subtraction.scale * subtraction.kernel * template_transfer)
    return irfft2(subtraction.kernel * search_transfer - subtraction.scale * template_transfer)


def _detect(canvas: Canvas, difference: np.ndarray) -> tuple[int, int]:
    """Canvas pixel of the smoothed difference's maximum near the nominal position."""
    radius = canvas.detection_radius
    nominal_y, nominal_x = int(round(canvas.detection_y)), int(round(canvas.detection_x))
    window = difference[nominal_y - radius - 2:nominal_y + radius + 3, nominal_x - radius - 2:nominal_x + radius + 3]
    window = np.where(np.isfinite(window), window, 0.0)
    if canvas.difference_mask is not None:
        masked = canvas.difference_mask[nominal_y - radius - 2:nominal_y + radius + 3,
                                        nominal_x - radius - 2:nominal_x + radius + 3]
        window = np.where(masked, -np.inf, window)
    # 3x3 box smoothing: a detection is a few connected pixels, not one hot pixel alone.
    padded = window
    smooth = (padded[:-2, :-2] + padded[:-2, 1:-1] + padded[:-2, 2:] + padded[1:-1, :-2] + padded[1:-1, 1:-1]
              + padded[1:-1, 2:] + padded[2:, :-2] + padded[2:, 1:-1] + padded[2:, 2:])[1:-1, 1:-1]
    smooth = np.where(np.isfinite(smooth), smooth, -np.inf)
    peak_y, peak_x = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    # The stamp must stay inside the canvas.
    low, high = HALF_STAMP, GRID - 1 - HALF_STAMP
    return (min(max(nominal_y - radius + int(peak_y), low), high),
            min(max(nominal_x - radius + int(peak_x), low), high))


def _detection_snr(difference: np.ndarray, canvas: Canvas, *, center_y: int, center_x: int, fwhm: float,
                   noise: float) -> float:
    """PSF-matched S/N of the difference at the detection, with the pipeline's noise model.

    ``noise`` is the difference's nominal per-pixel sigma, what the pipeline believes; a
    noise peak passes the threshold exactly because its real noise is larger.  Masked
    pixels carry no signal.
    """
    half = DETECTION_FILTER_HALF_WIDTH
    window = (slice(center_y - half, center_y + half + 1), slice(center_x - half, center_x + half + 1))
    weights = _gaussian_filter_weights(round(fwhm, 2))
    values = difference[window]
    if canvas.difference_mask is not None or canvas.stamp_mask is not None:
        masked = np.zeros(values.shape, dtype=bool)
        for mask in (canvas.difference_mask, canvas.stamp_mask):
            if mask is not None:
                masked |= mask[window]
        weights = np.where(masked, 0.0, weights)
        values = np.where(masked, 0.0, values)
    norm = float(np.sqrt(np.sum(weights * weights)))
    return float(np.sum(values * weights) / (noise * norm)) if norm > 0 else 0.0


@lru_cache(maxsize=512)
def _gaussian_filter_weights(fwhm: float) -> np.ndarray:
    offsets = np.arange(-DETECTION_FILTER_HALF_WIDTH, DETECTION_FILTER_HALF_WIDTH + 1, dtype=float)
    sigma = _fwhm_to_sigma(fwhm)
    profile = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights = np.outer(profile, profile)
    weights.setflags(write=False)
    return weights


def simulate_sample(*, seed: int, index: int, label_noise: float, flip_ratio: float,
                    config: SimulationConfig, render: bool = True) -> tuple[SamplePlan, RenderedSample | None]:
    """Plan (and render) sample ``index`` of a release with ``seed``: a pure function of its inputs.

    Every sample of a release is a detection: an artifact is there only because the
    pipeline detected it, and so is a fake (an injected fake the pipeline missed is not in
    the release).  A fake's magnitude is already weighted by the detection efficiency in
    the plan; a subtraction residual's cause (a source and its errors) is kept with the
    efficiency at its noise-free S/N, else the scene is drawn again.  The noise is then
    drawn until the PSF-matched S/N reaches ``config.detection_snr_min`` (at most
    ``MAX_NOISE_DRAWS`` times, then the scene is drawn again): the noise of a detection.
    """
    if not render:
        return draw_plan(sample_rng(seed=seed, index=index), index=index, label_noise=label_noise,
                         flip_ratio=flip_ratio, config=config), None
    plan, _, rendered = render_sample(seed=seed, index=index, label_noise=label_noise, flip_ratio=flip_ratio,
                                      config=config)
    return plan, rendered


def render_sample(*, seed: int, index: int, label_noise: float, flip_ratio: float,
                  config: SimulationConfig) -> tuple[SamplePlan, SignalRendering, RenderedSample]:
    """:func:`simulate_sample` with the noise-free signal its rendering was drawn on (to take a
    release's sample apart again: what of its difference is the transient, what a residual)."""
    rng = sample_rng(seed=seed, index=index)
    plan = draw_plan(rng, index=index, label_noise=label_noise, flip_ratio=flip_ratio, config=config)
    rendered = None
    for _ in range(MAX_SCENE_DRAWS):
        signal = render_signal(plan, rng, config=config)
        if signal.has_residual_cause and rng.random() >= detection_efficiency(signal.detection_snr(), config=config):
            continue
        for _ in range(MAX_NOISE_DRAWS):
            rendered = render_noisy(plan, signal, rng, config=config)
            if rendered.truth["detection_snr"] >= config.detection_snr_min:
                return plan, signal, rendered
    if rendered is None:  # every scene's residual was too weak: keep a rendering of the last one
        rendered = render_noisy(plan, signal, rng, config=config)
    return plan, signal, rendered


def sample_rng(*, seed: int, index: int) -> np.random.Generator:
    """The random stream of sample ``index``: child ``index`` of ``SeedSequence(seed)``.

    Same as ``SeedSequence(seed).spawn(n)[index]`` for any n > index, so the stream does
    not depend on how samples are chunked across workers.
    """
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(index,)))
