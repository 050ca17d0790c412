"""The `features` stage's work: the 38 autoScan features for every ingested sample.

A release that ships its feature table (the DES-SN autoScan release does) already has
them in the ingested catalog.  A release without one gets them computed here from its
FITS stamps, with the same code the simulator uses to fill its CSV
(``realbogus.features``); survey metadata the stamps cannot give (zeropoint, CCD
position, ...) is then unknown and those features come out NaN for the forest's imputer.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from realbogus.features import ObservationContext, compute_feature_table
from realbogus.release.layout import FEATURE_NAMES
from realbogus.stamp_reader import read_rows

FEATURE_SOURCES = ("auto", "release", "stamps")
_CHUNK = 512


def release_has_features(catalog: pd.DataFrame) -> bool:
    """True when the catalog carries the release's own features (every column, some values)."""
    if any(name not in catalog.columns for name in FEATURE_NAMES):
        return False
    numeric = catalog.loc[:, [name for name in FEATURE_NAMES if name != "BAND"]]
    # A release without a feature table ingests as all-NaN columns.
    return bool(numeric.notna().any(axis=None))


def _features_of_chunk(fits_stamps_path: str, rows: np.ndarray, ids: np.ndarray, bands: list[str]) -> pd.DataFrame:
    stamps = np.load(fits_stamps_path, mmap_mode="r")
    contexts = [ObservationContext(band=band) for band in bands]
    # With pread: read through the map, a worker's RSS would grow to the whole float32 file (28 GB at 900k).
    return compute_feature_table(read_rows(stamps, rows).astype(np.float32, copy=False), contexts=contexts, ids=ids,
                                 channels_last=True)


def features_from_stamps(*, catalog: pd.DataFrame, fits_stamps_path: str | os.PathLike[str], workers: int = 2,
                         progress: bool = True) -> pd.DataFrame:
    """Compute the 38 features from an ingested FITS stamp array (N, 51, 51, 3) float32.

    catalog: id, row (index into the array) and, if known, band per sample.
    Returns a table id + FEATURE_NAMES, sorted by id.
    """
    catalog = catalog.sort_values("id")
    bands = catalog["band"].fillna("r").astype(str).tolist() if "band" in catalog else ["r"] * len(catalog)
    rows, ids = catalog["row"].to_numpy(), catalog["id"].to_numpy()
    starts = range(0, len(catalog), _CHUNK)
    tasks = [(str(fits_stamps_path), rows[s:s + _CHUNK], ids[s:s + _CHUNK], bands[s:s + _CHUNK]) for s in starts]
    bar = tqdm(total=len(catalog), desc="features", unit="sample", disable=not progress)
    parts: list[pd.DataFrame] = []
    if workers <= 1:
        for task in tasks:
            parts.append(_features_of_chunk(*task))
            bar.update(len(task[1]))
    else:
        # spawn, not fork: the progress bar's monitor thread already runs here (see simulate.release).
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers,
                                                    mp_context=multiprocessing.get_context("spawn")) as pool:
            for part in pool.map(_features_of_chunk, *zip(*tasks)):
                parts.append(part)
                bar.update(len(part))
    bar.close()
    table = pd.concat(parts) if parts else pd.DataFrame(columns=list(FEATURE_NAMES))
    return table.rename_axis("id").reset_index()


def build_feature_table(*, catalog: pd.DataFrame, release_dir: str | os.PathLike[str], source: str = "auto",
                        workers: int = 2, progress: bool = True) -> tuple[pd.DataFrame, str]:
    """(id + 38 features sorted by id, where they came from: "release" or "stamps").

    source: "release" takes the release's own table (an error if it has none), "stamps"
    computes them from the release's FITS stamps, "auto" takes the release's when present.
    """
    from realbogus.ingest import STAMPS_FILE, ingest_release

    if source not in FEATURE_SOURCES:
        raise ValueError(f"features.source must be one of {FEATURE_SOURCES}, got {source!r}")
    has_release_features = release_has_features(catalog)
    if source == "release" and not has_release_features:
        raise ValueError("features.source is 'release' but the ingested catalog has no feature values: "
                         "the release came without autoscan_features.3.csv; use source 'stamps' or 'auto'")
    if source == "release" or (source == "auto" and has_release_features):
        table = catalog.loc[:, ["id", *FEATURE_NAMES]].sort_values("id").reset_index(drop=True)
        return table, "release"
    # The FITS stamps are read with the same streaming reader ingest uses, into a scratch
    # array beside nothing the pipeline tracks.
    with tempfile.TemporaryDirectory(prefix="realbogus-fits-") as scratch:
        fits_dir = Path(scratch) / "fits"
        ingest_release(release_dir=release_dir, out_dir=fits_dir, stamp_format="fits", workers=workers,
                       progress=progress)
        fits_catalog = pd.read_parquet(fits_dir / "catalog.parquet", columns=["id", "row"])
        merged = catalog.drop(columns=["row"]).merge(fits_catalog, on="id", how="inner", validate="1:1")
        if len(merged) != len(catalog):
            raise ValueError(f"{release_dir}: FITS stamps cover {len(merged)} of the {len(catalog)} ingested ids")
        table = features_from_stamps(catalog=merged, fits_stamps_path=fits_dir / STAMPS_FILE, workers=workers,
                                     progress=progress)
    return table.sort_values("id").reset_index(drop=True), "stamps"
