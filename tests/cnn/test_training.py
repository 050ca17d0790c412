from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from realbogus.cnn.models import CNNConfig, build_model
from realbogus.cnn.training import TrainConfig, compile_model, op_determinism, predict_artifact_scores, train_cnn
from realbogus.params import config_from_mapping

from .conftest import make_learnable_stamps

# A fast learning rate so a few epochs on ~150 samples show learning; the paper's 2e-5
# is for ~450k samples.
FAST = TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=4)


def test_paper_defaults() -> None:
    config = TrainConfig()
    assert (config.learning_rate, config.batch_size, config.max_epochs) == (2e-5, 64, 50)
    assert config.early_stopping_patience == 15 and config.restore_best_weights
    assert [config.learning_rate_at(e) for e in (0, 9, 10, 19, 20, 49)] == pytest.approx(
        [2e-5, 2e-5, 1e-5, 1e-5, 5e-6, 2e-5 / 16]
    )
    assert not (config.augment or config.multi_device or config.mixed_precision)
    assert config.xla == "auto" and config.seeds == 1  # each backend compiles its steps its fastest way


def test_xla_setting_is_auto_true_or_false() -> None:
    assert config_from_mapping(TrainConfig, {"xla": "auto"}, where="train").xla == "auto"
    assert config_from_mapping(TrainConfig, {"xla": True}, where="train").xla is True
    assert config_from_mapping(TrainConfig, {"xla": False}, where="train").xla is False
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="xla must be 'auto', true or false"):
            config_from_mapping(TrainConfig, {"xla": bad}, where="train")


def test_xla_true_that_the_backend_cannot_honour_is_an_error(small_config: CNNConfig) -> None:
    # TensorFlow's XLA has no deterministic kernels: Keras would warn and train uncompiled.
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the conflict is TensorFlow's")
    with op_determinism(enabled=True), pytest.raises(ValueError, match="xla: true cannot be honoured"):
        compile_model(model=build_model(config=small_config), train_config=TrainConfig(xla=True))


def test_progress_prints_a_header_and_one_line_per_epoch(small_config: CNNConfig, learnable_stamps) -> None:
    stamps, labels = learnable_stamps
    lines: list[str] = []
    result = train_cnn(stamps=stamps, labels=labels, train_rows=np.arange(160), val_rows=np.arange(160, 192),
                       model_config=small_config, train_config=FAST, seed=1, progress=lines.append)
    header, *epochs = lines
    assert header.startswith("training on 160 samples (validation 32), batch 32, up to 4 epochs;")
    assert len(epochs) == 4
    for number, (line, loss, val_loss) in enumerate(zip(epochs, result.history["loss"], result.history["val_loss"])):
        match = re.fullmatch(r"epoch (\d+)/4  loss (\S+)  val_loss (\S+)  ([\d.]+) s  ([\d,]+) samples/s", line)
        assert match, line
        assert int(match[1]) == number + 1
        assert float(match[2]) == pytest.approx(loss, abs=1e-4)
        assert float(match[3]) == pytest.approx(val_loss, abs=1e-4)
        assert int(match[5].replace(",", "")) > 0


def test_train_config_from_params_validates() -> None:
    def from_params(params: dict) -> TrainConfig:
        return config_from_mapping(TrainConfig, params, where="params.yaml train")

    # PyYAML (YAML 1.1) reads 2e-5, as `dvc exp run -S` writes it, as a string.
    config = from_params({"learning_rate": "2e-5", "batch_size": "128", "mixed_precision": True})
    assert (config.learning_rate, config.batch_size, config.mixed_precision) == (2e-5, 128, "mixed_float16")
    assert from_params({"mixed_precision": False}).mixed_precision is None
    with pytest.raises(ValueError, match=r"params.yaml train.learning_rate: expected a number, got 'fast'"):
        from_params({"learning_rate": "fast"})
    with pytest.raises(ValueError, match=r"params.yaml train: unknown key\(s\) \['batchsize'\]"):
        from_params({"batchsize": 64})
    with pytest.raises(ValueError, match="mixed_precision"):
        from_params({"mixed_precision": "float8"})


def test_one_step_changes_weights(small_config: CNNConfig, learnable_stamps) -> None:
    stamps, labels = learnable_stamps
    model = compile_model(model=build_model(config=small_config), train_config=FAST)
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(stamps[:32], labels[:32].astype(np.float32))
    after = model.get_weights()
    trainable_changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    assert all(trainable_changed[:2]), "first conv kernel and bias moved"
    assert sum(trainable_changed) >= len(model.trainable_weights)


def test_loss_falls_and_scores_separate_classes(small_config: CNNConfig, learnable_stamps) -> None:
    stamps, labels = learnable_stamps
    epochs_seen: list[int] = []
    result = train_cnn(
        stamps=stamps,
        labels=labels,
        train_rows=np.arange(0, 160),
        val_rows=np.arange(160, 192),
        model_config=small_config,
        train_config=FAST,
        seed=1,
        on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch),
    )
    assert epochs_seen == [0, 1, 2, 3] and result.epochs_run == 4
    assert result.history["loss"][-1] < 0.7 * result.history["loss"][0]
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert result.best_epoch == int(np.argmin(result.history["val_loss"]))
    train_scores = predict_artifact_scores(model=result.model, stamps=stamps, rows=np.arange(160))
    assert train_scores.dtype == np.float32 and train_scores.shape == (160,)
    assert train_scores[labels[:160] == 1].mean() > train_scores[labels[:160] == 0].mean() + 0.3


def test_recorded_epoch_end_scores_are_each_epochs_final_model_scores(small_config: CNNConfig,
                                                                       learnable_stamps) -> None:
    stamps, labels = learnable_stamps
    train_rows = np.arange(160)
    result = train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=np.array([], dtype=np.int64),
                       model_config=small_config, train_config=FAST, seed=1, record_training=True)
    scores = result.recorded_scores
    assert scores.shape == (result.epochs_run, train_rows.size) and scores.dtype == np.float32
    # Without validation the final weights are the last epoch's: its record is their score.
    np.testing.assert_allclose(scores[-1], predict_artifact_scores(model=result.model, stamps=stamps,
                                                                   rows=train_rows), atol=1e-5)
    margin = np.where(labels[train_rows] == 1, 2 * scores - 1, 1 - 2 * scores)
    assert margin[-1].mean() > margin[0].mean()
    with pytest.raises(ValueError, match=r"record_from must be one of \('epoch_end', 'step'\), got 'steps'"):
        train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=np.arange(160, 192),
                  model_config=small_config, train_config=FAST, seed=1, record_training=True, record_from="steps")


def test_recorded_step_scores_give_each_training_row_its_score_epoch_by_epoch(small_config: CNNConfig,
                                                                              learnable_stamps) -> None:
    stamps, labels = learnable_stamps
    train_rows = np.arange(159, -1, -1)  # any order: the scores follow it
    result = train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=np.arange(160, 192),
                       model_config=small_config, train_config=FAST, seed=1, record_training=True,
                       record_from="step")
    scores = result.recorded_scores
    assert scores.shape == (result.epochs_run, train_rows.size) and scores.dtype == np.float32
    assert np.all((scores >= 0) & (scores <= 1))
    # The model learns the training rows as it trains: their margin grows.
    margin = np.where(labels[train_rows] == 1, 2 * scores - 1, 1 - 2 * scores)
    assert margin[-1].mean() > margin[0].mean() + 0.2
    # The step's scores (dropout and batch statistics of the step, weights of the moment)
    # follow the final model's own scores of the same rows; rows out of place would not.
    final = predict_artifact_scores(model=result.model, stamps=stamps, rows=train_rows)
    assert np.corrcoef(scores[-1], final)[0, 1] > 0.5
    # The model trained is the one returned: the recording layer is not part of it.
    assert "step_scores" not in [layer.name for layer in result.model.layers]
    # Recording changes nothing in the training: the same run without it learns the same.
    unrecorded = train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=np.arange(160, 192),
                           model_config=small_config, train_config=FAST, seed=1)
    assert unrecorded.recorded_scores is None
    assert unrecorded.history == result.history
    for recorded_weights, plain_weights in zip(result.model.get_weights(), unrecorded.model.get_weights(), strict=True):
        np.testing.assert_array_equal(recorded_weights, plain_weights)


def test_best_val_loss_weights_are_restored(small_config: CNNConfig, learnable_stamps) -> None:
    stamps, labels = learnable_stamps
    val_rows = np.arange(160, 192)
    result = train_cnn(
        stamps=stamps,
        labels=labels,
        train_rows=np.arange(160),
        val_rows=val_rows,
        model_config=small_config,
        train_config=FAST,
        seed=2,
    )
    restored_val_loss = result.model.evaluate(stamps[val_rows], labels[val_rows].astype(np.float32), verbose=0)[0]
    assert restored_val_loss == pytest.approx(min(result.history["val_loss"]), rel=1e-4)


def test_seeded_rerun_reproduces_weights_and_metrics_from_a_memmap(
    tmp_path: Path, small_config: CNNConfig, learnable_stamps
) -> None:
    stamps, labels = learnable_stamps
    np.save(tmp_path / "stamps.npy", stamps)
    on_disk = np.load(tmp_path / "stamps.npy", mmap_mode="r")
    config = TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=2, augment=True)

    def run(seed: int, array: np.ndarray):
        return train_cnn(
            stamps=array,
            labels=labels,
            train_rows=np.arange(128),
            val_rows=np.arange(128, 192),
            model_config=small_config,
            train_config=config,
            seed=seed,
        )

    first, second, other_seed = run(5, on_disk), run(5, stamps), run(6, on_disk)
    assert first.history == second.history
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert first.history != other_seed.history


def test_bad_training_inputs_name_the_problem(small_config: CNNConfig, learnable_stamps) -> None:
    stamps, labels = learnable_stamps
    common = {"stamps": stamps, "model_config": small_config, "train_config": FAST, "seed": 0}
    with pytest.raises(ValueError, match="overlap"):
        train_cnn(labels=labels, train_rows=np.arange(10), val_rows=np.arange(5, 15), **common)
    bad_labels = labels.copy()
    bad_labels[3] = 2
    with pytest.raises(ValueError, match="0 \\(non-artifact\\) or 1"):
        train_cnn(labels=bad_labels, train_rows=np.arange(10), val_rows=np.arange(10, 20), **common)
    with pytest.raises(ValueError, match="val_rows holds row indices outside"):
        train_cnn(labels=labels, train_rows=np.arange(10), val_rows=np.array([500]), **common)
    with pytest.raises(ValueError, match="exactly one of model_config"):
        train_cnn(labels=labels, train_rows=np.arange(10), val_rows=np.arange(10, 20), initial_model="m.keras",
                  **common)


_TWO_DEVICE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    # Split the one CPU into two logical devices before TensorFlow initialises.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from conftest import make_learnable_stamps
    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, predict_artifact_scores, train_cnn

    stamps, labels = make_learnable_stamps(n_samples=192, seed=7)
    result = train_cnn(
        stamps=stamps, labels=labels, train_rows=np.arange(160), val_rows=np.arange(160, 192),
        model_config=CNNConfig(filters=(6, 8), kernel=3, pool=2, strides=(1, 1), dense_units=8),
        train_config=TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=4, multi_device=True),
        seed=1,
    )
    scores = predict_artifact_scores(model=result.model, stamps=stamps, rows=np.arange(160))
    print(json.dumps({
        "replicas": result.replicas,
        "loss": result.history["loss"],
        "separation": float(scores[labels[:160] == 1].mean() - scores[labels[:160] == 0].mean()),
    }))
    """
)


@pytest.mark.slow  # starts a second TensorFlow process (~10-30 s on a busy 2-core box)
def test_two_logical_devices_train_with_mirrored_strategy() -> None:
    # A subprocess: logical devices must be configured before TensorFlow starts, which
    # would clash with the TensorFlow already running in this test process.
    completed = subprocess.run(
        [sys.executable, "-c", _TWO_DEVICE_SCRIPT, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "KERAS_BACKEND": "tensorflow"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["loss"][-1] < 0.7 * report["loss"][0]
    assert report["separation"] > 0.3


_JAX_STEP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from conftest import make_learnable_stamps
    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, train_cnn
    import keras

    # Count how often the Python train step runs: once per input shape when jax.jit traces
    # it, once per batch when Keras runs it eagerly op by op.
    calls = []
    original_train_step = keras.Model.train_step

    def counting_train_step(self, *args, **kwargs):
        calls.append(1)
        return original_train_step(self, *args, **kwargs)

    keras.Model.train_step = counting_train_step
    stamps, labels = make_learnable_stamps(n_samples=192, seed=7)
    report = {"backend": keras.backend.backend()}
    for name, xla in (("default", None), ("off", False)):
        calls.clear()
        config = TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=2)
        if xla is not None:
            config = TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=2, xla=xla)
        result = train_cnn(
            stamps=stamps, labels=labels, train_rows=np.arange(160), val_rows=np.arange(160, 192),
            model_config=CNNConfig(filters=(6, 8), kernel=3, pool=2, strides=(1, 1), dense_units=8),
            train_config=config, seed=1,
        )
        report[name] = {"jit_compile": bool(result.model.jit_compile), "train_step_calls": len(calls),
                        "loss": result.history["loss"]}
    print(json.dumps(report))
    """
)


@pytest.mark.slow  # a second process with the jax backend (~20-40 s on a busy 2-core box)
def test_jax_backend_compiles_the_train_step_by_default() -> None:
    pytest.importorskip("jax")
    completed = subprocess.run(
        [sys.executable, "-c", _JAX_STEP_SCRIPT, str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "jax"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax"
    steps = 2 * (160 // 32)
    # Compiled: jax.jit traced the step once (160 = 5 full batches of 32), not once per batch.
    assert report["default"]["jit_compile"] is True
    assert report["default"]["train_step_calls"] == 1, report
    # The control: with xla false Keras on jax runs the Python step for every batch.
    assert report["off"]["jit_compile"] is False
    assert report["off"]["train_step_calls"] == steps, report
    assert report["default"]["loss"][-1] < report["default"]["loss"][0]
