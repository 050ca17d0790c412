"""Retrain for a survey on its vetted detections: fine-tune a trained model, or start afresh.

Three ways to get a survey's scorer (Ayyar et al. 2022, 4.6), compared by the survey
pipeline on the same vetted test split:

* ``original``: the trained model applied unchanged;
* ``finetune``: that model's weights trained further on the survey's vetted training
  split, at a lower learning rate (:func:`fine_tune`);
* ``scratch``: the same architecture (``CNNConfig``) trained from random weights on the
  survey data only (:func:`realbogus.cnn.training.train_cnn`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from realbogus.cnn.models import CNNConfig
from realbogus.cnn.training import TrainConfig, TrainResult, train_cnn

MODES: tuple[str, ...] = ("finetune", "scratch")


def fine_tune(
    *,
    base_model_path: str | Path,
    stamps: np.ndarray,
    labels: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    train_config: TrainConfig,
    seed: int,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Continue training the saved model at ``base_model_path`` on ``stamps[train_rows]``.

    ``train_cnn`` with ``initial_model`` (Adam, step-decayed learning rate from
    ``train_config.learning_rate`` -- give it a lower one than the original training --,
    binary cross-entropy, early stopping on val_loss with the best weights kept), but the
    weights start from the trained model instead of random ones.  The file is not changed.
    stamps: (N, 51, 51, 3) uint8; labels: (N,) 0/1 (1 = artifact); rows: disjoint indices.
    """
    return train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=val_rows,
                     train_config=train_config, seed=seed, on_epoch_end=on_epoch_end,
                     initial_model=base_model_path, progress=progress)


def retrain_for_survey(
    *,
    mode: str,
    base_model_path: str | Path,
    model_config: CNNConfig,
    stamps: np.ndarray,
    labels: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    train_config: TrainConfig,
    seed: int,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """``mode`` "finetune" (:func:`fine_tune` from ``base_model_path``) or "scratch"
    (``train_cnn`` with ``model_config``, the base model's architecture)."""
    if mode == "finetune":
        return fine_tune(base_model_path=base_model_path, stamps=stamps, labels=labels, train_rows=train_rows,
                         val_rows=val_rows, train_config=train_config, seed=seed, on_epoch_end=on_epoch_end,
                         progress=progress)
    if mode == "scratch":
        return train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=val_rows,
                         model_config=model_config, train_config=train_config, seed=seed, on_epoch_end=on_epoch_end,
                         progress=progress)
    raise ValueError(f"retraining mode must be one of {MODES}, got {mode!r}")
