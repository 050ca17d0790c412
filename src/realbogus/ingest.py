"""Ingest a release once: every stamp into one ``stamps.npy`` plus a ``catalog.parquet``.

Output folder (written whole: built under a temporary name, renamed at the end):

* ``stamps.npy`` -- (N, 51, 51, 3), channels (template, search, difference); uint8 for GIF
  stamps (the CNN input), float32 for FITS.  Row ``i`` is the ``i``-th ID in ascending
  order, so a rerun gives a byte-identical file.
* ``catalog.parquet`` -- one row per sample: ``id`` int64, ``row`` int64 (index into
  stamps.npy), ``label`` int8 (= OBJECT_TYPE, 1 artifact), ``band``, the 38 features under
  their release names, ``source`` (tar path relative to the release, "" when unpacked) and
  ``folder`` (member folder); for FITS also ``n_nan_pixels`` and ``n_masked_pixels``.
* ``skipped.csv`` -- what was skipped and why (only ever non-empty with on_error="skip").
* ``ingest_report.json`` -- counts: samples, skipped IDs by reason, NaN / masked pixels.

Memory stays bounded whatever N is: the tars are streamed, stamps are decoded in batches
by a process pool with a fixed number of batches in flight, and workers write their rows
straight into the array file with ``os.pwrite`` (page cache, not process memory).
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import json
import multiprocessing
import os
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from realbogus.atomic import atomic_path, check_output
from realbogus.release.layout import (
    CHANNELS,
    FEATURE_NAMES,
    FEATURE_TABLE_NAME,
    LABEL_COLUMN,
    STAMP_FORMATS,
    STAMP_SHAPE,
)
from realbogus.release.reader import (
    Issue,
    ReleaseError,
    SampleFiles,
    count_invalid_pixels,
    decode_sample,
    iter_release_samples,
    read_feature_table,
)

STAMPS_FILE = "stamps.npy"
CATALOG_FILE = "catalog.parquet"
SKIPPED_FILE = "skipped.csv"
REPORT_FILE = "ingest_report.json"
ON_ERROR_CHOICES = ("raise", "skip")


@dataclass(frozen=True)
class IngestSummary:
    """What one ingest wrote: paths and counts."""

    out_dir: Path
    n_samples: int
    n_skipped_ids: int
    stamp_format: str
    issues_by_reason: dict[str, int]


# --------------------------------------------------------------------------- worker side


def _worker_ignores_interrupts() -> None:
    """Pool initializer: Ctrl-C reaches the whole process group, but only the main process
    should act on it (it cancels the queue and waits for the workers to exit)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _decode_batch(npy_path: str, data_offset: int, stamp_format: str,
                  batch: list[tuple[int, SampleFiles]]) -> list[tuple[int, str | None, int, int]]:
    """Decode samples and write each to its row of the .npy file.

    Returns per sample (row, error message or None, NaN pixel count, masked pixel count).
    Runs in a pool process; rows of different batches never overlap, so concurrent
    ``pwrite``s are safe.
    """
    row_nbytes = int(np.prod(STAMP_SHAPE)) * (1 if stamp_format == "gif" else 4)
    results: list[tuple[int, str | None, int, int]] = []
    descriptor = os.open(npy_path, os.O_WRONLY)
    try:
        for row, sample in batch:
            try:
                stamps = decode_sample(sample, stamp_format=stamp_format)
            except ReleaseError as error:
                results.append((row, str(error), 0, 0))
                continue
            n_nan, n_masked = (0, 0) if stamp_format == "gif" else count_invalid_pixels(stamps)
            os.pwrite(descriptor, stamps.tobytes(), data_offset + row * row_nbytes)
            results.append((row, None, n_nan, n_masked))
    finally:
        os.close(descriptor)
    return results


# --------------------------------------------------------------------------- main side


def _create_npy(path: Path, *, n_rows: int, dtype: np.dtype) -> int:
    """Create an .npy of shape (n_rows, 51, 51, 3) (sparse, unfilled); return its data offset."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n_rows, *STAMP_SHAPE))
    offset = int(array.offset) if n_rows else os.path.getsize(path)
    del array
    return offset


def _compact_npy(source: Path, source_offset: int, target: Path, *, keep: np.ndarray,
                 dtype: np.dtype, chunk_rows: int = 2048) -> None:
    """Copy the kept rows of ``source`` to a new .npy ``target``, a chunk at a time."""
    row_nbytes = int(np.prod(STAMP_SHAPE)) * dtype.itemsize
    target_offset = _create_npy(target, n_rows=int(keep.sum()), dtype=dtype)
    with open(source, "rb") as reader, open(target, "r+b") as writer:
        writer.seek(target_offset)
        for start in range(0, len(keep), chunk_rows):
            stop = min(start + chunk_rows, len(keep))
            reader.seek(source_offset + start * row_nbytes)
            block = np.frombuffer(reader.read((stop - start) * row_nbytes), dtype=np.uint8)
            block = block.reshape(stop - start, row_nbytes)
            writer.write(block[keep[start:stop]].tobytes())


class _IssueLog:
    """Collects issues; in raise mode turns the first into a ``ReleaseError``."""

    def __init__(self, on_error: str) -> None:
        self.on_error = on_error
        self.issues: list[Issue] = []

    def __call__(self, issue: Issue) -> None:
        if self.on_error == "raise":
            raise ReleaseError(issue.message)
        self.issues.append(issue)


def ingest_release(
    *,
    release_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    stamp_format: str = "gif",
    on_error: str = "raise",
    workers: int = 2,
    feature_table: str | os.PathLike[str] | None = None,
    batch_size: int = 256,
    progress: bool = True,
    force: bool = False,
) -> IngestSummary:
    """Read a release (tars or unpacked folders) and write ``out_dir`` once, atomically.

    Parameters
    ----------
    release_dir:
        Folder with the stamps (``*.tar`` or unpacked) and the feature table.
    out_dir:
        Output folder; replaced whole on success, untouched on failure.
    stamp_format:
        ``"gif"`` (display-scaled uint8, the paper's CNN input) or ``"fits"`` (float32).
    on_error:
        ``"raise"``: the first problem stops the ingest with a ``ReleaseError`` naming the
        file / ID.  ``"skip"``: drop the affected IDs and list them in ``skipped.csv``.
    workers:
        Decoding processes; 0 or 1 decodes in this process.
    feature_table:
        Path of the feature CSV; default ``release_dir/autoscan_features.3.csv``.
    batch_size:
        Samples per decoding task.
    force:
        Replace an existing ``out_dir`` even when it is not an earlier ingest output
        (never the release itself, a folder holding it, or the current folder; see
        :func:`realbogus.atomic.check_output`).
    """

    if stamp_format not in STAMP_FORMATS:
        raise ValueError(f"stamp_format must be one of {STAMP_FORMATS}, got {stamp_format!r}")
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
    if int(workers) < 0 or int(batch_size) < 1:
        raise ValueError(f"workers must be >= 0 and batch_size >= 1, got {workers}, {batch_size}")
    release_path = Path(release_dir)
    if not release_path.is_dir():
        raise ReleaseError(f"release folder {release_path} does not exist or is not a folder")
    table_path = Path(feature_table) if feature_table is not None else release_path / FEATURE_TABLE_NAME
    output_rule = {"command": "ingest", "inputs": (release_path, table_path), "force": force}
    check_output(out_dir, is_dir=True, **output_rule)  # before any work: refuse early
    log = _IssueLog(on_error)
    dtype = np.dtype(np.uint8 if stamp_format == "gif" else np.float32)

    rejected_ids: set[int] = set()  # IDs of feature rows refused (and reported) by the reader

    def on_table_issue(issue: Issue) -> None:
        if issue.detection_id is not None:
            rejected_ids.add(issue.detection_id)
        log(issue)

    table = read_feature_table(table_path, on_issue=on_table_issue)
    duplicated = table["ID"].duplicated(keep=False)
    if duplicated.any():
        for detection_id in sorted(set(table.loc[duplicated, "ID"].tolist())):
            log(Issue(int(detection_id), str(table_path), "duplicate_id",
                      f"feature table {table_path}: ID {detection_id} appears "
                      f"{int((table['ID'] == detection_id).sum())} times; expected unique IDs"))
        table = table.loc[~duplicated]
    table = table.sort_values("ID", kind="stable").reset_index(drop=True)
    ids = table["ID"].to_numpy(np.int64)
    n_rows = len(ids)

    stamps_seen = np.zeros(n_rows, dtype=bool)
    dropped = np.zeros(n_rows, dtype=bool)
    source_code = np.full(n_rows, -1, dtype=np.int32)
    folder_code = np.full(n_rows, -1, dtype=np.int32)
    nan_pixels = np.zeros(n_rows, dtype=np.int32)
    masked_pixels = np.zeros(n_rows, dtype=np.int32)
    codes: dict[str, dict[str, int]] = {"source": {}, "folder": {}}

    def row_of(detection_id: int) -> int | None:
        index = int(np.searchsorted(ids, detection_id))
        return index if index < n_rows and ids[index] == detection_id else None

    def on_reader_issue(issue: Issue) -> None:
        if issue.detection_id is not None:
            row = row_of(issue.detection_id)
            if row is not None:
                dropped[row] = True
        log(issue)

    with atomic_path(out_dir, is_dir=True, **output_rule) as temporary_dir:
        raw_path = temporary_dir / (STAMPS_FILE + ".unfiltered")
        data_offset = _create_npy(raw_path, n_rows=n_rows, dtype=dtype)

        def absorb(results: list[tuple[int, str | None, int, int]]) -> None:
            for row, error, n_nan, n_masked in results:
                if error is not None:
                    on_reader_issue(Issue(int(ids[row]), error.split(": ", 1)[0], "corrupt_stamp", error))
                    continue
                nan_pixels[row], masked_pixels[row] = n_nan, n_masked

        pool = None
        if int(workers) > 1:
            # spawn: workers import only numpy / Pillow, not whatever the caller loaded.
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=int(workers), mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_ignores_interrupts)
        in_flight: collections.deque[concurrent.futures.Future] = collections.deque()
        bar = tqdm(total=n_rows, unit="sample", desc=f"ingest {stamp_format}", disable=not progress)
        batch: list[tuple[int, SampleFiles]] = []

        def flush() -> None:
            nonlocal batch
            if not batch:
                return
            if pool is None:
                absorb(_decode_batch(str(raw_path), data_offset, stamp_format, batch))
            else:
                in_flight.append(pool.submit(_decode_batch, str(raw_path), data_offset, stamp_format, batch))
                # A fixed number of batches in flight bounds memory whatever N is.
                while len(in_flight) >= 2 * int(workers):
                    absorb(in_flight.popleft().result())
            bar.update(len(batch))
            batch = []

        try:
            for sample in iter_release_samples(release_path, stamp_format=stamp_format,
                                               on_issue=on_reader_issue):
                row = row_of(sample.detection_id)
                where = sample.location(CHANNELS[0], stamp_format)
                if row is None:
                    if sample.detection_id in rejected_ids:
                        continue  # its feature row was refused, and reported, above
                    log(Issue(sample.detection_id, where, "no_feature_row",
                              f"ID {sample.detection_id} ({where}) has stamps but no row in "
                              f"{table_path}; expected every stamp ID in the feature table"))
                    continue
                if stamps_seen[row]:
                    first = _codes_lookup(codes, source_code[row], folder_code[row])
                    on_reader_issue(Issue(sample.detection_id, where, "duplicate_id",
                                          f"ID {sample.detection_id}: stamps found twice, in {first} "
                                          f"and {where}; expected each ID once"))
                    continue
                stamps_seen[row] = True
                source_code[row] = codes["source"].setdefault(sample.source, len(codes["source"]))
                folder_code[row] = codes["folder"].setdefault(sample.folder, len(codes["folder"]))
                batch.append((row, sample))
                if len(batch) >= int(batch_size):
                    flush()
            flush()
            while in_flight:
                absorb(in_flight.popleft().result())
        finally:
            bar.close()
            if pool is not None:
                for future in in_flight:
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)

        missing = np.flatnonzero(~stamps_seen & ~dropped)
        # Only reached in skip mode when a tar was broken: say where the stamps may have been.
        broken_tars = sorted({i.location for i in log.issues if i.reason in ("unreadable_tar", "truncated_tar")})
        maybe_in = f" (unreadable tar(s) {', '.join(broken_tars)} may have held them)" if broken_tars else ""
        for row in missing:
            log(Issue(int(ids[row]), str(table_path), "no_stamps",
                      f"ID {int(ids[row])} has a row in {table_path} but no {stamp_format} stamps "
                      f"in {release_path}{maybe_in}; expected temp/srch/diff{int(ids[row])}.{stamp_format}"))
        keep = stamps_seen & ~dropped
        n_kept = int(keep.sum())
        if n_kept == 0:
            raise ReleaseError(f"no sample of {release_path} could be ingested ({stamp_format} stamps "
                               f"joined with {table_path}); see the issues above")
        stamps_path = temporary_dir / STAMPS_FILE
        if n_kept == n_rows:
            os.replace(raw_path, stamps_path)
        else:
            _compact_npy(raw_path, data_offset, stamps_path, keep=keep, dtype=dtype)
            raw_path.unlink()

        source_names = np.array(sorted(codes["source"], key=codes["source"].get) or [""], dtype=object)
        folder_names = np.array(sorted(codes["folder"], key=codes["folder"].get) or [""], dtype=object)
        _write_catalog(temporary_dir / CATALOG_FILE, table=table, keep=keep,
                       columns_after={"source": source_names[source_code[keep]],
                                      "folder": folder_names[folder_code[keep]],
                                      **({"n_nan_pixels": nan_pixels[keep], "n_masked_pixels": masked_pixels[keep]}
                                         if stamp_format == "fits" else {})})
        del table

        issues = sorted(log.issues, key=lambda i: (i.detection_id is None, i.detection_id or 0,
                                                   i.location, i.reason))
        with open(temporary_dir / SKIPPED_FILE, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["id", "location", "reason", "message"])
            for issue in issues:
                writer.writerow(["" if issue.detection_id is None else issue.detection_id,
                                 issue.location, issue.reason, issue.message])
        issues_by_reason = dict(sorted(collections.Counter(i.reason for i in issues).items()))
        skipped_ids = {i.detection_id for i in issues if i.detection_id is not None}
        report = {
            "stamp_format": stamp_format,
            "on_error": on_error,
            "n_feature_rows": int(len(ids)),
            "n_samples": n_kept,
            "n_skipped_ids": len(skipped_ids),
            "issues_by_reason": issues_by_reason,
            "n_samples_with_nan_pixels": int(np.count_nonzero(nan_pixels[keep])),
            "n_samples_with_masked_pixels": int(np.count_nonzero(masked_pixels[keep])),
            "n_nan_pixels": int(nan_pixels[keep].sum()),
            "n_masked_pixels": int(masked_pixels[keep].sum()),
        }
        (temporary_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    return IngestSummary(out_dir=Path(out_dir), n_samples=n_kept, n_skipped_ids=len(skipped_ids),
                         stamp_format=stamp_format, issues_by_reason=issues_by_reason)


def _write_catalog(path: Path, *, table, keep: np.ndarray, columns_after: dict[str, np.ndarray]) -> None:
    """Write catalog.parquet column by column from numpy arrays (no whole-table copies)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    everything_kept = bool(keep.all())

    def kept(values: np.ndarray) -> np.ndarray:
        return values if everything_kept else values[keep]

    columns: dict[str, pa.Array] = {
        "id": pa.array(kept(table["ID"].to_numpy(np.int64))),
        "row": pa.array(np.arange(int(keep.sum()), dtype=np.int64)),
        "label": pa.array(kept(table[LABEL_COLUMN].to_numpy(np.int8))),
        "band": pa.array(kept(table["BAND"].to_numpy(dtype=object)), type=pa.string()),
    }
    for name in FEATURE_NAMES:
        if name == "BAND":
            columns[name] = columns["band"]
        else:
            # from numpy, NaN stays a float NaN (not a null), as in the release table.
            columns[name] = pa.array(kept(table[name].to_numpy(np.float64)))
    for name, values in columns_after.items():
        columns[name] = pa.array(values, type=pa.string() if values.dtype == object else None)
    pq.write_table(pa.table(columns), path)


def _codes_lookup(codes: dict[str, dict[str, int]], source: int, folder: int) -> str:
    """Human-readable location of a sample from its source and folder codes."""
    source_name = next(name for name, code in codes["source"].items() if code == source)
    folder_name = next(name for name, code in codes["folder"].items() if code == folder)
    return f"{source_name}:{folder_name}" if source_name else folder_name


def load_stamps(out_dir: str | os.PathLike[str], *, mmap: bool = True) -> np.ndarray:
    """The (N, 51, 51, 3) stamp array of an ingest output, memory-mapped read-only by default."""
    return np.load(Path(out_dir) / STAMPS_FILE, mmap_mode="r" if mmap else None)


__all__ = ["IngestSummary", "ingest_release", "load_stamps"]
