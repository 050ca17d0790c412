"""Rows of the ingested stamp array, read without mapping the file into the process.

``np.load(stamps.npy, mmap_mode="r")`` gives a memmap, and indexing it reads the rows
through the mapping: cheap, but every page read that way stays in the process's resident
memory (the kernel maps up to 64 KB around each page it faults in), so a pass over a large
release, or a sample of rows spread over it, shows the whole file as RSS: 7 GB for the full
898,963-sample release.  Read with ``pread`` the same pages are the kernel's page cache,
outside the process (``benchmarks/bench_stamp_reading.py``).
"""

from __future__ import annotations

import os
import threading

import numpy as np


class StampFile:
    """The file behind a whole, C-ordered stamp memmap, read row by row with ``pread``.

    :meth:`for_array` gives None for anything else (an array in memory, a view of part of a
    memmap): those are indexed as they are.
    """

    def __init__(self, *, path: str, offset: int, row_nbytes: int, n_rows: int) -> None:
        self.path, self.offset, self.row_nbytes, self.n_rows = path, offset, row_nbytes, n_rows
        self._descriptor: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_array(cls, stamps: np.ndarray) -> StampFile | None:
        if not isinstance(stamps, np.memmap) or not stamps.flags.c_contiguous or stamps.filename is None:
            return None
        row_nbytes = int(np.prod(stamps.shape[1:])) * stamps.dtype.itemsize
        try:
            size = os.path.getsize(stamps.filename)
        except OSError:
            return None
        # The whole array, as np.load maps it (a view of part of it has its parent's offset).
        if int(stamps.offset) + len(stamps) * row_nbytes != size:
            return None
        return cls(path=str(stamps.filename), offset=int(stamps.offset), row_nbytes=row_nbytes, n_rows=len(stamps))

    def _fd(self) -> int:
        with self._lock:
            if self._descriptor is None:
                self._descriptor = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            return self._descriptor

    def read(self, rows: np.ndarray, *, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """The rows (in the given order) as a new array: one ``pread`` per run of consecutive rows."""
        out = np.empty((len(rows), *shape), dtype=dtype)
        flat = out.reshape(len(rows), -1).view(np.uint8)
        if len(rows) == 0:
            return out
        descriptor = self._fd()
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        for start, stop in zip(np.concatenate([[0], breaks]), np.concatenate([breaks, [len(rows)]])):
            buffer = memoryview(flat[start:stop]).cast("B")
            position = self.offset + int(rows[start]) * self.row_nbytes
            done = 0
            while done < len(buffer):
                got = os.preadv(descriptor, [buffer[done:]], position + done)
                if got <= 0:
                    raise OSError(f"{self.path}: ended at byte {position + done}, expected {len(buffer) - done} "
                                  "more bytes of stamps (was the file cut short?)")
                done += got
        return out

    def close(self) -> None:
        with self._lock:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None

    def __del__(self) -> None:
        self.close()


def read_rows(stamps: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``stamps[rows]`` as a new array; from the file with ``pread`` when ``stamps`` is a whole memmap."""
    rows = np.asarray(rows, dtype=np.int64)
    reader = StampFile.for_array(stamps)
    if reader is None:
        return np.asarray(stamps[rows])
    try:
        return reader.read(rows, shape=stamps.shape[1:], dtype=stamps.dtype)
    finally:
        reader.close()
