"""Tiny survey data made on the fly: GIF releases, stamp arrays, a tiny saved CNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from realbogus.release.layout import CHANNELS, stamp_filename
from realbogus.release.writer import ReleaseWriter, archive_folder, encode_gif

TINY_CNN = {"filters": (4,), "kernel": 3, "pool": 2, "strides": (1,), "dense_units": 4}


def make_stamps(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 51, 51, 3) uint8 stamps and (n,) labels; artifacts carry a bright difference bar."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    stamps = rng.integers(20, 90, size=(n, 51, 51, 3), dtype=np.uint8)
    stamps[labels == 1, 20:23, 5:46, 2] = 240
    return stamps, labels


def write_gif_release(path: Path, stamps: np.ndarray, ids: np.ndarray, *, n_tars: int = 2) -> Path:
    """A release of GIF stamps only (no feature table needed to score)."""
    with ReleaseWriter(path, n_tars=n_tars) as writer:
        for index, detection_id in enumerate(ids.tolist()):
            files = {stamp_filename(channel, detection_id, "gif"): encode_gif(np.ascontiguousarray(stamps[index, :, :, k]))
                     for k, channel in enumerate(CHANNELS)}
            writer.add_sample(detection_id=detection_id, folder=archive_folder(night="20240101", directory="d0"),
                              files=files)
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CNN of the paper's block structure, trained for one step, saved as model.keras."""
    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, train_cnn

    stamps, labels = make_stamps(32, seed=1)
    result = train_cnn(stamps=stamps, labels=labels, train_rows=np.arange(32), val_rows=np.array([], dtype=int),
                       model_config=CNNConfig(**TINY_CNN), train_config=TrainConfig(max_epochs=1, batch_size=32,
                                                                                    learning_rate=1e-3), seed=0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    result.model.save(path)
    return path
