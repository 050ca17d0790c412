"""Tiny, learnable stamp sets for the CNN tests (made on the fly, a few hundred samples)."""

from __future__ import annotations

import numpy as np
import pytest

from realbogus.cnn.models import CNNConfig


def make_learnable_stamps(*, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 51, 51, 3) uint8 noise stamps and (N,) labels; artifacts carry a bright
    difference-channel bar, so a small CNN can learn the label within a few epochs."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n_samples)
    stamps = rng.integers(20, 90, size=(n_samples, 51, 51, 3), dtype=np.uint8)
    bar_rows = rng.integers(10, 40, size=n_samples)
    for i in np.flatnonzero(labels == 1):
        stamps[i, bar_rows[i] : bar_rows[i] + 3, 5:46, 2] = 240
    return stamps, labels


@pytest.fixture
def learnable_stamps() -> tuple[np.ndarray, np.ndarray]:
    return make_learnable_stamps(n_samples=192, seed=7)


@pytest.fixture
def small_config() -> CNNConfig:
    """A 2-block model with the paper's block structure but a few thousand parameters."""
    return CNNConfig(filters=(6, 8), kernel=3, pool=2, strides=(1, 1), dense_units=8)
