"""The `features` stage's table: the release's own features, or the 38 computed from its
FITS stamps (``features.source``: release, stamps, auto), on tiny releases made on the fly."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import realbogus.feature_table as feature_table_module
from realbogus.feature_table import build_feature_table
from realbogus.features import ObservationContext, compute_feature_table
from realbogus.ingest import ingest_release
from realbogus.release.layout import FEATURE_NAMES, FEATURE_TABLE_NAME
from realbogus.release.writer import write_feature_table

# tests/ is on sys.path (pytest's rootdir-relative import of this module)
from release.conftest import TinyRelease, build_release


def _ingested_catalog(release: TinyRelease, out: Path, *, on_error: str = "raise") -> pd.DataFrame:
    """What the features stage reads: the catalog of the (GIF) ingest."""
    ingest_release(release_dir=release.path, out_dir=out, workers=0, progress=False, on_error=on_error)
    return pd.read_parquet(out / "catalog.parquet")


def _expected_from_stamps(release: TinyRelease, ids: np.ndarray, bands: list[str]) -> pd.DataFrame:
    """The features of ``ids`` computed straight from the float stamps the release was written from."""
    positions = np.searchsorted(release.ids, ids)
    table = compute_feature_table(release.float_stamps[positions].astype(np.float32),
                                  contexts=[ObservationContext(band=band) for band in bands], ids=ids,
                                  channels_last=True)
    return table.rename_axis("id").reset_index()


def _without_feature_values(release: TinyRelease) -> None:
    """Rewrite the release's CSV as a release without features has it: ID, label, band only."""
    table = release.table.copy()
    for name in FEATURE_NAMES:
        if name != "BAND":
            table[name] = np.nan
    write_feature_table(release.path / FEATURE_TABLE_NAME, table, comment_lines=["no features"])


def test_stamps_source_computes_every_sample_from_its_own_fits_stamps(tmp_path):
    release = build_release(tmp_path / "release", n=9, packed=False)
    # One GIF stamp broken: the GIF ingest drops that id, so the ingested catalog's rows
    # no longer match the rows of a FITS ingest of the whole release after it.
    dropped = int(release.ids[2])
    next(release.path.rglob(f"srch{dropped}.gif")).write_bytes(b"not a gif")
    catalog = _ingested_catalog(release, tmp_path / "ingested", on_error="skip")
    assert dropped not in set(catalog["id"]) and len(catalog) == 8
    shuffled = catalog.sample(frac=1.0, random_state=0)

    table, origin = build_feature_table(catalog=shuffled, release_dir=release.path, source="stamps", workers=0,
                                        progress=False)

    assert origin == "stamps"
    assert list(table.columns) == ["id", *FEATURE_NAMES]
    assert table["id"].tolist() == sorted(catalog["id"].tolist())
    bands = catalog.set_index("id").loc[table["id"], "band"].tolist()
    expected = _expected_from_stamps(release, table["id"].to_numpy(), bands)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    # The stamps gave the values, not the release's CSV.
    csv = release.table.set_index("ID").loc[table["id"], "SNR"].to_numpy()
    assert not np.allclose(table["SNR"].to_numpy(), csv, equal_nan=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ingested", "release"]  # the scratch FITS array is gone


def test_auto_takes_the_release_table_when_it_has_one_and_the_stamps_when_not(tmp_path, monkeypatch):
    release = build_release(tmp_path / "release", n=7)
    catalog = _ingested_catalog(release, tmp_path / "with_csv")
    table, origin = build_feature_table(catalog=catalog.iloc[::-1], release_dir=release.path, source="auto",
                                        progress=False)
    assert origin == "release"
    expected = release.table.rename(columns={"ID": "id"}).sort_values("id").loc[:, ["id", *FEATURE_NAMES]]
    pd.testing.assert_frame_equal(table, expected.reset_index(drop=True), check_dtype=False)

    _without_feature_values(release)
    catalog = _ingested_catalog(release, tmp_path / "without_csv")
    # The worker pool, with more than one chunk per worker.
    monkeypatch.setattr(feature_table_module, "_CHUNK", 2)
    mapped = []

    class RecordingPool(concurrent.futures.ProcessPoolExecutor):
        def map(self, function, *iterables, **kwargs):
            mapped.append((function.__name__, self._max_workers, len(iterables[0])))
            return super().map(function, *iterables, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RecordingPool)
    table, origin = build_feature_table(catalog=catalog, release_dir=release.path, source="auto", workers=2,
                                        progress=False)
    assert origin == "stamps"
    assert mapped == [("_features_of_chunk", 2, 4)]  # 7 samples in chunks of 2, on 2 processes
    expected = _expected_from_stamps(release, release.ids, catalog.sort_values("id")["band"].tolist())
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert table["SNR"].notna().all()


def test_release_source_without_release_features_is_refused(tmp_path):
    release = build_release(tmp_path / "release", n=4, with_masked=False)
    _without_feature_values(release)
    catalog = _ingested_catalog(release, tmp_path / "ingested")
    with pytest.raises(ValueError, match="features.source is 'release' but the ingested catalog has no feature "
                                         "values: the release came without autoscan_features.3.csv"):
        build_feature_table(catalog=catalog, release_dir=release.path, source="release", progress=False)
    with pytest.raises(ValueError, match=r"features.source must be one of \('auto', 'release', 'stamps'\), got 'csv'"):
        build_feature_table(catalog=catalog, release_dir=release.path, source="csv", progress=False)


def test_ingested_ids_the_fits_stamps_lack_are_refused(tmp_path):
    release = build_release(tmp_path / "release", n=4, with_masked=False)
    catalog = _ingested_catalog(release, tmp_path / "ingested")
    stranger = catalog.iloc[[0]].assign(id=1, row=99)
    with pytest.raises(ValueError, match=r"FITS stamps cover 4 of the 5 ingested ids"):
        build_feature_table(catalog=pd.concat([catalog, stranger]), release_dir=release.path, source="stamps",
                            workers=0, progress=False)
