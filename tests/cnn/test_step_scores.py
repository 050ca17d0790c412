"""The training step's own scores (realbogus.cnn.step_scores), lined up with the training rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from realbogus.cnn.data import StampBatches
from realbogus.cnn.step_scores import StepScoreRecorder, StepScores

import keras  # noqa: E402  (after realbogus.cnn, which starts the backend quietly)


def step_score_alignment_error() -> float:
    """Largest difference between the recorded scores of two shuffled epochs and the model's
    own predictions of the same rows.  The model has no dropout or batch statistics and
    learns nothing (learning rate 0), so the step's scores are its predictions: any row
    put in another's place shows as a difference."""
    rng = np.random.default_rng(3)
    stamps = rng.integers(0, 256, size=(130, 51, 51, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, size=130)
    rows = np.arange(125, 25, -1)  # descending, 100 rows: three batches of 32 and one of 4
    batches = StampBatches(stamps=stamps, labels=labels, rows=rows, batch_size=32, shuffle=True, seed=9)
    model = keras.Sequential([keras.Input((51, 51, 3)), keras.layers.Rescaling(1 / 255.0), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    layer = StepScores(capacity=rows.size)
    fit_model = keras.Sequential([model, layer])
    fit_model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    recorder = StepScoreRecorder(layer=layer, batches=batches)
    fit_model.fit(batches, epochs=2, shuffle=False, callbacks=[recorder], verbose=0)
    predicted = model.predict(stamps[rows], verbose=0).reshape(-1)
    assert len(recorder.epoch_scores) == 2
    return float(max(np.abs(scores - predicted).max() for scores in recorder.epoch_scores))


def test_step_scores_line_up_with_the_training_rows() -> None:
    assert step_score_alignment_error() < 1e-5


def test_the_layer_is_an_identity_that_records_only_in_training() -> None:
    layer = StepScores(capacity=6)
    values = np.array([[0.25], [0.5], [0.75]], dtype=np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(values, training=False)), values)
    assert int(keras.ops.convert_to_numpy(layer.filled.value)) == 0
    layer(values, training=True)
    layer(values[:2], training=True)
    assert int(keras.ops.convert_to_numpy(layer.filled.value)) == 5
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.scores.value), [0.25, 0.5, 0.75, 0.25, 0.5, 0.0])


def test_a_recorder_checks_its_slots_against_the_training_rows() -> None:
    stamps = np.zeros((10, 51, 51, 3), dtype=np.uint8)
    batches = StampBatches(stamps=stamps, labels=np.zeros(10, dtype=np.int64), rows=np.arange(8), batch_size=4,
                           shuffle=True)
    with pytest.raises(ValueError, match="7 slots for 8 training rows"):
        StepScoreRecorder(layer=StepScores(capacity=7), batches=batches)
    layer = StepScores(capacity=8)
    layer.build((None, 1))
    recorder = StepScoreRecorder(layer=layer, batches=batches)
    layer(np.zeros((4, 1), dtype=np.float32), training=True)  # half an epoch
    with pytest.raises(RuntimeError, match="epoch 0: the training steps wrote 4 scores for 8 training rows"):
        recorder.on_epoch_end(0)
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        StepScores(capacity=0)


_JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from test_step_scores import step_score_alignment_error
    import keras
    print(json.dumps({"backend": keras.backend.backend(), "error": step_score_alignment_error()}))
    """
)


@pytest.mark.slow  # a second process with the jax backend, whose train step is jit-compiled
def test_step_scores_line_up_under_jax_compiled_steps() -> None:
    pytest.importorskip("jax")
    completed = subprocess.run([sys.executable, "-c", _JAX_SCRIPT, str(Path(__file__).parent)],
                               capture_output=True, text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "jax"})
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax" and report["error"] < 1e-5
