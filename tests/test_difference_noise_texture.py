"""benchmarks/difference_noise_texture.py: the drawn difference noise's grain and its ringing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from realbogus.release.picture import draw_page, page_layout

from script_modules import load_script  # tests/ is on sys.path

SCRIPT = "benchmarks/difference_noise_texture.py"


def _module():
    return load_script(SCRIPT)


def _display(noise: np.ndarray) -> np.ndarray:
    """A stamp of noise shown as a difference GIF shows it: sky ~110, sigma ~40 grey levels."""
    return np.clip(110 + 40 * noise / noise.std(), 1, 254).astype(np.uint8)


def test_band_pass_noise_rings_and_plain_grain_does_not(tmp_path: Path) -> None:
    texture = _module()
    rng = np.random.default_rng(3)
    white = [rng.normal(size=(51, 51)) for _ in range(5)]
    # Noise through a kernel with negative wings (a narrow Gaussian minus a wider one): its
    # blobs alternate every ~2-3 stamp pixels, as a sharpening kernel leaves a template's noise.
    band = [ndimage.gaussian_filter(n, 0.8) - ndimage.gaussian_filter(n, 1.6) for n in
            (rng.normal(size=(51, 51)) for _ in range(5))]
    flat = np.full((51, 51), 30, np.uint8)
    triplets = [(flat, flat, _display(noise)) for noise in white + band]
    draw_page(triplets, tmp_path / "page.png")
    stamps = texture.picture_texture(np.asarray(Image.open(tmp_path / "page.png").convert("L")))

    assert len(stamps) == 10
    white_ringing = [stamp["min_lag3_5"] for stamp in stamps[:5]]
    band_ringing = [stamp["min_lag3_5"] for stamp in stamps[5:]]
    assert max(band_ringing) < texture.RINGING_LEVEL < min(white_ringing)
    # Drawing at ~1.6x correlates even white noise's neighbouring drawn pixels.
    assert all(0.2 < stamp["lag1"] < 0.9 for stamp in stamps)
    summary = texture.summary(stamps)
    assert summary["stamps"] == 10 and summary[f"share_min_lag3_5_below_{texture.RINGING_LEVEL}"] == 0.5


def test_a_ring_with_no_usable_pixels_is_not_measured() -> None:
    texture = _module()
    dark = np.zeros((80, 80))   # a dark template's sky clipped at 0: nothing to correlate
    along_rows, along_columns = texture.ring_correlations(dark)
    assert np.isnan(along_rows).all() and np.isnan(along_columns).all()
    summary = texture.summary([{"lag1": float("nan"), "min_lag3_5": float("nan")},
                               {"lag1": 0.5, "min_lag3_5": -0.2}])
    assert summary["stamps"] == 2 and summary["measured"] == 1
    assert summary[f"share_min_lag3_5_below_{texture.RINGING_LEVEL}"] == 1.0


def test_a_page_drawn_here_is_measured_in_every_column_even_a_white_one(tmp_path: Path) -> None:
    texture = _module()
    rng = np.random.default_rng(4)
    white = np.full((51, 51), 255, np.uint8)
    triplets = [(white, white, white)] + [(_display(rng.normal(size=(51, 51))),) * 3 for _ in range(3)]
    draw_page(triplets, tmp_path / "page.png")
    page = np.asarray(Image.open(tmp_path / "page.png").convert("L"))
    # Found on the page, the white column is lost; cut where the drawing put it, it is there.
    assert len(texture.picture_texture(page)) == 3
    stamps = texture.picture_texture(page, panels=page_layout(4))
    assert len(stamps) == 4 and np.isnan(stamps[0]["lag1"]) and np.isfinite(stamps[1]["lag1"])
