"""Tiny releases written with the project's own writer, for reader and ingest tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.release.display import display_stamp
from realbogus.release.layout import (
    BANDS,
    CHANNELS,
    FEATURE_NAMES,
    FEATURE_TABLE_NAME,
    FEATURES_NAN_WITHOUT_TEMPLATE_SOURCE,
    MASKED_PIXEL_VALUE,
    STAMP_SIZE,
    stamp_filename,
)
from realbogus.release.writer import ReleaseWriter, archive_folder, encode_fits, encode_gif, write_feature_table


@dataclass
class TinyRelease:
    """A release on disk plus the arrays it was written from (rows in ascending ID order)."""

    path: Path
    ids: np.ndarray  # (N,) int64, ascending
    labels: np.ndarray  # (N,) int8
    float_stamps: np.ndarray  # (N, 51, 51, 3) float32, channels temp, srch, diff
    gif_stamps: np.ndarray  # (N, 51, 51, 3) uint8
    table: pd.DataFrame  # the feature table as written


def make_feature_table(ids: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    table = pd.DataFrame({"ID": ids, "OBJECT_TYPE": labels})
    for name in FEATURE_NAMES:
        table[name] = rng.normal(size=len(ids))
    table["BAND"] = rng.choice(list(BANDS), size=len(ids))
    # Templates without a source: the five template features are NaN, as in the release.
    no_template_source = rng.random(len(ids)) < 0.3
    for name in FEATURES_NAN_WITHOUT_TEMPLATE_SOURCE:
        table.loc[no_template_source, name] = np.nan
    return table


def build_release(path: Path, *, n: int = 24, seed: int = 0, n_tars: int = 3, packed: bool = True,
                  with_masked: bool = True) -> TinyRelease:
    rng = np.random.default_rng(seed)
    # Shuffled, non-contiguous IDs so the sort-by-ID contract is actually exercised.
    ids = rng.choice(np.arange(1000, 100000), size=n, replace=False).astype(np.int64)
    labels = rng.integers(0, 2, size=n).astype(np.int8)
    float_stamps = rng.normal(0.0, 10.0, size=(n, STAMP_SIZE, STAMP_SIZE, 3)).astype(np.float32)
    float_stamps[:, 25, 25, :] += 300.0
    if with_masked:
        float_stamps[0, :5, :, :] = MASKED_PIXEL_VALUE  # a masked edge
        float_stamps[1, 10, 10, 2] = np.nan
    gif_stamps = np.empty(float_stamps.shape, dtype=np.uint8)
    with ReleaseWriter(path, n_tars=n_tars, packed=packed) as writer:
        for index, detection_id in enumerate(ids):
            files: dict[str, bytes] = {}
            for channel_index, channel in enumerate(CHANNELS):
                stamp = float_stamps[index, :, :, channel_index]
                gif = display_stamp(stamp, channel=channel)
                gif_stamps[index, :, :, channel_index] = gif
                files[stamp_filename(channel, detection_id, "gif")] = encode_gif(gif)
                files[stamp_filename(channel, detection_id, "fits")] = encode_fits(
                    stamp, header_cards={"ID": int(detection_id)})
            night = f"201309{1 + index % 9:02d}"
            writer.add_sample(detection_id=int(detection_id),
                              folder=archive_folder(night=night, directory=f"dir{index % 2}"), files=files)
    table = make_feature_table(ids, labels, rng)
    write_feature_table(path / FEATURE_TABLE_NAME, table, comment_lines=["tiny test release", "# seed 0"])
    order = np.argsort(ids)
    return TinyRelease(path=path, ids=ids[order], labels=labels[order], float_stamps=float_stamps[order],
                       gif_stamps=gif_stamps[order], table=table)


@pytest.fixture
def tiny_release(tmp_path: Path) -> TinyRelease:
    return build_release(tmp_path / "release")
