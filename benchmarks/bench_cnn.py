"""Benchmark the paper's CNNs on this machine; prints JSON.

For each model: inference samples/s (``predict_artifact_scores``), training samples/s
through the project's memmap batch pipeline (``StampBatches`` + ``model.fit``) and through
a plain ``model.fit`` on in-memory numpy arrays, measured alternately in the same run, and
their ratio (goal >= 0.95: the pipeline is not the bottleneck).  Rates are steady-state:
timed from the end of the ``--skip``-th batch to the end of the last, so one-off graph
tracing / XLA compilation is excluded.  Medians over ``--repeats``.

    python benchmarks/bench_cnn.py --models model1 model2 --train-batches 30 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from realbogus.cnn.data import StampBatches  # noqa: E402
from realbogus.cnn.models import build_model, preset_config  # noqa: E402
from realbogus.cnn.training import TrainConfig, compile_model, predict_artifact_scores, seed_everything  # noqa: E402


class _BatchClock(keras.callbacks.Callback):
    """Records the wall time at the end of every training batch."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.times.append(time.perf_counter())


def _steady_rate(times: list[float], *, batch_size: int, skip: int) -> float:
    """Samples/s between the end of batch ``skip`` and the end of the last batch."""
    timed = times[skip:]
    if len(timed) < 2:
        raise ValueError("too few batches to time; raise --train-batches")
    return (len(timed) - 1) * batch_size / (timed[-1] - timed[0])


def _fit_rate(model: keras.Model, data, *, labels=None, batch_size: int, skip: int) -> float:
    clock = _BatchClock()
    if labels is None:
        model.fit(data, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
    else:
        model.fit(data, labels, batch_size=batch_size, epochs=1, shuffle=True, verbose=0, callbacks=[clock])
    return _steady_rate(clock.times, batch_size=batch_size, skip=skip)


def bench_model(
    *,
    name: str,
    stamps_on_disk: np.ndarray,
    labels: np.ndarray,
    train_batches: int,
    batch_size: int,
    predict_samples: int,
    predict_batch_size: int,
    repeats: int,
    skip: int,
    xla: bool,
    loader_workers: int,
    mixed_precision: str | None,
) -> dict:
    seed_everything(seed=0)
    train_config = TrainConfig(batch_size=batch_size, xla=xla, mixed_precision=mixed_precision)
    previous_policy = keras.config.dtype_policy()
    if mixed_precision:
        keras.config.set_dtype_policy(mixed_precision)
    try:
        model = compile_model(model=build_model(config=preset_config(name)), train_config=train_config)
    finally:
        keras.config.set_dtype_policy(previous_policy)
    n_train = train_batches * batch_size
    rows = np.arange(n_train)
    in_memory_x = np.asarray(stamps_on_disk[:n_train])
    in_memory_y = labels[:n_train].astype(np.float32)
    pipeline = StampBatches(
        stamps=stamps_on_disk, labels=labels, rows=rows, batch_size=batch_size, shuffle=True, workers=loader_workers
    )
    pipeline_rates, plain_rates, predict_rates = [], [], []
    # Warm-up: trace / compile both paths once.
    _fit_rate(model, pipeline, batch_size=batch_size, skip=0)
    _fit_rate(model, in_memory_x, labels=in_memory_y, batch_size=batch_size, skip=0)
    predict_artifact_scores(model=model, stamps=stamps_on_disk, rows=np.arange(predict_batch_size), batch_size=predict_batch_size)
    for repeat in range(repeats):
        # Alternate which goes first so drifting load from other users hits both alike.
        order = ("pipeline", "plain") if repeat % 2 == 0 else ("plain", "pipeline")
        for which in order:
            if which == "pipeline":
                pipeline_rates.append(_fit_rate(model, pipeline, batch_size=batch_size, skip=skip))
            else:
                plain_rates.append(
                    _fit_rate(model, in_memory_x, labels=in_memory_y, batch_size=batch_size, skip=skip)
                )
        started = time.perf_counter()
        predict_artifact_scores(
            model=model, stamps=stamps_on_disk, rows=np.arange(predict_samples), batch_size=predict_batch_size
        )
        predict_rates.append(predict_samples / (time.perf_counter() - started))
    ratios = [p / q for p, q in zip(pipeline_rates, plain_rates)]
    result = {
        "model": name,
        "params": int(model.count_params()),
        "train_samples_per_s_pipeline": round(statistics.median(pipeline_rates), 1),
        "train_samples_per_s_plain_fit": round(statistics.median(plain_rates), 1),
        "pipeline_to_plain_ratio": round(statistics.median(ratios), 3),
        "inference_samples_per_s": round(statistics.median(predict_rates), 1),
        "train_samples_per_s_pipeline_all": [round(r, 1) for r in pipeline_rates],
        "train_samples_per_s_plain_fit_all": [round(r, 1) for r in plain_rates],
        "inference_samples_per_s_all": [round(r, 1) for r in predict_rates],
    }
    # Progress on stderr, so a long run shows each model as it finishes; stdout stays pure JSON.
    print(json.dumps(result), file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["model1", "model2", "model3", "model4"])
    parser.add_argument("--train-batches", type=int, default=24, help="batches per timed training epoch")
    parser.add_argument("--skip", type=int, default=2, help="leading batches left out of each timing")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--predict-samples", type=int, default=2048)
    parser.add_argument("--predict-batch-size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--xla", action="store_true", help="jit_compile the train / predict steps")
    parser.add_argument("--loader-workers", type=int, default=1)
    parser.add_argument(
        "--mixed-precision", choices=["mixed_float16", "mixed_bfloat16"], default=None, help="default: float32"
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    n_samples = max(args.train_batches * args.batch_size, args.predict_samples)
    labels = rng.integers(0, 2, size=n_samples)
    with tempfile.TemporaryDirectory() as scratch:
        # The pipeline reads a memmapped .npy file, as the train stage does.
        path = Path(scratch) / "stamps.npy"
        np.save(path, rng.integers(0, 256, size=(n_samples, 51, 51, 3), dtype=np.uint8))
        stamps_on_disk = np.load(path, mmap_mode="r")
        results = [
            bench_model(
                name=name,
                stamps_on_disk=stamps_on_disk,
                labels=labels,
                train_batches=args.train_batches,
                batch_size=args.batch_size,
                predict_samples=args.predict_samples,
                predict_batch_size=args.predict_batch_size,
                repeats=args.repeats,
                skip=args.skip,
                xla=args.xla,
                loader_workers=args.loader_workers,
                mixed_precision=args.mixed_precision,
            )
            for name in args.models
        ]
    print(
        json.dumps(
            {
                "benchmark": "cnn",
                "backend": keras.backend.backend(),
                "keras": keras.__version__,
                "python": sys.version.split()[0],
                "machine": platform.machine(),
                "cpu_count": os.cpu_count(),
                "load_average_at_end": os.getloadavg(),
                "settings": vars(args),
                "results": results,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
