"""Each training sample's artifact score as the training step itself computed it.

The cross-fit records the training dynamics mining reads (the area under the margin,
:mod:`realbogus.training_dynamics`).  Pleiss et al. (2020) take the margin from the
forward pass that trains on the sample, which the step computes anyway: recording it costs
no extra pass over the data.  :class:`StepScores` is an identity layer put on top of the
model for the fit only; in training mode it writes each batch's output into a buffer of one
slot per training sample, in the order the batches come.  :class:`StepScoreRecorder` reads
the buffer at the end of every epoch and puts the scores back in the training rows' order
(:meth:`realbogus.cnn.data.StampBatches.epoch_positions` of the epoch the batches came from,
``served_epoch``, says which sample each slot held).

These are the scores the model gave while it learned: with the batch's augmentation and
dropout, and the weights of that step.  Written with ``keras.ops`` only, so they record the
same way under every backend's compiled steps.  One device in one process: across devices
or processes a step's outputs are split among them, and :func:`realbogus.cnn.training.train_cnn`
refuses ``record_from="step"`` there (its default scoring pass after each epoch works
everywhere).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from realbogus.cnn.data import StampBatches


class StepScores(keras.layers.Layer):
    """Identity on the (B, 1) scores; in training mode also writes them, as float32, into
    the ``scores`` buffer from slot ``filled`` on and advances ``filled`` by B.

    capacity: the slots, one per sample of an epoch.  Non-trainable state, so every
    backend's compiled train step carries it like BatchNormalization's moving statistics.
    """

    def __init__(self, capacity: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = int(capacity)

    def build(self, input_shape) -> None:
        self.scores = self.add_weight(shape=(self.capacity,), initializer="zeros", trainable=False,
                                      dtype="float32", name="scores")
        self.filled = self.add_weight(shape=(), initializer="zeros", trainable=False, dtype="int32", name="filled")

    def call(self, inputs, training=None):
        if training:
            # A record, not part of the loss: no gradient flows through it.
            values = ops.reshape(ops.cast(ops.stop_gradient(inputs), "float32"), (-1,))
            start = ops.convert_to_tensor(self.filled)
            slots = ops.expand_dims(start + ops.arange(ops.shape(values)[0], dtype="int32"), 1)
            self.scores.assign(ops.scatter_update(ops.convert_to_tensor(self.scores), slots, values))
            self.filled.assign(start + ops.shape(values)[0])
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class StepScoreRecorder(keras.callbacks.Callback):
    """Empties ``layer`` before each epoch and, after it, keeps the epoch's scores aligned
    with ``batches.rows``: ``epoch_scores`` is then a list of (R,) float32 arrays, one per
    epoch run.  ``batches`` must be the training batches the fit iterates, one slot each."""

    def __init__(self, *, layer: StepScores, batches: StampBatches) -> None:
        super().__init__()
        if layer.capacity != len(batches.rows):
            raise ValueError(f"the layer has {layer.capacity} slots for {len(batches.rows)} training rows")
        self.layer = layer
        self.batches = batches
        self.epoch_scores: list[np.ndarray] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.layer.filled.assign(0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        filled = int(ops.convert_to_numpy(self.layer.filled.value))
        if filled != self.layer.capacity:
            raise RuntimeError(f"epoch {epoch}: the training steps wrote {filled} scores for "
                               f"{self.layer.capacity} training rows (a step skipped or repeated a batch)")
        if self.batches.served_epoch is None:
            raise RuntimeError(f"epoch {epoch}: the training batches served no batch")
        in_step_order = np.asarray(ops.convert_to_numpy(self.layer.scores.value), dtype=np.float32)
        aligned = np.empty_like(in_step_order)
        aligned[self.batches.epoch_positions(self.batches.served_epoch)] = in_step_order
        self.epoch_scores.append(aligned)
