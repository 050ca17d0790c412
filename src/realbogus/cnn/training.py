"""Train the CNNs with the paper's settings and score stamps with a trained model.

The defaults of :class:`TrainConfig` are Ayyar et al. 2022's: Adam at 2e-5 halved every
10 epochs, batch 64, up to 50 epochs, binary cross-entropy, early stopping on val_loss
with patience 15 and the best-val_loss weights kept.  The options (mixed precision, XLA,
rotation/flip augmentation, several devices) are off by default to match the paper;
the train and predict steps are compiled on every backend by default (``xla: auto``).

:func:`train_cnn` is the one entry point every stage uses (the train matrix, the
cross-fitting for mining, the retrain); it takes the stamp array plus row indices so the
stages choose the split and the array can stay a memmap on disk.

Distribution uses the backend's own engine: ``tf.distribute.MirroredStrategy`` on
tensorflow (the only place this package touches ``tf``; the models stay plain Keras) and
``keras.distribution.DataParallel`` on jax.  Across machines (:mod:`realbogus.cluster`:
one process per machine, started with Keras' ``KERAS_DISTRIBUTION_*`` variables set) it
is JAX's multi-process engine through ``keras.distribution``: Keras 3's ``fit`` does not
run under TensorFlow's ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585: it fails
reducing the first batch, as measured here with TensorFlow 2.21 and Keras 3.15).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np

from realbogus.cluster import ClusterSpec, cluster_from_environment
from realbogus.cnn.backend import cpu_numerics, fix_cpu_threads
from realbogus.cnn.data import StampBatches, validate_rows
from realbogus.cnn.models import CNNConfig, build_model
from realbogus.cnn.step_scores import StepScoreRecorder, StepScores
from realbogus.release.layout import check_stamp_array
from realbogus.training_dynamics import SCORE_SOURCES

MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Training settings; the defaults reproduce the paper.

    learning_rate: Adam's initial learning rate.
    lr_decay_every_epochs / lr_decay_factor: the rate is multiplied by the factor every
        that many epochs (the paper halves it every 10).
    batch_size: samples per optimiser step (the global batch when on several devices).
    max_epochs: upper limit on epochs.
    early_stopping_patience: stop after this many epochs without a lower val_loss
        (None: never stop early).
    restore_best_weights: end with the weights of the lowest-val_loss epoch.
    mixed_precision: None (float32, the paper), "mixed_float16" (GPUs) or
        "mixed_bfloat16" (recent CPUs / TPUs); in params.yaml also false / true (float16).
    xla: "auto" (default), True or False: Keras' ``jit_compile``.  "auto" lets each backend
        compile its steps the fastest way it has: jax always jits them (with False Keras on
        jax runs every op eagerly, one dispatch each); tensorflow always runs them as graphs
        (``tf.function``) and adds XLA only with a GPU (on CPU oneDNN's kernels beat XLA's,
        measured in docs/cnn.md) and without op determinism (XLA has no deterministic
        mode there); torch runs eagerly (Keras' choice; ``torch.compile`` is not used).
        True insists on XLA and is an error where the backend cannot honour it.
    augment: random 90-degree rotations and flips of the training stamps.
    multi_device: data-parallel over all local accelerators (or all logical CPU devices
        when there is no accelerator).
    deterministic: make the backend's ops deterministic so a seeded CPU rerun reproduces
        weights and metrics bit for bit (TensorFlow: ``enable_op_determinism`` while
        training, restored afterwards; it may cost speed on GPUs).
    loader_workers: threads that prefetch batches from the stamp file.
    threads: CPU threads of the backend's op pools (tensorflow), or None for its default (all
        cores).  Results depend on it bit for bit, so the pipeline fixes it in params.yaml
        (:func:`realbogus.cnn.backend.fix_cpu_threads`; set before the process's first op).
    verbose: Keras' own fit verbosity (0 silent, 1 progress bar, 2 one line per epoch);
        :func:`train_cnn`'s ``progress`` prints the project's one line per epoch instead.
    seeds: how many independent trainings (seeds from :func:`realbogus.seeds.training_seeds`)
        a CNN figure is reported over, as mean and spread; 1 trains once.  :func:`train_cnn`
        trains one seed; the caller loops (see :mod:`realbogus.seeds`).
    """

    learning_rate: float = 2e-5
    lr_decay_every_epochs: int = 10
    lr_decay_factor: float = 0.5
    batch_size: int = 64
    max_epochs: int = 50
    early_stopping_patience: int | None = 15
    restore_best_weights: bool = True
    mixed_precision: str | None = None
    xla: bool | str = "auto"
    augment: bool = False
    multi_device: bool = False
    deterministic: bool = True
    loader_workers: int = 1
    threads: int | None = None
    verbose: int = 0
    seeds: int = 1

    def __post_init__(self) -> None:
        # YAML booleans for mixed_precision: false means float32, true the GPU-standard float16 policy.
        if self.mixed_precision is False:
            object.__setattr__(self, "mixed_precision", None)
        elif self.mixed_precision is True:
            object.__setattr__(self, "mixed_precision", "mixed_float16")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig.learning_rate must be > 0, got {self.learning_rate!r}")
        if self.lr_decay_every_epochs < 1:
            raise ValueError(f"TrainConfig.lr_decay_every_epochs must be >= 1, got {self.lr_decay_every_epochs!r}")
        if not 0 < self.lr_decay_factor <= 1:
            raise ValueError(f"TrainConfig.lr_decay_factor must be in (0, 1], got {self.lr_decay_factor!r}")
        for name in ("batch_size", "max_epochs", "loader_workers", "seeds"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 0:
            raise ValueError(
                f"TrainConfig.early_stopping_patience must be >= 0 or None, got {self.early_stopping_patience!r}"
            )
        if self.mixed_precision is not None and self.mixed_precision not in MIXED_PRECISION_POLICIES:
            raise ValueError(
                f"TrainConfig.mixed_precision must be None or one of {MIXED_PRECISION_POLICIES}, "
                f"got {self.mixed_precision!r}"
            )
        if self.threads is not None and int(self.threads) < 1:
            raise ValueError(f"TrainConfig.threads must be >= 1 or None, got {self.threads!r}")
        if self.xla != "auto" and not isinstance(self.xla, bool):
            raise ValueError(f"TrainConfig.xla must be 'auto', true or false, got {self.xla!r}")

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate used during ``epoch`` (0-based): a step decay."""
        return self.learning_rate * self.lr_decay_factor ** (epoch // self.lr_decay_every_epochs)


@dataclasses.dataclass
class TrainResult:
    """What :func:`train_cnn` returns.

    model: the trained, compiled Keras model (best-val_loss weights when restored).
    history: per-epoch metrics, each a list of length ``epochs_run``: loss, accuracy,
        val_loss, val_accuracy (when there is a validation set) and learning_rate.
    best_epoch: 0-based epoch with the lowest val_loss (the last epoch without validation).
    epochs_run: epochs actually trained (fewer than max_epochs after an early stop).
    fit_seconds: wall time of the whole fit, validation included.
    replicas: devices the training ran on in sync (1 unless multi_device or across processes).
    processes: processes that trained it together (1 unless across machines); ``model`` is
        then this process's own copy of the trained weights, for predicting and saving.
    recorded_scores: (epochs_run, R) artifact scores of the R ``train_rows`` (in that
        order) in each epoch, with ``record_training``, or None (``record_from`` of
        :func:`train_cnn` says which scores).
    """

    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    fit_seconds: float
    replicas: int
    recorded_scores: np.ndarray | None = None
    processes: int = 1


class EpochLines(keras.callbacks.Callback):
    """Writes one line per epoch: epoch, loss, val_loss, seconds, training samples/s.

    Only epoch-level hooks: a per-batch hook would make Keras fetch every step's logs from
    the device, which stalls jax's asynchronous dispatch.  samples/s counts the training
    steps only (validation starts ``on_test_begin``); seconds is the whole epoch.
    """

    def __init__(self, *, write: Callable[[str], None], max_epochs: int, train_samples: int) -> None:
        super().__init__()
        self.write = write
        self.max_epochs = max_epochs
        self.train_samples = train_samples
        self._epoch_started = 0.0
        self._training_ended: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()
        self._training_ended = None

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self._training_ended is None:
            self._training_ended = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        logs = logs or {}
        training_seconds = max((self._training_ended or now) - self._epoch_started, 1e-9)
        parts = [f"epoch {epoch + 1}/{self.max_epochs}", f"loss {float(logs.get('loss', float('nan'))):.4f}"]
        if "val_loss" in logs:
            parts.append(f"val_loss {float(logs['val_loss']):.4f}")
        parts.append(f"{now - self._epoch_started:.1f} s")
        parts.append(f"{self.train_samples / training_seconds:,.0f} samples/s")
        self.write("  ".join(parts))


def seed_everything(*, seed: int) -> None:
    """Seed Python's ``random``, numpy and the backend (weight init, dropout)."""
    keras.utils.set_random_seed(seed)


@contextlib.contextmanager
def op_determinism(*, enabled: bool) -> Iterator[None]:
    """Make the backend's ops deterministic inside the block, then restore the previous mode.

    TensorFlow's switch is process-wide; restoring it keeps one training run's choice from
    leaking into the rest of the process.  Other backends are deterministic on CPU already.
    """
    if not enabled or keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    # Neither the query nor the switch-off has a public alias in TF 2.21.
    from tensorflow.python.framework import config as tf_framework_config

    was_enabled = tf_framework_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_enabled:
            tf_framework_config.disable_op_determinism()


@contextlib.contextmanager
def _dtype_policy(policy: str | None) -> Iterator[None]:
    # Layers read the global policy when they are created, so it only needs to be set
    # while the model is built; restore it so later models in this process are unaffected.
    previous = keras.config.dtype_policy()
    if policy is not None:
        keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


_JOINED: ClusterSpec | None = None  # the cluster this process joined (once per process)


def join_cluster(spec: ClusterSpec) -> None:
    """Join the processes training together (``keras.distribution.initialize``), once per process.

    Only the jax backend can: Keras 3's ``fit`` does not run under TensorFlow's
    ``MultiWorkerMirroredStrategy`` (see the module docstring).  Must come before the
    process's first jax computation.
    """
    global _JOINED
    backend = keras.backend.backend()
    if backend != "jax":
        raise ValueError(
            f"training across {spec.num_processes} processes (KERAS_DISTRIBUTION_NUM_PROCESSES) runs on the jax "
            f"backend, not {backend!r}: set KERAS_BACKEND=jax (Keras 3's fit does not run under TensorFlow's "
            "MultiWorkerMirroredStrategy, keras-team/keras#20585)")
    if _JOINED is None:
        keras.distribution.initialize(job_addresses=spec.coordinator, num_processes=spec.num_processes,
                                      process_id=spec.process_id)
        _JOINED = spec
    elif _JOINED != spec:
        raise ValueError(f"this process already joined {_JOINED}; it cannot join {spec} as well")


@contextlib.contextmanager
def distribution_scope(*, multi_device: bool, cluster: ClusterSpec | None = None) -> Iterator[int]:
    """Context in which to build, compile and fit a data-parallel model; yields the replica count.

    tensorflow: ``tf.distribute.MirroredStrategy`` over the GPUs, or over the logical CPU
    devices when there is no GPU (how the tests run it with two logical CPUs).
    jax: ``keras.distribution.DataParallel`` over ``keras.distribution.list_devices()``.
    cluster: several processes (:func:`join_cluster` first): jax's ``DataParallel`` over
    every device of every process, each process feeding its own share of each batch.
    """
    if cluster is not None:
        devices = keras.distribution.list_devices()
        # The batches are this process's share already (StampBatches), not to be split again.
        distribution = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
        with distribution.scope():
            yield len(devices)
        return
    if not multi_device:
        yield 1
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        with strategy.scope():
            yield int(strategy.num_replicas_in_sync)
    elif backend == "jax":
        devices = keras.distribution.list_devices()
        distribution = keras.distribution.DataParallel(devices=devices)
        with distribution.scope():
            yield len(devices)
    else:
        raise ValueError(
            f"multi_device training is implemented for the tensorflow and jax backends, not {backend!r}; "
            "set KERAS_BACKEND=tensorflow or jax, or multi_device: false"
        )


def compile_model(*, model: keras.Model, train_config: TrainConfig, weighted_mean: bool = False) -> keras.Model:
    """Compile with Adam, binary cross-entropy and accuracy, as the paper trained.

    ``train_config.xla`` "auto" is Keras' own per-backend choice (see :class:`TrainConfig`);
    ``model.jit_compile`` tells afterwards what it chose.  weighted_mean: a batch's loss is
    its mean over sample weights and accuracy is weighted too (padding rows of weight 0 do not
    count), for the validation batches padded across processes; without sample weights both
    are the same as unweighted.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=train_config.learning_rate),
        loss=keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight" if weighted_mean
                                             else "sum_over_batch_size"),
        # Keras applies sample weights to weighted_metrics only.
        **{"weighted_metrics" if weighted_mean else "metrics": [keras.metrics.BinaryAccuracy(name="accuracy")]},
        jit_compile=train_config.xla,
    )
    if train_config.xla is True and not model.jit_compile:
        # Keras only warns and runs uncompiled; a config that asks for XLA should not
        # silently train at a fraction of the speed it was sized for.
        raise ValueError(
            f"xla: true cannot be honoured on the {keras.backend.backend()} backend here"
            + (" with op determinism on (XLA has no deterministic kernels there): set deterministic: false or xla: auto"
               if keras.backend.backend() == "tensorflow" else ": set xla: auto")
        )
    return model


def step_compilation(model: keras.Model) -> str:
    """How the compiled ``model``'s train and predict steps run on this backend, in words."""
    backend = keras.backend.backend()
    if model.jit_compile:
        return f"{backend}, XLA-compiled steps"
    if backend == "tensorflow":
        return "tensorflow, graph steps (tf.function, no XLA)"
    return f"{backend}, eager steps (not compiled)"


def training_batches(
    *,
    stamps: np.ndarray,
    labels: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    train_config: TrainConfig,
    seed: int,
    cluster: ClusterSpec | None = None,
    local_devices: int = 1,
) -> tuple[StampBatches, StampBatches | None]:
    """The training batches (shuffled per epoch, seeded) and validation batches (None when
    ``val_rows`` is empty) that :func:`train_cnn` fits on; with ``cluster``, this process's
    share of each (see :class:`StampBatches`)."""
    sharing = {} if cluster is None else {"process_index": cluster.process_id,
                                          "process_count": cluster.num_processes, "pad_to": local_devices}
    train_batches = StampBatches(
        stamps=stamps,
        labels=labels,
        rows=train_rows,
        batch_size=train_config.batch_size,
        shuffle=True,
        seed=seed,
        augment=train_config.augment,
        workers=train_config.loader_workers,
        **sharing,
    )
    if len(val_rows) == 0:
        return train_batches, None
    val_batches = StampBatches(
        stamps=stamps,
        labels=labels,
        rows=val_rows,
        batch_size=max(train_config.batch_size, 256),  # no gradients: bigger batches are cheaper
        shuffle=False,
        workers=train_config.loader_workers,
        **sharing,
    )
    return train_batches, val_batches


def training_callbacks(
    *,
    train_config: TrainConfig,
    has_validation: bool,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    progress: Callable[[str], None] | None = None,
    train_samples: int = 0,
) -> list[keras.callbacks.Callback]:
    """The callbacks of :func:`train_cnn`: step-decayed learning rate, early stopping on
    val_loss with the best weights kept, the per-epoch hook and the epoch lines."""
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.LearningRateScheduler(lambda epoch, _rate: train_config.learning_rate_at(epoch)),
    ]
    if has_validation and train_config.early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=train_config.early_stopping_patience,
                restore_best_weights=train_config.restore_best_weights,
            )
        )
    elif has_validation and train_config.restore_best_weights:
        # No early stop but still end on the best epoch: patience beyond max_epochs never fires.
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=train_config.max_epochs + 1, restore_best_weights=True
            )
        )
    if on_epoch_end is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch_end(epoch, {k: float(v) for k, v in (logs or {}).items()})
            )
        )
    if progress is not None:
        callbacks.append(EpochLines(write=progress, max_epochs=train_config.max_epochs, train_samples=train_samples))
    return callbacks


def train_cnn(
    *,
    stamps: np.ndarray,
    labels: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    model_config: CNNConfig | None = None,
    train_config: TrainConfig,
    seed: int,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
    initial_model: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
    record_training: bool = False,
    record_from: str = "epoch_end",
) -> TrainResult:
    """Train one CNN on ``stamps[train_rows]``, validating on ``stamps[val_rows]``.

    The network is built from ``model_config`` (random weights), or, with
    ``initial_model`` (a saved .keras file, left unchanged), loaded with its trained
    weights and trained on: fine-tuning.  Exactly one of the two must be given.

    stamps: (N, 51, 51, 3) uint8, channels (template, search, difference); a
        ``np.load(..., mmap_mode="r")`` memmap is read batch by batch, never whole.
    labels: (N,) int, 1 = artifact (bogus), 0 = non-artifact (real).
    train_rows, val_rows: (R,) int row indices into ``stamps``; disjoint.  An empty
        ``val_rows`` trains without validation, early stopping or best-weight restoring.
    seed: seeds weight initialisation, dropout, shuffling and augmentation.
    on_epoch_end: called after each epoch with (0-based epoch, logs) where logs holds
        loss, accuracy, val_loss, val_accuracy and learning_rate, e.g. to log to MLflow.
    progress: called with one line of text before training (backend, how the steps are
        compiled, samples) and after each epoch (:class:`EpochLines`), e.g. ``print``.
    record_training: keep each training row's artifact score of every epoch
        (``TrainResult.recorded_scores``): the training dynamics mining reads.
    record_from: where those scores come from (``realbogus.training_dynamics.SCORE_SOURCES``):
        ``epoch_end``, one inference pass over the training rows after every epoch with that
        epoch's final weights; ``step``, the scores the training step computed as it trained
        on each row (:mod:`realbogus.cnn.step_scores`: no extra pass; one device in one
        process only, since across them a step's outputs are split).

    Across machines (``KERAS_DISTRIBUTION_*`` set, :mod:`realbogus.cluster`): every process
    calls this with the same arguments; each reads its share of each global batch of
    ``batch_size`` and they train one model (see :class:`StampBatches` for the incomplete
    last batch), and each gets back its own copy of it (``TrainResult.model``).
    """
    check_stamp_array(stamps, where="stamps")
    if record_from not in SCORE_SOURCES:
        raise ValueError(f"record_from must be one of {SCORE_SOURCES}, got {record_from!r}")
    labels = np.asarray(labels)
    if labels.shape != (len(stamps),):
        raise ValueError(f"labels must have shape ({len(stamps)},) to match stamps, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) and not np.issubdtype(labels.dtype, np.bool_):
        raise ValueError(f"labels must be integers 0/1 (1 = artifact), got dtype {labels.dtype}")
    train_rows = validate_rows(train_rows, n_samples=len(stamps), what="train_rows")
    val_rows = validate_rows(val_rows, n_samples=len(stamps), what="val_rows")
    if len(train_rows) == 0:
        raise ValueError("train_rows is empty: nothing to train on")
    bad_labels = np.setdiff1d(np.unique(labels[np.concatenate([train_rows, val_rows])]), [0, 1])
    if bad_labels.size:
        raise ValueError(f"labels must be 0 (non-artifact) or 1 (artifact); found {bad_labels[:5].tolist()}")
    overlap = np.intersect1d(train_rows, val_rows)
    if overlap.size:
        raise ValueError(f"train_rows and val_rows overlap in {overlap.size} rows, e.g. {overlap[:5].tolist()}")

    if (model_config is None) == (initial_model is None):
        raise ValueError("give exactly one of model_config (train from scratch) and initial_model (fine-tune)")

    cluster = cluster_from_environment()
    local_devices = 1
    if cluster is not None:
        join_cluster(cluster)  # before the first jax computation, seeding included
        import jax

        local_devices = len(jax.local_devices())
    fix_cpu_threads(train_config.threads)
    seed_everything(seed=seed)
    has_validation = len(val_rows) > 0
    train_batches, val_batches = training_batches(stamps=stamps, labels=labels, train_rows=train_rows,
                                                  val_rows=val_rows, train_config=train_config, seed=seed,
                                                  cluster=cluster, local_devices=local_devices)
    callbacks = training_callbacks(train_config=train_config, has_validation=has_validation,
                                   on_epoch_end=on_epoch_end, progress=progress, train_samples=len(train_rows))
    recorded: list[np.ndarray] = []

    with op_determinism(enabled=train_config.deterministic), distribution_scope(
        multi_device=train_config.multi_device, cluster=cluster
    ) as replicas:
        with _dtype_policy(train_config.mixed_precision):
            model = (build_model(config=model_config) if initial_model is None
                     else keras.saving.load_model(Path(initial_model), compile=False))
        compile_model(model=model, train_config=train_config, weighted_mean=cluster is not None)
        fit_model = model
        if record_training and record_from == "step":
            if replicas > 1 or cluster is not None:
                raise ValueError(f"training scores from the step are recorded on one device in one process, and this "
                                 f"training runs on {replicas} device(s) in {1 if cluster is None else cluster.num_processes} "
                                 f"process(es): set crossfit.margin_scores: epoch_end")
            # The fit runs a model with the recording layer on top; its weights are model's.
            step_scores = StepScores(capacity=len(train_rows), name="step_scores")
            fit_model = compile_model(model=keras.Sequential([model, step_scores], name=f"{model.name}_recording"),
                                      train_config=train_config)
            recorder = StepScoreRecorder(layer=step_scores, batches=train_batches)
            recorded = recorder.epoch_scores
            # Before the lines and the caller's hook, so an epoch's line includes its recording.
            callbacks.insert(0, recorder)
        elif record_training:
            # epoch_end: the training rows scored in inference mode with the epoch's final weights.
            callbacks.insert(0, keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: recorded.append(
                predict_artifact_scores(model=model, stamps=stamps, rows=train_rows,
                                        batch_size=max(train_config.batch_size, 256),
                                        workers=train_config.loader_workers))))
        if progress is not None:
            progress(f"training on {len(train_rows):,} samples (validation {len(val_rows):,}), "
                     f"batch {train_config.batch_size}, up to {train_config.max_epochs} epochs; "
                     f"{step_compilation(fit_model)}, {train_config.mixed_precision or 'float32'}, {replicas} device(s)"
                     + (f", {numerics}" if (numerics := cpu_numerics()) else ""))
        started = time.perf_counter()
        fit_history = fit_model.fit(
            train_batches,
            validation_data=val_batches,
            epochs=train_config.max_epochs,
            shuffle=False,  # StampBatches shuffles itself, seeded, with sorted reads
            callbacks=callbacks,
            verbose=train_config.verbose,
        )
        fit_seconds = time.perf_counter() - started

    if cluster is not None:
        model = _process_local_copy(model, train_config=train_config)
    history = {key: [float(v) for v in values] for key, values in fit_history.history.items()}
    epochs_run = len(history.get("loss", []))
    best_epoch = int(np.argmin(history["val_loss"])) if has_validation else epochs_run - 1
    return TrainResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        epochs_run=epochs_run,
        fit_seconds=fit_seconds,
        replicas=replicas,
        recorded_scores=np.stack(recorded) if recorded else None,
        processes=1 if cluster is None else cluster.num_processes,
    )


def _process_local_copy(model: keras.Model, *, train_config: TrainConfig) -> keras.Model:
    """The trained model on this process's own device, outside the distribution, to predict
    and save as any model: the distributed one's arrays span every process.  The optimizer's
    state is not copied (a fresh Adam), so the copy is for scoring and fine-tuning anew."""
    weights = model.get_weights()  # every process holds the whole, replicated weights
    local = keras.models.clone_model(model)
    local.set_weights(weights)
    return compile_model(model=local, train_config=train_config)


def predict_artifact_scores(
    *,
    model: keras.Model,
    stamps: np.ndarray,
    rows: np.ndarray | None = None,
    batch_size: int = 512,
    workers: int = 1,
) -> np.ndarray:
    """Artifact score (probability of label 1, bogus) of each requested stamp.

    stamps: (N, 51, 51, 3) uint8 array or memmap (read batch by batch).
    rows: (R,) row indices to score, in the order wanted; None scores all N rows.
    Returns (R,) float32 in [0, 1], aligned with ``rows``.
    """
    check_stamp_array(stamps, where="stamps")
    rows = np.arange(len(stamps)) if rows is None else validate_rows(rows, n_samples=len(stamps), what="rows")
    if len(rows) == 0:
        return np.zeros(0, dtype=np.float32)
    batches = StampBatches(
        stamps=stamps, labels=None, rows=rows, batch_size=batch_size, shuffle=False, workers=workers
    )
    artifact_score = model.predict(batches, verbose=0)
    return np.asarray(artifact_score, dtype=np.float32).reshape(-1)
