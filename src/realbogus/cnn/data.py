"""Batch pipeline: stream (stamps, labels) batches from an array file without loading it.

The ingested stamps are one (N, 51, 51, 3) uint8 array on disk.  Opened with
``np.load(path, mmap_mode="r")`` it is a ``np.memmap``; :class:`StampBatches` reads only
the rows of the current batch (indices sorted within a batch so the disk reads run
forward), so data larger than RAM trains.  It reads them with ``pread`` on the array's
file rather than through the mapping (:class:`realbogus.stamp_reader.StampFile`).  It is a ``keras.utils.PyDataset``, so it works
unchanged under the tensorflow, jax and torch backends and under a distribution strategy.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from realbogus.release.layout import check_stamp_array
from realbogus.stamp_reader import StampFile


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
    process_index, process_count: when several processes train one model together
        (:mod:`realbogus.cluster`), this process's number and their count: batch ``i`` is then
        this process's share of the ``i``-th global batch of ``batch_size`` rows (the same
        global batches as one process would see, so the training is the same).  Every process
        must take the same steps with equal shares, so shuffled (training) batches come whole
        only: the incomplete last global batch of an epoch is left out (the next epoch draws
        another order), and ``batch_size`` must divide by ``process_count * pad_to``.
        Unshuffled (validation) batches keep every row: shares are padded to equal size by
        repeating a row with sample weight 0, and every batch yields sample weights.
    pad_to: the local devices of this process; its share is a multiple of it (each gets one part).

    Batch ``i`` yields ``x`` (B, 51, 51, 3) uint8 and ``y`` (B,) float32 (and sample weights
    (B,) float32 for validation across processes).  With shuffling the samples inside a batch
    are in ascending row order: the batch is the same set (the loss and BatchNorm statistics
    are order-free), but the reads are sequential.  Without shuffling rows keep the given
    order, so predictions line up with ``rows``.
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
        process_index: int = 0,
        process_count: int = 1,
        pad_to: int = 1,
    ) -> None:
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=max_queue_size)
        check_stamp_array(stamps, where="stamps")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.stamps = stamps
        self._file = StampFile.for_array(stamps)
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
        if not 0 <= process_index < process_count or pad_to < 1:
            raise ValueError(f"process_index must be in 0..{process_count - 1} and pad_to >= 1, "
                             f"got {process_index}, {pad_to}")
        self.process_index, self.process_count, self.pad_to = int(process_index), int(process_count), int(pad_to)
        if self.process_count > 1:
            if labels is None:
                raise ValueError("prediction batches are read by one process: process_count must be 1")
            if shuffle and self.batch_size % (self.process_count * self.pad_to):
                raise ValueError(f"batch_size {self.batch_size} must divide by {self.process_count} processes x "
                                 f"{self.pad_to} device(s) each, so that every device gets an equal share")
            if shuffle and len(self.rows) < self.batch_size:
                raise ValueError(f"{len(self.rows)} rows do not make one whole batch of {self.batch_size}: "
                                 "training across processes takes whole global batches only")
        self.shuffle = shuffle
        self.seed = int(seed)
        self.augment = augment
        self.epoch = 0
        # The epoch whose order the batches last read came from: Keras may read and end an
        # epoch of its own before fitting (to build the model), so the fit's epoch k need
        # not be this count's k.
        self.served_epoch: int | None = None
        self._order = self.rows[self._batch_ordered_positions(0)]

    def _batch_ordered_positions(self, epoch: int) -> np.ndarray:
        """Positions into ``rows`` in the order of ``epoch``'s (global) batches: unshuffled,
        as given; shuffled, the epoch's seeded permutation with each batch in ascending row
        order, so that its disk reads run forward."""
        if not self.shuffle:
            return np.arange(len(self.rows))
        positions = np.random.default_rng([self.seed, epoch]).permutation(len(self.rows))
        for start in range(0, len(positions), self.batch_size):
            batch = positions[start : start + self.batch_size]
            positions[start : start + self.batch_size] = batch[np.argsort(self.rows[batch], kind="stable")]
        return positions

    def epoch_positions(self, epoch: int) -> np.ndarray:
        """Positions into ``rows`` in the order the batches of ``epoch`` yield their samples:
        what a training step's outputs line up with (:mod:`realbogus.cnn.step_scores`).  One
        process only (across processes each yields a share of every batch)."""
        if self.process_count > 1:
            raise ValueError("epoch_positions is defined for one process; across processes each reads a share")
        return self._batch_ordered_positions(epoch)

    def __len__(self) -> int:
        if self.process_count > 1 and self.shuffle:
            return len(self.rows) // self.batch_size
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        batch_rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        self.served_epoch = self.epoch
        weights = None
        if self.process_count > 1:
            batch_rows, weights = self._share(batch_rows)
        if self._file is not None:
            x = self._file.read(batch_rows, shape=self.stamps.shape[1:], dtype=self.stamps.dtype)
        else:
            x = np.asarray(self.stamps[batch_rows])
        if self.augment:
            x = augment_batch(x, rng=np.random.default_rng([self.seed, self.epoch, index, 1]))
        if self.targets is None:
            return (x,)
        if weights is None or self.shuffle:
            return x, self.targets[batch_rows]
        return x, self.targets[batch_rows], weights

    def _share(self, batch_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """This process's part of a global batch and its sample weights (0 for padding)."""
        share = -(-len(batch_rows) // self.process_count)
        share = -(-share // self.pad_to) * self.pad_to
        mine = batch_rows[self.process_index * share : (self.process_index + 1) * share]
        weights = np.ones(share, dtype=np.float32)
        if len(mine) < share:
            # Repeat a real row of the batch: the padding is read like any row, and weighs nothing.
            filler = mine[-1] if len(mine) else batch_rows[-1]
            weights[len(mine):] = 0.0
            mine = np.concatenate([mine, np.full(share - len(mine), filler, dtype=mine.dtype)])
        return mine, weights

    def on_epoch_end(self) -> None:
        # Keras stops the prefetching threads before calling this, so no worker reads the
        # order while it changes.
        self.epoch += 1
        self._order = self.rows[self._batch_ordered_positions(self.epoch)]
