"""Pixel statistics of GIF stamps, measured the way the real reference was."""

from __future__ import annotations

import numpy as np
import pytest

from realbogus.release.display import TICK_MASK, add_tick_marks
from realbogus.release.pixel_statistics import RING_MASK, channel_table, pixel_table, stamp_statistics


def test_ring_is_outside_the_central_35x35() -> None:
    assert RING_MASK[0, 25] and RING_MASK[7, 25] and not RING_MASK[8, 25] and RING_MASK[43, 25]
    assert RING_MASK.sum() == 51 * 51 - 35 * 35


def test_background_noise_and_peak_of_a_hand_made_stamp() -> None:
    rng = np.random.default_rng(0)
    stamp = np.clip(rng.normal(40.0, 6.0, size=(51, 51)), 0, 254).astype(np.uint8)
    stamp[25, 25] = 200
    marked = add_tick_marks(stamp)  # the ticks (255) must not count in the ring
    statistics = stamp_statistics(marked[None])
    assert statistics.background[0] == pytest.approx(40.0, abs=1.0)
    assert statistics.noise[0] == pytest.approx(6.0, rel=0.1)
    assert statistics.peak[0] == 200
    # A pixel outside the central 21x21 does not set the peak.
    marked[2, 25] = 250
    assert stamp_statistics(marked[None]).peak[0] == 200


def test_channel_table_shares_of_clipped_pixels_and_percentiles() -> None:
    stamps = np.full((10, 51, 51), 30, dtype=np.uint8)
    stamps[:, 0, 25] = 0
    stamps = np.stack([add_tick_marks(stamp) for stamp in stamps])
    stamps[0, 25, 25] = 255  # one clipped pixel outside the ticks
    table = channel_table(stamps)
    assert table["background"] == [30.0, 30.0, 30.0] and table["noise"] == [0.0, 0.0, 0.0]
    assert table["fraction_at_0"] == pytest.approx(10 / stamps.size)
    assert table["fraction_at_255"] == pytest.approx((10 * TICK_MASK.sum() + 1) / stamps.size)
    assert table["fraction_at_255_outside_ticks"] == pytest.approx(1 / stamps.size)
    assert table["background_over_noise"] == [None, None, None]  # noise 0: no ratio


def test_bad_input_is_refused_with_the_expected_shape() -> None:
    with pytest.raises(ValueError, match="uint8"):
        stamp_statistics(np.zeros((2, 51, 51), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(n, 51, 51, 3\)"):
        pixel_table(np.zeros((2, 51, 51), dtype=np.uint8))
