"""benchmarks/score_stamp_picture.py: stamps cut back out of a drawn grid of panels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from realbogus.release.picture import cut_stamps
from script_modules import load_script  # tests/ is on sys.path
from smooth_stamps import smooth_stamp

SCRIPT = "benchmarks/score_stamp_picture.py"


@pytest.fixture(scope="module")
def picture_module():
    return load_script(SCRIPT)


def _draw_grid(stamps: np.ndarray, *, scale: float = 1.6, gap: int = 15, margin: int = 30) -> np.ndarray:
    """A white page with one framed panel per stamp and channel, as a plotting library draws it."""
    n, _, _, channels = stamps.shape
    inner = int(round(51 * scale))
    size = inner + 2  # a one-pixel frame on each side
    page = np.full((2 * margin + channels * size + (channels - 1) * gap, 2 * margin + n * size + (n - 1) * gap), 255,
                   dtype=np.uint8)
    page[5:12, margin:margin + 40] = 0  # a title's worth of text above the grid
    for column in range(n):
        for channel in range(channels):
            top, left = margin + channel * (size + gap), margin + column * (size + gap)
            page[top:top + size, left:left + size] = 0
            drawn = Image.fromarray(stamps[column, :, :, channel]).resize((inner, inner), Image.NEAREST)
            page[top + 1:top + 1 + inner, left + 1:left + 1 + inner] = np.asarray(drawn)
    return page


def test_cuts_each_column_of_panels_back_into_a_stamp_triplet() -> None:
    rng = np.random.default_rng(0)
    stamps = np.stack([np.stack([smooth_stamp(rng) for _ in range(3)], axis=-1) for _ in range(4)])
    cut = cut_stamps(_draw_grid(stamps))
    assert cut.shape == (4, 51, 51, 3) and cut.dtype == np.uint8
    error = np.abs(cut.astype(int) - stamps.astype(int))
    assert error.mean() < 2.0 and error.max() < 40
    # Each triplet comes back in its own column and channel, not a neighbour's.
    for index in range(4):
        for channel in range(3):
            distances = [np.abs(cut[index, :, :, channel].astype(int) - stamps[other, :, :, c].astype(int)).mean()
                         for other in range(4) for c in range(3)]
            assert int(np.argmin(distances)) == index * 3 + channel


def test_a_picture_without_three_rows_of_panels_is_refused() -> None:
    rng = np.random.default_rng(1)
    stamps = np.stack([np.stack([smooth_stamp(rng) for _ in range(2)], axis=-1) for _ in range(3)])
    with pytest.raises(ValueError, match="expected 3 rows of panels"):
        cut_stamps(_draw_grid(stamps))


def test_auc_counts_ordered_pairs_and_ties_half(picture_module) -> None:
    labels = np.array([1, 1, 0, 0])
    assert picture_module.auc(labels, np.array([0.9, 0.4, 0.4, 0.1])) == pytest.approx(0.875)
    assert picture_module.auc(np.array([1, 1]), np.array([0.2, 0.3])) is None
