"""Ingest: round trip, every bad input of issue 2 item 5, atomicity, determinism."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.cli import main as cli_main
from realbogus.ingest import ingest_release, load_stamps
from realbogus.release.layout import FEATURE_NAMES, FEATURE_TABLE_NAME
from realbogus.release.reader import ReleaseError
from realbogus.release.writer import ReleaseWriter, encode_gif, write_feature_table

# tests/ is on sys.path (pytest's rootdir-relative import of this module)
from release.conftest import build_release, make_feature_table


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite_member(release: Path, member_suffix: str, content: bytes | None) -> str:
    """Replace (or drop, with None) the first tar member ending in ``member_suffix``."""
    for tar_path in sorted(release.glob("stamps_*.tar")):
        with tarfile.open(tar_path) as archive:
            members = [(info, archive.extractfile(info).read()) for info in archive.getmembers()]
        if not any(info.name.endswith(member_suffix) for info, _ in members):
            continue
        with tarfile.open(tar_path, "w") as archive:
            for info, data in members:
                if info.name.endswith(member_suffix):
                    found = info.name
                    if content is None:
                        continue
                    data = content
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return f"{tar_path.name}:{found}"
    raise AssertionError(f"no member ends with {member_suffix}")


@pytest.mark.parametrize("stamp_format", ["gif", "fits"])
@pytest.mark.parametrize("packed", [True, False])
def test_round_trip_equals_input_stamps(tmp_path, stamp_format, packed):
    release = build_release(tmp_path / "release", packed=packed)
    summary = ingest_release(release_dir=release.path, out_dir=tmp_path / "out", stamp_format=stamp_format,
                             workers=0, progress=False)
    stamps = load_stamps(tmp_path / "out")
    expected = release.gif_stamps if stamp_format == "gif" else release.float_stamps
    assert summary.n_samples == len(release.ids)
    assert stamps.shape == expected.shape and stamps.dtype == expected.dtype
    assert np.array_equal(stamps, expected, equal_nan=True)  # FITS floats exact, NaN and 1e-30 kept
    catalog = pd.read_parquet(tmp_path / "out" / "catalog.parquet")
    assert catalog["id"].tolist() == release.ids.tolist()
    assert catalog["row"].tolist() == list(range(len(release.ids)))
    assert catalog["label"].dtype == np.int8 and catalog["label"].tolist() == release.labels.tolist()
    table = release.table.set_index("ID").loc[release.ids]
    for name in FEATURE_NAMES:
        assert catalog[name].tolist() == pytest.approx(table[name].tolist(), nan_ok=True) if name != "BAND" \
            else catalog[name].tolist() == table[name].tolist()
    assert (catalog["band"] == catalog["BAND"]).all()
    assert catalog["source"].str.startswith("stamps_").all() if packed else (catalog["source"] == "").all()
    assert catalog["folder"].str.contains("home2/SNWG/Archive/2013/Y1/201309").all()
    if stamp_format == "fits":
        report = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
        assert report["n_masked_pixels"] == 5 * 51 * 3 and report["n_nan_pixels"] == 1


def test_parallel_ingest_is_byte_identical_to_serial_and_to_a_rerun(tmp_path):
    release = build_release(tmp_path / "release", n=40)
    outputs = []
    for name, workers in (("serial", 0), ("parallel", 2), ("rerun", 2)):
        ingest_release(release_dir=release.path, out_dir=tmp_path / name, workers=workers, batch_size=7,
                       progress=False)
        outputs.append({f: _digest(tmp_path / name / f) for f in sorted(os.listdir(tmp_path / name))})
    assert outputs[0] == outputs[1] == outputs[2]
    assert sorted(outputs[0]) == [".realbogus-output.json", "catalog.parquet", "ingest_report.json", "skipped.csv",
                                  "stamps.npy"]


def test_corrupt_gif_names_the_member(tmp_path):
    release = build_release(tmp_path / "release")
    target = int(release.ids[3])
    location = _rewrite_member(release.path, f"srch{target}.gif", b"GIF89a not really")
    with pytest.raises(ReleaseError, match=rf"{location}: corrupt GIF stamp"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["release"]  # no temporary left either


def test_corrupt_fits_is_skipped_and_reported(tmp_path):
    release = build_release(tmp_path / "release")
    target = int(release.ids[5])
    location = _rewrite_member(release.path, f"diff{target}.fits", b"SIMPLE  =" + b" " * 100)
    summary = ingest_release(release_dir=release.path, out_dir=tmp_path / "out", stamp_format="fits",
                             on_error="skip", workers=2, batch_size=4, progress=False)
    assert summary.n_samples == len(release.ids) - 1
    skipped = pd.read_csv(tmp_path / "out" / "skipped.csv")
    assert skipped[["id", "location", "reason"]].values.tolist() == [[target, location, "corrupt_stamp"]]
    stamps = load_stamps(tmp_path / "out")
    keep = release.ids != target
    assert np.array_equal(stamps, release.float_stamps[keep], equal_nan=True)
    catalog = pd.read_parquet(tmp_path / "out" / "catalog.parquet")
    assert target not in catalog["id"].tolist() and catalog["row"].tolist() == list(range(len(catalog)))


def test_missing_channel_is_named(tmp_path):
    release = build_release(tmp_path / "release")
    target = int(release.ids[0])
    _rewrite_member(release.path, f"temp{target}.gif", None)
    with pytest.raises(ReleaseError, match=rf"ID {target}: missing temp{target}.gif beside"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)


def test_wrong_shape_is_named(tmp_path):
    release = build_release(tmp_path / "release")
    target = int(release.ids[2])
    location = _rewrite_member(release.path, f"diff{target}.gif", encode_gif(np.zeros((50, 51), np.uint8)))
    with pytest.raises(ReleaseError, match=rf"{location}: stamp has shape \(50, 51\), expected \(51, 51\)"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)


def test_duplicate_ids_in_stamps_and_in_the_table(tmp_path):
    release = build_release(tmp_path / "release")
    target = int(release.ids[1])
    with ReleaseWriter(tmp_path / "extra", n_tars=1) as writer:
        writer.add_sample(detection_id=target, folder="elsewhere",
                          files={f"{c}{target}.gif": encode_gif(np.zeros((51, 51), np.uint8))
                                 for c in ("temp", "srch", "diff")})
    os.replace(tmp_path / "extra" / "stamps_0.tar", release.path / "stamps_9.tar")
    with pytest.raises(ReleaseError, match=rf"ID {target}: stamps found twice, in stamps_\d.tar:.* and "
                                           rf"stamps_9.tar:elsewhere/temp{target}.gif"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)
    summary = ingest_release(release_dir=release.path, out_dir=tmp_path / "out", on_error="skip", workers=0,
                             progress=False)
    assert summary.issues_by_reason == {"duplicate_id": 1} and summary.n_samples == len(release.ids) - 1

    (release.path / "stamps_9.tar").unlink()
    with open(release.path / FEATURE_TABLE_NAME, "a") as handle:
        handle.write(release.table.iloc[[0]].to_csv(header=False, index=False))
    duplicate = int(release.table["ID"].iloc[0])
    with pytest.raises(ReleaseError, match=rf"ID {duplicate} appears 2 times; expected unique IDs"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out2", workers=0, progress=False)


def test_rows_without_stamps_and_stamps_without_rows(tmp_path):
    release = build_release(tmp_path / "release")
    extra_row = make_feature_table(np.array([7]), np.array([0], dtype=np.int8), np.random.default_rng(5))
    write_feature_table(release.path / FEATURE_TABLE_NAME, pd.concat([release.table, extra_row]), comment_lines=[])
    with pytest.raises(ReleaseError, match=r"ID 7 has a row in .*autoscan_features.3.csv but no gif stamps"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)

    dropped_id = int(release.table["ID"].iloc[4])
    write_feature_table(release.path / FEATURE_TABLE_NAME, release.table.iloc[[i for i in range(len(release.table))
                                                                               if i != 4]], comment_lines=[])
    with pytest.raises(ReleaseError, match=rf"ID {dropped_id} \(stamps_.*\) has stamps but no row in"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)
    summary = ingest_release(release_dir=release.path, out_dir=tmp_path / "out", on_error="skip", workers=0,
                             progress=False)
    assert summary.issues_by_reason == {"no_feature_row": 1}


def test_empty_and_unreadable_tars(tmp_path):
    release = build_release(tmp_path / "release")
    with tarfile.open(release.path / "stamps_7.tar", "w"):
        pass
    with pytest.raises(ReleaseError, match=r"tar stamps_7.tar holds no files"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)
    (release.path / "stamps_7.tar").write_bytes(b"\x00garbage" * 200)
    with pytest.raises(ReleaseError, match=r"tar stamps_7.tar is not a readable uncompressed tar after 0 members"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)
    summary = ingest_release(release_dir=release.path, out_dir=tmp_path / "out", on_error="skip", workers=0,
                             progress=False)
    assert summary.n_samples == len(release.ids) and summary.issues_by_reason == {"unreadable_tar": 1}
    # A tar cut short in the middle of a member is reported too, and its complete samples kept.
    full = (release.path / "stamps_0.tar").read_bytes()
    (release.path / "stamps_7.tar").unlink()
    (release.path / "stamps_0.tar").write_bytes(full[: len(full) // 2])
    with pytest.raises(ReleaseError, match=r"tar stamps_0.tar is truncated or corrupt after \d+ members: member "
                                           r"'.*' announces \d+ bytes but only \d+ remain"):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out2", workers=0, progress=False)
    assert "stamps_7.tar" in (tmp_path / "out" / "skipped.csv").read_text()


def test_error_mid_ingest_keeps_the_previous_output(tmp_path):
    release = build_release(tmp_path / "release")
    ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=0, progress=False)
    before = _digest(tmp_path / "out" / "stamps.npy")
    _rewrite_member(release.path, f"diff{int(release.ids[-1])}.gif", b"broken")
    with pytest.raises(ReleaseError):
        ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=2, batch_size=3,
                       progress=False)
    assert _digest(tmp_path / "out" / "stamps.npy") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "release"]


def test_memory_is_bounded_by_design(tmp_path, monkeypatch):
    """Decoded stamps never sit in the main process: it hands batches of the raw files to
    the workers and holds at most 2 x workers batches in flight, whatever N is."""
    import concurrent.futures

    from realbogus.release.reader import SampleFiles

    release = build_release(tmp_path / "release", n=30, with_masked=False)
    workers = 2
    in_flight: list[int] = []  # batches submitted and not yet collected, after each submit
    batch_sizes: list[int] = []
    submitted: set[concurrent.futures.Future] = set()

    class RecordingPool(concurrent.futures.ProcessPoolExecutor):
        def submit(self, function, *args, **kwargs):
            batch = args[-1]
            batch_sizes.append(len(batch))
            # What crosses to a worker: (row, the sample's raw files), never decoded pixels.
            assert all(isinstance(sample, SampleFiles) for _, sample in batch)
            future = super().submit(function, *args, **kwargs)
            original_result = future.result

            def result(timeout=None):
                submitted.discard(future)
                return original_result(timeout)

            future.result = result
            submitted.add(future)
            in_flight.append(len(submitted))
            return future

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RecordingPool)
    ingest_release(release_dir=release.path, out_dir=tmp_path / "out", workers=workers, batch_size=2,
                   progress=False)
    assert batch_sizes == [2] * 15
    assert max(in_flight) == 2 * workers  # the bound is reached, never passed
    np.testing.assert_array_equal(load_stamps(tmp_path / "out"), release.gif_stamps)


def test_cli_ingest(tmp_path, capsys):
    release = build_release(tmp_path / "release", n=6)
    assert cli_main(["ingest", str(release.path), str(tmp_path / "out"), "--format", "fits", "--workers", "0",
                     "--no-progress"]) == 0
    assert "ingested 6 samples (fits)" in capsys.readouterr().out
    assert load_stamps(tmp_path / "out").dtype == np.float32
    assert cli_main(["ingest", str(tmp_path / "missing"), str(tmp_path / "out2")]) == 2
    assert "does not exist" in capsys.readouterr().err
