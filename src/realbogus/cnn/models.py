"""The paper's CNNs as one parametric Keras 3 builder with models 1-4 as named presets.

Model code uses only ``keras.layers`` / ``keras.ops``, never ``tf.*``, so the same model
runs under ``KERAS_BACKEND`` tensorflow (default), jax or torch.

Architecture (Ayyar et al. 2022, section 3; DESIGN.md section 1): each block is
Conv2D(filters, kernel, strides, padding="same", relu) -> BatchNorm [-> the same conv + BN
again if ``double_conv``] [-> MaxPool(pool) unless ``pool`` is None] [-> Dropout(inner)
if set]; then Flatten -> Dropout(outer) -> Dense(dense_units, relu) -> BatchNorm ->
Dense(1, sigmoid).  The output is the *artifact score*: probability of label 1 (bogus).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

from realbogus.release.layout import STAMP_SHAPE

BATCH_NORM_EPSILON = 1e-5
BATCH_NORM_MOMENTUM = 0.99


@dataclasses.dataclass(frozen=True)
class CNNConfig:
    """The builder's knobs; one instance describes one architecture.

    filters: number of Conv2D filters in each block; its length is the number of blocks.
    kernel: square convolution kernel size (pixels).
    pool: square max-pool size after each block (stride = pool, "valid" padding, so
        51 -> 25 with pool 2 and 51 -> 17 with pool 3), or None for no pooling (also
        spelled null / 0 / "none" in params.yaml).
    strides: convolution stride of each block (same length as ``filters``); a single int
        is used for every block.
    double_conv: repeat conv + BN once more inside each block (same filters, stride 1).
    inner_dropout: dropout rate at the end of each block, or None (or 0) for none.
    outer_dropout: dropout rate after Flatten.
    dense_units: width of the hidden Dense layer.

    Built from params.yaml with :func:`realbogus.params.config_from_mapping`.
    """

    filters: tuple[int, ...]
    kernel: int
    pool: int | None = None
    strides: tuple[int, ...] | int = 1
    double_conv: bool = False
    inner_dropout: float | None = None
    outer_dropout: float = 0.3
    dense_units: int = 51

    def __post_init__(self) -> None:
        # params.yaml spellings -> one canonical value each, so equal architectures compare equal.
        filters = _as_int_tuple(self.filters, name="filters")
        canonical = {
            "filters": filters,
            "kernel": int(self.kernel),
            "pool": None if self.pool in (None, 0, "none", "None", False) else int(self.pool),
            "strides": ((int(self.strides),) * len(filters) if isinstance(self.strides, int)
                        else _as_int_tuple(self.strides, name="strides")),
            "double_conv": bool(self.double_conv),
            "inner_dropout": None if self.inner_dropout in (None, 0, "none", "None") else float(self.inner_dropout),
            "outer_dropout": float(self.outer_dropout),
            "dense_units": int(self.dense_units),
        }
        for name, value in canonical.items():
            object.__setattr__(self, name, value)
        # Validate here so a bad params.yaml fails at load time, not deep inside Keras.
        if not self.filters or any(int(f) < 1 for f in self.filters):
            raise ValueError(f"CNNConfig.filters must be a non-empty tuple of positive ints, got {self.filters!r}")
        if len(self.strides) != len(self.filters):
            raise ValueError(
                f"CNNConfig.strides must have one entry per block ({len(self.filters)} blocks), "
                f"got {self.strides!r}"
            )
        if any(int(s) < 1 for s in self.strides):
            raise ValueError(f"CNNConfig.strides must be positive ints, got {self.strides!r}")
        if int(self.kernel) < 1:
            raise ValueError(f"CNNConfig.kernel must be a positive int, got {self.kernel!r}")
        if self.pool is not None and int(self.pool) < 1:
            raise ValueError(f"CNNConfig.pool must be a positive int or None, got {self.pool!r}")
        for name in ("inner_dropout", "outer_dropout"):
            rate = getattr(self, name)
            if rate is not None and not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"CNNConfig.{name} must be in [0, 1) or None, got {rate!r}")
        if int(self.dense_units) < 1:
            raise ValueError(f"CNNConfig.dense_units must be a positive int, got {self.dense_units!r}")

    def to_params(self) -> dict[str, Any]:
        """Plain YAML/MLflow-friendly values (``config_from_mapping`` reads them back)."""
        return {
            "filters": list(self.filters),
            "kernel": self.kernel,
            "pool": self.pool,
            "strides": list(self.strides),
            "double_conv": self.double_conv,
            "inner_dropout": self.inner_dropout,
            "outer_dropout": self.outer_dropout,
            "dense_units": self.dense_units,
        }


def _as_int_tuple(value: Any, *, name: str) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"CNN model param {name!r} must be a list of ints, got {value!r}")
    return tuple(int(v) for v in value)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named architecture from the paper with its published parameter counts."""

    config: CNNConfig
    paper_trainable_params: int
    paper_total_params: int


PRESETS: dict[str, Preset] = {
    "model1": Preset(
        CNNConfig(filters=(80, 80, 80), kernel=3, pool=2, strides=(1, 1, 1)),
        paper_trainable_params=265_165,
        paper_total_params=265_747,
    ),
    "model2": Preset(
        CNNConfig(filters=(80, 80), kernel=4, pool=3, strides=(1, 1), double_conv=True),
        paper_trainable_params=414_205,
        paper_total_params=414_947,
    ),
    "model3": Preset(
        CNNConfig(filters=(120, 120), kernel=4, pool=3, strides=(1, 1), double_conv=True),
        paper_trainable_params=851_605,
        paper_total_params=852_667,
    ),
    "model4": Preset(
        CNNConfig(filters=(40, 60, 80), kernel=6, pool=None, strides=(2, 2, 1), inner_dropout=0.1),
        paper_trainable_params=953_785,
        paper_total_params=954_247,
    ),
}


def preset_config(name: str) -> CNNConfig:
    """The :class:`CNNConfig` of a paper preset ("model1" .. "model4")."""
    if name not in PRESETS:
        raise KeyError(f"unknown CNN preset {name!r}; expected one of {sorted(PRESETS)}")
    return PRESETS[name].config


def build_model(*, config: CNNConfig, name: str = "realbogus_cnn") -> keras.Model:
    """Build (not compile) the CNN described by ``config``.

    Input: (batch, 51, 51, 3) uint8 stamps, channels (template, search, difference),
    values 0..255 exactly as the paper fed them.  Output: (batch, 1) float32 artifact
    score in [0, 1].  Under a mixed-precision dtype policy the layers compute in float16 /
    bfloat16 but the output layer stays float32 so the loss is computed stably.
    """
    stamps = keras.Input(shape=STAMP_SHAPE, dtype="uint8", name="stamps")
    # Rescaling(1.0) only casts uint8 -> the compute dtype: the paper did not normalise,
    # and a built-in layer keeps saved models loadable without custom objects.
    x = keras.layers.Rescaling(1.0, name="to_float")(stamps)
    for block, (filters, stride) in enumerate(zip(config.filters, config.strides), start=1):
        repeats = 2 if config.double_conv else 1
        for repeat in range(1, repeats + 1):
            x = keras.layers.Conv2D(
                filters,
                config.kernel,
                # The repeated conv keeps the block's resolution: the stride is applied once.
                strides=stride if repeat == 1 else 1,
                padding="same",
                activation="relu",
                name=f"block{block}_conv{repeat}",
            )(x)
            x = keras.layers.BatchNormalization(
                epsilon=BATCH_NORM_EPSILON, momentum=BATCH_NORM_MOMENTUM, name=f"block{block}_bn{repeat}"
            )(x)
        if config.pool is not None:
            # "valid" pooling (Keras default) is what reproduces the paper's parameter counts.
            x = keras.layers.MaxPooling2D(config.pool, name=f"block{block}_pool")(x)
        if config.inner_dropout is not None:
            x = keras.layers.Dropout(config.inner_dropout, name=f"block{block}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(config.outer_dropout, name="outer_dropout")(x)
    x = keras.layers.Dense(config.dense_units, activation="relu", name="dense")(x)
    x = keras.layers.BatchNormalization(epsilon=BATCH_NORM_EPSILON, momentum=BATCH_NORM_MOMENTUM, name="dense_bn")(x)
    artifact_score = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="artifact_score")(x)
    return keras.Model(stamps, artifact_score, name=name)


def count_params(model: keras.Model) -> tuple[int, int]:
    """(trainable, total) parameter counts of a built model, as Keras' summary reports them."""
    trainable = sum(_size(w) for w in model.trainable_weights)
    total = sum(_size(w) for w in model.weights)
    return trainable, total


def _size(variable: Any) -> int:
    size = 1
    for dim in variable.shape:
        size *= int(dim)
    return size


def layer_summary(model: keras.Model) -> list[tuple[str, str, tuple[int | None, ...], int]]:
    """One row per layer: (name, class name, output shape, parameter count)."""
    rows = []
    for layer in model.layers:
        output_shape = tuple(layer.output.shape) if hasattr(layer, "output") else ()
        rows.append((layer.name, type(layer).__name__, output_shape, int(layer.count_params())))
    return rows
