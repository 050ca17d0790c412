"""Smooth test stamps: a few Gaussian blobs on a sky, which resampling keeps nearly as they are."""

from __future__ import annotations

import numpy as np


def smooth_stamp(rng: np.random.Generator) -> np.ndarray:
    """A 51x51 uint8 stamp of a few Gaussian blobs on a sky (smooth, so resampling keeps it)."""
    rows, columns = np.mgrid[:51, :51].astype(float)
    image = np.full((51, 51), rng.uniform(10, 60))
    for _ in range(3):
        y, x, width = rng.uniform(10, 40), rng.uniform(10, 40), rng.uniform(3, 6)
        image += rng.uniform(50, 150) * np.exp(-0.5 * ((rows - y) ** 2 + (columns - x) ** 2) / width ** 2)
    return np.clip(image, 0, 255).astype(np.uint8)
