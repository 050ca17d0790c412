"""benchmarks/picture_pixel_table.py: the GIF pixel table of a picture beside release stamps drawn alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.release.display import display_triplet
from realbogus.release.picture import draw_page
from script_modules import load_script  # tests/ is on sys.path

SCRIPT = "benchmarks/picture_pixel_table.py"


@pytest.fixture(scope="module")
def benchmark():
    return load_script(SCRIPT)


def _triplet(rng: np.random.Generator, *, peak_sigmas: float) -> np.ndarray:
    """A (51, 51, 3) GIF triplet whose detection peaks ``peak_sigmas`` noise sigmas above the sky."""
    rows, columns = np.mgrid[:51, :51]
    source = np.exp(-0.5 * ((rows - 25) ** 2 + (columns - 25) ** 2) / 1.7 ** 2)
    channels = [rng.normal(size=(51, 51)) + (40 if channel != "diff" else peak_sigmas) * source
                for channel in ("temp", "srch", "diff")]
    return display_triplet(*channels)


def _release(folder: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An ingest folder of 12 faint detections (S/N 5.5) and 12 bright ones (S/N 60), with its truth table."""
    folder.mkdir()
    stamps = np.stack([_triplet(rng, peak_sigmas=2.0) for _ in range(12)]
                      + [_triplet(rng, peak_sigmas=20.0) for _ in range(12)])
    np.save(folder / "stamps.npy", stamps)
    ids = np.arange(500, 524)
    pd.DataFrame({"id": ids, "row": np.arange(24)}).to_parquet(folder / "catalog.parquet")
    snr = np.r_[np.full(12, 5.5), np.full(12, 60.0)]
    pd.DataFrame({"id": ids, "detection_snr": snr, "scene_kind": ["artifact"] * 12 + ["fake"] * 12,
                  "artifact_type": ["noise_peak"] * 12 + [""] * 12}).to_parquet(folder / "truth.parquet")
    return stamps, snr


def test_bright_real_stamps_fall_below_a_faint_release_and_the_snr_bins_say_why(benchmark, tmp_path: Path,
                                                                                 capsys) -> None:
    rng = np.random.default_rng(11)
    _release(tmp_path / "ingested", rng)
    # The "real" picture: ten bright detections, drawn as the reference picture is.
    bright = [_triplet(rng, peak_sigmas=20.0) for _ in range(10)]
    draw_page([tuple(stamp[..., channel] for channel in range(3)) for stamp in bright], tmp_path / "page.png")

    assert benchmark.main(["--picture", str(tmp_path / "page.png"), "--ingested", str(tmp_path / "ingested"),
                           "--truth", str(tmp_path / "ingested" / "truth.parquet"), "--n", "24"]) == 0
    result = json.loads(capsys.readouterr().out)

    assert result["n_release_stamps"] == 24
    assert len(result["difference_noise_per_picture_stamp"]) == 10
    below = result["difference_noise_round_trip"]
    assert below["picture_stamps"] == 10 and below["picture_stamps_below_release_median"] == 10
    assert below["chance_of_as_many_below"] < 0.01
    # A faint detection leaves a stamp of nearly pure noise: the widest noise in grey levels.
    faint, bright_bin = result["by_detection_snr"][0], result["by_detection_snr"][-1]
    assert faint["detection_snr"] == [5.0, 6.0] and bright_bin["detection_snr"] == [50.0, None]
    assert faint["share"] == bright_bin["share"] == 0.5
    assert faint["noise_p50"] > bright_bin["noise_p50"] and faint["noise_round_trip_p50"] > bright_bin["noise_round_trip_p50"]
    kinds = result["by_kind"]
    assert set(kinds) == {"artifact:noise_peak", "fake"} and kinds["fake"]["n"] == kinds["artifact:noise_peak"]["n"] == 12
    assert kinds["fake"]["noise_round_trip_p25_p50"][1] < kinds["artifact:noise_peak"]["noise_round_trip_p25_p50"][1]
    assert kinds["fake"]["detection_snr_p50"] == 60.0
    # The round trip smooths the pixel noise: the noise in grey levels drops, the sky stays.
    as_is, drawn = result["release"]["diff"], result["release_round_trip"]["diff"]
    assert drawn["noise"][1] < as_is["noise"][1]
    assert abs(drawn["background"][1] - as_is["background"][1]) < 10
    assert set(result["picture"]) == {"temp", "srch", "diff"}
    tails = result["difference_tails"]
    assert len(tails["picture_per_stamp"]) == 10 and tails["percentiles"] == [0.5, 99.7]
    assert tails["picture_p50"][1] > 3 and tails["release_p50"][0] < 0 < tails["release_p50"][1]


def test_difference_tails_sit_at_the_stretch_clip_for_noise_and_beyond_it_for_a_wide_source(benchmark) -> None:
    rng = np.random.default_rng(2)
    noise = np.stack([_triplet(rng, peak_sigmas=0.0) for _ in range(20)])
    low, high = np.nanmedian(benchmark.difference_display(noise)[1], axis=0)
    # The stretch clips at the 0.5th and 99.7th percentiles: -2.58 and +2.75 sigmas of white noise.
    assert -2.9 < low < -2.3 and 2.4 < high < 3.1
    # A source brighter than the noise over more than 0.3 % of the stamp moves the 99.7th
    # percentile out: the stretch's top is then the source, and the noise fills less of the range.
    bright = np.stack([_triplet(rng, peak_sigmas=20.0) for _ in range(20)])
    assert np.nanmedian(benchmark.difference_display(bright)[1][:, 1]) > high + 2


def test_below_median_counts_and_gives_the_binomial_chance(benchmark) -> None:
    release = np.arange(1.0, 101.0)   # median 50.5: half below
    real = np.array([10.0, 20.0, 30.0, 60.0])
    figures = benchmark.below_median(real, release)
    assert figures["picture_stamps_below_release_median"] == 3 and figures["picture_stamps"] == 4
    assert figures["chance_of_as_many_below"] == pytest.approx(5 / 16)  # P(X >= 3), X ~ Binomial(4, 1/2)


def test_a_truth_table_without_the_drawn_ids_is_refused(benchmark, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    _release(tmp_path / "ingested", rng)
    draw_page([tuple(_triplet(rng, peak_sigmas=5.0)[..., c] for c in range(3))], tmp_path / "page.png")
    pd.DataFrame({"id": [1, 2], "detection_snr": [6.0, 7.0], "scene_kind": ["fake", "fake"],
                  "artifact_type": ["", ""]}).to_parquet(tmp_path / "other_truth.parquet")
    with pytest.raises(SystemExit, match=r"other_truth.parquet has no row for 24 drawn id\(s\), e.g. \[500"):
        benchmark.main(["--picture", str(tmp_path / "page.png"), "--ingested", str(tmp_path / "ingested"),
                        "--truth", str(tmp_path / "other_truth.parquet"), "--n", "24"])


def test_simulated_stamps_carry_their_snr_and_a_knob_changes_them(benchmark, tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(8)
    draw_page([tuple(_triplet(rng, peak_sigmas=20.0)[..., c] for c in range(3)) for _ in range(3)], tmp_path / "page.png")
    runs = {}
    for scale in (1.0, 3.0):
        assert benchmark.main(["--picture", str(tmp_path / "page.png"), "--simulate", "12", "--seed", "4",
                               "--config-json", json.dumps({"fake_mag_from_limit_scale": scale})]) == 0
        runs[scale] = json.loads(capsys.readouterr().out)
    for result in runs.values():
        assert result["n_release_stamps"] == 12 and result["simulated"] == 12
        assert sum(row["share"] for row in result["by_detection_snr"]) == pytest.approx(1.0, abs=1e-3)  # shares of 4 decimals
        assert result["detection_snr_p10_p50_p90"][0] >= 5.0   # every detection passed the threshold
        assert sum(figures["n"] for figures in result["by_kind"].values()) == 12
    assert runs[3.0]["config_overrides"] == {"fake_mag_from_limit_scale": 3.0}
    assert runs[3.0]["detection_snr_p10_p50_p90"] != runs[1.0]["detection_snr_p10_p50_p90"]
    with pytest.raises(SystemExit):
        benchmark.main(["--picture", str(tmp_path / "page.png"), "--simulate", "2", "--truth", "t.parquet"])
    assert "--truth and --n go with --ingested" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        benchmark.main(["--picture", str(tmp_path / "page.png"), "--ingested", str(tmp_path), "--config-json", "{}"])
    assert "--config-json goes with --simulate" in capsys.readouterr().err
