from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from realbogus.cnn.data import StampBatches, augment_batch


def _stamps(n: int) -> np.ndarray:
    # Row i is filled with i % 256 so a batch reveals which rows it holds.
    return np.broadcast_to((np.arange(n) % 256).astype(np.uint8)[:, None, None, None], (n, 51, 51, 3)).copy()


def test_each_epoch_covers_every_row_once_in_sorted_batches() -> None:
    stamps = _stamps(100)
    labels = (np.arange(100) % 2).astype(np.int64)
    rows = np.arange(10, 90)
    batches = StampBatches(stamps=stamps, labels=labels, rows=rows, batch_size=16, shuffle=True, seed=3)
    assert len(batches) == 5
    epochs = []
    for _ in range(2):
        seen = []
        for i in range(len(batches)):
            x, y = batches[i]
            batch_rows = x[:, 0, 0, 0].astype(np.int64)
            assert np.all(np.diff(batch_rows) > 0), "rows inside a batch are read in ascending order"
            np.testing.assert_array_equal(y, labels[batch_rows].astype(np.float32))
            seen.append(batch_rows)
        epochs.append(np.concatenate(seen))
        batches.on_epoch_end()
        np.testing.assert_array_equal(np.sort(epochs[-1]), rows)
    assert not np.array_equal(epochs[0], epochs[1]), "a new order each epoch"
    again = StampBatches(stamps=stamps, labels=labels, rows=rows, batch_size=16, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([again[i][0][:, 0, 0, 0] for i in range(len(again))]), epochs[0])


@pytest.mark.parametrize("shuffle", [True, False])
def test_epoch_positions_say_which_row_each_yielded_sample_is(shuffle: bool) -> None:
    stamps = _stamps(120)
    rows = np.arange(110, 10, -1)  # descending, with a last batch of 4
    batches = StampBatches(stamps=stamps, labels=np.zeros(120, dtype=np.int64), rows=rows, batch_size=16,
                           shuffle=shuffle, seed=5)
    for epoch in range(2):
        yielded = np.concatenate([batches[i][0][:, 0, 0, 0] for i in range(len(batches))]).astype(np.int64)
        positions = batches.epoch_positions(epoch)
        np.testing.assert_array_equal(np.sort(positions), np.arange(rows.size))
        np.testing.assert_array_equal(rows[positions], yielded)
        batches.on_epoch_end()


def test_unshuffled_batches_keep_the_given_row_order_from_a_memmap(tmp_path: Path) -> None:
    path = tmp_path / "stamps.npy"
    np.save(path, _stamps(50))
    stamps = np.load(path, mmap_mode="r")
    rows = np.array([40, 3, 17, 8, 49])
    batches = StampBatches(stamps=stamps, labels=None, rows=rows, batch_size=2, shuffle=False)
    got = np.concatenate([batches[i][0][:, 0, 0, 0] for i in range(len(batches))])
    np.testing.assert_array_equal(got, rows)
    assert len(batches[0]) == 1, "prediction batches carry stamps only"


def test_augmentation_keeps_channels_aligned_and_pixels_unchanged() -> None:
    rng = np.random.default_rng(0)
    stamps = rng.integers(0, 256, size=(32, 51, 51, 3), dtype=np.uint8)
    augmented = augment_batch(stamps, rng=np.random.default_rng(1))
    assert augmented.dtype == np.uint8 and augmented.shape == stamps.shape
    assert not np.array_equal(augmented, stamps)
    for original, moved in zip(stamps, augmented):
        # Each output is one of the 8 square symmetries applied to all channels at once.
        candidates = [np.rot90(o, k, axes=(0, 1)) for o in (original, original[:, ::-1]) for k in range(4)]
        assert any(np.array_equal(moved, c) for c in candidates)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stamps": np.zeros((4, 51, 51, 3), np.float32)}, "uint8"),
        ({"stamps": np.zeros((4, 50, 51, 3), np.uint8)}, r"\(N, 51, 51, 3\)"),
        ({"rows": np.array([0, 7])}, r"outside \[0, 4\)"),
        ({"rows": np.array([0.0, 1.0])}, "integer"),
        ({"labels": np.zeros(3)}, "labels must have shape"),
    ],
)
def test_bad_inputs_are_rejected(kwargs: dict, message: str) -> None:
    arguments = {
        "stamps": np.zeros((4, 51, 51, 3), np.uint8),
        "labels": np.zeros(4, np.int64),
        "rows": np.arange(4),
        "batch_size": 2,
        "shuffle": True,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        StampBatches(**arguments)


def test_a_stamp_file_is_read_with_pread_and_gives_the_same_batches(tmp_path) -> None:
    from realbogus.cnn.data import StampBatches
    from realbogus.stamp_reader import StampFile, read_rows

    stamps = np.random.default_rng(3).integers(0, 256, size=(50, 51, 51, 3), dtype=np.uint8)
    np.save(tmp_path / "stamps.npy", stamps)
    mapped = np.load(tmp_path / "stamps.npy", mmap_mode="r")
    assert StampFile.for_array(mapped) is not None
    # Anything but the whole mapped file is indexed as it is.
    assert StampFile.for_array(stamps) is None and StampFile.for_array(mapped[5:]) is None
    assert StampFile.for_array(mapped[:-5]) is None
    rows = np.array([7, 8, 9, 3, 40, 41, 0, 49])  # runs and jumps, not sorted
    np.testing.assert_array_equal(StampFile.for_array(mapped).read(rows, shape=(51, 51, 3), dtype=np.uint8),
                                  stamps[rows])
    np.testing.assert_array_equal(read_rows(mapped, rows), stamps[rows])
    np.testing.assert_array_equal(read_rows(mapped[5:], rows[rows < 45]), stamps[5:][rows[rows < 45]])
    labels = np.arange(50) % 2
    for shuffle in (True, False):
        from_file = StampBatches(stamps=mapped, labels=labels, rows=np.arange(3, 47), batch_size=8, shuffle=shuffle)
        in_memory = StampBatches(stamps=stamps, labels=labels, rows=np.arange(3, 47), batch_size=8, shuffle=shuffle)
        for index in range(len(from_file)):
            for mine, theirs in zip(from_file[index], in_memory[index]):
                np.testing.assert_array_equal(mine, theirs)
    # A file cut short is an error naming it, not a batch of garbage.
    with open(tmp_path / "stamps.npy", "r+b") as handle:
        handle.truncate(handle.seek(0, 2) - 51 * 51 * 3)
    reader = StampFile(path=str(tmp_path / "stamps.npy"), offset=int(mapped.offset), row_nbytes=51 * 51 * 3, n_rows=50)
    with pytest.raises(OSError, match="stamps.npy: ended at byte"):
        reader.read(np.array([49]), shape=(51, 51, 3), dtype=np.uint8)
