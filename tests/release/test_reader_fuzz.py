"""Fuzzing the release reader (issue 15): random bytes, random truncation and random tar
headers as tars, stamps and feature tables.  Whatever the bytes, the reader either yields
valid samples or reports a ``ReleaseError`` / an issue naming the file: no other exception
(no MemoryError, no RecursionError, no traceback) and no hang.

Derandomized (the same examples on every run, so CI is reproducible) and without the
example database (nothing written into the working tree).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import storage_directory

from realbogus.release.layout import BANDS, CHANNELS, FEATURE_TABLE_COLUMNS, FEATURE_TABLE_NAME, STAMP_SIZE
from realbogus.release.reader import (
    Issue,
    ReleaseError,
    decode_sample,
    iter_release_samples,
    read_feature_table,
)

from .conftest import build_release

REPO = Path(__file__).resolve().parents[2]
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=300, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
pytestmark = pytest.mark.timeout(120)  # a hang fails the test instead of stalling CI


@functools.cache
def valid_release() -> dict[str, bytes]:
    """The bytes of a small valid release: one tar (GIF and FITS stamps) and its feature table.

    A function, not a fixture: Hypothesis would print a fixture's 500 kB with every failure.
    """
    with tempfile.TemporaryDirectory() as folder:
        release = build_release(Path(folder) / "release", n=3, n_tars=1)
        return {"tar": (release.path / "stamps_0.tar").read_bytes(),
                "table": (release.path / FEATURE_TABLE_NAME).read_bytes()}


@contextlib.contextmanager
def release_with(tar_bytes: bytes | None = None, table_bytes: bytes | None = None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        root = Path(folder)
        if tar_bytes is not None:
            (root / "stamps_0.tar").write_bytes(tar_bytes)
        if table_bytes is not None:
            (root / FEATURE_TABLE_NAME).write_bytes(table_bytes)
        yield root


def read_everything(root: Path) -> None:
    """Walk and decode the release in both modes; only ReleaseError (raise mode) may escape."""
    for stamp_format in ("gif", "fits"):
        issues: list[Issue] = []
        for sample in iter_release_samples(root, stamp_format=stamp_format, on_issue=issues.append):
            assert set(sample.files) == set(CHANNELS)
            with contextlib.suppress(ReleaseError):
                stamps = decode_sample(sample, stamp_format=stamp_format)
                assert stamps.shape == (STAMP_SIZE, STAMP_SIZE, 3)
        for issue in issues:
            assert issue.message and issue.reason and " at 0x" not in issue.message
        with contextlib.suppress(ReleaseError):
            for sample in iter_release_samples(root, stamp_format=stamp_format):
                with contextlib.suppress(ReleaseError):
                    decode_sample(sample, stamp_format=stamp_format)


def check_table(root: Path) -> None:
    """read_feature_table: a valid table, or ReleaseError; in skip mode the same, with issues."""
    for mode in ("raise", "skip"):
        issues: list[Issue] = []
        handler = issues.append if mode == "skip" else None
        try:
            table = read_feature_table(root / FEATURE_TABLE_NAME, **({"on_issue": handler} if handler else {}))
        except ReleaseError:
            continue
        assert list(table.columns) == list(FEATURE_TABLE_COLUMNS)
        assert table["ID"].dtype == np.int64 and (table["ID"] >= 0).all()
        assert table["OBJECT_TYPE"].isin([0, 1]).all() and table["BAND"].isin(BANDS).all()
        assert all(table[c].dtype == np.float64 for c in FEATURE_TABLE_COLUMNS if c not in ("ID", "OBJECT_TYPE", "BAND"))


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_as_a_tar_and_as_a_feature_table(data: bytes) -> None:
    with release_with(tar_bytes=data, table_bytes=data) as root:
        read_everything(root)
        check_table(root)


@FUZZ
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6))
def test_truncated_and_corrupted_tars(cut: float, flips: list[tuple[float, int]]) -> None:
    tar = valid_release()["tar"]
    data = bytearray(tar[: int(len(tar) * cut)])
    for where, value in flips:
        if data:
            data[min(int(where * len(data)), len(data) - 1)] = value
    with release_with(tar_bytes=bytes(data)) as root:
        read_everything(root)


def _tar_header(name: bytes, size_field: bytes, typeflag: bytes, prefix: bytes, magic: bytes) -> bytes:
    header = bytearray(512)
    header[0:len(name[:100])] = name[:100]
    header[100:108] = b"0000644\0"
    header[124:136] = size_field.ljust(12, b"\0")[:12]
    header[156:157] = typeflag[:1]
    header[257:263] = magic.ljust(6, b"\0")[:6]
    header[345:345 + len(prefix[:155])] = prefix[:155]
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)  # a correct checksum, so the parser goes on to the fields
    return bytes(header)


size_fields = st.one_of(
    st.integers(0, 8**11 - 1).map(lambda n: b"%011o" % n),  # octal, any size up to 8 GiB
    st.integers(0, 2**64).map(lambda n: b"\x80" + n.to_bytes(11, "big")),  # base-256, up to 2**64
    st.binary(min_size=1, max_size=12),  # garbage
    st.just(b"\xff" + b"\xff" * 11),  # base-256 negative
)


@FUZZ
@given(headers=st.lists(st.tuples(
    st.one_of(st.sampled_from([b"temp7.gif", b"srch7.gif", b"diff7.gif", b"a/b/temp8.fits", b"x"]),
              st.binary(max_size=100)),
    size_fields,
    st.sampled_from([b"0", b"\0", b"5", b"7", b"L", b"x", b"g", b"K", b"S"]),
    st.binary(max_size=40),
    st.sampled_from([b"ustar", b"", b"garbage"])), min_size=1, max_size=4),
    payload=st.binary(max_size=2048), end=st.booleans())
def test_random_tar_headers(headers, payload: bytes, end: bool) -> None:
    data = b"".join(_tar_header(*fields) + payload for fields in headers)
    if end:
        data += b"\0" * 1024
    with release_with(tar_bytes=data) as root:
        read_everything(root)


@FUZZ
@given(cut=st.floats(0, 1), inserts=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(
    [b",", b"\n", b'"', b"\xef\xbb\xbf", b"99999999999999999999", b"nan", b"#", b"\r\n", b"x", b"-1", b""])),
    max_size=5))
def test_truncated_and_edited_feature_tables(cut: float, inserts) -> None:
    table = valid_release()["table"]
    data = table[: int(len(table) * cut)]
    for where, text in inserts:
        position = int(where * len(data))
        data = data[:position] + text + data[position:]
    with release_with(table_bytes=data) as root:
        check_table(root)


def test_hypothesis_writes_nothing_into_the_working_tree() -> None:
    """tests/conftest.py points Hypothesis' home (its caches) at a temporary folder."""
    home = Path(storage_directory(intent_to_write=False).path).resolve()
    assert not home.is_relative_to(REPO) and not home.is_relative_to(Path.cwd().resolve())
