"""One CNN trained by two processes on 127.0.0.1 (JAX's multi-process engine through
keras.distribution, as across machines), and how each process's share of a batch is cut."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from realbogus.cluster import ADDRESS_VARIABLE, PROCESS_ID_VARIABLE, PROCESSES_VARIABLE
from realbogus.cnn.data import StampBatches

from .conftest import make_learnable_stamps


def _shares(stamps, labels, rows, *, shuffle: bool, batch_size: int, count: int, pad_to: int = 1):
    return [StampBatches(stamps=stamps, labels=labels, rows=rows, batch_size=batch_size, shuffle=shuffle, seed=4,
                         process_index=index, process_count=count, pad_to=pad_to) for index in range(count)]


def test_each_process_reads_its_share_of_the_same_global_batches() -> None:
    stamps, labels = make_learnable_stamps(n_samples=120, seed=1)
    stamps[:, 0, 0, 0] = np.arange(120)  # each stamp says which row it is
    rows = np.arange(5, 105)  # 100 rows
    whole = StampBatches(stamps=stamps, labels=labels, rows=rows, batch_size=32, shuffle=True, seed=4)
    parts = _shares(stamps, labels, rows, shuffle=True, batch_size=32, count=2)
    # Training: whole global batches only (3 of 32 here; the 4 left over wait for another epoch's order).
    assert [len(part) for part in parts] == [3, 3] and len(whole) == 4
    for index in range(3):
        (x0, y0), (x1, y1) = parts[0][index], parts[1][index]
        assert x0.shape == x1.shape == (16, 51, 51, 3)
        together = np.concatenate([x0[:, 0, 0, 0], x1[:, 0, 0, 0]])
        np.testing.assert_array_equal(together, whole[index][0][:, 0, 0, 0])  # the one-process batch
        np.testing.assert_array_equal(np.concatenate([y0, y1]), labels[together])

    # Validation: every row once with weight 1; a short share is padded with weight 0.
    parts = _shares(stamps, labels, rows, shuffle=False, batch_size=64, count=3, pad_to=2)
    seen = []
    for index in range(2):
        batches = [part[index] for part in parts]
        sizes = {x.shape[0] for x, _, _ in batches}
        assert len(sizes) == 1 and sizes.pop() % 2 == 0  # equal shares, a multiple of the devices
        for x, y, weight in batches:
            seen += x[weight == 1, 0, 0, 0].tolist()
            np.testing.assert_array_equal(y, labels[x[:, 0, 0, 0]])
    assert sorted(seen) == rows.tolist()


def test_shares_that_cannot_be_equal_are_refused() -> None:
    stamps, labels = make_learnable_stamps(n_samples=40, seed=1)
    with pytest.raises(ValueError, match="batch_size 30 must divide by 4 processes x 1 device"):
        _shares(stamps, labels, np.arange(40), shuffle=True, batch_size=30, count=4)
    with pytest.raises(ValueError, match="do not make one whole batch of 64"):
        _shares(stamps, labels, np.arange(40), shuffle=True, batch_size=64, count=2)
    with pytest.raises(ValueError, match="prediction batches are read by one process"):
        StampBatches(stamps=stamps, labels=None, rows=np.arange(40), batch_size=8, shuffle=False,
                     process_index=1, process_count=2)


_TRAINING = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from conftest import make_learnable_stamps
    from realbogus.cnn.models import CNNConfig
    from realbogus.cnn.training import TrainConfig, predict_artifact_scores, train_cnn

    stamps, labels = make_learnable_stamps(n_samples=200, seed=7)
    result = train_cnn(
        stamps=stamps, labels=labels, train_rows=np.arange(128), val_rows=np.arange(128, 159),  # 31: padded
        model_config=CNNConfig(filters=(4,), kernel=3, pool=2, strides=(1,), dense_units=8),
        train_config=TrainConfig(learning_rate=3e-3, batch_size=32, max_epochs=2, early_stopping_patience=None),
        seed=3)
    np.savez(sys.argv[2] + ".npz", *result.model.get_weights())
    with open(sys.argv[2] + ".json", "w") as out:
        json.dump({"history": result.history, "replicas": result.replicas, "processes": result.processes,
                   "scores": predict_artifact_scores(model=result.model, stamps=stamps,
                                                     rows=np.arange(160, 200)).tolist()}, out)
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # three jax processes start (~20-40 s on a busy 2-core box)
def test_two_processes_train_one_model_the_same_as_one_process(tmp_path: Path) -> None:
    base = {key: value for key, value in os.environ.items()
            if key not in (ADDRESS_VARIABLE, PROCESSES_VARIABLE, PROCESS_ID_VARIABLE)}
    base["KERAS_BACKEND"] = "jax"
    port = _free_port()
    environments = [{**base, ADDRESS_VARIABLE: f"127.0.0.1:{port}", PROCESSES_VARIABLE: "2",
                     PROCESS_ID_VARIABLE: str(index)} for index in range(2)] + [base]  # + the one-process run
    # Output to files, not pipes: a process blocked on a full pipe would stall the other in a collective.
    names = [tmp_path / name for name in ("chief", "worker", "alone")]
    processes = []
    for env, name in zip(environments, names):
        with open(f"{name}.log", "w") as log:
            processes.append(subprocess.Popen([sys.executable, "-c", _TRAINING, str(Path(__file__).parent), str(name)],
                                              env=env, stdout=subprocess.DEVNULL, stderr=log))
    for process, name in zip(processes, names):
        assert process.wait(timeout=300) == 0, Path(f"{name}.log").read_text()[-3000:]
    outputs = []
    for name in names:
        output = json.loads(Path(f"{name}.json").read_text())
        with np.load(f"{name}.npz") as saved:
            output["weights"] = [saved[key] for key in saved.files]
        outputs.append(output)
    chief, worker, alone = outputs
    assert (chief["processes"], chief["replicas"], alone["processes"]) == (2, 2, 1)
    # The two processes trained one model: the same weights and curves in both, bit for bit.
    assert all(np.array_equal(a, b) for a, b in zip(chief["weights"], worker["weights"]))
    assert chief["history"] == worker["history"]
    # ... and the model one process trains on the whole batches (up to float summation order):
    # validation padded with a weight-0 row counts 31 samples, as alone.
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(chief["history"][key], alone["history"][key], rtol=1e-4, err_msg=key)
    for mine, theirs in zip(chief["weights"], alone["weights"]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(chief["scores"], alone["scores"], atol=1e-4)
    assert chief["history"]["loss"][-1] < chief["history"]["loss"][0]  # it learned
