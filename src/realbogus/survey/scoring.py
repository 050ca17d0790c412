"""Score new detections with a trained CNN: stream stamps in bounded batches, write a table.

Inputs (:func:`open_stamp_source` tells them apart):

* a release folder (``stamps_*.tar`` or unpacked ``temp/srch/diff<ID>.gif``), read with
  :func:`realbogus.release.reader.iter_release_samples` and decoded batch by batch;
* a single ``.tar`` of such GIF stamps (read as a one-tar release);
* an ingested folder (``stamps.npy`` + ``catalog.parquet`` from ``realbogus ingest``):
  ids from the catalog;
* an ``.npy`` array of stamps, shape (N, 51, 51, 3) uint8, memory-mapped; the id of a
  row is its row index.

Whatever N is, at most ``batch_size`` decoded stamps (plus one prefetched batch) are in
memory: the .npy is read a batch at a time with plain file reads, tars are streamed, and scores are
appended to the output file as they come (one temporary file renamed at the end, so an
interrupted run leaves no partial table).

Output columns: ``id`` (int64), ``artifact_score`` (float32, probability of bogus),
``real_score`` (1 - artifact_score) and ``passes`` (artifact_score < threshold: the
detection goes to the alert stream; the paper's survey threshold is 0.3).
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realbogus.atomic import atomic_path
from realbogus.provenance import content_hash
from realbogus.release.layout import CHANNELS, FEATURE_TABLE_NAME, STAMP_SHAPE, check_stamp_array
from realbogus.release.reader import ReleaseError, decode_sample, iter_release_samples

SCORE_COLUMNS: tuple[str, ...] = ("id", "artifact_score", "real_score", "passes")
DEFAULT_ALERT_THRESHOLD = 0.3  # Ayyar et al. 2022, section 4.6
DEFAULT_BATCH_SIZE = 256  # ~1.2 GB peak RSS with model1; 1024: ~2.9 GB for ~20% more speed
SOURCE_KINDS: tuple[str, ...] = ("npy", "ingested", "release", "tar")


class ScoringInputError(ValueError):
    """The stamps to score are not what the model takes; the message names the file / ID."""


@dataclass(frozen=True)
class StampBatch:
    """One batch to score: ``ids`` (B,) int64 and ``stamps`` (B, 51, 51, 3) uint8."""

    ids: np.ndarray
    stamps: np.ndarray


@dataclass(frozen=True)
class StampSource:
    """A stamp input opened for streaming.

    kind: one of SOURCE_KINDS; path: what the user named; total: number of samples when
    known up front (None for a single tar); batches: call with a batch size to iterate.
    """

    kind: str
    path: Path
    total: int | None

    def batches(self, *, batch_size: int) -> Iterator[StampBatch]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if self.kind == "npy":
            yield from _npy_batches(self.path, ids=None, batch_size=batch_size)
        elif self.kind == "ingested":
            yield from _npy_batches(self.path / "stamps.npy", ids=_ingested_ids(self.path), batch_size=batch_size)
        elif self.kind == "release":
            yield from _release_batches(self.path, label=str(self.path), batch_size=batch_size)
        else:  # a lone tar: present it as a release folder holding just that tar
            with tempfile.TemporaryDirectory(prefix="realbogus-score-") as scratch:
                (Path(scratch) / self.path.name).symlink_to(self.path.resolve())
                yield from _release_batches(Path(scratch), label=str(self.path), batch_size=batch_size)


@dataclass(frozen=True)
class ScoreSummary:
    """What :func:`score_stamps` did: the model and threshold used, counts and speed."""

    model_path: str
    model_hash: str
    threshold: float
    input_path: str
    input_kind: str
    out_path: str
    n_scored: int
    n_passed: int
    seconds: float

    @property
    def samples_per_second(self) -> float:
        return self.n_scored / self.seconds if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "samples_per_second": round(self.samples_per_second, 1)}


# ---------------------------------------------------------------------------- inputs


def open_stamp_source(path: str | os.PathLike[str]) -> StampSource:
    """Tell what ``path`` is (see the module docstring) and check it can be scored."""
    source_path = Path(path)
    if not source_path.exists():
        raise ScoringInputError(f"{source_path}: no such file or folder")
    if source_path.is_file():
        if source_path.suffix == ".npy":
            stamps = _open_npy(source_path)
            return StampSource("npy", source_path, len(stamps))
        if source_path.suffix == ".tar":
            return StampSource("tar", source_path, None)
        raise ScoringInputError(
            f"{source_path}: cannot score a {source_path.suffix or 'suffix-less'} file; expected a release "
            "folder, a .tar of GIF stamps, an ingested folder or an .npy of (N, 51, 51, 3) uint8 stamps")
    if (source_path / "stamps.npy").is_file() and (source_path / "catalog.parquet").is_file():
        stamps = _open_npy(source_path / "stamps.npy")
        ids = _ingested_ids(source_path)
        if len(ids) != len(stamps):
            raise ScoringInputError(f"{source_path}: catalog.parquet has {len(ids)} rows but stamps.npy "
                                    f"{len(stamps)}; re-run the ingest")
        return StampSource("ingested", source_path, len(stamps))
    return StampSource("release", source_path, _count_table_rows(source_path / FEATURE_TABLE_NAME))


def _open_npy(path: Path) -> np.ndarray:
    try:
        stamps = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ScoringInputError(f"{path}: not a readable .npy array ({error})") from error
    check_stamp_array(stamps, where=str(path), error=ScoringInputError)
    return stamps


def _ingested_ids(folder: Path) -> np.ndarray:
    import pandas as pd

    catalog = pd.read_parquet(folder / "catalog.parquet", columns=["id", "row"])
    ids = catalog.sort_values("row")["id"].to_numpy(np.int64)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ScoringInputError(f"{folder / 'catalog.parquet'}: ID {int(unique[counts > 1][0])} appears "
                                f"{int(counts[counts > 1][0])} times; expected each ID once (re-run the ingest)")
    return ids


def _count_table_rows(table: Path) -> int | None:
    """Data rows of the feature CSV (for the progress bar), counted without parsing it."""
    if not table.is_file():
        return None
    n_lines = 0
    with open(table, "rb") as handle:
        for line in handle:
            if not line.startswith(b"#"):
                n_lines += 1
    return max(n_lines - 1, 0)  # minus the header line


def _npy_batches(path: Path, *, ids: np.ndarray | None, batch_size: int) -> Iterator[StampBatch]:
    # Plain reads, not the memmap: pages of a memmap stay mapped once touched and count in
    # the process's RSS, which would then grow with N; a read buffer does not.
    stamps = _open_npy(path)
    n_rows, offset = len(stamps), int(stamps.offset)
    if stamps.flags.f_contiguous and not stamps.flags.c_contiguous:
        raise ScoringInputError(f"{path}: Fortran-ordered array; save it in C order (np.ascontiguousarray)")
    del stamps
    with open(path, "rb", buffering=0) as handle:
        handle.seek(offset)
        for start in range(0, n_rows, batch_size):
            stop = min(start + batch_size, n_rows)
            block = np.empty((stop - start, *STAMP_SHAPE), dtype=np.uint8)
            if handle.readinto(memoryview(block).cast("B")) != block.nbytes:
                raise ScoringInputError(f"{path}: file is truncated at row {start}; expected {n_rows} rows")
            batch_ids = np.arange(start, stop, dtype=np.int64) if ids is None else ids[start:stop]
            yield StampBatch(ids=batch_ids, stamps=block)


def _release_batches(folder: Path, *, label: str, batch_size: int) -> Iterator[StampBatch]:
    ids: list[int] = []
    seen: set[int] = set()  # ~60 bytes an ID: 54 MB for the real release's 900k
    buffer = np.empty((batch_size, *STAMP_SHAPE), dtype=np.uint8)
    try:
        for sample in iter_release_samples(folder, stamp_format="gif"):
            if sample.detection_id in seen:
                raise ScoringInputError(
                    f"{label}: ID {sample.detection_id} has stamps twice (again at "
                    f"{sample.location(CHANNELS[0], 'gif')}); expected each ID once, as ingest requires")
            seen.add(sample.detection_id)
            buffer[len(ids)] = decode_sample(sample, stamp_format="gif")
            ids.append(sample.detection_id)
            if len(ids) == batch_size:
                yield StampBatch(ids=np.asarray(ids, dtype=np.int64), stamps=buffer.copy())
                ids = []
    except ReleaseError as error:
        raise ScoringInputError(f"{label}: {error}") from error
    if ids:
        yield StampBatch(ids=np.asarray(ids, dtype=np.int64), stamps=buffer[: len(ids)].copy())


def _prefetched(batches: Iterator[StampBatch], *, depth: int = 2) -> Iterator[StampBatch]:
    """Read/decode the next batches in a thread while the model scores the current one.

    The queue holds at most ``depth`` batches, so memory stays bounded.  An exception in
    the reader is re-raised here, in the caller's thread.
    """
    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        slots.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            slots.put(error)

    thread = threading.Thread(target=reader, name="realbogus-score-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------- model


def load_scoring_model(path: str | os.PathLike[str]) -> tuple[Any, str]:
    """(Keras model, content hash) of a saved ``model.keras`` (or a folder holding one).

    Refuses (``ScoringInputError`` naming the file) a file Keras cannot read and a model
    that does not take (N, 51, 51, 3) stamps or does not give one artifact score each.
    """
    model_path = Path(path)
    if model_path.is_dir():
        model_path = model_path / "model.keras"
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: no such model file (expected a Keras .keras file, e.g. "
                                "data/models/model1/model.keras written by the train stage)")
    if not zipfile.is_zipfile(model_path):
        # Keras says "File not found" for any file that is not a zip; say what it is.
        raise ScoringInputError(f"{model_path}: not a Keras model file (a .keras file is a zip archive; this "
                                "one is not, or is truncated); expected a model.keras written by the train stage")
    import realbogus.cnn  # noqa: F401  (first: starts the backend without TensorFlow's start-up noise)

    import keras

    try:
        model = keras.saving.load_model(model_path, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds for a damaged archive
        message = " ".join(str(error).split())[:300]
        raise ScoringInputError(f"{model_path}: Keras cannot load this model ({type(error).__name__}: {message}); "
                                "expected a model.keras written by the train stage") from error
    if len(model.inputs) != 1 or tuple(model.inputs[0].shape[1:]) != STAMP_SHAPE:
        shapes = [tuple(tensor.shape[1:]) for tensor in model.inputs]
        raise ScoringInputError(f"{model_path}: model takes inputs of shape {shapes[0] if len(shapes) == 1 else shapes}, "
                                f"expected one input of shape {STAMP_SHAPE}")
    output_shapes = [tuple(tensor.shape[1:]) for tensor in model.outputs]
    if len(output_shapes) != 1 or output_shapes[0] not in ((1,), ()):
        raise ScoringInputError(f"{model_path}: model has {len(output_shapes)} output(s) of shape(s) {output_shapes}, "
                                "expected one output of shape (1,): the artifact score of each stamp")
    return model, content_hash(model_path)


def artifact_scores_of(model: Any, stamps: np.ndarray) -> np.ndarray:
    """(B,) float32 artifact scores of one in-memory batch, inference mode, no Keras loop overhead.

    Raises ``ScoringInputError`` unless the model gives exactly one finite score in [0, 1]
    per stamp (a model with several outputs, or logits, would otherwise be misread).
    """
    predicted = model.predict_on_batch(stamps)
    if isinstance(predicted, (list, tuple, dict)):
        raise ScoringInputError(f"model {getattr(model, 'name', '')!r} returned {len(predicted)} outputs; "
                                "expected one artifact score per stamp")
    scores = np.asarray(predicted, dtype=np.float32)
    if scores.shape not in ((len(stamps),), (len(stamps), 1)):
        raise ScoringInputError(f"model {getattr(model, 'name', '')!r} returned scores of shape {scores.shape} for "
                                f"{len(stamps)} stamps; expected ({len(stamps)}, 1): one artifact score per stamp")
    scores = scores.reshape(-1)
    if not np.all(np.isfinite(scores)) or scores.min(initial=0.0) < 0.0 or scores.max(initial=0.0) > 1.0:
        raise ScoringInputError(f"model {getattr(model, 'name', '')!r} returned scores outside [0, 1] "
                                f"(min {np.nanmin(scores):.3g}, max {np.nanmax(scores):.3g}); expected sigmoid "
                                "probabilities")
    return scores


# ---------------------------------------------------------------------------- scoring


def score_stamps(
    *,
    source: StampSource,
    model: Any,
    model_path: str,
    model_hash: str,
    out_path: str | os.PathLike[str],
    threshold: float = DEFAULT_ALERT_THRESHOLD,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    force: bool = False,
) -> ScoreSummary:
    """Score every stamp of ``source`` and write the table (SCORE_COLUMNS) to ``out_path`` atomically.

    threshold: a detection passes (goes to the alert stream) when artifact_score < threshold.
    Rows follow the input's order (row order for arrays, file order for releases).
    force: replace an ``out_path`` that is not an earlier score table (never an input;
    see ``realbogus.atomic.check_output``).
    """
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    output_rule = score_output_rule(source_path=source.path, model_path=model_path, force=force)
    from tqdm import tqdm

    started = time.perf_counter()
    n_scored = n_passed = 0
    threshold32 = np.float32(threshold)
    with atomic_path(out_path, **output_rule) as temporary, open(temporary, "w", newline="") as handle, \
            tqdm(total=source.total, desc="score", unit="stamp", disable=not progress) as bar:
        handle.write(",".join(SCORE_COLUMNS) + "\n")
        for batch in _prefetched(source.batches(batch_size=batch_size)):
            artifact_score = artifact_scores_of(model, batch.stamps)
            passes = artifact_score < threshold32
            lines = [f"{i},{a:.6f},{1.0 - a:.6f},{p}" for i, a, p in
                     zip(batch.ids.tolist(), artifact_score.tolist(), passes.tolist())]
            handle.write("\n".join(lines) + "\n")
            n_scored += len(batch.ids)
            n_passed += int(passes.sum())
            bar.update(len(batch.ids))
        if n_scored == 0:
            raise ScoringInputError(f"{source.path}: no stamps found to score")
    return ScoreSummary(model_path=str(model_path), model_hash=model_hash, threshold=float(threshold),
                        input_path=str(source.path), input_kind=source.kind, out_path=str(out_path),
                        n_scored=n_scored, n_passed=n_passed, seconds=time.perf_counter() - started)


def score_output_rule(*, source_path: str | os.PathLike[str], model_path: str | os.PathLike[str],
                      force: bool = False) -> dict[str, Any]:
    """The output check of a score table (``realbogus.atomic.check_output`` keywords): never an input."""
    return {"command": "score", "inputs": (source_path, model_path), "force": force}


def read_scores(path: str | os.PathLike[str]):  # -> pd.DataFrame
    """Read a table written by :func:`score_stamps` (passes as bool)."""
    import pandas as pd

    table = pd.read_csv(path, dtype={"id": np.int64, "artifact_score": np.float32, "real_score": np.float32})
    missing = [c for c in SCORE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: score table lacks column(s) {missing}; expected {list(SCORE_COLUMNS)}")
    table["passes"] = table["passes"].astype(str).str.lower().map({"true": True, "false": False})
    return table
