import numpy as np
import pytest

from realbogus.release.display import TICK_MASK, add_tick_marks, display_stamp, display_stretch
from realbogus.release.layout import MASKED_PIXEL_VALUE


def _noise(seed: int, level: float = 200.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(level, 15.0, size=(51, 51))


def test_sky_background_lands_on_measured_range():
    stretched = display_stretch(_noise(0), channel="srch")
    low, high = np.percentile(stretched, [1, 99])
    assert stretched.dtype == np.uint8 and stretched.shape == (51, 51)
    assert 2 <= low <= 20 and 90 <= high <= 125  # DES: about 7..110


def test_difference_background_is_anchored_at_zero():
    stretched = display_stretch(_noise(1, level=0.0), channel="diff")
    low, high = np.percentile(stretched, [1, 99])
    assert 20 <= low <= 45 and 110 <= high <= 140  # DES: about 33..126
    # A positive offset of the whole difference must brighten it (zero-anchored, not median).
    shifted = display_stretch(_noise(1, level=30.0), channel="diff")
    assert np.median(shifted) > np.median(stretched) + 20


def test_sources_saturate_and_negative_dips_go_dark():
    stamp = _noise(2, level=0.0)
    stamp[25, 25] = 5000.0
    stamp[10, 10] = -5000.0
    stretched = display_stretch(stamp, channel="diff")
    assert stretched[25, 25] == 255 and stretched[10, 10] == 0


def test_masked_and_nan_pixels_do_not_break_the_stretch():
    stamp = _noise(3)
    reference = display_stretch(stamp, channel="temp")
    stamp[:10, :] = MASKED_PIXEL_VALUE
    stamp[20, 20] = np.nan
    stretched = display_stretch(stamp.astype(np.float32), channel="temp")
    # The unmasked part keeps (nearly) its stretch: masked pixels are left out of the statistics.
    difference = np.abs(stretched.astype(int) - reference.astype(int))
    difference[20, 20] = 0  # the NaN pixel itself is shown as zero flux
    assert difference[11:].max() <= 8
    assert display_stretch(np.full((51, 51), np.nan), channel="srch").dtype == np.uint8
    assert len(np.unique(display_stretch(np.zeros((51, 51)), channel="diff"))) == 1


def test_tick_marks_are_four_inward_diagonals():
    blank = np.zeros((51, 51), dtype=np.uint8)
    marked = add_tick_marks(blank)
    assert 0.012 <= (marked == 255).mean() <= 0.016
    assert marked[0, 0] == marked[4, 4] == marked[0, 50] == marked[4, 46] == 255
    assert marked[50, 0] == marked[46, 4] == marked[50, 50] == marked[46, 46] == 255
    assert marked[25, 25] == 0 and marked[0, 25] == 0
    assert (blank == 0).all()  # the input is not modified
    assert np.array_equal(marked == 255, TICK_MASK)


def test_display_stamp_is_deterministic_and_validates():
    stamp = _noise(4)
    assert np.array_equal(display_stamp(stamp, channel="srch"), display_stamp(stamp.copy(), channel="srch"))
    with pytest.raises(ValueError, match="channel"):
        display_stretch(stamp, channel="template")
    with pytest.raises(ValueError, match=r"\(51, 51\)"):
        display_stretch(np.zeros((50, 51)), channel="srch")
