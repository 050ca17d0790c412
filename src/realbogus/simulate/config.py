"""The simulator's knobs: one frozen object, built once (from params.yaml or defaults).

Every number that sets how hard the classification problem is lives here, so the
calibration against the paper's forest figures (issue 3, item 4) changes only this
object, never the physics code.  Magnitudes are AB, lengths in pixels unless the name
says arcsec, fluxes in electrons.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from realbogus.release.layout import BANDS
from realbogus.release.reference import (
    AYYAR_2022_CHANGED,
    AYYAR_2022_CHANGED_0_TO_1,
    AYYAR_2022_CHANGED_1_TO_0,
    AYYAR_2022_RELEASE_SIZE,
)

# The artifact families the simulator draws for label-1 detections.
ARTIFACT_TYPES: tuple[str, ...] = (
    "dipole",             # misregistration between template and search around a static source
    "bad_subtraction",    # mis-subtracted star: PSF-model and flux-scale error
    "galaxy_core",        # mis-subtracted galaxy nucleus
    "cosmic_ray",         # sharp track or hit in the search image
    "bad_column",         # hot / bad CCD column
    "hot_pixel",          # a few hot pixels
    "saturated_star",     # saturated star with a bleed trail
    "masked_edge",        # CCD edge or masked region (1e-30 in the FITS)
    "noise_peak",         # a peak of (locally under-estimated) noise
)

# Mechanisms by which a given label differs from the truth (Ayyar et al. 2022, sec. 5).
# given 0, truly artifact: the fake landed on a defect that dominates the stamp.
MECHANISMS_GIVEN0_TRUE1: tuple[str, ...] = (
    "fake_on_bad_column", "fake_on_mask", "fake_near_saturated_star", "random_flip",
)
# given 1, truly non-artifact: a real, unknown transient among the random detections.
MECHANISMS_GIVEN1_TRUE0: tuple[str, ...] = ("real_transient", "random_flip")
# The artifact a fake-on-defect mechanism puts under the fake.
MECHANISM_ARTIFACT: dict[str, str] = {
    "fake_on_bad_column": "bad_column",
    "fake_on_mask": "masked_edge",
    "fake_near_saturated_star": "saturated_star",
}

# 454,092 artifacts of 898,963 samples in the real release (Ayyar et al. 2022).
REAL_RELEASE_ARTIFACT_FRACTION = 454_092 / AYYAR_2022_RELEASE_SIZE
# The label noise of the real release as the paper's relabelling measured it: 7,402 of
# 898,963 labels changed (0.82 %; a lower bound, as only 8,093 samples were reviewed), of
# them 5,636 from 0 to 1 and 1,766 from 1 to 0 (3.19 to 1).
DEFAULT_LABEL_NOISE = AYYAR_2022_CHANGED / AYYAR_2022_RELEASE_SIZE
DEFAULT_FLIP_RATIO = AYYAR_2022_CHANGED_0_TO_1 / AYYAR_2022_CHANGED_1_TO_0
# The search image of a visit of several exposures is their median (SWarp; a DES-SN thesis's
# summary of DiffImg): a median of this many or more rejects what hit only one (a cosmic ray).
MEDIAN_REJECTS_FROM = 3
# What ``convolved_image`` may name.
CONVOLVED_IMAGES: tuple[str, ...] = ("template", "sharper")


# Knobs given per band (``SimulationConfig.band_value``).
PER_BAND_KNOBS: tuple[str, ...] = ("sky_electrons", "zeropoint", "search_exposures_shallow", "search_exposures_deep",
                                   "host_over_peak_mag", "transient_below_peak_mag_scale")


def _weights(**weights: float) -> tuple[tuple[str, float], ...]:
    return tuple(weights.items())


@dataclass(frozen=True)
class SimulationConfig:
    """Knobs of the DES-like simulation (defaults: a DES-SN Y1-like mix).

    Class balance and label noise
        artifact_fraction: share of samples whose GIVEN label is 1 (artifact).
        mislabel_mechanism_weights_given0 / _given1: relative weight of each mechanism
            among the mislabelled samples of that given label.
    Observing conditions (per detection)
        seeing_fwhm_arcsec_range: search-image seeing, log-normal with its central 95 % inside
            the range (its tails run past it: the seeing is "mostly" in the range).
        template_epoch_seeing_fwhm_arcsec_range: seeing of each exposure the template coadds
            (drawn like the search seeing); the template's PSF is their mean.
        template_depth_mag_range: how much deeper the template is than the search image.
        sky_electrons: per-band sky level per pixel of the search image.
        zeropoint: per-band magnitude of one electron in a search exposure.
        read_noise_electrons, saturation_electrons: CCD properties.
        template_exposures_range: how many exposures the template coadd averages (each
            resampled with Lanczos-3, then the coadd resampled onto the search grid); the
            template's seeing is the mean of theirs.
        search_exposures_shallow, search_exposures_deep: exposures per band and night in
            the shallow and deep fields; several are coadded (each resampled) into the
            search image, a single exposure stays on its own grid.
    Subtraction
        convolved_image: which image the matching kernel convolves.  "template": always the
            template, towards the search image's PSF even where the search image is the
            sharper (HOTPANTS -c t; the kernel then sharpens, and rings); "sharper": the
            sharper of the two (what HOTPANTS's default -c b picks for such PSFs).
    Subtraction imperfections of ordinary (non-artifact) detections
        registration_error_px: sigma of the template-search misregistration.
        psf_model_error: fractional sigma of the PSF-model FWHM error.
        psf_shape_error: per-component sigma of the PSF-model ellipticity error (e1, e2).
        flux_scale_error: fractional sigma of the flux-scale (SCALE) error.
    Fakes (non-artifacts)
        fake_mag_from_limit_max: faintest INJECTED fake, magnitudes relative to the 5-sigma
            limit (fainter than it: the detection efficiency decides which are detected).
        fake_mag_from_limit_scale: fakes fall off exponentially brighter than that, with
            this scale (mag); small = fakes crowd near the limit = a harder problem.
        fake_mag_from_limit_min: brightest fake relative to the limit.
        host_fraction: share of fakes (and real transients) placed on a host galaxy.
        host_over_peak_mag, host_luminosity_scatter_mag, transient_below_peak_mag_scale:
            the host's magnitude is the transient's minus host_over_peak_mag (per band),
            minus how far past its peak the transient is caught (exponential with this
            per-band mean), plus a Gaussian scatter: host and transient share a redshift.
    Artifacts
        artifact_type_weights: relative frequency of each type in ARTIFACT_TYPES.
        source_shift_px_sigma: per-axis Gaussian sigma of a source's own position change
            between template and search (colour-dependent refraction, proper motion), on
            top of the image registration error: dipoles and galaxy cores.
        source_psf_error_sigma: Gaussian sigma of the local PSF-model (kernel-width) error
            at a source, on top of the image-wide ``psf_model_error``.
        source_psf_shape_error_sigma: per-component Gaussian sigma of the local PSF-model
            ellipticity error at such a source, on top of the image-wide ``psf_shape_error``:
            a model fit over the CCD misses the local PSF's shape as much as its size.
        star_flux_change_sigma: Gaussian sigma of the fractional flux change of the stars
            of bad subtractions (stellar variability and a local scale error), in half of them.
        noise_peak_excess_range: local noise under-estimate factor of the detected noise peaks
            (on the search image's noise); their S/N follows from the detection filter's
            resulting true sigma (``scene.noise_peak_snr``).
        artifact_source_mag_range: (faintest, brightest) magnitudes above the limit of the
            stars and galaxies that subtraction residuals are made of.
        artifact_source_mag_scale: such sources get rarer toward bright magnitudes,
            exponentially with this scale (mag).
        defect_over_source_fraction: share of bad-column, masked and saturated-star
            artifacts whose defect lies over a faint source, exactly as in the fake-on-defect
            mislabels.  Scanners call these artifacts (the defect dominates), so the
            mislabelled fakes look like a minority of a correctly labelled artifact class,
            as in the real release, where the CNNs found them by disagreement.
        detection_snr_min: a random detection (artifact) is kept only when its PSF-matched
            S/N in the difference, with the pipeline's nominal noise, reaches this; one that
            does not is drawn again (it would never have been detected).
    Field
        star_density, galaxy_density: mean number of field stars / galaxies per stamp.
    """

    artifact_fraction: float = REAL_RELEASE_ARTIFACT_FRACTION
    # The paper's two mechanisms only: its labels came from injection (fake = 0) and random
    # detection (= 1), not from people, so no label is wrong without a physical cause.
    # ``random_flip`` (a wrong label of any look) is there for experiments.
    mislabel_mechanism_weights_given0: tuple[tuple[str, float], ...] = _weights(
        fake_on_bad_column=0.35, fake_on_mask=0.35, fake_near_saturated_star=0.3, random_flip=0.0,
    )
    mislabel_mechanism_weights_given1: tuple[tuple[str, float], ...] = _weights(
        real_transient=1.0, random_flip=0.0,
    )

    seeing_fwhm_arcsec_range: tuple[float, float] = (0.9, 1.8)
    # DES-SN Y1 templates are deeper coadds of earlier (SV-season) exposures of the same
    # fields, taken under the same program's seeing: a coadd's PSF is about the mean of its
    # exposures' PSFs, so the template is rarely much sharper or broader than a typical
    # search image.  The compact objects of real stamps show it: template at least as broad
    # as the search in 4 of 4 (benchmarks/picture_psf_sizes.py, docs/simulation.md).
    template_epoch_seeing_fwhm_arcsec_range: tuple[float, float] = (0.9, 1.8)
    template_depth_mag_range: tuple[float, float] = (0.5, 1.5)
    # DES DiffImg's kernel convolves the template to the search image's seeing (a DES-SN
    # thesis's summary of DiffImg: "most of the time" the template was the sharper); no rule
    # for a sharper search image is published.  The real stamps show the template convolved,
    # sharper search image or not: their difference noise keeps the search image's own
    # texture (lag-1 correlation p50 0.567, the search's 0.573; a convolved search image is
    # smoother) and 4 of 10 ring as a sharpening kernel makes them ring
    # (benchmarks/difference_noise_texture.py; docs/simulation.md, twelfth pass).
    convolved_image: str = "template"
    sky_electrons: tuple[tuple[str, float], ...] = _weights(g=700.0, r=1400.0, i=2600.0, z=4300.0)
    zeropoint: tuple[tuple[str, float], ...] = _weights(g=31.3, r=31.6, i=31.5, z=31.2)
    zeropoint_scatter_mag: float = 0.15
    read_noise_electrons: float = 7.0
    saturation_electrons: float = 140_000.0
    template_exposures_range: tuple[int, int] = (3, 10)
    # DES-SN exposures per band and visit (Kessler et al. 2015, Table 1): shallow fields
    # g r i 1, z 2; deep fields g 3, r 3, i 5, z 11.
    search_exposures_shallow: tuple[tuple[str, float], ...] = _weights(g=1, r=1, i=1, z=2)
    search_exposures_deep: tuple[tuple[str, float], ...] = _weights(g=3, r=3, i=5, z=11)

    registration_error_px: float = 0.04
    psf_model_error: float = 0.015
    psf_shape_error: float = 0.015
    flux_scale_error: float = 0.01

    # Fakes are injected down to a magnitude fainter than the limit; the efficiency
    # thins them (scene.draw_fake_mag_from_limit), so the faintest detected ones scatter up.
    fake_mag_from_limit_max: float = 1.0
    # SN Ia fakes over a volume growing with redshift: counts rise toward the limit.  Derived
    # from the SN Ia rate, cosmology and weekly epochs of a light curve, 0.75-1.07 over the
    # variants of benchmarks/sn_ia_fake_counts.py (0.86 for its default): 1.0 is inside.
    fake_mag_from_limit_scale: float = 1.0
    fake_mag_from_limit_min: float = -5.0
    # DES injected every fake near a host galaxy (Kessler et al. 2015).
    host_fraction: float = 1.0
    # DES SN Ia hosts (median stellar mass ~10^10.2 solar: M_r ~ -20.5, from dwarfs to giants)
    # are ~1.2 mag brighter than an SN Ia at peak (M ~ -19.3), with ~1.2 mag of host-to-host
    # scatter; a detected fake is caught past its peak by an exponential of mean 0.8 mag.
    # Per band (one number for all is accepted): the 1.2 sets the host's rest-frame r against
    # the SN's B, where a band sees one rest wavelength for both; the per-band values that
    # benchmarks/sn_ia_fake_counts.py derives from approximate colours (host over peak g 0.0,
    # r 0.55, i 1.15, z 1.95; past peak 1.35, 1.1, 0.8, 0.7) were measured as a what-if and
    # not adopted (docs/simulation.md, "How the fakes crowd the limit").
    host_over_peak_mag: tuple[tuple[str, float], ...] = _weights(g=1.2, r=1.2, i=1.2, z=1.2)
    host_luminosity_scatter_mag: float = 1.2
    transient_below_peak_mag_scale: tuple[tuple[str, float], ...] = _weights(g=0.8, r=0.8, i=0.8, z=0.8)

    # Most DES-SN artifacts are subtraction residuals of stars and galaxies (Kessler et al.
    # 2015); cosmic rays, bad pixels and saturation are mostly masked before subtraction.
    artifact_type_weights: tuple[tuple[str, float], ...] = _weights(
        dipole=0.32, bad_subtraction=0.20, galaxy_core=0.10, cosmic_ray=0.05, bad_column=0.08,
        hot_pixel=0.04, saturated_star=0.06, masked_edge=0.08, noise_peak=0.07,
    )
    # The errors that make a residual artifact, drawn for every candidate source; only the
    # residuals that pass the detection threshold stay (docs/simulation.md).
    source_shift_px_sigma: float = 0.15
    source_psf_error_sigma: float = 0.04
    source_psf_shape_error_sigma: float = 0.04
    star_flux_change_sigma: float = 0.03
    noise_peak_excess_range: tuple[float, float] = (1.5, 2.5)
    artifact_source_mag_range: tuple[float, float] = (1.5, 4.5)
    artifact_source_mag_scale: float = 1.45
    defect_over_source_fraction: float = 0.75
    # DES-SN detections are S/N >= 5 sources of the difference image (Kessler et al. 2015).
    detection_snr_min: float = 5.0

    # High-latitude star counts to r ~ 24 are about 1.5 per arcmin^2, galaxies ~30 (a stamp
    # is 13.4" across, 0.05 arcmin^2).
    star_density: float = 0.1
    galaxy_density: float = 1.5

    def __post_init__(self) -> None:
        if not 0.0 < self.artifact_fraction < 1.0:
            raise ValueError(f"artifact_fraction must be in (0, 1), got {self.artifact_fraction}")
        _check_weights("artifact_type_weights", self.artifact_type_weights, ARTIFACT_TYPES)
        _check_weights("mislabel_mechanism_weights_given0", self.mislabel_mechanism_weights_given0,
                       MECHANISMS_GIVEN0_TRUE1)
        _check_weights("mislabel_mechanism_weights_given1", self.mislabel_mechanism_weights_given1,
                       MECHANISMS_GIVEN1_TRUE0)
        for name in ("seeing_fwhm_arcsec_range", "template_epoch_seeing_fwhm_arcsec_range",
                     "template_depth_mag_range", "noise_peak_excess_range", "template_exposures_range"):
            low, high = getattr(self, name)
            if not low <= high:
                raise ValueError(f"{name} must be (low, high) with low <= high, got {(low, high)}")
        faintest, brightest = self.artifact_source_mag_range
        if not 0.0 <= faintest <= brightest:
            raise ValueError(f"artifact_source_mag_range must be (faintest, brightest) magnitudes above the limit "
                             f"with 0 <= faintest <= brightest, got {self.artifact_source_mag_range}")
        for name in PER_BAND_KNOBS:
            value = getattr(self, name)
            if isinstance(value, (int, float)):  # one number for every band
                object.__setattr__(self, name, tuple((band, float(value)) for band in BANDS))
            missing = sorted(set(BANDS) - {band for band, _ in getattr(self, name)})
            if missing:
                raise ValueError(f"{name}: no value for band(s) {missing}; give one per band of {list(BANDS)} "
                                 f"or one number for all")
        for name in ("psf_shape_error", "source_shift_px_sigma", "source_psf_error_sigma",
                     "source_psf_shape_error_sigma", "star_flux_change_sigma", "host_luminosity_scatter_mag"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if any(not mean >= 0.0 for _, mean in self.transient_below_peak_mag_scale):
            raise ValueError(f"transient_below_peak_mag_scale must be >= 0 in every band, "
                             f"got {dict(self.transient_below_peak_mag_scale)}")
        if self.convolved_image not in CONVOLVED_IMAGES:
            raise ValueError(f"convolved_image must be one of {list(CONVOLVED_IMAGES)}, got {self.convolved_image!r}")
        if self.fake_mag_from_limit_min >= self.fake_mag_from_limit_max:
            raise ValueError("fake_mag_from_limit_min must be below fake_mag_from_limit_max")
        if self.template_exposures_range[0] < 1:
            raise ValueError(f"template_exposures_range must start at >= 1 exposure, got {self.template_exposures_range}")
        for name in ("search_exposures_shallow", "search_exposures_deep"):
            exposures = dict(getattr(self, name))
            if sorted(exposures) != sorted(BANDS) or any(value < 1 or value != int(value) for value in exposures.values()):
                raise ValueError(f"{name} must give a whole number >= 1 of exposures for each band {list(BANDS)}, "
                                 f"got {exposures}")
        visits = [value for name in ("search_exposures_shallow", "search_exposures_deep")
                  for _, value in getattr(self, name)]
        if dict(self.artifact_type_weights).get("cosmic_ray", 0.0) > 0 and min(visits) >= MEDIAN_REJECTS_FROM:
            raise ValueError(f"artifact_type_weights gives cosmic_ray a share, but every visit has at least "
                             f"{MEDIAN_REJECTS_FROM} search exposures, whose median rejects a cosmic ray: give some "
                             f"band fewer in search_exposures_shallow / _deep, or cosmic_ray the weight 0")
        for name in ("host_fraction", "defect_over_source_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def band_value(self, table: str, band: str) -> float:
        """Per-band value of one of ``PER_BAND_KNOBS``."""
        return dict(getattr(self, table))[band]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, where: str = "simulate.config") -> "SimulationConfig":
        """Build from a params.yaml mapping; weight tables may be given as mappings.

        Unknown keys are an error naming ``where`` (usually a typo in params.yaml).
        """
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(mapping) - allowed)
        renamed = [f"{key} is now {RENAMED_KEYS[key]}" for key in unknown if key in RENAMED_KEYS]
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; expected some of {sorted(allowed)}"
                             + (f" ({'; '.join(renamed)})" if renamed else ""))
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if isinstance(value, Mapping):
                defaults = dict(getattr(cls(), key))
                defaults.update({str(k): float(v) for k, v in value.items()})
                values[key] = tuple(defaults.items())
            elif isinstance(value, list):
                values[key] = tuple(value)
            else:
                values[key] = value
        return cls(**values)


def knobs_from_json(text: str, *, where: str) -> dict[str, Any]:
    """SimulationConfig knobs given as JSON text (a benchmark's ``--config-json``), checked.

    Text that is not JSON, JSON that is not an object, and unknown knobs are a ValueError
    naming ``where``; the knobs come back as given, to be merged with others before building.
    """
    try:
        knobs = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where} must be a JSON object of SimulationConfig knobs: {error}") from None
    if not isinstance(knobs, dict):
        raise ValueError(f"{where} must be a JSON object of SimulationConfig knobs, got {text!r}")
    SimulationConfig.from_mapping(knobs, where=where)
    return knobs


# Keys of earlier releases' configs and what took their place.
RENAMED_KEYS = {
    "template_seeing_fwhm_arcsec_range": "template_epoch_seeing_fwhm_arcsec_range, the seeing of each exposure "
                                         "the template coadds (the template's is their mean)",
}


def _check_weights(name: str, weights: tuple[tuple[str, float], ...], allowed: tuple[str, ...]) -> None:
    names = [key for key, _ in weights]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: unknown name(s) {unknown}; expected some of {list(allowed)}")
    if any(weight < 0 for _, weight in weights) or sum(weight for _, weight in weights) <= 0:
        raise ValueError(f"{name}: weights must be non-negative with a positive sum, got {dict(weights)}")
