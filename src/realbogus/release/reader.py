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

import csv
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from realbogus.ids import INT64_MAX, exact_int64
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
_OBJECT_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
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


def read_feature_table(path: str | os.PathLike[str], *, on_issue: IssueHandler = raise_issue):  # -> pd.DataFrame
    """Read ``autoscan_features.3.csv``: skip leading ``#`` lines, check every row and value.

    Returns a DataFrame with the release's columns in release order: ``ID`` int64,
    ``OBJECT_TYPE`` int8 (0 non-artifact, 1 artifact), ``BAND`` str (g/r/i/z), every other
    column float64 (empty fields and ``nan`` both read as NaN).  A UTF-8 byte-order mark
    is accepted.  A missing file or a header that is not the 40 release columns raises
    ``ReleaseError``.  A row that breaks the format goes to ``on_issue`` (reason
    ``bad_feature_row``, location ``FILE line N``) and is left out: a row with fewer or
    more than 40 fields, an ID that is not an integer 0..2**63-1, an OBJECT_TYPE other
    than 0 or 1, a BAND other than g/r/i/z, a feature that is not a number.  The default
    handler raises at the first.  Duplicate IDs are *not* rejected here (the caller
    decides).
    """
    csv_path = Path(path)
    if not csv_path.is_file():
        raise ReleaseError(f"feature table {csv_path} does not exist (expected {FEATURE_TABLE_NAME})")
    skipped_lines, data_lines = _scan_feature_table(csv_path, on_issue)
    float_columns = [c for c in FEATURE_TABLE_COLUMNS if c not in ("ID", LABEL_COLUMN, "BAND")]
    for _attempt in range(2):
        try:
            table = _read_feature_rows(csv_path, skipped_lines, float_columns)
            break
        except ReleaseError:
            raise
        except ValueError as error:  # a field of a number column that is not a number
            bad = _rows_with_bad_numbers(csv_path, skipped_lines, data_lines, float_columns)
            if not bad or _attempt:
                raise ReleaseError(f"feature table {csv_path} could not be parsed as CSV: {error}") from error
            for line, column, value, detection_id in bad:
                on_issue(Issue(detection_id, f"{csv_path} line {line}", "bad_feature_row",
                               f"feature table {csv_path} line {line}: {column} must be a number, got {value!r}"))
                skipped_lines.add(line - 1)
            data_lines = np.setdiff1d(data_lines, [line for line, *_ in bad])
    if len(table) != len(data_lines):  # the scan and pandas disagree on what a row is
        raise ReleaseError(f"feature table {csv_path}: read {len(table)} rows but found {len(data_lines)} data "
                           "lines; expected one row per line (no quoted line breaks)")
    ids, bad_id = exact_int64(table["ID"], minimum=0)
    labels, bad_label = exact_int64(table[LABEL_COLUMN])
    bad_label |= ~np.isin(labels, (0, 1))
    bad_band = ~table["BAND"].isin(BANDS).to_numpy()
    rejected = bad_id | bad_label | bad_band
    for position in np.flatnonzero(rejected):
        line = int(data_lines[position])
        where = f"feature table {csv_path} line {line}"
        if bad_id[position]:
            message = f"{where}: ID must be an integer 0..{INT64_MAX}, got {table['ID'].iloc[position]!r}"
        elif bad_label[position]:
            message = (f"{where}: ID {ids[position]} has {LABEL_COLUMN}={table[LABEL_COLUMN].iloc[position]}, "
                       "expected 0 (non-artifact) or 1 (artifact)")
        else:
            message = f"{where}: ID {ids[position]} has BAND={table['BAND'].iloc[position]!r}, expected one of {BANDS}"
        on_issue(Issue(None if bad_id[position] else int(ids[position]), f"{csv_path} line {line}",
                       "bad_feature_row", message))
    table["ID"] = ids
    table[LABEL_COLUMN] = labels.astype(np.int8)
    if rejected.any():
        table = table.loc[~rejected].reset_index(drop=True)
    return table


_NA_VALUES = ["", "nan", "NaN", "NAN", "-nan"]
_UTF8_BOM = b"\xef\xbb\xbf"


def _count_fields(line: bytes) -> int:
    if b'"' not in line:
        return line.count(b",") + 1
    try:
        return len(next(csv.reader([line.decode("utf-8", "replace")]), []))
    except csv.Error:  # a quote left open: not a row of the release format
        return -1


def _is_utf8(line: bytes) -> bool:
    if line.isascii():
        return True
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _csv_lines(handle) -> Iterator[bytes]:  # noqa: ANN001 (a binary file)
    """The file's lines without their ends, split as pandas' parser splits them: at \\n, \\r\\n and a lone \\r."""
    for raw in handle:
        body = raw[:-1] if raw[-1:] == b"\n" else raw
        if b"\r" not in body:
            yield body
            continue
        yield from (body[:-1] if body[-1:] == b"\r" else body).split(b"\r")


def _scan_feature_table(csv_path: Path, on_issue: IssueHandler) -> tuple[set[int], np.ndarray]:
    """One pass over the raw lines: comment lines, the header, the field count of every row.

    Returns (0-based indices of lines for pandas to skip: comments, blank lines and rows
    with the wrong number of fields; 1-based line numbers of the rows it will read).
    """
    skipped: set[int] = set()
    data_lines: list[int] = []
    header_seen = False
    n_columns = len(FEATURE_TABLE_COLUMNS)
    n_commas = n_columns - 1
    with open(csv_path, "rb") as handle:
        for index, line in enumerate(_csv_lines(handle)):
            # The common row first, checked with C-speed bytes methods (900k rows in the release).
            if header_seen and line.count(b",") == n_commas and line.isascii() and b'"' not in line:
                data_lines.append(index + 1)
                continue
            if index == 0 and line.startswith(_UTF8_BOM):
                line = line[len(_UTF8_BOM):]
            if not line.strip() or (not header_seen and line.startswith(b"#")):
                skipped.add(index)
                continue
            if not header_seen:
                header_seen = True
                _check_header(csv_path, line)
                continue
            n_fields = _count_fields(line) if _is_utf8(line) else -2
            if n_fields != n_columns:
                first = line.split(b",", 1)[0].strip()
                detection_id = int(first) if first.isdigit() and int(first) <= INT64_MAX else None
                found = {-1: "a quote left open", -2: "bytes that are not UTF-8 text"}.get(n_fields, f"{n_fields} fields")
                on_issue(Issue(detection_id, f"{csv_path} line {index + 1}", "bad_feature_row",
                               f"feature table {csv_path} line {index + 1}: {found}, expected "
                               f"{n_columns} fields (ID, OBJECT_TYPE, ..., SPREAD_MODEL); the row is cut short or "
                               "has extra values"))
                skipped.add(index)
                continue
            data_lines.append(index + 1)
    if not header_seen:
        raise ReleaseError(f"feature table {csv_path} has no header line (expected the {n_columns} release "
                           "columns ID, OBJECT_TYPE, AMP, ...)")
    return skipped, np.asarray(data_lines, dtype=np.int64)


def _check_header(csv_path: Path, line: bytes) -> None:
    try:
        columns = [c.strip() for c in next(csv.reader([line.decode("utf-8", "replace")]), [])]
    except csv.Error:
        columns = []
    if columns != list(FEATURE_TABLE_COLUMNS):
        missing = [c for c in FEATURE_TABLE_COLUMNS if c not in columns]
        extra = [c for c in columns if c not in FEATURE_TABLE_COLUMNS]
        raise ReleaseError(
            f"feature table {csv_path} must have the {len(FEATURE_TABLE_COLUMNS)} release columns "
            f"in order ID, OBJECT_TYPE, AMP, ...; missing {missing}, unexpected {extra[:5]}"
            + ("" if missing or extra else ", columns out of order")
        )


def _read_feature_rows(csv_path: Path, skipped_lines: set[int], float_columns: list[str]):
    import pandas as pd

    # Chunks keep the parser's working memory small (the real table is ~900k rows).
    chunks = pd.read_csv(
        csv_path,
        skiprows=skipped_lines,
        encoding="utf-8-sig",
        encoding_errors="replace",  # lines that are not UTF-8 were refused by the scan and are skipped
        # ID and label as text: parsed exactly below (a float or a wrapped int64 would lie).
        dtype={"ID": str, LABEL_COLUMN: str, "BAND": str, **{c: np.float64 for c in float_columns}},
        keep_default_na=False,
        na_values=_NA_VALUES,
        skip_blank_lines=False,
        chunksize=100_000,
    )
    try:
        return pd.concat(list(chunks), ignore_index=True)
    except pd.errors.ParserError as error:
        raise ReleaseError(f"feature table {csv_path} could not be parsed as CSV: {error}") from error


def _rows_with_bad_numbers(csv_path: Path, skipped_lines: set[int], data_lines: np.ndarray,
                           float_columns: list[str]) -> list[tuple[int, str, str, int | None]]:
    """(line, column, value, ID) of every feature field that is not a number (the slow path of a bad file)."""
    import pandas as pd

    bad: list[tuple[int, str, str, int | None]] = []
    chunks = pd.read_csv(csv_path, skiprows=skipped_lines, encoding="utf-8-sig", encoding_errors="replace",
                         dtype=str, keep_default_na=False,
                         skip_blank_lines=False, chunksize=100_000)
    offset = 0
    for chunk in chunks:
        for column in float_columns:
            raw = chunk[column]
            not_number = pd.to_numeric(raw, errors="coerce").isna().to_numpy() & ~raw.isin(_NA_VALUES).to_numpy()
            for position in np.flatnonzero(not_number):
                ids, bad_id = exact_int64(chunk["ID"].iloc[[position]], minimum=0)
                bad.append((int(data_lines[offset + position]), column, str(raw.iloc[position]),
                            None if bad_id[0] else int(ids[0])))
        offset += len(chunk)
    # One issue per row (its first bad field), in line order.
    first_per_line: dict[int, tuple[int, str, str, int | None]] = {}
    for entry in sorted(bad):
        first_per_line.setdefault(entry[0], entry)
    return list(first_per_line.values())


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


class _TruncatedTar(ValueError):
    """The tar file ends before what its headers announce (cut short, or a header lies)."""


def _iter_tar_records(handle: io.BufferedReader, file_size: int) -> Iterator[tuple[str, int, bool]]:
    """(member name, data size, is regular file) per member, leaving ``handle`` at the data.

    A small USTAR / GNU / PAX header parser: Python's ``tarfile`` spends ~100 us per header
    (it builds a TarInfo and keeps every one), which alone would cap ingest at about
    1,000 samples/s on the real release's ~5.4 million members.  Raises ``ValueError``
    on a corrupt header (bad checksum, bad number) and ``_TruncatedTar`` when the file
    ends before a header, a member's data or the end-of-archive blocks: a header's size
    is checked against the bytes left before anything is read, so a header that claims
    2**50 bytes costs nothing.
    """
    long_name: str | None = None
    n_zero_blocks = 0
    while True:
        header = handle.read(_TAR_BLOCK)
        if not header:
            raise _TruncatedTar(f"the file ends at byte {file_size} without tar's end-of-archive blocks")
        if len(header) < _TAR_BLOCK:
            raise _TruncatedTar(f"the file ends inside a header ({len(header)} of {_TAR_BLOCK} bytes)")
        if header.count(0) == _TAR_BLOCK:
            n_zero_blocks += 1
            if n_zero_blocks == 2:
                return
            continue
        n_zero_blocks = 0
        stored_checksum = _tar_number(header[148:156])
        # The checksum counts its own field as eight spaces.
        if stored_checksum != sum(header[:148]) + 256 + sum(header[156:]):
            raise ValueError("header checksum mismatch (not a tar file, or corrupt)")
        size = _tar_number(header[124:136])
        if size < 0:
            raise ValueError(f"a header gives a negative size ({size})")
        typeflag = header[156:157]
        padded = size + (-size % _TAR_BLOCK)
        start = handle.tell()
        if start + size > file_size:
            name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
            raise _TruncatedTar(f"member {name!r} announces {size} bytes but only {file_size - start} remain")
        if typeflag in (b"L", b"x", b"g"):
            data = handle.read(padded)
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
        yield name, size, is_regular
        handle.seek(start + padded)


def _iter_tar(path: Path, label: str, on_issue: IssueHandler,
              wanted: Callable[[str], bool]) -> Iterator[tuple[str, str, bytes]]:
    """(member folder, base name, bytes) of each ``wanted`` regular file in a tar, in order."""
    n_members = 0
    try:
        handle = open(path, "rb", buffering=1 << 20)
        file_size = os.fstat(handle.fileno()).st_size
    except OSError as error:
        on_issue(Issue(None, label, "unreadable_tar", f"tar {label} could not be opened: {error.strerror or error}"))
        return
    with handle:
        records = _iter_tar_records(handle, file_size)
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
                    raise _TruncatedTar(f"member {name} is cut short ({len(content)} of {size} bytes)")
            except _TruncatedTar as error:
                on_issue(Issue(None, label, "truncated_tar",
                               f"tar {label} is truncated or corrupt after {n_members} members: {error}; "
                               "expected a complete uncompressed tar (copy it again)"))
                return
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
            if detection_id > INT64_MAX:
                where = f"{source}:{folder}/{name}" if source else f"{folder}/{name}"
                on_issue(Issue(None, where, "bad_id", f"{where}: ID {detection_id} does not fit in 64 bits; "
                                                      f"expected an integer ID 0..{INT64_MAX}"))
                continue
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
        # Drop object addresses ("<_io.BytesIO object at 0x7f...>"): reports must be byte-identical between runs.
        reason = _OBJECT_ADDRESS.sub("", " ".join(str(error).split())) or type(error).__name__
        raise ReleaseError(f"{location}: corrupt {stamp_format.upper()} stamp ({reason})") from error
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
