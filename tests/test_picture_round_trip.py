"""The picture round trip (draw stamps as the reference picture, cut them back) and its benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.release.picture import draw_page, picture_labels, read_picture, round_trip
from script_modules import load_script  # tests/ is on sys.path
from smooth_stamps import smooth_stamp

SCRIPT = "benchmarks/picture_round_trip.py"


@pytest.fixture(scope="module")
def benchmark():
    return load_script(SCRIPT)


def test_the_round_trip_keeps_smooth_stamps_and_smooths_pixel_noise() -> None:
    rng = np.random.default_rng(0)
    smooth = np.stack([np.stack([smooth_stamp(rng) for _ in range(3)], axis=-1) for _ in range(3)])
    noisy = np.clip(rng.normal(110, 40, size=(3, 51, 51, 3)), 0, 255).astype(np.uint8)
    back = round_trip(np.concatenate([smooth, noisy]))
    assert back.shape == (6, 51, 51, 3) and back.dtype == np.uint8
    # Smooth stamps come back nearly as they were, each in its own place...
    assert np.abs(back[:3].astype(int) - smooth.astype(int)).mean() < 3.0
    # ...while pixel-to-pixel noise loses spread and gains correlation between neighbours.
    inner = back[3:, 5:-5, 5:-5].astype(float)
    assert inner.std() < 0.9 * noisy[:, 5:-5, 5:-5].astype(float).std()
    lag1 = np.corrcoef(inner[..., :-1, 2].ravel(), inner[..., 1:, 2].ravel())[0, 1]
    assert lag1 > 0.1


def test_a_near_white_stamp_comes_back_in_its_place() -> None:
    # Panels found on the page itself would miss this column (near white, like the page).
    rng = np.random.default_rng(2)
    stamps = np.stack([np.stack([smooth_stamp(rng) for _ in range(3)], axis=-1) for _ in range(3)])
    stamps[1] = 252
    back = round_trip(stamps)
    assert back.shape == (3, 51, 51, 3)
    assert np.abs(back[1, 3:-3, 3:-3].astype(int) - 252).max() <= 2
    assert np.abs(back[2].astype(int) - stamps[2].astype(int)).mean() < 3.0


def test_a_picture_file_is_read_into_its_triplets_and_its_labels_are_checked(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    stamps = np.stack([np.stack([smooth_stamp(rng) for _ in range(3)], axis=-1) for _ in range(2)])
    draw_page([tuple(stamp[..., channel] for channel in range(3)) for stamp in stamps], tmp_path / "p.png")
    assert (read_picture(tmp_path / "p.png") == round_trip(stamps)).all()
    assert picture_labels("1,0", n_stamps=2).tolist() == [1, 0]
    for text in ("1,0,1", "1,2", "1,x"):
        with pytest.raises(ValueError, match="expected 2 values of 0 or 1"):
            picture_labels(text, n_stamps=2)


def test_the_round_trip_refuses_what_is_not_a_stack_of_triplets() -> None:
    with pytest.raises(ValueError, match=r"uint8 of shape \(N, 51, 51, 3\)"):
        round_trip(np.zeros((2, 51, 51), np.uint8))
    assert round_trip(np.zeros((0, 51, 51, 3), np.uint8)).shape == (0, 51, 51, 3)


def _ingested(folder: Path, n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(3)
    folder.mkdir()
    stamps = np.clip(rng.normal(100, 30, size=(n, 51, 51, 3)), 0, 255).astype(np.uint8)
    stamps[:, 22:29, 22:29, :] = 250  # a bright centre, as every detection has
    np.save(folder / "stamps.npy", stamps)
    pd.DataFrame({"id": np.arange(100, 100 + n), "row": np.arange(n)[::-1],
                  "label": np.arange(n) % 2}).to_parquet(folder / "catalog.parquet")
    (folder / "ingest_report.json").write_text(json.dumps({"n": n}))
    return stamps


def test_write_copies_an_ingested_folder_with_round_tripped_stamps(benchmark, tmp_path: Path, capsys) -> None:
    stamps = _ingested(tmp_path / "ingested")
    out = tmp_path / "round_trip"
    assert benchmark.main(["write", "--ingested", str(tmp_path / "ingested"), "--out", str(out), "--workers", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["n_stamps"] == 12
    written = np.load(out / "stamps.npy")
    assert (written == round_trip(stamps)).all()
    for name in ("catalog.parquet", "ingest_report.json"):
        assert (out / name).read_bytes() == (tmp_path / "ingested" / name).read_bytes()
    # Its own output is replaced on a rerun; a folder it did not write is not.
    assert benchmark.main(["write", "--ingested", str(tmp_path / "ingested"), "--out", str(out), "--workers", "1"]) == 0
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="mine"):
        benchmark.main(["write", "--ingested", str(tmp_path / "ingested"), "--out", str(foreign), "--workers", "1"])
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_the_release_sample_is_test_split_samples_half_of_each_label(benchmark, tmp_path: Path) -> None:
    _ingested(tmp_path / "ingested")
    split = pd.DataFrame({"id": np.arange(100, 112), "split": ["test"] * 8 + ["train"] * 4})
    split.to_csv(tmp_path / "split.csv", index=False)
    sample = benchmark.release_test_sample(ingested=tmp_path / "ingested", split_path=tmp_path / "split.csv", n=6,
                                           seed=0)
    assert len(sample) == 6 and sorted(sample["label"].tolist()) == [0, 0, 0, 1, 1, 1]
    # ids 100-107 are the test split: rows 11 down to 4 (row = 11 - (id - 100)).
    assert set(sample["id"]) <= set(range(100, 108)) and (sample["row"] == 111 - sample["id"]).all()
    assert (np.diff(sample["row"]) > 0).all()
    split.assign(split="train").to_csv(tmp_path / "split.csv", index=False)
    with pytest.raises(SystemExit, match="no sample"):
        benchmark.release_test_sample(ingested=tmp_path / "ingested", split_path=tmp_path / "split.csv", n=6, seed=0)


def test_release_kinds_name_artifacts_by_type_and_refuse_missing_ids(benchmark, tmp_path: Path) -> None:
    pd.DataFrame({"id": [1, 2, 3], "scene_kind": ["fake", "artifact", "source_on_artifact"],
                  "artifact_type": ["none", "dipole", "bad_column"]}).to_parquet(tmp_path / "truth.parquet")
    kinds = benchmark.release_kinds(tmp_path / "truth.parquet", np.array([3, 1, 2]))
    assert kinds.tolist() == ["source_on_artifact", "fake", "artifact:dipole"]
    with pytest.raises(SystemExit, match="no truth row for 1 sample"):
        benchmark.release_kinds(tmp_path / "truth.parquet", np.array([1, 9]))


def test_the_typical_nearest_distance_is_the_same_in_blocks(benchmark) -> None:
    points = np.random.default_rng(0).normal(size=(23, 5))
    direct = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
    np.fill_diagonal(direct, np.inf)
    expected = float(np.median(direct.min(axis=1)))
    for block in (1, 7, 23, 1000):
        assert benchmark.typical_nearest_distance(points, block=block) == pytest.approx(expected, rel=1e-9)
    # Three points on a line, 1 and 2 apart: nearest others 1, 1, 2.
    assert benchmark.typical_nearest_distance(np.array([[0.0], [1.0], [3.0]]), block=2) == pytest.approx(1.0)


def test_blur_panels_smooths_the_chosen_panels_and_keeps_their_range(benchmark) -> None:
    rng = np.random.default_rng(5)
    stamps = np.clip(rng.normal(100, 30, size=(2, 51, 51, 3)), 0, 255).astype(np.uint8)
    stamps[:, 25, 25, :] = 255
    blurred = benchmark.blur_panels(stamps, 1.0)
    assert (blurred[..., 0] == stamps[..., 0]).all()                    # the template is untouched
    for channel in (1, 2):
        assert blurred[..., channel].max() == 255                        # each panel keeps its range...
        def lag1(panels: np.ndarray) -> float:
            return float(np.corrcoef(panels[..., :-1].ravel(), panels[..., 1:].ravel())[0, 1])
        # ...but neighbouring pixels now go together (white noise: no correlation).
        assert lag1(stamps[..., channel].astype(float)) < 0.1 < 0.5 < lag1(blurred[..., channel].astype(float))


def test_score_summary_counts_per_label(benchmark) -> None:
    summary = benchmark.score_summary(np.array([0.1, 0.6, 0.9, 0.4]), np.array([0, 0, 1, 1]), threshold=0.5)
    assert summary["accuracy"] == 0.5
    assert summary["non_artifacts"]["share_at_or_above_threshold"] == 0.5
    assert summary["artifacts"]["median_score"] == pytest.approx(0.65)


def test_control_scores_release_stamps_before_and_after_the_round_trip(benchmark, tmp_path: Path, capsys) -> None:
    import realbogus.cnn  # noqa: F401  (starts the backend quietly)

    import keras

    stamps = _ingested(tmp_path / "ingested")
    picture = tmp_path / "picture.png"
    draw_page([tuple(stamp[..., channel] for channel in range(3)) for stamp in stamps[:2]], picture)
    pd.DataFrame({"id": np.arange(100, 112), "split": "test"}).to_csv(tmp_path / "split.csv", index=False)
    # A model whose score rises with the difference's pixel-to-pixel roughness (the mean absolute
    # step between neighbours, from two fixed filters): the round trip lowers it.
    inputs = keras.Input((51, 51, 3))
    steps = keras.layers.Conv2D(2, (1, 2), use_bias=False, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    score = keras.layers.Dense(1, activation="sigmoid")(keras.layers.GlobalAveragePooling2D()(steps))
    model = keras.Model(inputs, score)
    kernel = np.zeros((1, 2, 3, 2), np.float32)
    kernel[0, :, 2, 0], kernel[0, :, 2, 1] = (1, -1), (-1, 1)
    model.layers[2].set_weights([kernel])
    model.layers[-1].set_weights([np.full((2, 1), 40.0, np.float32), np.array([-4.0], np.float32)])
    model_path = tmp_path / "model.keras"
    model.save(model_path)
    # Truth: the even rows are smooth-ish "fakes", the odd ones rough "artifacts" (see _ingested's labels).
    pd.DataFrame({"id": np.arange(100, 112), "scene_kind": ["fake", "artifact"] * 6,
                  "artifact_type": ["none", "noise_peak"] * 6}).to_parquet(tmp_path / "truth.parquet")
    arguments = ["control", "--ingested", str(tmp_path / "ingested"), "--split", str(tmp_path / "split.csv"),
                 "--model", str(model_path), "--n", "12", "--picture", str(picture), "--labels", "0,1",
                 "--truth", str(tmp_path / "truth.parquet"), "--neighbours", "3", "--blur", "1.5"]
    assert benchmark.main(arguments) == 0
    out = json.loads(capsys.readouterr().out)
    before, after = out["release_test_stamps"]["as_they_are"], out["release_test_stamps"]["after_the_round_trip"]
    assert before["n"] == after["n"] == 12
    assert after["non_artifacts"]["median_score"] < before["non_artifacts"]["median_score"]
    assert out["score_change_by_round_trip"]["non_artifacts_median"] < 0
    assert out["grey_levels_changed_by_round_trip"]["per_pixel_mean_abs_median"] > 1.0
    # The picture's two stamps went through the same round trip as the release's: each sits
    # among the round-tripped release stamps of its label, and scores as they do.
    picture_scores = np.array(out["picture"]["artifact_score"])
    expected = model.predict(round_trip(stamps[:2]), verbose=0).ravel()
    assert picture_scores == pytest.approx(expected, abs=2e-3)
    assert all(0.0 <= p <= 1.0 for p in out["picture"]["percentile_among_release_test_of_its_label"])
    assert out["picture"]["n"] == 2 and out["picture"]["auc"] in (0.0, 0.5, 1.0)
    # Each picture stamp is one of the release's, round-tripped alike: its nearest release
    # stamp is itself, at distance 0, and its three nearest are named by kind.
    neighbours = out["picture"]["nearest_release_stamps"]["per_stamp"]
    assert [sum(entry["kinds"].values()) for entry in neighbours] == [3, 3]
    assert all(entry["distance_over_release_typical"] == pytest.approx(0.0, abs=1e-3) for entry in neighbours)
    # Blurred, the rough difference panels score lower (this model's score is their roughness).
    blurred = out["picture"]["blurred_search_and_difference"]["sigma_1.5"]
    assert np.all(np.array(blurred["picture_artifact_score"]) < picture_scores)
    assert blurred["release_non_artifacts"]["n"] == 6
    # A model trained on round-tripped stamps is compared with them as they are: no second trip.
    assert benchmark.main(arguments + ["--already-round-tripped"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "after_the_round_trip" not in out["release_test_stamps"] and "score_change_by_round_trip" not in out
