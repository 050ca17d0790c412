"""Benchmark the paper's CNNs on this machine and backend; prints JSON.

For each model: training samples/s through the project's path (``StampBatches`` over a
memmapped ``.npy`` + ``model.fit`` with ``train_cnn``'s validation batches and callbacks)
and through a plain ``model.fit`` on in-memory numpy arrays with the same callbacks and
validation, measured alternately in the same run, their ratio (goal >= 0.95: the pipeline
adds no per-step or per-epoch cost) and the time per training step; and inference
samples/s (``predict_artifact_scores``).  Each training measurement fits 1 + ``--epochs``
epochs and times the last ``--epochs`` from end of epoch to end of epoch, so tracing /
compilation is excluded but everything a real epoch pays (loader start, validation,
callbacks) is in.  Medians over ``--repeats``.

    python benchmarks/bench_cnn.py --models model1 model2 --train-batches 30 --repeats 3
    KERAS_BACKEND=jax python benchmarks/bench_cnn.py --models tiny      # step overhead, per backend
    python benchmarks/bench_cnn.py --profile gpu    # the four models at batch 64 and at params-gpu.yaml's

``tiny`` is a model of a few thousand parameters whose step takes a few milliseconds, so
any per-step or per-epoch cost of the pipeline shows in the ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from realbogus.provenance import software_environment
from realbogus.cnn.models import CNNConfig, build_model, preset_config  # imports keras quietly
from realbogus.cnn.training import (
    TrainConfig,
    compile_model,
    predict_artifact_scores,
    seed_everything,
    step_compilation,
    training_batches,
    training_callbacks,
)

import keras  # noqa: E402  (after realbogus.cnn, which starts the backend without its start-up noise)

REPO = Path(__file__).resolve().parents[1]
TINY = CNNConfig(filters=(6, 8), kernel=3, pool=2, strides=(1, 1), dense_units=8)
# The paper's GPU (section 3): seconds per epoch of ~450k training samples, as samples/s.
PAPER_SAMPLES_PER_S = {"model1": 450_000 / 60, "model2": 450_000 / 127, "model3": 450_000 / 190, "model4": 450_000 / 47}


class _EpochClock(keras.callbacks.Callback):
    """Wall time at the end of every epoch (epoch hooks only, so jax keeps dispatching asynchronously)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.times.append(time.perf_counter())


def _model_config(name: str) -> CNNConfig:
    return TINY if name == "tiny" else preset_config(name)


def _rate_over_epochs(model: keras.Model, fit_args: dict, *, epochs: int, n_train: int, callbacks: list) -> float:
    """Training samples/s over epochs 2 .. 1 + ``epochs`` of one fit (validation included)."""
    clock = _EpochClock()
    model.fit(**fit_args, epochs=1 + epochs, verbose=0, callbacks=[*callbacks, clock])
    return epochs * n_train / (clock.times[-1] - clock.times[0])


def bench_model(
    *,
    name: str,
    stamps_on_disk: np.ndarray,
    labels: np.ndarray,
    train_config: TrainConfig,
    train_batches: int,
    epochs: int,
    predict_samples: int,
    predict_batch_size: int,
    repeats: int,
) -> dict:
    seed_everything(seed=0)
    batch_size = train_config.batch_size
    previous_policy = keras.config.dtype_policy()
    if train_config.mixed_precision:
        keras.config.set_dtype_policy(train_config.mixed_precision)
    try:
        model = compile_model(model=build_model(config=_model_config(name)), train_config=train_config)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    n_train = train_batches * batch_size
    n_val = max(n_train // 8, 1)
    train_rows, val_rows = np.arange(n_train), np.arange(n_train, n_train + n_val)
    pipeline_train, pipeline_val = training_batches(stamps=stamps_on_disk, labels=labels, train_rows=train_rows,
                                                    val_rows=val_rows, train_config=train_config, seed=0)
    pipeline_args = {"x": pipeline_train, "validation_data": pipeline_val, "shuffle": False}
    plain_args = {
        "x": np.asarray(stamps_on_disk[:n_train]),
        "y": labels[:n_train].astype(np.float32),
        "validation_data": (np.asarray(stamps_on_disk[n_train : n_train + n_val]),
                            labels[n_train : n_train + n_val].astype(np.float32)),
        "batch_size": batch_size,
        "validation_batch_size": max(batch_size, 256),  # as training_batches
        "shuffle": True,
    }

    def callbacks() -> list:
        # No early stop within a measurement: patience beyond the epochs measured.
        config = dataclasses.replace(train_config, early_stopping_patience=epochs + 2)
        return training_callbacks(train_config=config, has_validation=True)

    # The pipeline's own Python work per batch (memmap read, sort, labels), warm page cache.
    for _ in range(2):
        started = time.perf_counter()
        for index in range(len(pipeline_train)):
            pipeline_train[index]
        loader_ms_per_batch = 1000 * (time.perf_counter() - started) / len(pipeline_train)
    pipeline_rates, plain_rates, predict_rates = [], [], []
    predict_artifact_scores(model=model, stamps=stamps_on_disk, rows=np.arange(predict_batch_size),
                            batch_size=predict_batch_size)  # trace / compile the predict step
    for repeat in range(repeats):
        # Alternate which goes first so drifting load from other users hits both alike.
        order = ("pipeline", "plain") if repeat % 2 == 0 else ("plain", "pipeline")
        for which in order:
            rates, args = (pipeline_rates, pipeline_args) if which == "pipeline" else (plain_rates, plain_args)
            rates.append(_rate_over_epochs(model, args, epochs=epochs, n_train=n_train, callbacks=callbacks()))
        started = time.perf_counter()
        predict_artifact_scores(model=model, stamps=stamps_on_disk, rows=np.arange(predict_samples),
                                batch_size=predict_batch_size)
        predict_rates.append(predict_samples / (time.perf_counter() - started))
    ratios = [p / q for p, q in zip(pipeline_rates, plain_rates)]
    pipeline_rate = statistics.median(pipeline_rates)
    plain_rate = statistics.median(plain_rates)
    result = {
        "model": name,
        "params": int(model.count_params()),
        "batch_size": batch_size,
        "precision": train_config.mixed_precision or "float32",
        "steps": step_compilation(model),
        "train_samples_per_s_pipeline": round(pipeline_rate, 1),
        "train_samples_per_s_plain_fit": round(plain_rate, 1),
        "pipeline_to_plain_ratio": round(statistics.median(ratios), 3),
        "ms_per_step_pipeline": round(1000 * batch_size / pipeline_rate, 3),
        "ms_per_step_plain_fit": round(1000 * batch_size / plain_rate, 3),
        "loader_ms_per_batch": round(loader_ms_per_batch, 3),
        "inference_samples_per_s": round(statistics.median(predict_rates), 1),
        "train_samples_per_s_pipeline_all": [round(r, 1) for r in pipeline_rates],
        "train_samples_per_s_plain_fit_all": [round(r, 1) for r in plain_rates],
        "pipeline_to_plain_ratio_all": [round(r, 3) for r in ratios],
        "inference_samples_per_s_all": [round(r, 1) for r in predict_rates],
    }
    if name in PAPER_SAMPLES_PER_S:
        result["paper_gpu_train_samples_per_s"] = round(PAPER_SAMPLES_PER_S[name])
    # Progress on stderr, so a long run shows each model as it finishes; stdout stays pure JSON.
    print(json.dumps(result), file=sys.stderr, flush=True)
    return result


def profile_train_config(profile: str) -> dict:
    """The ``train`` section of params.yaml updated by ``params-<profile>.yaml``'s."""
    base = yaml.safe_load((REPO / "params.yaml").read_text())["train"]
    overlay = yaml.safe_load((REPO / f"params-{profile}.yaml").read_text()).get("train", {})
    return {**base, **overlay}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["model1", "model2", "model3", "model4"],
                        help="presets, or tiny (a few thousand parameters: shows per-step overhead)")
    parser.add_argument("--profile", choices=["gpu"], default=None,
                        help="run the models at batch 64 (float32) and at the profile's batch, precision and xla")
    parser.add_argument("--train-batches", type=int, default=24, help="training batches per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement (after one untimed)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--predict-samples", type=int, default=2048)
    parser.add_argument("--predict-batch-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--xla", choices=["auto", "true", "false"], nargs="+", default=["auto"],
                        help="TrainConfig.xla (auto: each backend compiles its steps its fastest way); "
                             "several values measure each, e.g. --xla true false")
    parser.add_argument("--loader-workers", type=int, default=1)
    parser.add_argument("--mixed-precision", choices=["mixed_float16", "mixed_bfloat16"], default=None,
                        help="default: float32")
    args = parser.parse_args(argv)

    configs = [
        TrainConfig(batch_size=args.batch_size, xla={"auto": "auto", "true": True, "false": False}[xla],
                    mixed_precision=args.mixed_precision, loader_workers=args.loader_workers)
        for xla in args.xla
    ]
    if args.profile:
        profile = profile_train_config(args.profile)
        configs = [
            TrainConfig(batch_size=64, xla="auto", loader_workers=args.loader_workers),
            TrainConfig(batch_size=int(profile["batch_size"]), xla=profile.get("xla", "auto"),
                        mixed_precision=profile.get("mixed_precision"),
                        loader_workers=int(profile.get("loader_workers", 1))),
        ]

    rng = np.random.default_rng(0)
    largest_batch = max(config.batch_size for config in configs)
    n_samples = max(args.train_batches * largest_batch * 9 // 8 + 1, args.predict_samples)
    labels = rng.integers(0, 2, size=n_samples)
    with tempfile.TemporaryDirectory() as scratch:
        # The pipeline reads a memmapped .npy file, as the train stage does.
        path = Path(scratch) / "stamps.npy"
        np.save(path, rng.integers(0, 256, size=(n_samples, 51, 51, 3), dtype=np.uint8))
        stamps_on_disk = np.load(path, mmap_mode="r")
        results = [
            bench_model(name=name, stamps_on_disk=stamps_on_disk, labels=labels, train_config=config,
                        train_batches=args.train_batches, epochs=args.epochs, predict_samples=args.predict_samples,
                        predict_batch_size=max(args.predict_batch_size, config.batch_size), repeats=args.repeats)
            for config in configs
            for name in args.models
        ]
    report = {
        "benchmark": "cnn",
        "backend": keras.backend.backend(),
        "devices": [str(device) for device in keras.distribution.list_devices()] if keras.backend.backend() == "jax"
        else None,
        "keras": keras.__version__,
        "environment": software_environment(),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "settings": vars(args),
        "results": results,
    }
    if args.profile:
        report["table"] = [
            {key: row[key] for key in ("model", "batch_size", "precision", "train_samples_per_s_pipeline",
                                       "train_samples_per_s_plain_fit", "inference_samples_per_s")}
            | {"paper_gpu_train_samples_per_s": row.get("paper_gpu_train_samples_per_s")}
            for row in results
        ]
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
