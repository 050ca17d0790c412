"""Tiny synthetic stamps, made on the fly, for the feature tests.

Every stamp is (51, 51) float64 in counts with the detection at pixel (25, 25); the
truth of each scene (injected flux, magnitude, position) is known exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from realbogus.features import ObservationContext
from realbogus.release.layout import MASKED_PIXEL_VALUE

SIZE = 51
CENTRE = 25
ZEROPOINT = 30.0
LIMITING_MAG = 23.5
SEEING_SIGMA_PX = 1.8  # a 1.1" FWHM at 0.263"/pixel


class Scenes:
    """Factory of stamps and contexts (exposed to tests through the ``scenes`` fixture)."""

    size = SIZE
    centre = CENTRE
    zeropoint = ZEROPOINT
    limiting_mag = LIMITING_MAG
    seeing_sigma_px = SEEING_SIGMA_PX
    seeing_fwhm_px = 2.0 * math.sqrt(2.0 * math.log(2.0)) * SEEING_SIGMA_PX
    masked_value = MASKED_PIXEL_VALUE

    @staticmethod
    def grid() -> tuple[np.ndarray, np.ndarray]:
        ys, xs = np.mgrid[:SIZE, :SIZE]
        return xs.astype(float), ys.astype(float)

    @classmethod
    def gaussian(cls, *, flux: float, sigma_x: float = SEEING_SIGMA_PX,
                 sigma_y: float | None = None, x: float = CENTRE, y: float = CENTRE) -> np.ndarray:
        """Elliptical Gaussian with total flux ``flux`` (axes along x and y)."""
        sigma_y = sigma_x if sigma_y is None else sigma_y
        xs, ys = cls.grid()
        profile = np.exp(-0.5 * (((xs - x) / sigma_x) ** 2 + ((ys - y) / sigma_y) ** 2))
        return flux * profile / (2.0 * math.pi * sigma_x * sigma_y)

    @classmethod
    def moffat(cls, *, flux: float, fwhm_px: float, beta: float = 3.0,
               x: float = CENTRE, y: float = CENTRE) -> np.ndarray:
        """Moffat PSF normalised to total flux ``flux`` over the infinite plane (the
        stamp truncates its wings, as a real stamp does)."""
        alpha = fwhm_px / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
        xs, ys = cls.grid()
        r2 = (xs - x) ** 2 + (ys - y) ** 2
        return flux * (beta - 1.0) / (math.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-beta)

    @classmethod
    def exponential_galaxy(cls, *, flux: float, scale_px: float, x: float = CENTRE,
                           y: float = CENTRE) -> np.ndarray:
        xs, ys = cls.grid()
        r = np.hypot(xs - x, ys - y)
        return flux * np.exp(-r / scale_px) / (2.0 * math.pi * scale_px**2)

    @staticmethod
    def noise(*, sigma: float, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).normal(0.0, sigma, (SIZE, SIZE))

    @staticmethod
    def flux_of_magnitude(magnitude: float) -> float:
        return 10.0 ** (-0.4 * (magnitude - ZEROPOINT))

    @classmethod
    def context(cls, **overrides: object) -> ObservationContext:
        values: dict[str, object] = dict(
            band="r", ccdid=12, x_ccd=600.0, y_ccd=1500.0, zeropoint=ZEROPOINT,
            template_zeropoint=ZEROPOINT, limiting_mag=LIMITING_MAG,
            seeing_fwhm_px=cls.seeing_fwhm_px, template_seeing_fwhm_px=cls.seeing_fwhm_px,
        )
        values.update(overrides)
        return ObservationContext(**values)  # type: ignore[arg-type]

    @classmethod
    def triplet(cls, *, difference_signal: np.ndarray, template_signal: np.ndarray | None = None,
                sky: float = 200.0, noise_sigma: float = 5.0, template_noise_sigma: float = 2.5,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(template, search, difference) for a scene: the template holds the static
        sky (host, stars), the search adds the transient signal, the difference holds
        the transient plus the combined noise."""
        template_signal = np.zeros((SIZE, SIZE)) if template_signal is None else template_signal
        rng = np.random.default_rng(seed)
        template = sky + template_signal + rng.normal(0.0, template_noise_sigma, (SIZE, SIZE))
        search = sky + template_signal + difference_signal + rng.normal(0.0, noise_sigma, (SIZE, SIZE))
        difference_noise = math.hypot(noise_sigma, template_noise_sigma)
        difference = difference_signal + rng.normal(0.0, difference_noise, (SIZE, SIZE))
        return template, search, difference


@pytest.fixture
def scenes() -> type[Scenes]:
    return Scenes
