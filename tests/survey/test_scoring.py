"""`realbogus score`: every input kind, bounded batches, the table, the errors."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from realbogus.cli import main as cli_main
from realbogus.survey.scoring import (
    SCORE_COLUMNS,
    ScoringInputError,
    load_scoring_model,
    open_stamp_source,
    read_scores,
    score_stamps,
)
from realbogus.provenance import content_hash

from .conftest import make_stamps, write_gif_release


def _expected(model_path: Path, stamps: np.ndarray) -> np.ndarray:
    model = keras.saving.load_model(model_path, compile=False)
    return np.asarray(model.predict_on_batch(stamps), dtype=np.float32).reshape(-1)


def test_npy_scores_match_the_model_and_do_not_depend_on_batch_size(tmp_path, tiny_model_path):
    stamps, _ = make_stamps(37)
    np.save(tmp_path / "stamps.npy", stamps)
    model, model_hash = load_scoring_model(tiny_model_path)
    assert model_hash == content_hash(tiny_model_path)
    tables = []
    for batch_size in (5, 64):
        out = tmp_path / f"scores_{batch_size}.csv"
        summary = score_stamps(source=open_stamp_source(tmp_path / "stamps.npy"), model=model,
                               model_path=str(tiny_model_path), model_hash=model_hash, out_path=out,
                               threshold=0.5, batch_size=batch_size, progress=False)
        assert summary.n_scored == 37 and summary.input_kind == "npy"
        tables.append(read_scores(out))
    table = tables[0]
    assert list(table.columns) == list(SCORE_COLUMNS)
    assert table["id"].tolist() == list(range(37))
    np.testing.assert_allclose(table["artifact_score"], _expected(tiny_model_path, stamps), atol=2e-6)
    np.testing.assert_allclose(table["real_score"], 1 - table["artifact_score"], atol=2e-6)
    assert (table["passes"] == (table["artifact_score"] < 0.5)).all()
    np.testing.assert_allclose(tables[0]["artifact_score"], tables[1]["artifact_score"], atol=2e-6)


def test_batches_are_bounded(tmp_path):
    stamps, _ = make_stamps(23)
    np.save(tmp_path / "stamps.npy", stamps)
    sizes = [len(batch.ids) for batch in open_stamp_source(tmp_path / "stamps.npy").batches(batch_size=4)]
    assert max(sizes) == 4 and sum(sizes) == 23


def test_release_folder_tar_and_ingested_folder_give_the_same_scores(tmp_path, tiny_model_path):
    stamps, _ = make_stamps(12, seed=3)
    ids = np.arange(500, 512, dtype=np.int64)
    release = write_gif_release(tmp_path / "release", stamps, ids, n_tars=2)
    model, model_hash = load_scoring_model(tiny_model_path)
    expected = pd.Series(_expected(tiny_model_path, stamps), index=ids)

    def scored(source_path: Path, name: str) -> pd.DataFrame:
        out = tmp_path / f"{name}.csv"
        score_stamps(source=open_stamp_source(source_path), model=model, model_path="m", model_hash=model_hash,
                     out_path=out, batch_size=5, progress=False)
        return read_scores(out).set_index("id")

    from_release = scored(release, "release")
    assert sorted(from_release.index) == ids.tolist()
    np.testing.assert_allclose(from_release["artifact_score"], expected.loc[from_release.index], atol=2e-6)
    one_tar = scored(release / "stamps_0.tar", "tar")
    assert 0 < len(one_tar) < 12 and set(one_tar.index) <= set(ids.tolist())
    np.testing.assert_allclose(one_tar["artifact_score"], expected.loc[one_tar.index], atol=2e-6)

    ingested = tmp_path / "ingested"
    ingested.mkdir()
    np.save(ingested / "stamps.npy", stamps)
    pd.DataFrame({"id": ids, "row": np.arange(12)}).to_parquet(ingested / "catalog.parquet")
    from_ingested = scored(ingested, "ingested")
    assert from_ingested.index.tolist() == ids.tolist()


@pytest.mark.parametrize("array, expected", [
    (np.zeros((3, 51, 51), dtype=np.uint8), "shape (3, 51, 51)"),
    (np.zeros((3, 64, 64, 3), dtype=np.uint8), "shape (3, 64, 64, 3)"),
    (np.zeros((3, 51, 51, 3), dtype=np.float32), "dtype float32, expected uint8"),
])
def test_wrong_arrays_are_refused_naming_the_file(tmp_path, array, expected):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(ScoringInputError, match=re.escape(expected)) as error:
        open_stamp_source(path)
    assert str(path) in str(error.value)


def test_a_corrupt_or_wrong_sized_stamp_names_the_file_and_id(tmp_path, tiny_model_path):
    from realbogus.release.layout import CHANNELS, stamp_filename
    from realbogus.release.writer import ReleaseWriter, archive_folder, encode_gif

    with ReleaseWriter(tmp_path / "release", n_tars=1) as writer:
        files = {stamp_filename(c, 42, "gif"): encode_gif(np.zeros((40, 51), np.uint8)) for c in CHANNELS}
        writer.add_sample(detection_id=42, folder=archive_folder(night="20240101", directory="d0"), files=files)
    model, model_hash = load_scoring_model(tiny_model_path)
    with pytest.raises(ScoringInputError, match=r"temp42\.gif.*shape \(40, 51\)"):
        score_stamps(source=open_stamp_source(tmp_path / "release"), model=model, model_path="m",
                     model_hash=model_hash, out_path=tmp_path / "s.csv", progress=False)
    assert not (tmp_path / "s.csv").exists()  # nothing half-written


def test_cli_states_model_and_threshold_and_reports_errors(tmp_path, tiny_model_path, capsys):
    stamps, _ = make_stamps(9)
    np.save(tmp_path / "stamps.npy", stamps)
    out = tmp_path / "scores.csv"
    code = cli_main(["score", str(tmp_path / "stamps.npy"), "--model", str(tiny_model_path), "--threshold", "0.3",
                     "--out", str(out), "--batch-size", "4", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0
    assert content_hash(tiny_model_path) in captured.err and "threshold 0.3" in captured.err
    assert '"n_scored": 9' in captured.out
    assert len(read_scores(out)) == 9

    np.save(tmp_path / "floats.npy", stamps.astype(np.float32))
    assert cli_main(["score", str(tmp_path / "floats.npy"), "--model", str(tiny_model_path), "--out",
                     str(tmp_path / "x.csv"), "--no-progress"]) == 2
    assert "floats.npy: stamps have dtype float32" in capsys.readouterr().err
    assert cli_main(["score", str(tmp_path / "stamps.npy"), "--model", str(tmp_path / "nope.keras")]) == 2
    assert "nope.keras: no such model file" in capsys.readouterr().err
    assert cli_main(["score", str(tmp_path / "stamps.npy"), "--model", str(tiny_model_path),
                     "--threshold", "1.5"]) == 2


def _saved(model: keras.Model, path: Path) -> Path:
    model.save(path)
    return path


def test_a_model_that_does_not_give_one_score_per_stamp_is_refused(tmp_path):
    """Issue 15: two outputs were flattened into 2N interleaved scores; now refused, named."""
    inputs = keras.Input((51, 51, 3))
    flat = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    first = keras.layers.Dense(1, activation="sigmoid")(flat)
    second = keras.layers.Dense(1, activation="sigmoid")(flat)
    two = _saved(keras.Model(inputs, [first, second]), tmp_path / "two.keras")
    wide = _saved(keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(flat)), tmp_path / "wide.keras")
    with pytest.raises(ScoringInputError, match=r"two.keras: model has 2 output\(s\) of shape\(s\) \[\(1,\), \(1,\)\], "
                                                r"expected one output of shape \(1,\)"):
        load_scoring_model(two)
    with pytest.raises(ScoringInputError, match=r"wide.keras: model has 1 output\(s\) of shape\(s\) \[\(2,\)\]"):
        load_scoring_model(wide)
    # A model object that slipped past the load check still cannot write a wrong table.
    stamps, _ = make_stamps(5)
    np.save(tmp_path / "stamps.npy", stamps)
    model = keras.saving.load_model(two, compile=False)
    with pytest.raises(ScoringInputError, match="returned 2 outputs; expected one artifact score per stamp"):
        score_stamps(source=open_stamp_source(tmp_path / "stamps.npy"), model=model, model_path=str(two),
                     model_hash="x", out_path=tmp_path / "s.csv", progress=False)
    logits = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ScoringInputError, match=r"returned scores outside \[0, 1\]"):
        score_stamps(source=open_stamp_source(tmp_path / "stamps.npy"), model=logits, model_path="logits",
                     model_hash="x", out_path=tmp_path / "s.csv", progress=False)
    assert not (tmp_path / "s.csv").exists()


def test_one_id_in_two_tars_is_refused_not_scored_twice(tmp_path, tiny_model_path):
    stamps, _ = make_stamps(6)
    write_gif_release(tmp_path / "release", stamps, np.array([11, 12, 13, 14, 15, 16]), n_tars=2)
    write_gif_release(tmp_path / "again", stamps[:1], np.array([13]), n_tars=1)
    (tmp_path / "again" / "stamps_0.tar").rename(tmp_path / "release" / "stamps_7.tar")
    model, model_hash = load_scoring_model(tiny_model_path)
    with pytest.raises(ScoringInputError, match=r"ID 13 has stamps twice \(again at stamps_7.tar:.*temp13.gif\); "
                                                "expected each ID once"):
        score_stamps(source=open_stamp_source(tmp_path / "release"), model=model, model_path="m",
                     model_hash=model_hash, out_path=tmp_path / "s.csv", progress=False)
    assert not (tmp_path / "s.csv").exists()


def test_rescoring_replaces_its_own_table_but_never_the_input(tmp_path, tiny_model_path, capsys):
    stamps, _ = make_stamps(4)
    np.save(tmp_path / "x.npy", stamps)
    argv = ["score", str(tmp_path / "x.npy"), "--model", str(tiny_model_path), "--no-progress"]
    for _ in range(2):  # the second run finds its own earlier table and replaces it
        assert cli_main([*argv, "--out", str(tmp_path / "scores.csv")]) == 0
    before = (tmp_path / "x.npy").read_bytes()
    assert cli_main([*argv, "--out", str(tmp_path / "x.npy")]) == 2
    assert "is the input" in capsys.readouterr().err
    assert (tmp_path / "x.npy").read_bytes() == before
