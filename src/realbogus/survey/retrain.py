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

import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from realbogus.cnn.data import StampBatches, validate_rows, validate_stamps
from realbogus.cnn.models import CNNConfig
from realbogus.cnn.training import (
    TrainConfig,
    TrainResult,
    compile_model,
    op_determinism,
    seed_everything,
    train_cnn,
)

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
) -> TrainResult:
    """Continue training the saved model at ``base_model_path`` on ``stamps[train_rows]``.

    Same loop as ``train_cnn`` (Adam, step-decayed learning rate from
    ``train_config.learning_rate`` -- give it a lower one than the original training --,
    binary cross-entropy, early stopping on val_loss with the best weights kept), but the
    weights start from the trained model instead of random ones.  The file is not changed.
    stamps: (N, 51, 51, 3) uint8; labels: (N,) 0/1 (1 = artifact); rows: disjoint indices.
    """
    validate_stamps(stamps)
    labels = np.asarray(labels)
    if labels.shape != (len(stamps),):
        raise ValueError(f"labels must have shape ({len(stamps)},) to match stamps, got {labels.shape}")
    train_rows = validate_rows(train_rows, n_samples=len(stamps), what="train_rows")
    val_rows = validate_rows(val_rows, n_samples=len(stamps), what="val_rows")
    if len(train_rows) == 0:
        raise ValueError("train_rows is empty: nothing to fine-tune on")
    if np.intersect1d(train_rows, val_rows).size:
        raise ValueError("train_rows and val_rows overlap")
    seed_everything(seed=seed)
    model = keras.saving.load_model(Path(base_model_path), compile=False)
    compile_model(model=model, train_config=train_config)
    train_batches = StampBatches(stamps=stamps, labels=labels, rows=train_rows, batch_size=train_config.batch_size,
                                 shuffle=True, seed=seed, augment=train_config.augment,
                                 workers=train_config.loader_workers)
    has_validation = len(val_rows) > 0
    val_batches = StampBatches(stamps=stamps, labels=labels, rows=val_rows,
                               batch_size=max(train_config.batch_size, 256), shuffle=False,
                               workers=train_config.loader_workers) if has_validation else None
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.LearningRateScheduler(lambda epoch, _rate: train_config.learning_rate_at(epoch)),
    ]
    if has_validation:
        patience = train_config.early_stopping_patience
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=train_config.max_epochs + 1 if patience is None else patience,
            restore_best_weights=train_config.restore_best_weights))
    if on_epoch_end is not None:
        callbacks.append(keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: on_epoch_end(epoch, {k: float(v) for k, v in (logs or {}).items()})))
    with op_determinism(enabled=train_config.deterministic):
        started = time.perf_counter()
        fit_history = model.fit(train_batches, validation_data=val_batches, epochs=train_config.max_epochs,
                                shuffle=False, callbacks=callbacks, verbose=train_config.verbose)
        fit_seconds = time.perf_counter() - started
    history = {key: [float(v) for v in values] for key, values in fit_history.history.items()}
    epochs_run = len(history.get("loss", []))
    best_epoch = int(np.argmin(history["val_loss"])) if has_validation else epochs_run - 1
    return TrainResult(model=model, history=history, best_epoch=best_epoch, epochs_run=epochs_run,
                       fit_seconds=fit_seconds, replicas=1)


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
) -> TrainResult:
    """``mode`` "finetune" (:func:`fine_tune` from ``base_model_path``) or "scratch"
    (``train_cnn`` with ``model_config``, the base model's architecture)."""
    if mode == "finetune":
        return fine_tune(base_model_path=base_model_path, stamps=stamps, labels=labels, train_rows=train_rows,
                         val_rows=val_rows, train_config=train_config, seed=seed, on_epoch_end=on_epoch_end)
    if mode == "scratch":
        return train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=val_rows,
                         model_config=model_config, train_config=train_config, seed=seed, on_epoch_end=on_epoch_end)
    raise ValueError(f"retraining mode must be one of {MODES}, got {mode!r}")
