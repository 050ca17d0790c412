"""Batch pipeline: stream (stamps, labels) batches from an array file without loading it.

The ingested stamps are one (N, 51, 51, 3) uint8 array on disk.  Opened with
``np.load(path, mmap_mode="r")`` it is a ``np.memmap``; :class:`StampBatches` reads only
the rows of the current batch (indices sorted within a batch so the disk reads run
forward), so data larger than RAM trains.  It is a ``keras.utils.PyDataset``, so it works
unchanged under the tensorflow, jax and torch backends and under a distribution strategy.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from realbogus.release.layout import check_stamp_array


def validate_rows(rows: np.ndarray | list[int] | range, *, n_samples: int, what: str) -> np.ndarray:
    """Return ``rows`` as int64 (R,) after checking each is a row index in [0, n_samples)."""
    as_array = np.asarray(rows)
    if as_array.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of row indices, got shape {as_array.shape}")
    if as_array.size and not np.issubdtype(as_array.dtype, np.integer):
        raise ValueError(f"{what} must hold integer row indices, got dtype {as_array.dtype}")
    as_array = as_array.astype(np.int64, copy=False)
    if as_array.size and (as_array.min() < 0 or as_array.max() >= n_samples):
        bad = as_array[(as_array < 0) | (as_array >= n_samples)][:5]
        raise ValueError(f"{what} holds row indices outside [0, {n_samples}): e.g. {bad.tolist()}")
    return as_array


def augment_batch(stamps: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """Rotate each stamp by a random multiple of 90 degrees and flip it at random.

    stamps: (B, 51, 51, 3) uint8.  Returns a new (B, 51, 51, 3) uint8 array; all three
    channels of a sample get the same transform, so template/search/difference stay
    aligned.  The 8 transforms are the symmetries of the square pixel grid: they need no
    interpolation, so the uint8 values are unchanged.
    """
    quarter_turns = rng.integers(0, 4, size=len(stamps))
    flips = rng.integers(0, 2, size=len(stamps)).astype(bool)
    out = np.empty_like(stamps)
    for i in range(len(stamps)):
        stamp = np.rot90(stamps[i], k=int(quarter_turns[i]), axes=(0, 1))
        out[i] = stamp[:, ::-1] if flips[i] else stamp
    return out


class StampBatches(keras.utils.PyDataset):
    """Batches of ``(stamps[rows], labels[rows])`` read from an array or memmap.

    stamps: (N, 51, 51, 3) uint8 array or memmap; only the rows of a batch are read.
    labels: (N,) int 0/1 (1 = artifact) or None for prediction (yields stamps only).
    rows: (R,) the sample rows this dataset covers (e.g. the training split).
    batch_size: samples per batch; the last batch may be smaller.
    shuffle: reshuffle the rows each epoch (seeded by ``seed`` and the epoch number, so a
        rerun sees the same order whichever worker thread fetched a batch).
    augment: random 90-degree rotations and flips (training only; seeded the same way).
    workers: threads prefetching batches (1 = read in the training thread's generator).

    Batch ``i`` yields ``x`` (B, 51, 51, 3) uint8 and ``y`` (B,) float32.  With shuffling
    the samples inside a batch are in ascending row order: the batch is the same set (the
    loss and BatchNorm statistics are order-free), but the reads are sequential.  Without
    shuffling rows keep the given order, so predictions line up with ``rows``.
    """

    def __init__(
        self,
        *,
        stamps: np.ndarray,
        labels: np.ndarray | None,
        rows: np.ndarray,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        augment: bool = False,
        workers: int = 1,
        max_queue_size: int = 10,
    ) -> None:
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=max_queue_size)
        check_stamp_array(stamps, where="stamps")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.stamps = stamps
        self.rows = validate_rows(rows, n_samples=len(stamps), what="rows")
        if len(self.rows) == 0:
            raise ValueError("rows is empty: a dataset needs at least one sample")
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (len(stamps),):
                raise ValueError(f"labels must have shape ({len(stamps)},) like stamps, got {labels.shape}")
            # Labels are small (N bytes): keep them in memory as the float targets Keras wants.
            self.targets: np.ndarray | None = labels.astype(np.float32)
        else:
            self.targets = None
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.augment = augment
        self.epoch = 0
        self._order = self._rows_for_epoch(0)

    def _rows_for_epoch(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return self.rows
        rng = np.random.default_rng([self.seed, epoch])
        return self.rows[rng.permutation(len(self.rows))]

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        batch_rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.shuffle:
            batch_rows = np.sort(batch_rows)
        # Fancy indexing a memmap reads just these rows from the file.
        x = np.asarray(self.stamps[batch_rows])
        if self.augment:
            x = augment_batch(x, rng=np.random.default_rng([self.seed, self.epoch, index, 1]))
        if self.targets is None:
            return (x,)
        return x, self.targets[batch_rows]

    def on_epoch_end(self) -> None:
        # Keras stops the prefetching threads before calling this, so no worker reads the
        # order while it changes.
        self.epoch += 1
        self._order = self._rows_for_epoch(self.epoch)
