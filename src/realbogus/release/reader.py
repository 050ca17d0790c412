"""Read a DES-SN autoScan release: its feature table, its stamp files, and decode stamps.

A release is a folder holding ``autoscan_features.3.csv`` and the stamps either packed in
tar files (``stamps_0.tar`` .. ``stamps_10.tar``; any ``*.tar`` is read) or unpacked into
folders (any depth; the layout under the release folder does not matter, only the stamp
file names ``temp<ID>.gif`` ...).  Reading is split in two so ingest can parallelise:

* ``iter_release_samples`` walks the files sequentially (tar reading cannot be parallel)
  and yields, per ID, the raw bytes of its three channel files;
* ``decode_stamp`` / ``decode_sample`` turn those bytes into arrays (run in a process pool).

Every problem raises ``ReleaseError`` naming the file (tar member path) or ID and what was
expected, or, where the caller passes an ``on_issue`` callback, is reported to it instead
so the caller can skip the sample and write a report.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from realbogus.release.layout import (
    BANDS,
    CHANNELS,
    FEATURE_TABLE_COLUMNS,
    FEATURE_TABLE_NAME,
    LABEL_COLUMN,
    MASKED_PIXEL_VALUE,
    STAMP_FORMATS,
    STAMP_SIZE,
    parse_stamp_filename,
)

FITS_BLOCK = 2880
_FITS_FLOAT_DTYPES = {-32: np.dtype(">f4"), -64: np.dtype(">f8")}


class ReleaseError(ValueError):
    """A release file, member or ID is not what the release format requires."""


@dataclass(frozen=True)
class Issue:
    """One problem found while reading a release.

    ``detection_id`` is None when the problem is not tied to one ID (e.g. an unreadable tar).
    ``location`` is the file or tar member path; ``reason`` a short machine-friendly kind;
    ``message`` the full human-readable explanation.
    """

    detection_id: int | None
    location: str
    reason: str
    message: str


IssueHandler = Callable[[Issue], None]


def raise_issue(issue: Issue) -> None:
    """The default issue handler: stop with a ``ReleaseError``."""
    raise ReleaseError(issue.message)


# --------------------------------------------------------------------------- feature table


def read_feature_table(path: str | os.PathLike[str]):  # -> pd.DataFrame (pandas imported lazily)
    """Read ``autoscan_features.3.csv``: skip leading ``#`` lines, check the 40 columns.

    Returns a DataFrame with the release's columns in release order: ``ID`` int64,
    ``OBJECT_TYPE`` int8 (0 non-artifact, 1 artifact), ``BAND`` str (g/r/i/z), every other
    column float64 (empty fields and ``nan`` both read as NaN).  Duplicate IDs are *not*
    rejected here (the caller decides); every other violation raises ``ReleaseError``.
    """
    import pandas as pd

    csv_path = Path(path)
    if not csv_path.is_file():
        raise ReleaseError(f"feature table {csv_path} does not exist (expected {FEATURE_TABLE_NAME})")
    n_comment_lines = 0
    with open(csv_path, encoding="ascii", errors="replace") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            n_comment_lines += 1
    float_columns = [c for c in FEATURE_TABLE_COLUMNS if c not in ("ID", LABEL_COLUMN, "BAND")]
    try:
        # Chunks keep the parser's working memory small (the real table is ~900k rows).
        chunks = pd.read_csv(
            csv_path,
            skiprows=n_comment_lines,
            dtype={"BAND": str, **{c: np.float64 for c in float_columns}},
            keep_default_na=False,
            na_values=["", "nan", "NaN", "NAN", "-nan"],
            chunksize=100_000,
        )
        table = pd.concat(list(chunks), ignore_index=True)
    except (ValueError, pd.errors.ParserError) as error:
        raise ReleaseError(f"feature table {csv_path} could not be parsed as CSV: {error}") from error
    columns = list(table.columns)
    if columns != list(FEATURE_TABLE_COLUMNS):
        missing = [c for c in FEATURE_TABLE_COLUMNS if c not in columns]
        extra = [c for c in columns if c not in FEATURE_TABLE_COLUMNS]
        raise ReleaseError(
            f"feature table {csv_path} must have the {len(FEATURE_TABLE_COLUMNS)} release columns "
            f"in order ID, OBJECT_TYPE, AMP, ...; missing {missing}, unexpected {extra}"
            + ("" if missing or extra else ", columns out of order")
        )
    for column in ("ID", LABEL_COLUMN):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | (values != np.round(values))
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + n_comment_lines + 2
            raise ReleaseError(
                f"feature table {csv_path} line {line}: {column} must be an integer, "
                f"got {table[column].iloc[int(np.flatnonzero(bad.to_numpy())[0])]!r}"
            )
        table[column] = values.astype(np.int64)
    bad_label = ~table[LABEL_COLUMN].isin([0, 1])
    if bad_label.any():
        row = table[bad_label].iloc[0]
        raise ReleaseError(
            f"feature table {csv_path}: ID {int(row['ID'])} has {LABEL_COLUMN}={row[LABEL_COLUMN]}, "
            "expected 0 (non-artifact) or 1 (artifact)"
        )
    table[LABEL_COLUMN] = table[LABEL_COLUMN].astype(np.int8)
    bad_band = ~table["BAND"].isin(BANDS)
    if bad_band.any():
        row = table[bad_band].iloc[0]
        raise ReleaseError(
            f"feature table {csv_path}: ID {int(row['ID'])} has BAND={row['BAND']!r}, expected one of {BANDS}"
        )
    return table


# --------------------------------------------------------------------------- stamp files


@dataclass
class SampleFiles:
    """The raw stamp files of one ID as found in the release.

    ``files`` maps channel (``temp``/``srch``/``diff``) to file bytes; ``source`` is the
    tar's path relative to the release folder ("" for unpacked files); ``folder`` the
    member folder inside the tar (or relative to the release folder when unpacked).
    """

    detection_id: int
    source: str
    folder: str
    files: dict[str, bytes] = field(default_factory=dict)

    def location(self, channel: str, stamp_format: str) -> str:
        name = f"{channel}{self.detection_id}.{stamp_format}"
        member = f"{self.folder}/{name}" if self.folder else name
        return f"{self.source}:{member}" if self.source else member


def _discover(release_dir: Path) -> tuple[list[Path], list[Path]]:
    """Tar files and loose files under the release folder, each sorted by path."""
    tars: list[Path] = []
    loose: list[Path] = []
    for root, dirs, files in os.walk(release_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue  # temporaries of an interrupted writer, editor files
            path = Path(root) / name
            if name.endswith(".tar"):
                tars.append(path)
            else:
                loose.append(path)
    return tars, loose


_TAR_BLOCK = 512
_TAR_REGULAR_TYPES = (b"0", b"\0", b"7")


def _tar_number(field: bytes) -> int:
    """A tar header number: NUL/space-terminated octal, or base-256 when the high bit is set."""
    if field[:1] in (b"\x80", b"\xff"):
        return int.from_bytes(field[1:], "big", signed=field[:1] == b"\xff")
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _iter_tar_records(handle: io.BufferedReader) -> Iterator[tuple[str, int, bool]]:
    """(member name, data size, is regular file) per member, leaving ``handle`` at the data.

    A small USTAR / GNU / PAX header parser: Python's ``tarfile`` spends ~100 us per header
    (it builds a TarInfo and keeps every one), which alone would cap ingest at about
    1,000 samples/s on the real release's ~5.4 million members.  Raises ``ValueError``
    on a corrupt header (bad checksum, truncated data).
    """
    long_name: str | None = None
    n_zero_blocks = 0
    while True:
        header = handle.read(_TAR_BLOCK)
        if not header:
            return  # end of file without the two zero blocks: tolerated, as tar does
        if len(header) < _TAR_BLOCK:
            raise ValueError(f"truncated header ({len(header)} of {_TAR_BLOCK} bytes)")
        if header.count(0) == _TAR_BLOCK:
            n_zero_blocks += 1
            if n_zero_blocks == 2:
                return
            continue
        stored_checksum = _tar_number(header[148:156])
        # The checksum counts its own field as eight spaces.
        if stored_checksum != sum(header[:148]) + 256 + sum(header[156:]):
            raise ValueError("header checksum mismatch (not a tar file, or corrupt)")
        size = _tar_number(header[124:136])
        typeflag = header[156:157]
        padded = size + (-size % _TAR_BLOCK)
        if typeflag in (b"L", b"x", b"g"):
            data = handle.read(padded)
            if len(data) < padded:
                raise ValueError("truncated extended header")
            if typeflag == b"L":
                long_name = data[:size].split(b"\0", 1)[0].decode("utf-8", "replace")
            elif typeflag == b"x":
                for record in data[:size].decode("utf-8", "replace").split("\n"):
                    key_value = record.split(" ", 1)[-1]
                    if key_value.startswith("path="):
                        long_name = key_value[len("path="):]
            continue
        if long_name is not None:
            name, long_name = long_name, None
        else:
            name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
            if header[257:262] == b"ustar":
                prefix = header[345:500].split(b"\0", 1)[0].decode("utf-8", "replace")
                if prefix:
                    name = f"{prefix}/{name}"
        is_regular = typeflag in _TAR_REGULAR_TYPES
        start = handle.tell()
        yield name, size, is_regular
        handle.seek(start + padded)


def _iter_tar(path: Path, label: str, on_issue: IssueHandler,
              wanted: Callable[[str], bool]) -> Iterator[tuple[str, str, bytes]]:
    """(member folder, base name, bytes) of each ``wanted`` regular file in a tar, in order."""
    n_members = 0
    try:
        handle = open(path, "rb", buffering=1 << 20)
    except OSError as error:
        on_issue(Issue(None, label, "unreadable_tar", f"tar {label} could not be opened: {error}"))
        return
    with handle:
        records = _iter_tar_records(handle)
        while True:
            try:
                record = next(records, None)
                if record is None:
                    break
                name, size, is_regular = record
                if not is_regular:
                    continue
                n_members += 1
                folder, _, base_name = name.rpartition("/")
                if not wanted(base_name):
                    continue  # e.g. the FITS beside the GIFs: skipped without reading the data
                content = handle.read(size)
                if len(content) < size:
                    raise ValueError(f"member {name} is truncated ({len(content)} of {size} bytes)")
            except (ValueError, OSError) as error:
                on_issue(Issue(None, label, "unreadable_tar",
                               f"tar {label} is not a readable uncompressed tar after {n_members} "
                               f"members: {error}"))
                return
            yield folder, base_name, content
    if n_members == 0:
        on_issue(Issue(None, label, "empty_tar", f"tar {label} holds no files; expected stamp files"))


def iter_release_samples(
    release_dir: str | os.PathLike[str],
    *,
    stamp_format: str = "gif",
    on_issue: IssueHandler = raise_issue,
) -> Iterator[SampleFiles]:
    """Yield one ``SampleFiles`` per ID whose three channel files of ``stamp_format`` were found.

    Tars are read one after the other in path order, then unpacked files.  The channels of
    one ID must sit in the same tar (or among the unpacked files) and the same folder.
    Problems go to ``on_issue``: a tar that cannot be read (``unreadable_tar``) or holds no
    files (``empty_tar``), an ID with a channel missing (``missing_channel``), a channel
    twice (``duplicate_id``).  Duplicates across tars are the caller's to detect (it sees
    every ID).  Files that are not stamps, or stamps of the other format, are ignored.
    """
    if stamp_format not in STAMP_FORMATS:
        raise ValueError(f"stamp_format must be one of {STAMP_FORMATS}, got {stamp_format!r}")
    root = Path(release_dir)
    if not root.is_dir():
        raise ReleaseError(f"release folder {root} does not exist or is not a folder")
    tars, loose = _discover(root)
    suffix = f".{stamp_format}"

    def wanted(name: str) -> bool:
        return name.endswith(suffix)

    def group(source: str, entries: Iterator[tuple[str, str, bytes]]) -> Iterator[SampleFiles]:
        # Channels of one ID need not be adjacent (a tar may list all diff files first),
        # so hold incomplete IDs until their last channel arrives.
        pending: dict[int, SampleFiles] = {}
        for folder, name, content in entries:
            parsed = parse_stamp_filename(name)
            if parsed is None or parsed[2] != stamp_format:
                continue
            channel, detection_id, _ = parsed
            sample = pending.get(detection_id)
            if sample is None:
                sample = pending[detection_id] = SampleFiles(detection_id, source, folder)
            if channel in sample.files or folder != sample.folder:
                other = sample.location(channel, stamp_format) if channel in sample.files else (
                    sample.location(next(iter(sample.files)), stamp_format))
                where = f"{source}:{folder}/{name}" if source else f"{folder}/{name}"
                on_issue(Issue(detection_id, where, "duplicate_id",
                               f"ID {detection_id}: {where} duplicates {other}; "
                               "expected one file per channel in one folder"))
                continue
            sample.files[channel] = content
            if len(sample.files) == len(CHANNELS):
                yield pending.pop(detection_id)
        for detection_id, sample in sorted(pending.items()):
            missing = [c for c in CHANNELS if c not in sample.files]
            present = ", ".join(sample.location(c, stamp_format) for c in sample.files)
            on_issue(Issue(detection_id, sample.location(missing[0], stamp_format), "missing_channel",
                           f"ID {detection_id}: missing {', '.join(f'{c}{detection_id}.{stamp_format}' for c in missing)}"
                           f" beside {present}; expected all of {CHANNELS}"))

    for tar_path in tars:
        label = tar_path.relative_to(root).as_posix()
        yield from group(label, _iter_tar(tar_path, label, on_issue, wanted))

    def loose_entries() -> Iterator[tuple[str, str, bytes]]:
        for path in loose:
            parsed = parse_stamp_filename(path.name)
            if parsed is None or parsed[2] != stamp_format:
                continue
            folder = path.parent.relative_to(root).as_posix()
            yield ("" if folder == "." else folder), path.name, path.read_bytes()

    yield from group("", loose_entries())


# --------------------------------------------------------------------------- decoding


def _decode_gif(content: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        if image.format != "GIF":
            raise ValueError(f"not a GIF file (found {image.format})")
        if image.mode == "P":
            image.load()
            palette = image.im.getpalette("RGB", "RGB")
            # Only a grey palette maps indices to display values unambiguously.
            if not (palette[0::3] == palette[1::3] == palette[2::3]):
                raise ValueError("GIF palette is not greyscale")
            return np.asarray(image.convert("L"))
        if image.mode == "L":
            return np.asarray(image, dtype=np.uint8)
        raise ValueError(f"GIF has mode {image.mode}, expected 8-bit greyscale")


def _parse_fits_header(content: bytes) -> tuple[dict[str, str], int]:
    """Header cards (keyword -> raw value text) and the byte offset of the data."""
    cards: dict[str, str] = {}
    offset = 0
    while True:
        if offset + FITS_BLOCK > len(content):
            raise ValueError("FITS header has no END card")
        block = content[offset:offset + FITS_BLOCK]
        offset += FITS_BLOCK
        for start in range(0, FITS_BLOCK, 80):
            card = block[start:start + 80].decode("ascii", errors="replace")
            keyword = card[:8].strip()
            if keyword == "END":
                return cards, offset
            if card[8:10] == "= ":
                cards.setdefault(keyword, card[10:].split("/", 1)[0].strip())


def _decode_fits(content: bytes) -> np.ndarray:
    if not content.startswith(b"SIMPLE  ="):
        raise ValueError("not a FITS file (does not start with SIMPLE)")
    cards, offset = _parse_fits_header(content)
    try:
        bitpix = int(cards["BITPIX"])
        naxis = int(cards["NAXIS"])
        shape = tuple(int(cards[f"NAXIS{axis}"]) for axis in range(naxis, 0, -1))
    except (KeyError, ValueError) as error:
        raise ValueError(f"FITS header lacks a valid BITPIX / NAXIS card: {error}") from error
    if bitpix in _FITS_FLOAT_DTYPES and "BSCALE" not in cards and "BZERO" not in cards:
        dtype = _FITS_FLOAT_DTYPES[bitpix]
        n_bytes = int(np.prod(shape)) * dtype.itemsize
        if offset + n_bytes > len(content):
            raise ValueError(f"FITS data is truncated: expected {n_bytes} bytes after the header")
        return np.frombuffer(content, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)
    # Integer or scaled data: let astropy apply BSCALE / BZERO.
    from astropy.io import fits

    with fits.open(io.BytesIO(content), memmap=False) as hdus:
        data = hdus[0].data
        if data is None:
            raise ValueError("FITS primary HDU holds no data")
        return np.array(data)


def decode_stamp(content: bytes, *, stamp_format: str, location: str) -> np.ndarray:
    """Decode one stamp file to a (51, 51) array: uint8 for GIF, float32 for FITS.

    Raises ``ReleaseError`` naming ``location`` when the bytes are not a valid file of the
    format or the stamp is not 51x51.
    """
    try:
        if stamp_format == "gif":
            stamp = _decode_gif(content)
        elif stamp_format == "fits":
            stamp = _decode_fits(content)
            if not np.issubdtype(stamp.dtype, np.floating) and not np.issubdtype(stamp.dtype, np.integer):
                raise ValueError(f"FITS data has dtype {stamp.dtype}, expected numbers")
            stamp = stamp.astype(np.float32)
        else:
            raise ValueError(f"stamp format must be one of {STAMP_FORMATS}, got {stamp_format!r}")
    except Exception as error:  # PIL and astropy raise many kinds; all mean "corrupt"
        raise ReleaseError(f"{location}: corrupt {stamp_format.upper()} stamp ({error})") from error
    if stamp.shape != (STAMP_SIZE, STAMP_SIZE):
        raise ReleaseError(f"{location}: stamp has shape {stamp.shape}, expected ({STAMP_SIZE}, {STAMP_SIZE})")
    return stamp


def count_invalid_pixels(stamp: np.ndarray) -> tuple[int, int]:
    """(number of NaN / inf pixels, number of masked 1e-30 pixels) of a float stamp."""
    n_nan = int(np.count_nonzero(~np.isfinite(stamp)))
    n_masked = int(np.count_nonzero(stamp == np.float32(MASKED_PIXEL_VALUE)))
    return n_nan, n_masked


def decode_sample(sample: SampleFiles, *, stamp_format: str) -> np.ndarray:
    """Decode an ID's three files to one (51, 51, 3) array, channels (temp, srch, diff)."""
    dtype = np.uint8 if stamp_format == "gif" else np.float32
    stacked = np.empty((STAMP_SIZE, STAMP_SIZE, len(CHANNELS)), dtype=dtype)
    for index, channel in enumerate(CHANNELS):
        stacked[:, :, index] = decode_stamp(sample.files[channel], stamp_format=stamp_format,
                                            location=sample.location(channel, stamp_format))
    return stacked


__all__ = [
    "Issue",
    "ReleaseError",
    "SampleFiles",
    "count_invalid_pixels",
    "decode_sample",
    "decode_stamp",
    "iter_release_samples",
    "raise_issue",
    "read_feature_table",
]
