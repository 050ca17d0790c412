"""TensorFlow's start-up noise stays out of the stages' and the CLI's output."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# What TensorFlow prints on a machine without a GPU when nothing quiets it.
NOISE = re.compile(r"absl::InitializeLog|oneDNN custom operations|cuda drivers|cuInit|cpu_feature_guard|"
                   r"^[IWE]\d{4} ", re.MULTILINE)

_TRAIN_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from conftest import make_learnable_stamps
    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, predict_artifact_scores, train_cnn

    stamps, labels = make_learnable_stamps(n_samples=96, seed=7)
    result = train_cnn(
        stamps=stamps, labels=labels, train_rows=np.arange(64), val_rows=np.arange(64, 96),
        model_config=CNNConfig(filters=(4,), kernel=3, pool=2, strides=(1,), dense_units=4),
        train_config=TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=2), seed=1, progress=print,
    )
    predict_artifact_scores(model=result.model, stamps=stamps, rows=np.arange(96))
    """
)


def _run(args: list[str], *, log_level: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_BACKEND"] = "tensorflow"
    if log_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = log_level
    completed = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


@pytest.mark.slow  # three fresh TensorFlow processes (~10 s each)
def test_training_and_the_cli_print_no_backend_start_up_noise() -> None:
    training = _run([sys.executable, "-c", _TRAIN_SCRIPT, str(Path(__file__).parent)], log_level=None)
    assert not NOISE.search(training.stderr), training.stderr[-3000:]
    epoch_lines = [line for line in training.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2, training.stdout
    cli = _run([str(Path(sys.executable).parent / "realbogus"), "models", "model1"], log_level=None)
    assert not NOISE.search(cli.stderr), cli.stderr[-3000:]
    assert "matches paper" in cli.stdout


@pytest.mark.slow
def test_a_log_level_the_user_sets_shows_tensorflow_logging_again() -> None:
    # The way back to TensorFlow's own start-up lines (and proof the check above can fail).
    shown = _run([sys.executable, "-c", "import realbogus.cnn"], log_level="0")
    assert NOISE.search(shown.stderr), shown.stderr[-3000:]


_THREADS_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    sys.path.insert(0, sys.argv[1])
    from conftest import make_learnable_stamps
    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, train_cnn

    stamps, labels = make_learnable_stamps(n_samples=64, seed=7)

    def train(threads):
        return train_cnn(stamps=stamps, labels=labels, train_rows=np.arange(48), val_rows=np.arange(48, 64),
                         model_config=CNNConfig(filters=(4,), kernel=3, pool=2, strides=(1,), dense_units=4),
                         train_config=TrainConfig(batch_size=16, max_epochs=1, threads=threads), seed=1)

    train(1)
    print("threads", tf.config.threading.get_intra_op_parallelism_threads(),
          tf.config.threading.get_inter_op_parallelism_threads())
    train(1)  # the same count again in the same process is fine
    try:
        train(2)
    except RuntimeError as error:
        print("error", error)
    """
)


@pytest.mark.slow  # a fresh TensorFlow process: the thread pools are fixed at its first op
def test_threads_fix_tensorflows_pools_once_per_process() -> None:
    completed = _run([sys.executable, "-c", _THREADS_SCRIPT, str(Path(__file__).parent)], log_level=None)
    assert "threads 1 1" in completed.stdout
    assert "error train threads: 2 cannot be applied: TensorFlow already runs this process with " \
           "intra/inter-op threads (1, 1)" in completed.stdout, completed.stdout


_WEIGHTS_SCRIPT = textwrap.dedent(
    """
    import hashlib, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from conftest import make_learnable_stamps
    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, train_cnn

    stamps, labels = make_learnable_stamps(n_samples=128, seed=7)
    result = train_cnn(stamps=stamps, labels=labels, train_rows=np.arange(96), val_rows=np.arange(96, 128),
                       model_config=CNNConfig(filters=(8, 8), kernel=3, pool=2, strides=(1, 1), dense_units=8),
                       train_config=TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=2, threads=1), seed=1)
    print("weights", hashlib.sha256(b"".join(w.tobytes() for w in result.model.get_weights())).hexdigest())
    import os
    print("pool variable", os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"))
    """
)

# TensorFlow names the BFC allocator it makes for CPU tensors when TF_CPU_ALLOCATOR_USE_BFC is true
# (process_state.cc); with the variable false it makes none under that name.  TensorFlow 2.21's
# oneDNN build pools large CPU tensors in an allocator of its own ("mklcpu") either way, and keeps
# statistics for both, so whether get_memory_info answers no longer tells which allocator serves.
_POOL_CREATED = "Creating new BFCAllocator named: bfc_cpu_allocator_for_gpu"
_ALLOCATOR_LOG = {"TF_CPP_MIN_LOG_LEVEL": "0", "TF_CPP_VMODULE": "bfc_allocator=1"}


def _train_in_a_fresh_process(**environment: str) -> subprocess.CompletedProcess:
    """Train the small CNN in a new process; its stdout and stderr.  The backend variables the project
    sets (oneDNN's cap, the CPU pool) take its defaults unless ``environment`` sets them."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("ONEDNN_MAX_CPU_ISA", "TF_CPU_ALLOCATOR_USE_BFC")}
    env.update(environment, KERAS_BACKEND="tensorflow")
    completed = subprocess.run([sys.executable, "-c", _WEIGHTS_SCRIPT, str(Path(__file__).parent)],
                               capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def _weights_hash(isa: str | None) -> str:
    return _weights(_train_in_a_fresh_process(**({} if isa is None else {"ONEDNN_MAX_CPU_ISA": isa})))


def _weights(completed: subprocess.CompletedProcess) -> str:
    return completed.stdout.split("weights ")[-1].split()[0]


@pytest.mark.slow  # three fresh TensorFlow processes
def test_onednn_runs_the_avx2_kernels_by_default_so_avx512_machines_match_avx2_ones() -> None:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the cap is for x86-64 CPUs")
    default = _weights_hash(None)
    assert default == _weights_hash("AVX2")
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " avx512f" in flags:
        # On an AVX-512 CPU its own kernels give other weights: the difference the cap removes.
        assert default != _weights_hash("ALL")


@pytest.mark.slow  # two fresh TensorFlow processes
def test_tensorflow_pools_its_cpu_memory_by_default_and_the_pool_changes_no_weight() -> None:
    pooled = _train_in_a_fresh_process(**_ALLOCATOR_LOG)
    assert "pool variable true" in pooled.stdout, pooled.stdout
    assert _POOL_CREATED in pooled.stderr, pooled.stderr[-3000:]
    # The user's own setting wins (TensorFlow makes no pool), and the weights are the same bit for bit.
    unpooled = _train_in_a_fresh_process(TF_CPU_ALLOCATOR_USE_BFC="false", **_ALLOCATOR_LOG)
    assert "pool variable false" in unpooled.stdout, unpooled.stdout
    assert _POOL_CREATED not in unpooled.stderr, unpooled.stderr[-3000:]
    assert _weights(pooled) == _weights(unpooled)
