"""Write a whole simulated release: stamps in tars, the feature table, the truth beside it.

Samples are independent: sample ``i`` uses child ``i`` of ``SeedSequence(seed)`` (see
``scene.sample_rng``), so the output is byte-identical for a seed whatever the number of
workers.  Workers render, compute features and encode chunks of samples; the main
process writes them to the tars in sample order.
"""

from __future__ import annotations

import collections
import contextlib
import math
import multiprocessing
import multiprocessing.pool
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path, check_output
from realbogus.release.display import display_stamp
from realbogus.release.layout import CHANNELS, FEATURE_TABLE_NAME, LABEL_COLUMN, PIXEL_SCALE_ARCSEC, stamp_filename
from realbogus.release.writer import FeatureTableWriter, ReleaseWriter, archive_folder, encode_fits, encode_gif
from realbogus.simulate.config import DEFAULT_FLIP_RATIO, DEFAULT_LABEL_NOISE, SimulationConfig
from realbogus.simulate.scene import RenderedSample, SamplePlan, simulate_sample

# Detection IDs are 1-based sample indices plus this offset (the release's IDs are integers > 0).
ID_OFFSET = 1
CHUNK_SIZE = 64
IN_FLIGHT_PER_WORKER = 2
# Truth rows per parquet row group: the truth is written as it comes, so memory stays bounded.
TRUTH_ROWS_PER_GROUP = 32768

# The truth table's columns, in order (missing values are NaN / "").
TRUTH_COLUMNS: tuple[str, ...] = (
    "id", "true_label", "given_label", "scene_kind", "artifact_type", "artifact_detail",
    "mislabel_mechanism", "snr", "detection_snr", "magnitude", "mag_from_limit", "limiting_mag", "transient_flux",
    "seeing_fwhm_arcsec", "template_seeing_fwhm_arcsec", "band", "host_galaxy", "host_magnitude",
    "host_offset_px", "ccdid", "x_ccd", "y_ccd", "night", "field", "folder", "zeropoint",
    "template_zeropoint", "template_depth_mag", "scale", "flux_scale_error", "template_psf_model_error",
    "search_psf_model_error", "psf_shape_error", "shift_px", "masked_fraction", "detection_offset_px",
    "edge_distance_px", "saturated_star_offset_px", "source_magnitude",
)


@dataclass(frozen=True)
class SimulationSummary:
    """What a simulation run wrote, with its measured label noise."""

    out_dir: Path
    truth_path: Path
    n: int
    seed: int
    n_given_artifact: int
    n_given0_true1: int
    n_given1_true0: int
    seconds: float
    preview_ids: tuple[int, ...] = ()

    @property
    def measured_label_noise(self) -> float:
        """Fraction of samples whose given label differs from the truth."""
        return (self.n_given0_true1 + self.n_given1_true0) / self.n if self.n else math.nan

    @property
    def measured_flip_ratio(self) -> float:
        """(given 0, truly 1) per (given 1, truly 0)."""
        return self.n_given0_true1 / self.n_given1_true0 if self.n_given1_true0 else math.inf

    @property
    def samples_per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir), "truth_path": str(self.truth_path), "n": self.n, "seed": self.seed,
            "n_given_artifact": self.n_given_artifact, "n_given0_true1": self.n_given0_true1,
            "n_given1_true0": self.n_given1_true0, "measured_label_noise": self.measured_label_noise,
            "measured_flip_ratio": self.measured_flip_ratio, "seconds": self.seconds,
            "samples_per_second": self.samples_per_second, "preview_ids": list(self.preview_ids),
        }


def detection_id(index: int) -> int:
    """Release ID of sample ``index``."""
    return ID_OFFSET + int(index)


def folder_of(plan: SamplePlan) -> str:
    """Archive folder of a sample: the night, then the SN field and band of its exposure."""
    conditions = plan.conditions
    return archive_folder(night=conditions.night, directory=f"SN-{conditions.field_name}_{conditions.band}")


def truth_row(plan: SamplePlan, rendered: RenderedSample | None) -> dict[str, Any]:
    """One row of the ground-truth table (``rendered`` None: the plan-only, dry columns)."""
    conditions = plan.conditions
    row: dict[str, Any] = {column: math.nan for column in TRUTH_COLUMNS}
    row.update({
        "id": detection_id(plan.index), "true_label": plan.labels.true_label, "given_label": plan.labels.given_label,
        "scene_kind": plan.scene_kind, "artifact_type": plan.artifact_type, "artifact_detail": "",
        "mislabel_mechanism": plan.labels.mislabel_mechanism, "magnitude": plan.magnitude,
        "mag_from_limit": plan.magnitude - conditions.limiting_mag, "limiting_mag": conditions.limiting_mag,
        "seeing_fwhm_arcsec": conditions.seeing_fwhm_px * PIXEL_SCALE_ARCSEC,
        "template_seeing_fwhm_arcsec": conditions.template_seeing_fwhm_px * PIXEL_SCALE_ARCSEC,
        "band": conditions.band, "host_galaxy": plan.host_galaxy, "ccdid": conditions.ccdid,
        "x_ccd": conditions.x_ccd, "y_ccd": conditions.y_ccd, "night": conditions.night,
        "field": conditions.field_name, "folder": folder_of(plan), "zeropoint": conditions.zeropoint,
        "template_zeropoint": conditions.template_zeropoint, "template_depth_mag": conditions.template_depth_mag,
        "scale": conditions.scale,
    })
    if rendered is not None:
        row.update({key: value for key, value in rendered.truth.items() if key in row})
        row["x_ccd"], row["y_ccd"] = rendered.context.x_ccd, rendered.context.y_ccd
        row["scale"] = rendered.context.scale
    return row


def truth_kind(truth: pd.DataFrame) -> pd.Series:
    """Each truth row's kind of detection: ``fake``, ``real_transient``, or ``<scene kind>:<artifact type>``
    (``artifact:dipole``, ``source_on_artifact:bad_column``, ``fake_on_artifact:masked_edge``...)."""
    plain = truth["scene_kind"].isin(["fake", "real_transient"])
    return truth["scene_kind"].where(plain, truth["scene_kind"] + ":" + truth["artifact_type"].astype(str))


def draw_truth_table(*, n: int, seed: int, label_noise: float = DEFAULT_LABEL_NOISE, flip_ratio: float = DEFAULT_FLIP_RATIO,
                     config: SimulationConfig | None = None) -> pd.DataFrame:
    """The 'dry' simulation: labels, kinds and conditions of n samples without pixels.

    Same labels, kinds and conditions as ``simulate_release`` with the same arguments
    (the rendering-only columns are NaN); a few thousand samples take a fraction of a second.
    """
    config = config or SimulationConfig()
    rows = [truth_row(simulate_sample(seed=seed, index=index, label_noise=label_noise, flip_ratio=flip_ratio,
                                      config=config, render=False)[0], None) for index in range(n)]
    return _truth_frame(rows)


def _truth_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))
    for column in ("id", "true_label", "given_label", "ccdid"):
        table[column] = table[column].astype("int64")
    table["host_galaxy"] = table["host_galaxy"].astype(bool)
    return table


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class _Job:
    seed: int
    label_noise: float
    flip_ratio: float
    config: SimulationConfig


def _encode_sample(plan: SamplePlan, rendered: RenderedSample) -> dict[str, bytes]:
    identifier = detection_id(plan.index)
    header = {"OBJID": identifier, "FILTER": plan.conditions.band, "CCDNUM": plan.conditions.ccdid}
    files: dict[str, bytes] = {}
    stamps = dict(zip(CHANNELS, (rendered.template, rendered.search, rendered.difference)))
    for channel, stamp in stamps.items():
        files[stamp_filename(channel, identifier, "gif")] = encode_gif(display_stamp(stamp, channel=channel))
    for channel, stamp in stamps.items():
        files[stamp_filename(channel, identifier, "fits")] = encode_fits(stamp, header_cards=header)
    return files


def simulate_chunk(job: _Job, start: int, stop: int) -> list[tuple[int, str, dict[str, bytes], dict[str, Any], dict[str, Any]]]:
    """Render, featurise and encode samples start..stop-1: (ID, folder, files, feature row, truth row)."""
    from realbogus.features import compute_features  # the feature code is heavy; import where used

    results = []
    for index in range(start, stop):
        try:
            plan, rendered = simulate_sample(seed=job.seed, index=index, label_noise=job.label_noise,
                                             flip_ratio=job.flip_ratio, config=job.config)
            assert rendered is not None
            # compute_features takes its own float64 copies (float32 -> float64 is exact).
            features = compute_features(rendered.template, rendered.search, rendered.difference,
                                        context=rendered.context)
        except Exception as error:
            # Name the sample so it can be re-rendered alone with simulate_sample(seed, index).
            raise RuntimeError(f"simulating sample index {index} (ID {detection_id(index)}) of seed {job.seed} "
                               f"failed: {error}") from error
        feature_row = {"ID": detection_id(index), LABEL_COLUMN: plan.labels.given_label, **features}
        results.append((detection_id(index), folder_of(plan), _encode_sample(plan, rendered), feature_row,
                        truth_row(plan, rendered)))
    return results


_WORKER_JOB: _Job | None = None


def _init_worker(job: _Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job


def _run_chunk(bounds: tuple[int, int]) -> list[tuple[int, str, dict[str, bytes], dict[str, Any], dict[str, Any]]]:
    assert _WORKER_JOB is not None
    return simulate_chunk(_WORKER_JOB, *bounds)


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _results(job: _Job, *, n: int, workers: int) -> Iterator[list[tuple[int, str, dict[str, bytes], dict[str, Any], dict[str, Any]]]]:
    chunks = _chunks(n, CHUNK_SIZE)
    if workers <= 1 or len(chunks) <= 1:
        for start, stop in chunks:
            yield simulate_chunk(job, start, stop)
        return
    # spawn, not fork: the caller's threads (tqdm's monitor, BLAS pools) may hold a lock at the
    # fork, which the child then waits on forever (a run hung so once with 2 workers).
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=workers, initializer=_init_worker, initargs=(job,)) as pool:
        # Results are taken in sample order, so the tars come out the same for any worker
        # count.  At most IN_FLIGHT_PER_WORKER chunks per worker are queued or finished but
        # unread (imap queues every chunk and keeps every finished one until it is read), so
        # the main process's memory does not grow with N when it falls behind the workers.
        pending: collections.deque[multiprocessing.pool.AsyncResult] = collections.deque()
        for bounds in chunks:
            pending.append(pool.apply_async(_run_chunk, (bounds,)))
            if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


# --------------------------------------------------------------------------- the release


def simulate_release(*, out_dir: Path, truth_path: Path, n: int, seed: int, label_noise: float = DEFAULT_LABEL_NOISE,
                     flip_ratio: float = DEFAULT_FLIP_RATIO, workers: int = 2, packed: bool = True,
                     preview_path: Path | None = None, config: SimulationConfig | None = None,
                     progress: bool = True, n_tars: int = 11, force: bool = False) -> SimulationSummary:
    """Write a DES-like release of ``n`` samples to ``out_dir`` and its truth to ``truth_path``.

    out_dir: release folder: ``stamps_0.tar`` .. (or folders with ``packed=False``) and
        ``autoscan_features.3.csv``; replaced whole, only once everything is written.
    truth_path: parquet of the ground truth (columns TRUTH_COLUMNS), outside ``out_dir``.
    label_noise, flip_ratio: fraction of samples with a wrong given label, and
        (given 0, truly 1) per (given 1, truly 0); see ``label_noise.mislabel_probabilities``.
    preview_path: if given, a PNG gallery of samples of this release (``preview.write_preview``).
    """
    from tqdm import tqdm

    out_dir, truth_path = Path(out_dir), Path(truth_path)
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if truth_path.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"truth_path {truth_path} must lie outside the release folder {out_dir}: "
                         "the truth must not travel with the release")
    if preview_path is not None and Path(preview_path).resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"preview {preview_path} must lie outside the release folder {out_dir}")
    # Refuse before any work a path whose writing would destroy what simulate did not write.
    check_output(out_dir, command="simulate", is_dir=True, force=force)
    for path in (truth_path, preview_path):
        if path is not None:
            check_output(path, command="simulate", force=force)
    config = config or SimulationConfig()
    job = _Job(seed=int(seed), label_noise=float(label_noise), flip_ratio=float(flip_ratio), config=config)
    started = time.perf_counter()
    comment_lines = [
        "# DES-like simulated autoScan release written by realbogus (not real DES data)",
        f"# n={n} seed={seed} label_noise={label_noise} flip_ratio={flip_ratio}",
        "# OBJECT_TYPE: 1 = artifact, 0 = non-artifact (injected fake); these are the GIVEN labels",
        "# BAND is the filter letter; NaN (empty) where a feature is undefined",
    ]
    # The feature table and the truth are written as the chunks arrive (held whole until the
    # end they took ~1.9 KB per sample, 1.7 GB at the full 898,963), and appear only with
    # the release.
    counts = _LabelCounts()
    with atomic_path(out_dir, is_dir=True, command="simulate", force=force) as temporary_dir, \
            _TruthWriter(truth_path, force=force) as truth_writer:
        with ReleaseWriter(temporary_dir, n_tars=n_tars, packed=packed) as writer, \
                FeatureTableWriter(temporary_dir / FEATURE_TABLE_NAME, comment_lines=comment_lines) as table_writer, \
                tqdm(total=n, desc="simulate", unit="sample", disable=not progress) as bar:
            for chunk in _results(job, n=n, workers=workers):
                for identifier, folder, files, _, _ in chunk:
                    writer.add_sample(detection_id=identifier, folder=folder, files=files)
                table_writer.write(pd.DataFrame([feature_row for *_, feature_row, _ in chunk]))
                truth = _truth_frame([row for *_, row in chunk])
                truth_writer.write(truth)
                counts.add(truth)
                bar.update(len(chunk))
    preview_ids: tuple[int, ...] = ()
    if preview_path is not None:
        from realbogus.simulate.preview import write_preview

        preview_ids = tuple(write_preview(path=Path(preview_path), seed=seed, n=n, label_noise=label_noise,
                                          flip_ratio=flip_ratio, config=config, id_offset=ID_OFFSET,
                                          force=force))
    return SimulationSummary(
        out_dir=out_dir, truth_path=truth_path, n=n, seed=int(seed), n_given_artifact=counts.given_artifact,
        n_given0_true1=counts.given0_true1, n_given1_true0=counts.given1_true0,
        seconds=time.perf_counter() - started, preview_ids=preview_ids)


@dataclass
class _LabelCounts:
    """The summary's label counts, added up chunk by chunk."""

    given_artifact: int = 0
    given0_true1: int = 0
    given1_true0: int = 0

    def add(self, truth: pd.DataFrame) -> None:
        given = truth["given_label"].to_numpy()
        true = truth["true_label"].to_numpy()
        self.given_artifact += int(given.sum())
        self.given0_true1 += int(np.sum((given == 0) & (true == 1)))
        self.given1_true0 += int(np.sum((given == 1) & (true == 0)))


class _TruthWriter:
    """The truth parquet, written a row group at a time as the chunks arrive; it appears
    (atomically) only when the ``with`` block ends without an exception.

    The column types are those of the first row group (``_truth_frame``'s); later ones are
    converted to them, so the file has one schema.
    """

    def __init__(self, path: Path, *, force: bool) -> None:
        self.path, self.force = Path(path), force
        self._stack: contextlib.ExitStack | None = None
        self._temporary: Path | None = None
        self._writer: Any = None
        self._schema: Any = None
        self._buffered: list[pd.DataFrame] = []
        self._n_buffered = 0

    def __enter__(self) -> _TruthWriter:
        stack = contextlib.ExitStack()
        try:
            self._temporary = stack.enter_context(atomic_path(self.path, command="simulate", force=self.force))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def write(self, frame: pd.DataFrame) -> None:
        self._buffered.append(frame)
        self._n_buffered += len(frame)
        if self._n_buffered >= TRUTH_ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._buffered:
            return
        frame = pd.concat(self._buffered, ignore_index=True)
        self._buffered, self._n_buffered = [], 0
        if self._writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self._temporary, self._schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        self._writer.write_table(table)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> bool:
        assert self._stack is not None, "_TruthWriter used outside its with block"
        stack, self._stack = self._stack, None
        try:
            if exc_type is None:
                self._flush()
        except BaseException as error:
            if self._writer is not None:
                self._writer.close()
            stack.__exit__(type(error), error, error.__traceback__)  # removes the temporary file
            raise
        if self._writer is not None:
            self._writer.close()
        return bool(stack.__exit__(exc_type, exc, traceback))
