"""Turn a float stamp into the display-scaled uint8 stamp the release stores as GIF.

Measured on public DES-SN stamps (``realbogus.release.reference``; the measurement is
``realbogus.release.pixel_statistics``): in every channel the brightest central pixel
reaches 255, the sky sits only about 2-3 noise sigmas above 0 (median 2.7 in the
difference), 0.5 % of the difference's and 0.6 % of the search's pixels are 0 (templates:
1.9 %, where a bright source squeezes the sky into the lowest grey levels), and about
0.3 % of each channel's pixels besides the corner ticks are 255.  So the real stretch is
linear, per stamp, from near the stamp's minimum:

* low bound, every channel: the 0.5th percentile of the stamp's valid pixels (a Gaussian
  sky then sits 2.6 sigma above 0, and 0.5 % of the pixels are 0);
* high bound, template and search: the maximum of the central 21x21 (the detection and
  its host).  The sky's grey level then follows the contrast of the central object: a
  bright star or galaxy pushes the sky to a few grey levels (most real templates), a faint
  detection leaves a bright, noisy sky (the real p90 stamps);
* high bound, difference: the 99.7th percentile of the stamp's valid pixels (so 0.3 % of
  its pixels are 255, the real share), never above the central maximum (the detection's
  peak is 255, as in every real stamp).  The real difference is *not* stretched up to its
  brightest pixel: its median sky (106) and noise (39) put the displayed range at about
  sky - 2.7 to sky + 3.8 sigma, while a detection's brightest pixel is often far above
  that; a percentile interval on both sides, like astropy's ``AsymmetricPercentileInterval``
  or a z-scale display, gives that range whatever the detection's strength, and its lower
  and upper percentiles are fixed by the real shares of pixels at 0 and at 255.

This is inferred from the statistics, not documented by DES.  Masked pixels (1e-30 in the
release FITS) and NaN are left out of the statistics and shown as zero flux, which is what
1e-30 numerically is.
"""

from __future__ import annotations

import numpy as np

from realbogus.release.layout import CHANNELS, MASKED_PIXEL_VALUE, STAMP_SIZE

# Percentile of the valid pixels that maps to 0 (the real difference and search stamps have
# 0.5 % and 0.6 % of their pixels at 0).
LOW_PERCENTILE = 0.5
# Percentile of the valid pixels that maps to 255 in the difference (about 0.3 % of each real
# channel's pixels besides the ticks are 255: 1.7 % at 255 minus the ticks' 1.4 %).
DIFFERENCE_HIGH_PERCENTILE = 99.7
# Side of the central box whose maximum maps to 255 (template, search; the difference's cap).
PEAK_BOX = 21
_PEAK_LOW = (STAMP_SIZE - PEAK_BOX) // 2
_PEAK_SLICE = (slice(_PEAK_LOW, _PEAK_LOW + PEAK_BOX), slice(_PEAK_LOW, _PEAK_LOW + PEAK_BOX))
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


def stretch_bounds(values: np.ndarray, invalid: np.ndarray, *, channel: str) -> tuple[float, float]:
    """(low, high) flux of the stretch of one channel's stamp.

    low: the 0.5th percentile of the valid pixels.  high: the central valid maximum for the
    template and search; for the difference the 99.7th percentile of the valid pixels, capped
    at the central maximum.  A stamp with no valid pixel, or a flat one, gets a unit-wide
    range around its level, so the output stays defined (a uniform grey or black).
    """
    valid = values[~invalid]
    if valid.size == 0:
        return 0.0, 1.0
    if channel == "diff":
        low, high = (float(bound) for bound in np.percentile(valid, (LOW_PERCENTILE, DIFFERENCE_HIGH_PERCENTILE)))
    else:
        low, high = float(np.percentile(valid, LOW_PERCENTILE)), np.inf
    central = values[_PEAK_SLICE][~invalid[_PEAK_SLICE]]
    high = min(high, float(central.max()) if central.size else float(valid.max()))
    if not high > low:
        high = low + max(abs(low), 1.0)
    return low, high


def display_stretch(stamp: np.ndarray, *, channel: str) -> np.ndarray:
    """Stretch one float stamp to uint8 the way the release's GIF stamps are.

    Parameters
    ----------
    stamp:
        (51, 51) float array in image units (counts).  NaN and masked pixels
        (``MASKED_PIXEL_VALUE``) are allowed.
    channel:
        ``"temp"``, ``"srch"`` or ``"diff"`` (the difference's high bound is a percentile,
        the others' the central maximum; see the module docstring).

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
    low, high = stretch_bounds(values, invalid, channel=channel)
    scaled = (values - low) * (255.0 / (high - low))
    np.clip(scaled, 0.0, 255.0, out=scaled)
    # Round half up so the mapping is a plain, documented quantisation.
    return (scaled + 0.5).astype(np.uint8)


def display_triplet(template: np.ndarray, search: np.ndarray, difference: np.ndarray) -> np.ndarray:
    """(51, 51, 3) uint8: the three float stamps of one detection as the release's GIFs show
    them (``display_stamp``), channels in ``CHANNELS`` order, as ``ingest`` stacks them."""
    return np.stack([display_stamp(stamp, channel=channel)
                     for stamp, channel in zip((template, search, difference), CHANNELS)], axis=-1)


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
