"""Pixel statistics of display-scaled (GIF) stamps, measured the way the real reference was.

Per stamp and channel (uint8 values 0..255):

* background: median of the border ring (the pixels outside the central 35x35, i.e. rows
  and columns 0-7 and 43-50), leaving out pixels at 255 (the corner tick marks);
* noise: 1.4826 x the median absolute deviation of the same ring pixels;
* peak: maximum of the central 21x21.

Over a set of stamps: the 10th / 50th / 90th percentiles of each, the ratio background /
noise, and the share of all pixels at 0 and at 255 (with the 255s outside the tick marks
apart).  ``realbogus.release.reference`` holds the same table for real DES-SN stamps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from realbogus.release.display import TICK_MASK, TICK_VALUE
from realbogus.release.layout import CHANNELS, STAMP_SIZE

RING_WIDTH = 8            # rows / columns 0-7 and 43-50: outside the central 35x35
CENTRAL_PEAK_BOX = 21     # the peak is the maximum of the central 21x21
PERCENTILES = (10, 50, 90)
_MAD_TO_SIGMA = 1.4826


def _ring_mask(size: int = STAMP_SIZE, width: int = RING_WIDTH) -> np.ndarray:
    mask = np.zeros((size, size), dtype=bool)
    mask[:width, :] = mask[-width:, :] = True
    mask[:, :width] = mask[:, -width:] = True
    return mask


RING_MASK: np.ndarray = _ring_mask()
RING_MASK.setflags(write=False)
_LOW = (STAMP_SIZE - CENTRAL_PEAK_BOX) // 2
CENTRAL_BOX = (slice(_LOW, _LOW + CENTRAL_PEAK_BOX), slice(_LOW, _LOW + CENTRAL_PEAK_BOX))


@dataclass(frozen=True)
class StampStatistics:
    """Per-stamp figures of one channel, each of shape (n,); NaN where a ring is all 255."""

    background: np.ndarray
    noise: np.ndarray
    peak: np.ndarray


def stamp_statistics(stamps: np.ndarray) -> StampStatistics:
    """Background, noise and central peak of each (51, 51) uint8 stamp in ``stamps`` (n, 51, 51)."""
    values = np.asarray(stamps)
    if values.ndim != 3 or values.shape[1:] != (STAMP_SIZE, STAMP_SIZE):
        raise ValueError(f"stamps must have shape (n, {STAMP_SIZE}, {STAMP_SIZE}), got {values.shape}")
    if values.dtype != np.uint8:
        raise ValueError(f"stamps must be display-scaled uint8 (GIF) values, got dtype {values.dtype}")
    ring = values[:, RING_MASK].astype(np.float64)
    ring[ring == TICK_VALUE] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-255 ring gives NaN, on purpose
        background = np.nanmedian(ring, axis=1)
        noise = _MAD_TO_SIGMA * np.nanmedian(np.abs(ring - background[:, None]), axis=1)
    peak = values[(slice(None), *CENTRAL_BOX)].reshape(len(values), -1).max(axis=1).astype(np.float64)
    return StampStatistics(background=background, noise=noise, peak=peak)


def _percentiles(values: np.ndarray) -> list[float | None]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return [None] * len(PERCENTILES)
    return [float(value) for value in np.percentile(finite, PERCENTILES)]


def channel_table(stamps: np.ndarray) -> dict[str, object]:
    """The reference table's row for one channel of ``stamps`` (n, 51, 51) uint8.

    Keys: ``background``, ``noise``, ``background_over_noise``, ``peak`` (each the
    [p10, p50, p90] over stamps), ``fraction_at_0``, ``fraction_at_255``,
    ``fraction_at_255_outside_ticks`` (shares of all pixels) and ``n``.
    """
    values = np.asarray(stamps)
    per_stamp = stamp_statistics(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = per_stamp.background / per_stamp.noise
    ratio[~np.isfinite(ratio)] = np.nan
    n_pixels = values.size
    at_255 = values == TICK_VALUE
    return {
        "n": int(len(values)),
        "background": _percentiles(per_stamp.background),
        "noise": _percentiles(per_stamp.noise),
        "background_over_noise": _percentiles(ratio),
        "peak": _percentiles(per_stamp.peak),
        "fraction_at_0": float(np.count_nonzero(values == 0) / n_pixels) if n_pixels else None,
        "fraction_at_255": float(np.count_nonzero(at_255) / n_pixels) if n_pixels else None,
        "fraction_at_255_outside_ticks": (float(np.count_nonzero(at_255 & ~TICK_MASK[None]) / n_pixels)
                                          if n_pixels else None),
    }


def pixel_table(stamps: np.ndarray) -> dict[str, dict[str, object]]:
    """``channel_table`` per channel of ``stamps`` (n, 51, 51, 3) in (temp, srch, diff) order."""
    values = np.asarray(stamps)
    if values.ndim != 4 or values.shape[1:] != (STAMP_SIZE, STAMP_SIZE, len(CHANNELS)):
        raise ValueError(f"stamps must have shape (n, {STAMP_SIZE}, {STAMP_SIZE}, {len(CHANNELS)}), "
                         f"got {values.shape}")
    return {channel: channel_table(values[..., index]) for index, channel in enumerate(CHANNELS)}
