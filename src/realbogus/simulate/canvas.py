"""The state one detection is rendered from, shared by the scene and the artifact recipes.

``Conditions`` are the detection's observing conditions; a ``Canvas`` collects what is on
the sky and the detector while ``scene.render_signal`` / ``render_noisy`` and the recipes of ``artifacts`` build
it up.  Both modules import this one and never each other's internals, so the import
arrows point one way: scene -> artifacts -> canvas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from realbogus.simulate.config import SimulationConfig
from realbogus.simulate.psf import GRID

# Median half-light radius (pixels) of a 21.5 mag galaxy: 0.58", the size of the faint field
# galaxies (r ~ 21-23) that hold most SN hosts (a disk of r_e ~ 4 kpc at z ~ 0.5-0.8).
GALAXY_HALF_LIGHT_RADIUS_PX = 2.2
# How far (pixels) the detection may sit from the object we put at the stamp centre;
# the canvas margin around the stamp ((GRID - 51) / 2 = 10 px) bounds it.
DETECTION_SEARCH_RADIUS = 4


@dataclass(frozen=True)
class Conditions:
    """Observing conditions of one detection (search image, template, CCD, night)."""

    band: str
    zeropoint: float
    template_zeropoint: float
    sky_electrons: float
    search_noise: float          # per-pixel sigma of the search image, electrons
    template_depth_mag: float    # template is this many magnitudes deeper
    seeing_fwhm_px: float
    template_seeing_fwhm_px: float
    template_exposures: int      # exposures the template coadds (its seeing is their mean)
    search_beta: float
    template_beta: float
    search_psf_ellipticity: float
    search_psf_angle: float
    template_psf_ellipticity: float
    template_psf_angle: float
    limiting_mag: float          # 5-sigma point-source limit in the difference
    ccdid: int
    x_ccd: float
    y_ccd: float
    night: str                   # YYYYMMDD
    field_name: str
    # Exposures of the visit that the search image is a median coadd of (deep fields, and z
    # in the shallow ones); 1: a single exposure, on its own grid.
    search_exposures: int = 1
    # Whether the subtraction convolves the template (else the search image): the
    # difference then has the search image's PSF (``SimulationConfig.convolved_image``).
    convolves_template: bool = True

    @property
    def difference_psf(self) -> tuple[float, float]:
        """(FWHM px, Moffat index) of a point source in the difference: the PSF of the image
        the subtraction does not convolve."""
        if self.convolves_template:
            return self.seeing_fwhm_px, self.search_beta
        return self.template_seeing_fwhm_px, self.template_beta

    @property
    def kernel_sharpens(self) -> bool:
        """Whether the matching kernel must sharpen the image it convolves (that image is the broader)."""
        if self.convolves_template:
            return self.template_seeing_fwhm_px > self.seeing_fwhm_px
        return self.seeing_fwhm_px > self.template_seeing_fwhm_px

    @property
    def template_noise(self) -> float:
        """Per-pixel sigma of the template in search-image electrons."""
        return self.search_noise * 10.0 ** (-0.4 * self.template_depth_mag)

    @property
    def scale(self) -> float:
        """Flux of a source in the search image per unit flux in the template (SCALE)."""
        return 10.0 ** (0.4 * (self.zeropoint - self.template_zeropoint))

    def flux(self, magnitude: float) -> float:
        """Search-image electrons of a source of AB ``magnitude``."""
        return 10.0 ** (0.4 * (self.zeropoint - magnitude))


@dataclass
class Canvas:
    """The mutable state of one rendering, shared by the artifact recipes.

    Positions are canvas pixels (GRID x GRID); the stamp is cut around the detection.
    """

    conditions: Conditions
    config: SimulationConfig
    detection_y: float
    detection_x: float
    stars: list[tuple[float, float, float]] = field(default_factory=list)      # y, x, flux
    galaxies: list[dict[str, float]] = field(default_factory=list)
    transients: list[tuple[float, float, float]] = field(default_factory=list)  # search only
    # Flux changes of static sources (variable stars), search only: y, x, change in flux.
    flux_changes: list[tuple[float, float, float]] = field(default_factory=list)
    # The search image's misregistration against the template, the same for every source.
    shift_y: float = 0.0
    shift_x: float = 0.0
    # Sources that moved by themselves between template and search (proper motion,
    # colour-dependent refraction), on top of the misregistration: ("star" | "galaxy", index
    # into ``stars`` or ``galaxies``) -> (dy, dx) in pixels, search minus template.
    own_shifts: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    template_psf_model_error: float = 0.0   # fractional FWHM error of the modelled PSF_T
    search_psf_model_error: float = 0.0
    # Ellipticity error (e1, e2) of the modelled PSF_T and PSF_S: a kernel fit over the CCD
    # misses the local PSF's shape as well as its size.
    template_psf_shape_error: tuple[float, float] = (0.0, 0.0)
    search_psf_shape_error: tuple[float, float] = (0.0, 0.0)
    # The shape errors are drawn from a stream of their own, so that a release made with
    # and without them (``psf_shape_error``, ``source_psf_shape_error_sigma``) draws every
    # other quantity alike and the two differ only where the shape matters.
    shape_rng: np.random.Generator | None = None
    flux_scale_error: float = 0.0
    noise_excess: tuple[float, float, float, float] | None = None  # y, x, sigma, factor
    # A noise peak the pipeline detected: y, x and its quantile in the Gaussian tail above the
    # threshold (uniform in (0, 1]; 1 is on the threshold); ``scene`` turns it into an S/N.
    # The scene, which holds the noise model, conditions the noise on it (``scene.render_noisy``).
    noise_peak: tuple[float, float, float] | None = None
    # (axis "x"|"y", side "low"|"high", canvas index of the last on-CCD column/row)
    ccd_edge: tuple[str, str, int] | None = None
    # How far (pixels) the detection may sit from the nominal position.
    detection_radius: int = DETECTION_SEARCH_RADIUS
    details: dict[str, object] = field(default_factory=dict)
    # Filled by the rendering:
    search: np.ndarray | None = None
    template: np.ndarray | None = None       # search units
    search_noise_image: np.ndarray | None = None
    # Canvas-pixel masks (True = masked) per channel, set by the recipes.
    difference_mask: np.ndarray | None = None
    stamp_mask: np.ndarray | None = None      # masked in all three channels

    def search_shift(self, kind: str, index: int) -> tuple[float, float]:
        """Where the search image puts source ``index`` of ``kind`` against the template: the
        misregistration plus the source's own position change, if it has one."""
        own_y, own_x = self.own_shifts.get((kind, index), (0.0, 0.0))
        return self.shift_y + own_y, self.shift_x + own_x

    def mask(self, *, all_channels: bool) -> np.ndarray:
        name = "stamp_mask" if all_channels else "difference_mask"
        if getattr(self, name) is None:
            setattr(self, name, np.zeros((GRID, GRID), dtype=bool))
        return getattr(self, name)


def add_galaxy(canvas: Canvas, rng: np.random.Generator, *, y: float, x: float, magnitude: float,
               half_light_radius: float | None = None, index: float | None = None) -> dict[str, float]:
    """Add a Sersic galaxy; unspecified shape parameters are drawn (brighter = larger, mostly disks)."""
    if half_light_radius is None:
        # Median half-light radius 0.58" at 21.5 mag, 0.88" at 20, 0.38" at 23 (log-normal
        # scatter 0.45); up to 4" for the nearest, brightest hosts.
        half_light_radius = float(np.clip(
            rng.lognormal(math.log(GALAXY_HALF_LIGHT_RADIUS_PX), 0.45) * 10 ** (-0.12 * (magnitude - 21.5)), 0.6, 15.0))
    if index is None:
        # Log-uniform over 0.6-4: median 1.5, a quarter above 2.5; faint field galaxies and SN
        # hosts are mostly disks (n ~ 1) with a minority of spheroids (n ~ 4).
        index = float(math.exp(rng.uniform(math.log(0.6), math.log(4.0))))
    galaxy = {"y": y, "x": x, "flux": canvas.conditions.flux(magnitude), "magnitude": magnitude,
              "half_light_radius": half_light_radius, "index": index,
              "axis_ratio": float(rng.uniform(0.3, 1.0)), "angle": float(rng.uniform(0.0, math.pi))}
    canvas.galaxies.append(galaxy)
    return galaxy
