"""Stamps as enlarged PNG images for the review page."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# 51 px * 3 = 153 px on screen: big enough to see single-pixel artifacts (bad columns,
# cosmic rays), small enough for two or three candidates side by side on a laptop.
DEFAULT_UPSCALE = 3


def stamp_png(*, stamp: np.ndarray, upscale: int = DEFAULT_UPSCALE) -> bytes:
    """PNG bytes of one stamp channel, each pixel repeated ``upscale`` times per axis.

    stamp: (51, 51) uint8, one channel (template, search or difference) as the release
        shows it (already display-scaled 0..255).
    Nearest-neighbour enlargement on purpose: interpolation would blur exactly the sharp
    single-pixel structure that tells an artifact from a point source.
    """
    array = np.asarray(stamp)
    if array.ndim != 2 or array.dtype != np.uint8:
        raise ValueError(f"stamp must be a 2-D uint8 array, got shape {array.shape} dtype {array.dtype}")
    if upscale < 1:
        raise ValueError(f"upscale must be >= 1, got {upscale}")
    enlarged = np.repeat(np.repeat(array, upscale, axis=0), upscale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(enlarged)).save(buffer, format="PNG")
    return buffer.getvalue()
