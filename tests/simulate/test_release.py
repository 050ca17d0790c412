"""A whole (tiny) release: layout, determinism across worker counts, truth beside it."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from PIL import Image

from realbogus.atomic import OUTPUT_MARKER
from realbogus.release.display import TICK_MASK
from realbogus.release.layout import (
    ARCHIVE_ROOT,
    FEATURE_TABLE_COLUMNS,
    FEATURE_TABLE_NAME,
    MASKED_PIXEL_VALUE,
    parse_stamp_filename,
)
from realbogus.simulate import TRUTH_COLUMNS, SimulationConfig, simulate_release
from realbogus.simulate import release as release_module

N = 24
# Many masked-edge artifacts so a tiny release surely holds some 1e-30 pixels.
CONFIG = SimulationConfig(artifact_type_weights=(("masked_edge", 1.0), ("dipole", 1.0)))


def _write(tmp: Path, *, workers: int, name: str, packed: bool = True):
    return simulate_release(out_dir=tmp / name, truth_path=tmp / f"{name}_truth.parquet", n=N, seed=21,
                            workers=workers, packed=packed, config=CONFIG, progress=False, n_tars=3)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    original = release_module.CHUNK_SIZE
    release_module.CHUNK_SIZE = 5  # several chunks, so two workers really share the work
    try:
        one = _write(tmp, workers=1, name="one")
        two = _write(tmp, workers=2, name="two")
    finally:
        release_module.CHUNK_SIZE = original
    return tmp, one, two


def test_release_is_byte_identical_for_any_worker_count(written) -> None:
    tmp, one, two = written
    names = sorted(path.name for path in (tmp / "one").iterdir())
    assert names == sorted(path.name for path in (tmp / "two").iterdir())
    for name in names:
        assert (tmp / "one" / name).read_bytes() == (tmp / "two" / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(one.truth_path), pd.read_parquet(two.truth_path))


def test_layout_matches_the_real_release(written) -> None:
    tmp, summary, _ = written
    # The real release's files, plus only the hidden marker saying simulate wrote this folder.
    assert sorted(path.name for path in (tmp / "one").iterdir()) == sorted(
        [f"stamps_{k}.tar" for k in range(3)] + [FEATURE_TABLE_NAME, OUTPUT_MARKER])
    files_per_id: dict[int, set[str]] = {}
    for k in range(3):
        with tarfile.open(tmp / "one" / f"stamps_{k}.tar") as archive:
            for member in archive.getmembers():
                folder, _, base = member.name.rpartition("/")
                assert re.fullmatch(re.escape(ARCHIVE_ROOT) + r"/20(13|14)\d{4}/SN-[CESX]\d_[griz]", folder), folder
                channel, detection_id, fmt = parse_stamp_filename(base)
                files_per_id.setdefault(detection_id, set()).add(f"{channel}.{fmt}")
                content = archive.extractfile(member).read()
                if fmt == "gif":
                    image = np.asarray(Image.open(io.BytesIO(content)).convert("L"))
                    assert image.shape == (51, 51)
                    assert (image[TICK_MASK] == 255).all()  # the corner tick marks
                else:
                    data = fits.getdata(io.BytesIO(content))
                    assert data.shape == (51, 51)
    assert len(files_per_id) == N
    assert all(len(names) == 6 for names in files_per_id.values())

    lines = (tmp / "one" / FEATURE_TABLE_NAME).read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert comments and lines[: len(comments)] == comments
    assert lines[len(comments)].split(",") == list(FEATURE_TABLE_COLUMNS)
    table = pd.read_csv(tmp / "one" / FEATURE_TABLE_NAME, comment="#")
    truth = pd.read_parquet(summary.truth_path)
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert set(table["ID"]) == set(files_per_id) == set(truth["id"])
    merged = table.merge(truth, left_on="ID", right_on="id")
    assert (merged["OBJECT_TYPE"] == merged["given_label"]).all()
    assert (merged["BAND"] == merged["band"]).all()
    assert summary.n_given0_true1 + summary.n_given1_true0 == int((truth["given_label"] != truth["true_label"]).sum())


def test_masked_pixels_are_1e30_in_the_fits(written) -> None:
    tmp, summary, _ = written
    truth = pd.read_parquet(summary.truth_path)
    masked_ids = set(truth.loc[truth["masked_fraction"] > 0, "id"])
    assert masked_ids
    found = set()
    for k in range(3):
        with tarfile.open(tmp / "one" / f"stamps_{k}.tar") as archive:
            for member in archive.getmembers():
                parsed = parse_stamp_filename(member.name.rpartition("/")[2])
                if parsed[0] == "diff" and parsed[2] == "fits" and parsed[1] in masked_ids:
                    data = fits.getdata(io.BytesIO(archive.extractfile(member).read()))
                    assert np.any(data == np.float32(MASKED_PIXEL_VALUE))
                    found.add(parsed[1])
    assert found == masked_ids


def test_unpacked_release_and_truth_outside(tmp_path: Path) -> None:
    summary = simulate_release(out_dir=tmp_path / "rel", truth_path=tmp_path / "truth.parquet", n=3, seed=1,
                               workers=1, packed=False, progress=False, n_tars=2)
    assert (tmp_path / "rel" / "stamps_0").is_dir() and summary.n == 3
    assert len(list((tmp_path / "rel").rglob("*.fits"))) == 9
    with pytest.raises(ValueError, match="outside the release folder"):
        simulate_release(out_dir=tmp_path / "rel", truth_path=tmp_path / "rel" / "truth.parquet", n=3, seed=1,
                         workers=1, progress=False)


def test_truth_is_written_in_row_groups_as_the_chunks_come(tmp_path: Path, monkeypatch) -> None:
    import pyarrow.parquet as pq

    monkeypatch.setattr(release_module, "CHUNK_SIZE", 4)
    monkeypatch.setattr(release_module, "TRUTH_ROWS_PER_GROUP", 6)
    summary = simulate_release(out_dir=tmp_path / "rel", truth_path=tmp_path / "truth.parquet", n=N, seed=21,
                               workers=2, config=CONFIG, progress=False, n_tars=3)
    # Chunks of 4 flushed once 6 rows wait: groups of 8 rows, so 3 for 24 samples.
    assert pq.ParquetFile(summary.truth_path).metadata.num_row_groups == 3
    truth = pd.read_parquet(summary.truth_path)
    assert truth["id"].tolist() == list(range(1, N + 1)) and list(truth.columns) == list(TRUTH_COLUMNS)
    given, true = truth["given_label"].to_numpy(), truth["true_label"].to_numpy()
    assert summary.n_given_artifact == given.sum()
    assert (summary.n_given0_true1, summary.n_given1_true0) == (((given == 0) & (true == 1)).sum(),
                                                                 ((given == 1) & (true == 0)).sum())
    table = pd.read_csv(tmp_path / "rel" / FEATURE_TABLE_NAME, comment="#")
    assert table["ID"].tolist() == truth["id"].tolist()
    assert table["OBJECT_TYPE"].tolist() == truth["given_label"].tolist()


def test_a_failure_midway_leaves_neither_release_nor_truth(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(release_module, "CHUNK_SIZE", 4)
    real_chunk = release_module.simulate_chunk

    def failing_chunk(job, start, stop):
        if start >= 8:
            raise RuntimeError("disk on fire")
        return real_chunk(job, start, stop)

    monkeypatch.setattr(release_module, "simulate_chunk", failing_chunk)
    with pytest.raises(RuntimeError, match="disk on fire"):
        simulate_release(out_dir=tmp_path / "rel", truth_path=tmp_path / "truth.parquet", n=N, seed=21,
                         workers=1, config=CONFIG, progress=False, n_tars=3)
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_truth_kind_names_fakes_plainly_and_everything_else_by_its_defect() -> None:
    truth = release_module.draw_truth_table(n=400, seed=5)
    kinds = release_module.truth_kind(truth)
    assert len(kinds) == 400
    fakes = truth["scene_kind"] == "fake"
    assert fakes.any() and (kinds[fakes] == "fake").all()
    artifacts = truth["scene_kind"] == "artifact"
    assert artifacts.any()
    assert (kinds[artifacts] == "artifact:" + truth.loc[artifacts, "artifact_type"]).all()
    # Every other kind carries the defect it sits on (a source under it, a fake on it).
    others = ~truth["scene_kind"].isin(["fake", "real_transient", "artifact"])
    assert others.any()
    assert (kinds[others].str.split(":").str[0] == truth.loc[others, "scene_kind"]).all()
    assert kinds[others].str.contains(":").all()
