"""benchmarks/picture_score_ablation.py: one change at a time to a picture's stamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from script_modules import load_script  # tests/ is on sys.path

SCRIPT = "benchmarks/picture_score_ablation.py"


@pytest.fixture(scope="module")
def ablation():
    return load_script(SCRIPT)


def _stamps(rng: np.random.Generator, n: int = 3) -> np.ndarray:
    """Triplets whose difference is ringing noise (sky ~110, sigma ~40) with a bright centre."""
    stamps = rng.integers(0, 60, size=(n, 51, 51, 3)).astype(np.uint8)
    checker = (np.indices((51, 51)).sum(axis=0) // 2 % 2) * 80.0 + 70.0
    stamps[..., 2] = np.clip(checker + rng.normal(0, 10, (n, 51, 51)), 0, 255).astype(np.uint8)
    stamps[:, 23:28, 23:28, 2] = 255
    return stamps


def test_the_difference_noise_is_replaced_outside_the_disc_only(ablation) -> None:
    rng = np.random.default_rng(0)
    stamps = _stamps(rng)
    replaced = ablation.replace_difference_noise(stamps, radius=3, smoothing=0.0, rng=np.random.default_rng(1))
    yy, xx = np.mgrid[:51, :51]
    inside = np.hypot(yy - 25, xx - 25) <= 3
    assert (replaced[:, inside, 2] == stamps[:, inside, 2]).all()
    assert (replaced[..., :2] == stamps[..., :2]).all()          # template and search untouched
    outside = replaced[:, ~inside, 2].astype(float)
    original = stamps[:, ~inside, 2].astype(float)
    assert abs(np.median(outside) - np.median(original)) < 8 and abs(outside.std() - original.std()) < 8
    # The checkerboard's texture is gone: neighbours two pixels apart no longer anti-correlate.
    def lag2(panel: np.ndarray) -> float:
        return float(np.corrcoef(panel[:, :-2].ravel(), panel[:, 2:].ravel())[0, 1])
    assert lag2(stamps[0, 30:, :, 2].astype(float)) < -0.5 < lag2(replaced[0, 30:, :, 2].astype(float))


def test_stretch_scales_about_each_panels_median(ablation) -> None:
    stamps = _stamps(np.random.default_rng(2))
    assert (ablation.stretch(stamps, factor=1.0, channels=(0, 1, 2)) == stamps).all()
    stretched = ablation.stretch(stamps, factor=1.15, channels=(2,)).astype(float)
    assert (stretched[..., :2] == stamps[..., :2]).all()
    assert stretched[..., 2].std() > stamps[..., 2].astype(float).std()
    assert np.median(stretched[0, ..., 2]) == pytest.approx(np.median(stamps[0, ..., 2]), abs=1)


def test_release_non_artifacts_are_those_given_0_and_scored_right(ablation, tmp_path: Path) -> None:
    stamps = np.arange(8, dtype=np.uint8)[:, None, None, None] * np.ones((8, 51, 51, 3), np.uint8)
    np.save(tmp_path / "stamps.npy", stamps)
    pd.DataFrame({"id": [10, 11, 12, 13, 14, 15, 16, 17], "row": [7, 6, 5, 4, 3, 2, 1, 0]}).to_parquet(
        tmp_path / "catalog.parquet")
    pd.DataFrame({"id": [10, 11, 12, 13, 14, 15, 16, 17], "label": [0, 0, 1, 0, 0, 1, 0, 0],
                  "artifact_score": [0.01, 0.5, 0.01, 0.02, 0.9, 0.01, 0.04, 0.3]}).to_parquet(tmp_path / "scores.parquet")
    chosen = ablation.confident_non_artifacts(stamps_path=tmp_path / "stamps.npy", catalog_path=tmp_path / "catalog.parquet",
                                              scores_path=tmp_path / "scores.parquet", n=3, seed=0)
    # ids 10, 13, 16 -> rows 7, 4, 1 (each stamp holds its row number).
    assert sorted(chosen[:, 0, 0, 0].tolist()) == [1, 4, 7]
    with pytest.raises(SystemExit, match="only 3 samples of label 0 score below 0.05"):
        ablation.confident_non_artifacts(stamps_path=tmp_path / "stamps.npy", catalog_path=tmp_path / "catalog.parquet",
                                         scores_path=tmp_path / "scores.parquet", n=4, seed=0)
