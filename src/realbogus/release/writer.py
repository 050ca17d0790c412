"""Write a release in the DES-SN autoScan layout: GIF and FITS stamps in tars, feature CSV.

Used by the simulator (and by tests and benchmarks) to produce releases the reader and the
ingest stage consume exactly as they would consume the real one.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.release.layout import (
    ARCHIVE_ROOT,
    FEATURE_TABLE_COLUMNS,
    N_TARS_IN_REAL_RELEASE,
    TAR_NAME_PATTERN,
    parse_stamp_filename,
)

FITS_BLOCK = 2880
FITS_CARD = 80
_FITS_KEYWORD = re.compile(r"^[A-Z0-9_-]{1,8}$")
# Keywords the writer sets itself; callers may not override them.
_STRUCTURAL_KEYWORDS = frozenset({"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "END"})


# --------------------------------------------------------------------------- stamps


# GIF stamps are written without compression: every pixel is a 9-bit LZW literal code, with
# a clear code often enough that a decoder's code table never outgrows 9 bits (it would after
# 254 codes; 250 leaves a margin for decoders that widen one code early).  That stream is a
# valid GIF that any decoder turns back into exactly the same pixels, and it is built with a
# few vectorised numpy operations: ~40 us per 51x51 stamp against ~250 us for Pillow's
# encoder, which matters at three GIFs per simulated sample.  The files (3,746 bytes for
# 51x51) are about the size of Pillow's LZW-compressed noisy stamps (noise does not compress).
_GIF_LITERALS_PER_CLEAR = 250
_GIF_CLEAR_CODE = 256
_GIF_END_CODE = 257
_GIF_CODE_BITS = 9
_GIF_GREY_PALETTE = np.repeat(np.arange(256, dtype=np.uint8), 3).tobytes()
_GIF_GROUP_SHIFTS = np.arange(0, 8 * _GIF_CODE_BITS, _GIF_CODE_BITS, dtype=np.uint64)


def _pack_9bit_codes(codes: np.ndarray) -> np.ndarray:
    """Pack 9-bit codes least-significant bit first (GIF's LZW bit order) into bytes.

    Eight codes make 72 bits = 9 bytes: the low 64 bits as a little-endian uint64, then
    the top 8 bits of the eighth code.
    """
    n_codes = codes.size
    groups = np.zeros((-(-n_codes // 8), 8), dtype=np.uint64)
    groups.ravel()[:n_codes] = codes
    packed = np.empty((groups.shape[0], 9), dtype=np.uint8)
    packed[:, :8] = np.bitwise_or.reduce(groups << _GIF_GROUP_SHIFTS, axis=1).astype("<u8").view(np.uint8).reshape(-1, 8)
    packed[:, 8] = (groups[:, 7] >> np.uint64(1)).astype(np.uint8)
    n_bytes = (n_codes * _GIF_CODE_BITS + 7) // 8
    return packed.ravel()[:n_bytes]


def _gif_code_positions(n_pixels: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(position of each pixel's code, positions of the clear codes, number of codes)."""
    pixel = np.arange(n_pixels)
    n_clears = -(-n_pixels // _GIF_LITERALS_PER_CLEAR)
    pixel_positions = pixel + pixel // _GIF_LITERALS_PER_CLEAR + 1
    clear_positions = np.arange(n_clears) * (_GIF_LITERALS_PER_CLEAR + 1)
    return pixel_positions, clear_positions, n_pixels + n_clears + 1


_GIF_LAYOUT_CACHE: dict[int, tuple[np.ndarray, np.ndarray, int]] = {}


def encode_gif(stamp_uint8: np.ndarray) -> bytes:
    """Encode a (rows, columns) uint8 stamp as an 8-bit greyscale GIF (lossless: 256 grey levels).

    The GIF has a 256-entry identity grey palette (Pillow opens it as mode "L") and an
    uncompressed LZW stream (see ``_GIF_LITERALS_PER_CLEAR``).
    """
    array = np.asarray(stamp_uint8)
    if array.dtype != np.uint8 or array.ndim != 2:
        raise ValueError(f"GIF stamp must be a 2-D uint8 array, got {array.dtype} {array.shape}")
    rows, columns = array.shape
    if not (0 < rows < 65536 and 0 < columns < 65536):
        raise ValueError(f"GIF stamp must be 1..65535 pixels on each side, got {array.shape}")
    n_pixels = rows * columns
    layout = _GIF_LAYOUT_CACHE.get(n_pixels)
    if layout is None:
        layout = _GIF_LAYOUT_CACHE.setdefault(n_pixels, _gif_code_positions(n_pixels))
    pixel_positions, clear_positions, n_codes = layout
    codes = np.empty(n_codes, dtype=np.uint16)
    codes[pixel_positions] = array.ravel()
    codes[clear_positions] = _GIF_CLEAR_CODE
    codes[-1] = _GIF_END_CODE
    stream = _pack_9bit_codes(codes)
    # Data sub-blocks: a length byte (255 for all but the last) before each <= 255 bytes.
    n_full, remainder = divmod(stream.size, 255)
    blocks = np.empty((n_full, 256), dtype=np.uint8)
    blocks[:, 0] = 255
    blocks[:, 1:] = stream[:n_full * 255].reshape(n_full, 255)
    tail = bytes([remainder]) + stream[n_full * 255:].tobytes() if remainder else b""
    size = rows.to_bytes(2, "little"), columns.to_bytes(2, "little")
    return b"".join((
        b"GIF87a", size[1], size[0], b"\x87\x00\x00",  # screen: global table of 256 colours
        _GIF_GREY_PALETTE,
        b"\x2c\x00\x00\x00\x00", size[1], size[0], b"\x00",  # image at (0, 0), no local table
        b"\x08",  # LZW minimum code size: 8-bit pixels
        blocks.tobytes(), tail, b"\x00",  # sub-blocks, block terminator
        b"\x3b",  # trailer
    ))


def _format_card(keyword: str, value: object, comment: str | None = None) -> bytes:
    """One 80-character FITS header card in the standard fixed format."""
    if not _FITS_KEYWORD.match(keyword):
        raise ValueError(f"FITS keyword must be 1-8 characters of A-Z 0-9 _ -, got {keyword!r}")
    if isinstance(value, (bool, np.bool_)):
        text = ("T" if value else "F").rjust(20)
    elif isinstance(value, (int, np.integer)):
        text = str(int(value)).rjust(20)
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            raise ValueError(f"FITS card {keyword}: value must be finite, got {value!r}")
        text = repr(float(value)).upper()
        if "." not in text and "E" not in text:
            text += ".0"
        text = text.rjust(20)
    elif isinstance(value, str):
        if not value.isascii() or any(not (32 <= ord(ch) <= 126) for ch in value):
            raise ValueError(f"FITS card {keyword}: string must be printable ASCII, got {value!r}")
        text = "'" + value.replace("'", "''").ljust(8) + "'"
    else:
        raise ValueError(
            f"FITS card {keyword}: value must be bool, int, float or str, got {type(value).__name__}"
        )
    card = f"{keyword:<8}= {text}"
    if comment:
        card += f" / {comment}"
    if len(card) > FITS_CARD:
        raise ValueError(f"FITS card {keyword} is longer than 80 characters: {card!r}")
    return card.ljust(FITS_CARD).encode("ascii")


@functools.lru_cache(maxsize=16)
def _structural_cards(rows: int, columns: int) -> bytes:
    """The header's first five cards (the same for every stamp of a shape; cached)."""
    return b"".join((
        _format_card("SIMPLE", True, "conforms to FITS standard"),
        _format_card("BITPIX", -32, "32-bit IEEE float"),
        _format_card("NAXIS", 2),
        _format_card("NAXIS1", columns),  # FITS axis 1 is the fastest-varying: columns
        _format_card("NAXIS2", rows),
    ))


def encode_fits(stamp_float32: np.ndarray, *, header_cards: Mapping[str, object] | None = None) -> bytes:
    """Encode a 2-D float stamp as a FITS file with one primary HDU (BITPIX = -32).

    The header is written directly (no astropy) because the simulator writes three FITS
    per sample at hundreds of samples per second; tests check the output with astropy.

    Parameters
    ----------
    stamp_float32:
        (rows, columns) array; stored as big-endian float32 (NaN and 1e-30 kept as is).
    header_cards:
        Extra header keywords -> bool / int / float / str values, in order.
    """
    array = np.asarray(stamp_float32)
    if array.ndim != 2:
        raise ValueError(f"FITS stamp must be 2-D, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"FITS stamp must be a float array, got {array.dtype}")
    rows, columns = array.shape
    cards = [_structural_cards(rows, columns)]
    for keyword, value in (header_cards or {}).items():
        if keyword.upper() in _STRUCTURAL_KEYWORDS:
            raise ValueError(f"FITS card {keyword} is set by the writer and may not be overridden")
        cards.append(_format_card(keyword, value))
    cards.append(b"END".ljust(FITS_CARD))
    header = b"".join(cards)
    header += b" " * (-len(header) % FITS_BLOCK)
    data = np.ascontiguousarray(array, dtype=">f4").tobytes()
    data += b"\0" * (-len(data) % FITS_BLOCK)
    return header + data


# --------------------------------------------------------------------------- folders


def archive_folder(*, night: str, directory: str) -> str:
    """Member folder of one sample as in the release: ``home2/SNWG/Archive/2013/Y1/<night>/<directory>``.

    ``night`` is ``YYYYMMDD``; ``directory`` a single path component.
    """
    if not re.fullmatch(r"\d{8}", night):
        raise ValueError(f"night must be YYYYMMDD, got {night!r}")
    if not directory or "/" in directory or directory in (".", ".."):
        raise ValueError(f"directory must be one non-empty path component, got {directory!r}")
    return f"{ARCHIVE_ROOT}/{night}/{directory}"


def _validate_member_folder(folder: str) -> str:
    cleaned = folder.strip("/")
    parts = cleaned.split("/") if cleaned else []
    if folder.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"folder must be a relative path without '.', '..' or empty parts, got {folder!r}")
    return cleaned


def _ustar_header(name: str, size: int) -> bytes:
    """A 512-byte USTAR header for a regular file (mode 644, mtime 0, no owner).

    Written directly because ``tarfile.TarInfo.tobuf`` costs ~100 us per member, which
    would eat a third of the simulator's per-sample budget at six files per sample.
    """
    encoded = name.encode("utf-8")
    prefix = b""
    if len(encoded) > 100:
        # USTAR splits long paths at a "/" into a 155-byte prefix and a 100-byte name.
        split = encoded.rfind(b"/", 0, 156)
        if split <= 0 or len(encoded) - split - 1 > 100:
            raise ValueError(f"tar member path too long for a USTAR header: {name!r}")
        prefix, encoded = encoded[:split], encoded[split + 1:]
    header = bytearray(512)
    header[0:len(encoded)] = encoded
    header[100:108] = b"0000644\0"
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"00000000000\0"
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[345:345 + len(prefix)] = prefix
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


class ReleaseWriter:
    """Append samples' stamp files to ``stamps_0.tar`` .. ``stamps_{n_tars-1}.tar`` in ``out_dir``.

    A context manager.  Samples go to tars round-robin in insertion order unless
    ``tar_index`` is given.  With ``packed=False`` each "tar" is instead a folder
    ``stamps_{k}/`` holding the same member paths (the release as a user unpacks it, one
    tar per folder).  Every tar / folder is built under a temporary name and renamed only
    when the ``with`` block ends without an exception; a failure leaves none of them.

    Example::

        with ReleaseWriter(out_dir, n_tars=11) as writer:
            writer.add_sample(detection_id=7, folder=archive_folder(night="20130901", directory="c01"),
                              files={"temp7.gif": b"...", ...})
    """

    def __init__(self, out_dir: str | os.PathLike[str], *, n_tars: int = N_TARS_IN_REAL_RELEASE,
                 packed: bool = True) -> None:
        if int(n_tars) < 1:
            raise ValueError(f"n_tars must be >= 1, got {n_tars}")
        self.out_dir = Path(out_dir)
        self.n_tars = int(n_tars)
        self.packed = bool(packed)
        self.n_samples = 0
        self._stack: contextlib.ExitStack | None = None
        self._targets: list[Path] = []
        self._tars: list[io.BufferedWriter] = []
        self._ids: set[int] = set()

    def __enter__(self) -> ReleaseWriter:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stack = contextlib.ExitStack()
        try:
            for index in range(self.n_tars):
                name = TAR_NAME_PATTERN.format(index=index)
                if self.packed:
                    temporary = stack.enter_context(atomic_path(self.out_dir / name))
                    # Uncompressed, like the release; USTAR headers keep members portable.
                    self._tars.append(open(temporary, "wb", buffering=1 << 20))
                else:
                    folder_name = name.removesuffix(".tar")
                    temporary = stack.enter_context(atomic_path(self.out_dir / folder_name, is_dir=True))
                self._targets.append(temporary)
        except BaseException:
            self._close_tars()
            stack.close()
            raise
        self._stack = stack
        return self

    def _close_tars(self) -> None:
        for archive in self._tars:  # after an error: the files are about to be removed
            with contextlib.suppress(Exception):
                archive.close()
        self._tars = []

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        assert self._stack is not None, "ReleaseWriter used outside its with block"
        stack, self._stack = self._stack, None
        if exc_type is None:
            try:
                for archive in self._tars:
                    # End-of-archive: two zero blocks, then pad to tar's 10240-byte record.
                    archive.write(b"\0" * 1024)
                    archive.write(b"\0" * (-archive.tell() % 10240))
                    archive.close()
            except BaseException as close_error:
                self._close_tars()
                stack.__exit__(type(close_error), close_error, close_error.__traceback__)
                raise
            self._tars = []
            stack.__exit__(None, None, None)  # renames every temporary onto its final name
            return False
        self._close_tars()
        stack.__exit__(exc_type, exc, traceback)  # removes every temporary
        return False

    def add_sample(self, *, detection_id: int, folder: str, files: Mapping[str, bytes],
                   tar_index: int | None = None) -> int:
        """Add one sample's files (base names such as ``temp7.gif``) under ``folder``.

        Every file name must be a stamp name for ``detection_id`` (see
        ``layout.stamp_filename``).  Returns the index of the tar that received them.
        """
        if self._stack is None:
            raise RuntimeError("ReleaseWriter.add_sample called outside its with block")
        detection_id = int(detection_id)
        if detection_id in self._ids:
            raise ValueError(f"detection ID {detection_id} was already written to this release")
        member_folder = _validate_member_folder(folder)
        for name in files:
            parsed = parse_stamp_filename(name)
            if parsed is None or parsed[1] != detection_id:
                raise ValueError(
                    f"file {name!r} of ID {detection_id} is not a stamp name like "
                    f"'temp{detection_id}.gif' / 'diff{detection_id}.fits'"
                )
        index = self.n_samples % self.n_tars if tar_index is None else int(tar_index)
        if not 0 <= index < self.n_tars:
            raise ValueError(f"tar_index must be in 0..{self.n_tars - 1}, got {tar_index}")
        for name, content in files.items():
            member = f"{member_folder}/{name}" if member_folder else name
            if self.packed:
                # Fixed mtime / owner so a rerun with the same inputs gives byte-identical tars.
                archive = self._tars[index]
                archive.write(_ustar_header(member, len(content)))
                archive.write(content)
                archive.write(b"\0" * (-len(content) % 512))
            else:
                path = self._targets[index] / member
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        self._ids.add(detection_id)
        self.n_samples += 1
        return index


# --------------------------------------------------------------------------- feature table


class FeatureTableWriter:
    """Write ``autoscan_features.3.csv`` a block of rows at a time, so memory stays bounded
    whatever the number of rows.

    A context manager: the ``#`` comment lines and the header are written on entry, each
    :meth:`write` appends a block, and the file appears (atomically) only when the ``with``
    block ends without an exception.  Each block must hold exactly
    ``layout.FEATURE_TABLE_COLUMNS`` (any order; written in the release order) with unique
    integer IDs, all above every ID of the blocks before: checking that needs no record
    of the IDs written, which a full-size release (900k rows) would otherwise cost.
    Missing values are written as empty fields, which is what pandas (the likely producer
    of the release table) writes; the reader accepts both empty and ``nan``.  Floats are
    written with full round-trip precision, so a table written in blocks has the same
    bytes as the same table written whole.

    Example::

        with FeatureTableWriter(path, comment_lines=["# simulated"]) as table_writer:
            for block in blocks:  # DataFrames in ascending ID order
                table_writer.write(block)
    """

    def __init__(self, path: str | os.PathLike[str], *, comment_lines: list[str]) -> None:
        for line in comment_lines:
            if "\n" in line:
                raise ValueError(f"comment line must be one line, got {line!r}")
        self.path = Path(path)
        self.comment_lines = list(comment_lines)
        self.n_rows = 0
        self._last_id: int | None = None
        self._stack: contextlib.ExitStack | None = None
        self._handle: io.TextIOWrapper | None = None

    def __enter__(self) -> FeatureTableWriter:
        stack = contextlib.ExitStack()
        try:
            temporary = stack.enter_context(atomic_path(self.path))
            handle = stack.enter_context(open(temporary, "w", encoding="ascii", newline="\n"))
            for line in self.comment_lines:
                handle.write(line if line.startswith("#") else f"# {line}")
                handle.write("\n")
            handle.write(",".join(FEATURE_TABLE_COLUMNS) + "\n")
        except BaseException:
            stack.close()
            raise
        self._stack, self._handle = stack, handle
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        assert self._stack is not None, "FeatureTableWriter used outside its with block"
        stack, self._stack, self._handle = self._stack, None, None
        # Closes the file, then renames it into place (or removes it after an exception).
        return bool(stack.__exit__(exc_type, exc, traceback))

    def write(self, table: pd.DataFrame) -> None:
        """Append the rows of ``table`` (see the class for what a block must hold)."""
        if self._handle is None:
            raise RuntimeError("FeatureTableWriter.write called outside its with block")
        missing = [column for column in FEATURE_TABLE_COLUMNS if column not in table.columns]
        extra = [column for column in table.columns if column not in FEATURE_TABLE_COLUMNS]
        if missing or extra:
            raise ValueError(
                f"feature table for {self.path} must have exactly the {len(FEATURE_TABLE_COLUMNS)} release "
                f"columns; missing {missing}, unexpected {extra}"
            )
        if table.empty:
            return
        ids = table["ID"]
        if ids.duplicated().any():
            duplicates = table.loc[ids.duplicated(), "ID"].head(5).tolist()
            raise ValueError(f"feature table for {self.path} has duplicate IDs, e.g. {duplicates}")
        if self._last_id is not None and int(ids.min()) <= self._last_id:
            raise ValueError(
                f"feature table for {self.path}: a block holds ID {int(ids.min())}, not above the "
                f"largest ID already written ({self._last_id}); write blocks in ascending ID order"
            )
        table.loc[:, list(FEATURE_TABLE_COLUMNS)].to_csv(self._handle, index=False, header=False, na_rep="",
                                                         lineterminator="\n")
        self._last_id = int(ids.max())
        self.n_rows += len(table)


def write_feature_table(path: str | os.PathLike[str], table: pd.DataFrame, *,
                        comment_lines: list[str]) -> None:
    """Write ``autoscan_features.3.csv`` whole: ``#`` comment lines, then the 40 columns in order.

    ``table`` must hold exactly ``layout.FEATURE_TABLE_COLUMNS`` (any order; written in the
    release order) with unique integer IDs, in any order.  Otherwise as
    :class:`FeatureTableWriter`, which writes a table block by block.
    """
    with FeatureTableWriter(path, comment_lines=comment_lines) as table_writer:
        table_writer.write(table)


__all__ = [
    "FeatureTableWriter",
    "ReleaseWriter",
    "archive_folder",
    "encode_fits",
    "encode_gif",
    "write_feature_table",
]
