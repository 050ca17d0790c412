"""Pixel-level helpers shared by the autoScan features: validation, masks, noise, rescalings.

Every function here takes and returns plain numpy arrays.  Stamps are (51, 51) float
arrays in FITS units (counts) with the detection at pixel (25, 25), row-major
``stamp[y, x]``.  Masked pixels hold ``MASKED_PIXEL_VALUE`` (1e-30) in the release, or NaN.
"""

from __future__ import annotations

import functools

import numpy as np

from realbogus.release.layout import MASKED_PIXEL_VALUE, STAMP_SIZE

STAMP_SHAPE: tuple[int, int] = (STAMP_SIZE, STAMP_SIZE)
# Pixel index of the detection in every stamp (x = y = 25).
CENTRE_PIXEL: int = STAMP_SIZE // 2
# Any non-zero |value| below this is a mask marker.  1e-30 is far below any real count
# level, and float32 FITS stamps store it as ~1e-30 too, so a factor-10 margin is safe.
MASK_MARKER_LIMIT: float = 10.0 * MASKED_PIXEL_VALUE
# Normalised median absolute deviation: 1.4826 * MAD estimates sigma for Gaussian noise.
NMAD_FACTOR: float = 1.4826


def validate_stamp(stamp: object, *, name: str) -> np.ndarray:
    """Check one stamp and return it as a C-contiguous float64 (51, 51) copy.

    Raises ValueError naming ``name``, the expected shape/dtype and what was received.
    """
    array = np.asarray(stamp)
    if array.shape != STAMP_SHAPE:
        raise ValueError(
            f"{name} stamp must have shape {STAMP_SHAPE} (rows, columns), got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"{name} stamp must hold floating-point values in FITS units (counts), "
            f"got dtype {array.dtype}"
        )
    return np.array(array, dtype=np.float64, order="C", copy=True)


def masked_pixels(stamp: np.ndarray) -> np.ndarray:
    """Boolean (51, 51) mask: True where a pixel is NaN/inf or holds the 1e-30 marker.

    Exact zeros are data, not masks: a sky-subtracted image can hold a true 0.0.
    """
    magnitude = np.abs(stamp)
    return ~np.isfinite(stamp) | ((magnitude < MASK_MARKER_LIMIT) & (magnitude > 0.0))


@functools.lru_cache(maxsize=16)
def border_frame(shape: tuple[int, int], *, width: int) -> np.ndarray:
    """Boolean array of ``shape``: True on the outer frame ``width`` pixels wide.

    Cached (the same few frames are needed for every sample); the result is read-only.
    """
    frame = np.ones(shape, dtype=bool)
    frame[width:-width, width:-width] = False
    frame.flags.writeable = False
    return frame


def robust_level_and_sigma(
    stamp: np.ndarray, *, mask: np.ndarray, frame_width: int
) -> tuple[float, float]:
    """Background level (median) and noise (1.4826 * MAD) of a stamp's unmasked pixels.

    Measured on the outer frame ``frame_width`` pixels wide, so that the central source
    (the detection, or a host galaxy in the template) does not bias either number; falls
    back to all unmasked pixels when the frame is (nearly) all masked.  Returns
    (nan, nan) when fewer than 5 pixels are usable.
    """
    frame = border_frame(stamp.shape, width=frame_width)
    if not mask.any():  # the common case: skip building the combined selection
        values = stamp[frame]
    else:
        usable = ~mask
        frame_usable = usable & frame
        values = stamp[frame_usable if np.count_nonzero(frame_usable) >= 25 else usable]
    if values.size < 5:
        return float("nan"), float("nan")
    level = fast_median(values)
    sigma = NMAD_FACTOR * fast_median(np.abs(values - level))
    return level, sigma


def fast_median(values: np.ndarray) -> float:
    """Median of a 1-D float array without NaNs.

    np.median's generic machinery costs more than the arithmetic on the ~1,000-pixel
    arrays here, and the feature set is called once per simulated sample.
    """
    count = values.size
    middle = count // 2
    if count % 2:
        return float(np.partition(values, middle)[middle])
    lower_and_upper = np.partition(values, (middle - 1, middle))
    return 0.5 * float(lower_and_upper[middle - 1] + lower_and_upper[middle])


def bin_2x2(stamp: np.ndarray, *, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average 2x2 blocks of a (51, 51) stamp into (25, 25), ignoring masked pixels.

    The last row and column are dropped, so binned pixel (12, 12) covers original
    pixels 24-25 and holds the detection.  Returns (binned values, binned mask); a
    binned pixel is masked only when all four of its pixels are.
    """
    size = (stamp.shape[0] // 2) * 2
    half = size // 2
    if not mask.any():  # the common case needs no per-block pixel counts
        binned = stamp[:size, :size].reshape(half, 2, half, 2).mean(axis=(1, 3))
        return binned, np.zeros((half, half), dtype=bool)
    usable = (~mask[:size, :size]).astype(np.float64)
    values = np.where(mask[:size, :size], 0.0, stamp[:size, :size])
    block_sums = values.reshape(half, 2, half, 2).sum(axis=(1, 3))
    block_counts = usable.reshape(half, 2, half, 2).sum(axis=(1, 3))
    binned_mask = block_counts == 0
    binned = block_sums / np.where(binned_mask, 1.0, block_counts)
    return binned, binned_mask


def significance_stamp(
    stamp: np.ndarray, *, mask: np.ndarray, frame_width: int
) -> np.ndarray | None:
    """Stamp in units of its own background noise: (pixel - level) / sigma.

    Masked pixels become NaN.  Returns None when the noise cannot be measured (all
    masked, or a constant image with zero MAD), so callers emit NaN features.
    """
    level, sigma = robust_level_and_sigma(stamp, mask=mask, frame_width=frame_width)
    if not np.isfinite(sigma) or sigma <= 0.0:
        return None
    scaled = (stamp - level) / sigma
    scaled[mask] = np.nan
    return scaled


def peak_normalised_stamp(
    stamp: np.ndarray, *, mask: np.ndarray, level: float
) -> np.ndarray | None:
    """Stamp minus its background ``level``, divided by the largest |deviation|: values
    in [-1, 1].

    This is the scale-free view the shape features (Gaussian fit, column medians, L1,
    LACOSMIC) read, so they do not depend on exposure depth or zeropoint.  Masked
    pixels become NaN.  None when there is nothing to normalise (all masked, constant,
    unknown level).
    """
    if not np.isfinite(level) or mask.all():
        return None
    deviation = stamp - level
    largest = float(np.max(np.abs(deviation[~mask])))
    if not np.isfinite(largest) or largest <= 0.0:
        return None
    normalised = deviation / largest
    normalised[mask] = np.nan
    return normalised


def centred_box(image: np.ndarray, *, centre: int, size: int) -> np.ndarray:
    """The ``size`` x ``size`` view of ``image`` centred on pixel (centre, centre)."""
    half = size // 2
    return image[centre - half : centre + half + 1, centre - half : centre + half + 1]
