"""What the feature code may know about a detection beyond its three stamps."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ObservationContext:
    """Survey metadata of one detection.

    A real release's pipeline knows these from the exposure and the subtraction; the
    simulator knows them because it drew them.  A release read without its feature table
    may not know them: they default to NaN and the features that need them come out NaN
    (the forest's imputer then fills them).

    band: filter, one of g, r, i, z.
    ccdid: DECam CCD number (1..62).
    x_ccd, y_ccd: detection position on the CCD in pixels (for MIN_DISTANCE_TO_EDGE_IN_NEW).
    zeropoint: magnitude of one count per exposure in the search image (AB mag).
    template_zeropoint: the same for the template image.
    limiting_mag: 5-sigma point-source limiting magnitude of the search image.
    seeing_fwhm_px: PSF full width at half maximum of the search image, pixels.
    template_seeing_fwhm_px: the same for the template.
    scale: flux scale factor applied to the template in the subtraction (SCALE feature).
    """

    band: str = "r"
    ccdid: int = -1
    x_ccd: float = math.nan
    y_ccd: float = math.nan
    zeropoint: float = math.nan
    template_zeropoint: float = math.nan
    limiting_mag: float = math.nan
    seeing_fwhm_px: float = math.nan
    template_seeing_fwhm_px: float = math.nan
    scale: float = math.nan
