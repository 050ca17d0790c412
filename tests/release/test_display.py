import numpy as np
import pytest

from realbogus.release.display import TICK_MASK, add_tick_marks, display_stamp, display_stretch, display_triplet
from realbogus.release.layout import MASKED_PIXEL_VALUE


def _noise(seed: int, level: float = 200.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(level, 15.0, size=(51, 51))


def test_noise_stamp_runs_from_its_low_percentile_to_its_central_maximum():
    stamp = _noise(0)
    stretched = display_stretch(stamp, channel="srch")
    assert stretched.dtype == np.uint8 and stretched.shape == (51, 51)
    assert 0.004 <= (stretched == 0).mean() <= 0.01  # the 0.5th percentile maps to 0 (real: 0.5 %)
    # Noise outside the central box may exceed its maximum: only a few pixels clip.
    assert stretched[15:36, 15:36].max() == 255 and (stretched == 255).mean() < 0.005
    # The sky sits 2-3 noise sigmas above 0, as in the real stamps.
    sky, sigma = np.median(stretched), 1.4826 * np.median(np.abs(stretched - np.median(stretched)))
    assert 2.3 <= sky / sigma <= 3.0


def test_bright_central_source_darkens_the_sky_and_only_its_peak_is_white():
    stamp = _noise(1)
    rows, columns = np.mgrid[:51, :51]
    stamp += 3000.0 * np.exp(-((rows - 25) ** 2 + (columns - 25) ** 2) / (2 * 2.0 ** 2))
    stretched = display_stretch(stamp, channel="temp")
    assert np.median(stretched) < 12  # a dark sky, as in most real templates
    assert stretched[25, 25] == 255 and (stretched == 255).sum() <= 2  # no clipped blob
    # A source outside the central 21x21 brighter than the centre saturates instead.
    stamp[3:6, 3:6] += 10000.0
    assert (display_stretch(stamp, channel="temp")[3:6, 3:6] == 255).all()


def test_difference_dips_clip_to_black_and_the_detection_peak_is_white():
    stamp = _noise(2, level=0.0)
    stamp[25, 25] = 100.0
    stamp[20:23, 20:23] = -5000.0
    stretched = display_stretch(stamp, channel="diff")
    assert stretched[25, 25] == 255 and (stretched[20:23, 20:23] == 0).all()
    # The same stamp shifted by a constant displays the same (no fixed zero point).
    assert np.array_equal(display_stretch(stamp + 40.0, channel="diff"), stretched)


def test_difference_is_a_percentile_clip_not_stretched_to_its_brightest_pixels():
    # Real difference stamps: sky ~106 of 255, noise ~39, ~0.3 % of the pixels at 255 besides
    # the ticks. A detection's few brightest pixels (here a sharp 2x2 core at 200 sigma, fewer
    # than 0.3 % of the stamp) clip to white instead of squeezing the noise into a few grey
    # levels, as the template's stretch to the central maximum does.
    stamp = _noise(5, level=0.0)
    stamp[25:27, 25:27] += 3000.0
    rows, columns = np.mgrid[:51, :51]
    ring = np.hypot(rows - 25, columns - 25) > 12
    stretched = display_stretch(stamp, channel="diff")
    sky = np.median(stretched[ring])
    sigma = 1.4826 * np.median(np.abs(stretched[ring] - sky))
    assert 100 <= sky <= 140 and 38 <= sigma <= 55
    assert (stretched[25:27, 25:27] == 255).all() and 0.002 <= (stretched == 255).mean() <= 0.004
    assert 0.004 <= (stretched == 0).mean() <= 0.01
    assert np.median(display_stretch(stamp, channel="temp")[ring]) < 5


def test_difference_peak_is_white_even_below_the_percentile():
    # A faint detection (its peak below the stamp's 99.7th percentile, set by noise elsewhere)
    # still reaches 255: the central maximum caps the high bound, as in every real stamp.
    stamp = _noise(6, level=0.0)
    stamp[15:36, 15:36] = np.clip(stamp[15:36, 15:36], None, 20.0)
    assert display_stretch(stamp, channel="diff")[15:36, 15:36].max() == 255


def test_masked_and_nan_pixels_do_not_break_the_stretch():
    stamp = _noise(3)
    reference = display_stretch(stamp, channel="temp")
    stamp[:10, :] = MASKED_PIXEL_VALUE
    stamp[20, 20] = np.nan
    stretched = display_stretch(stamp.astype(np.float32), channel="temp")
    # The unmasked part keeps (nearly) its stretch: masked pixels are left out of the statistics
    # (shown as zero flux, far below this sky: black).
    difference = np.abs(stretched.astype(int) - reference.astype(int))
    difference[20, 20] = 0
    assert difference[11:].max() <= 8
    assert (stretched[:10] == 0).all() and stretched[20, 20] == 0
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


def test_display_triplet_stacks_each_channel_as_its_own_display() -> None:
    rng = np.random.default_rng(4)
    template, search, difference = (rng.normal(100.0, 10.0, size=(51, 51)) for _ in range(3))
    difference[20:30, 20:30] += 80.0  # a bright detection, which the difference's stretch clips
    triplet = display_triplet(template, search, difference)
    assert triplet.shape == (51, 51, 3) and triplet.dtype == np.uint8
    for index, (stamp, channel) in enumerate(zip((template, search, difference), ("temp", "srch", "diff"))):
        assert np.array_equal(triplet[..., index], display_stamp(stamp, channel=channel))
