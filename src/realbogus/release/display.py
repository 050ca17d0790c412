"""Turn a float stamp into the display-scaled uint8 stamp the release stores as GIF.

Measured on public DES-SN stamps (DESIGN.md section 2): every stamp is stretched on its
own; template and search backgrounds land at about 7-110 of 0..255 with sources saturating
toward 255; the difference is stretched around zero flux (not around its median), its
background at about 33-126; four diagonal tick marks of value 255 sit in the corners.

The stretch here is linear between two bounds set from the stamp's own robust noise
(median and MAD over valid pixels), chosen so a Gaussian background's 1st-99th percentiles
land on the measured ranges:

* template / search: ``median - 2.65 sigma -> 0`` and ``median + 8.9 sigma -> 255``
  (background 1st..99th percentile -> about 7..110);
* difference: ``-4 sigma -> 0`` and ``+9 sigma -> 255`` around zero flux
  (zero -> 78, background 1st..99th percentile -> about 33..124).

Masked pixels (1e-30 in the release FITS) and NaN are left out of the statistics and shown
as zero flux, which is what 1e-30 numerically is.
"""

from __future__ import annotations

import numpy as np

from realbogus.release.layout import CHANNELS, MASKED_PIXEL_VALUE, STAMP_SIZE

# (low, high) bounds in units of the robust noise sigma.  Template / search bounds are
# relative to the stamp's median; difference bounds are relative to zero flux.
_SKY_STRETCH_SIGMAS = (-2.65, 8.9)
_DIFFERENCE_STRETCH_SIGMAS = (-4.0, 9.0)
# MAD -> Gaussian sigma
_MAD_TO_SIGMA = 1.4826
# Length (pixels) of each corner tick mark; 4 x 9 = 36 pixels = 1.38% of a 51x51 stamp.
TICK_LENGTH = 9
TICK_VALUE = 255


def _tick_mask(size: int, length: int) -> np.ndarray:
    """Boolean (size, size) mask of the four diagonal corner ticks, pointing inward."""
    mask = np.zeros((size, size), dtype=bool)
    steps = np.arange(length)
    last = size - 1
    mask[steps, steps] = True  # top-left "\"
    mask[steps, last - steps] = True  # top-right "/"
    mask[last - steps, steps] = True  # bottom-left "/"
    mask[last - steps, last - steps] = True  # bottom-right "\"
    return mask


TICK_MASK: np.ndarray = _tick_mask(STAMP_SIZE, TICK_LENGTH)
TICK_MASK.setflags(write=False)


def _robust_center_and_sigma(valid_values: np.ndarray) -> tuple[float, float]:
    """Median and MAD-based sigma of a 1-D array of finite pixel values."""
    if valid_values.size == 0:
        return 0.0, 1.0
    median = float(np.median(valid_values))
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(valid_values - median)))
    if not np.isfinite(sigma) or sigma <= 0.0:
        # A flat (or nearly flat) stamp: fall back to the standard deviation, then to 1,
        # so the stretch stays defined and the output is a uniform grey.
        spread = float(np.std(valid_values))
        sigma = spread if spread > 0.0 else 1.0
    return median, sigma


def display_stretch(stamp: np.ndarray, *, channel: str) -> np.ndarray:
    """Stretch one float stamp to uint8 the way the release's GIF stamps are.

    Parameters
    ----------
    stamp:
        (51, 51) float array in image units (counts).  NaN and masked pixels
        (``MASKED_PIXEL_VALUE``) are allowed.
    channel:
        ``"temp"``, ``"srch"`` or ``"diff"``; the difference gets the zero-anchored stretch.

    Returns
    -------
    (51, 51) uint8 array, 0..255, without tick marks (see ``add_tick_marks``).
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    values = np.asarray(stamp, dtype=np.float64)
    if values.shape != (STAMP_SIZE, STAMP_SIZE):
        raise ValueError(f"stamp must have shape ({STAMP_SIZE}, {STAMP_SIZE}), got {values.shape}")
    invalid = ~np.isfinite(values) | (values == np.float64(np.float32(MASKED_PIXEL_VALUE)))
    invalid |= values == MASKED_PIXEL_VALUE
    if invalid.any():
        values = np.where(invalid, 0.0, values)
        center, sigma = _robust_center_and_sigma(values[~invalid])
    else:
        center, sigma = _robust_center_and_sigma(values.ravel())
    if channel == "diff":
        low_sigmas, high_sigmas = _DIFFERENCE_STRETCH_SIGMAS
        center = 0.0
    else:
        low_sigmas, high_sigmas = _SKY_STRETCH_SIGMAS
    low = center + low_sigmas * sigma
    scale = 255.0 / ((high_sigmas - low_sigmas) * sigma)
    scaled = (values - low) * scale
    np.clip(scaled, 0.0, 255.0, out=scaled)
    # Round half up so the mapping is a plain, documented quantisation.
    return (scaled + 0.5).astype(np.uint8)


def add_tick_marks(stamp_uint8: np.ndarray) -> np.ndarray:
    """Return a copy of a (51, 51) uint8 stamp with the four corner tick marks at 255.

    The ticks are diagonal, ``TICK_LENGTH`` pixels long, starting in each corner and
    pointing inward ("\\" top-left and bottom-right, "/" the other two), as in the release.
    """
    array = np.asarray(stamp_uint8)
    if array.shape != (STAMP_SIZE, STAMP_SIZE) or array.dtype != np.uint8:
        raise ValueError(
            f"stamp must be uint8 of shape ({STAMP_SIZE}, {STAMP_SIZE}), "
            f"got {array.dtype} {array.shape}"
        )
    marked = array.copy()
    marked[TICK_MASK] = TICK_VALUE
    return marked


def display_stamp(stamp: np.ndarray, *, channel: str) -> np.ndarray:
    """``display_stretch`` then ``add_tick_marks``: the GIF content for one float stamp."""
    return add_tick_marks(display_stretch(stamp, channel=channel))
