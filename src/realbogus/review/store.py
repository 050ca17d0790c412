"""The decisions file: an append-only CSV that loses nothing.

Columns ``DECISION_COLUMNS``: id, decision (artifact, non-artifact, unsure, skip, undo),
reviewer, time (UTC ISO 8601), candidates_version (MD5 of the candidate list the decision
was made on), old_label (the given label at that time).

Every record is one line written with a single ``write`` on an ``O_APPEND`` descriptor
and ``fsync``'ed before the page hears "saved", so a crash or power cut loses at most
a decision the reviewer was never told was saved.  Nothing is ever rewritten: an undo is
a record of its own.  Writers take a thread lock and an exclusive ``flock`` on the file,
so two reviewers on one server, or two servers on one file, interleave whole lines, and
each re-reads what the other appended before it decides what an undo undoes.

The file may change under a running server (a ``git checkout`` of another version, a
restore from backup): a file that was replaced, shrank or no longer ends with what was
read is read again from the start, so the server always shows what is on disk.

A reviewer's name is the only free text in the file.  Spreadsheet programs run a cell
that begins with ``=``, ``+``, ``-`` or ``@`` as a formula, so such a name is written with
a leading ``'`` (as is a name that itself begins with ``'``, so that reading it back is
exact); :func:`read_decisions` and the store undo that.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import fcntl
import io
import os
import threading
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from realbogus.votes import DECISIONS, RECORD_KINDS, UNDO

DECISION_COLUMNS: tuple[str, ...] = (
    "id", "decision", "reviewer", "time", "candidates_version", "old_label",
)
MAX_REVIEWER_LENGTH = 64
# Cell starts a spreadsheet reads as a formula (OWASP "CSV injection"), and the escape itself.
_FORMULA_STARTS = ("=", "+", "-", "@", "'")
_TAIL_BYTES = 64  # bytes before the read offset that must still be there for an incremental read
_MAX_CACHED_REVIEWERS = 32


class DecisionFileError(ValueError):
    """The decisions file cannot be used as it is (damaged, not a decisions file, a folder)."""


def escape_cell(text: str) -> str:
    """``text`` as written to the CSV: a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def unescape_cell(text: str) -> str:
    """The inverse of :func:`escape_cell`."""
    return text[1:] if text.startswith("'") else text


def read_decisions(path: str | os.PathLike[str]):  # -> pd.DataFrame
    """A decisions file as a table (``DECISION_COLUMNS``), reviewer names unescaped.

    An empty table with those columns when the file does not exist.
    """
    import pandas as pd

    decisions_path = Path(path)
    if not decisions_path.exists():
        return pd.DataFrame({column: pd.Series(dtype=object) for column in DECISION_COLUMNS})
    table = pd.read_csv(decisions_path, dtype={"reviewer": str, "decision": str}, keep_default_na=False)
    if "reviewer" in table.columns:
        table["reviewer"] = table["reviewer"].map(unescape_cell)
    return table


@dataclass(frozen=True)
class DecisionRecord:
    """One line of the decisions file."""

    id: int
    decision: str
    reviewer: str
    time: str
    candidates_version: str
    old_label: int


def validate_reviewer(name: object) -> str:
    """The reviewer's name, stripped; ValueError unless 1..64 printable characters."""
    if not isinstance(name, str):
        raise ValueError(f"reviewer must be a name (text), got {type(name).__name__}")
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_REVIEWER_LENGTH:
        raise ValueError(f"reviewer name must be 1..{MAX_REVIEWER_LENGTH} characters, got {len(stripped)}")
    if not stripped.isprintable():
        raise ValueError("reviewer name must not contain control characters")
    return stripped


def current_decisions(records: list[DecisionRecord], *, reviewer: str) -> dict[int, str]:
    """Each candidate's current decision by one reviewer, after applying their undos.

    Returns id -> decision for the candidates the reviewer has a standing decision on
    (skip included: the reviewer chose to pass it by).
    """
    standing = _standing_records(records, reviewer=reviewer)
    return {record.id: record.decision for record in standing}


def _standing_records(records: list[DecisionRecord], *, reviewer: str) -> list[DecisionRecord]:
    """The reviewer's decisions not yet undone, oldest first (the undo stack)."""
    stack: list[DecisionRecord] = []
    for record in records:
        if record.reviewer != reviewer:
            continue
        if record.decision == UNDO:
            # An undo names the candidate it undoes; take back the latest decision on it.
            for position in range(len(stack) - 1, -1, -1):
                if stack[position].id == record.id:
                    del stack[position]
                    break
        else:
            stack.append(record)
    return stack


class DecisionStore:
    """The decisions file of one review session, opened (and created if new) on init.

    path: the decisions CSV; its folder is created if missing.
    candidates_version: written into every record this store appends.
    """

    def __init__(self, *, path: str | os.PathLike[str], candidates_version: str) -> None:
        self.path = Path(path)
        self.candidates_version = candidates_version
        self._lock = threading.Lock()
        self._records: list[DecisionRecord] = []
        self._offset = 0  # bytes of the file already parsed into _records
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file they came from
        self._tail = b""  # the last bytes before _offset, to notice a file rewritten in place
        self._seen: tuple[int, int, int, int] | None = None  # (device, inode, size, mtime) at the last look
        self._generation = 0  # counts the times the records were read again from the start
        # reviewer -> ((generation, number of records), their standing decisions); see decisions_of
        self._standing: collections.OrderedDict[str, tuple[tuple[int, int], dict[int, str]]] = collections.OrderedDict()
        if self.path.is_dir():
            raise DecisionFileError(f"decisions file {self.path} is a folder; expected a CSV file "
                                    f"(created if missing), e.g. {self.path / 'decisions.csv'}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked() as fd:
            self._refresh(fd)

    # -- locking and reading -------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The file's descriptor, held under the thread lock and an exclusive flock."""
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield fd
            finally:
                os.close(fd)  # closing releases the flock

    def _refresh(self, fd: int) -> None:
        """Parse whatever was appended since the last read (by us or another process).

        Reads the whole file again when it is not the file read before: replaced (another
        inode), shorter than what was read, or rewritten in place (the bytes before the
        read offset changed).  Records are only kept once the new part parsed whole, so a
        damaged file leaves nothing half-read behind and is read again on the next call.
        """
        status = os.fstat(fd)
        if status.st_size == 0:
            # New (or emptied, or created by a writer that crashed before its header): header first.
            self._write_all(fd, _csv_line(DECISION_COLUMNS))
            _fsync_directory(self.path.parent)
            status = os.fstat(fd)
        identity = (status.st_dev, status.st_ino)
        seen = (*identity, status.st_size, status.st_mtime_ns)
        if seen == self._seen:
            return  # unchanged since the last look (or our own last append)
        if (identity != self._identity or status.st_size <= self._offset
                or os.pread(fd, len(self._tail), self._offset - len(self._tail)) != self._tail):
            # Replaced, shrunk, rewritten in place (changed, yet not grown), or its last
            # bytes differ: not the file we read, so read it all again.
            self._records, self._offset, self._tail, self._identity = [], 0, b"", identity
            self._generation += 1
        size = status.st_size
        new_bytes = os.pread(fd, size - self._offset, self._offset)
        if not new_bytes.endswith(b"\n"):
            # Writers hold the lock for a whole line, so a line without its newline is
            # what a crash mid-write leaves.  Appending after it would glue two records.
            raise DecisionFileError(
                f"{self.path}: the last line is incomplete (a write was interrupted); that "
                f"decision was never confirmed to the reviewer: delete the partial last line "
                f"and start again"
            )
        first_line = _line_number(self._offset, self._records)
        try:
            text = new_bytes.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DecisionFileError(f"{self.path}: not UTF-8 text ({error.reason} at byte "
                                    f"{self._offset + error.start}); is this a decisions file?") from None
        parsed: list[DecisionRecord] = []
        for line_offset, fields in enumerate(csv.reader(io.StringIO(text))):
            line_number = first_line + line_offset
            if line_number == 1:
                if tuple(fields) != DECISION_COLUMNS:
                    raise DecisionFileError(
                        f"{self.path}: header is {fields[:8]}, expected {list(DECISION_COLUMNS)}; "
                        f"is this a decisions file?"
                    )
                continue
            parsed.append(_parse_record(fields, path=self.path, line_number=line_number))
        self._records.extend(parsed)
        self._tail = (self._tail + new_bytes)[-_TAIL_BYTES:]
        self._offset = size
        self._seen = seen

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)

    def records(self) -> list[DecisionRecord]:
        """Every record in the file, in the order written (re-reads new lines first)."""
        with self._locked() as fd:
            self._refresh(fd)
            return list(self._records)

    def decisions_of(self, reviewer: str) -> Mapping[int, str]:
        """:func:`current_decisions` of ``reviewer`` over every record (re-reads new lines first).

        Kept until the file changes, so the page's reads (a page of candidates, progress,
        the next open candidate) cost a lookup, not a pass over every record; read-only.
        """
        with self._locked() as fd:
            self._refresh(fd)
            key = (self._generation, len(self._records))
            cached = self._standing.get(reviewer)
            if cached is None or cached[0] != key:
                cached = (key, current_decisions(self._records, reviewer=reviewer))
                self._standing[reviewer] = cached
                if len(self._standing) > _MAX_CACHED_REVIEWERS:
                    self._standing.popitem(last=False)  # names read with --show-others are unbounded
            self._standing.move_to_end(reviewer)
            return types.MappingProxyType(cached[1])

    # -- writing -------------------------------------------------------------------

    def append(self, *, candidate_id: int, decision: str, reviewer: str, old_label: int) -> DecisionRecord:
        """Append one decision, fsync'ed before returning.  ``decision`` is one of DECISIONS."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        reviewer = validate_reviewer(reviewer)
        with self._locked() as fd:
            self._refresh(fd)
            return self._append_locked(fd, candidate_id=candidate_id, decision=decision,
                                       reviewer=reviewer, old_label=old_label)

    def undo_last(self, *, reviewer: str, old_label_of: dict[int, int]) -> DecisionRecord | None:
        """Append an undo of the reviewer's latest standing decision; None if there is none.

        old_label_of: candidate id -> given label, for the undo record's old_label.
        """
        reviewer = validate_reviewer(reviewer)
        with self._locked() as fd:
            self._refresh(fd)
            standing = _standing_records(self._records, reviewer=reviewer)
            if not standing:
                return None
            undone = standing[-1]
            return self._append_locked(fd, candidate_id=undone.id, decision=UNDO, reviewer=reviewer,
                                       old_label=old_label_of.get(undone.id, undone.old_label))

    def _append_locked(self, fd: int, *, candidate_id: int, decision: str, reviewer: str,
                       old_label: int) -> DecisionRecord:
        record = DecisionRecord(
            id=int(candidate_id), decision=decision, reviewer=reviewer,
            time=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            candidates_version=self.candidates_version, old_label=int(old_label),
        )
        line = _csv_line((record.id, record.decision, escape_cell(record.reviewer), record.time,
                          record.candidates_version, record.old_label))
        self._write_all(fd, line)
        self._records.append(record)
        self._offset += len(line)
        self._tail = (self._tail + line)[-_TAIL_BYTES:]
        status = os.fstat(fd)
        self._seen = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
        return record


def _csv_line(fields: tuple[object, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue().encode("utf-8")


def _line_number(offset: int, records: list[DecisionRecord]) -> int:
    """1-based line number of the line that starts at ``offset``."""
    return 1 if offset == 0 else len(records) + 2


def _parse_record(fields: list[str], *, path: Path, line_number: int) -> DecisionRecord:
    where = f"{path} line {line_number}"
    if len(fields) != len(DECISION_COLUMNS):
        raise DecisionFileError(f"{where}: {len(fields)} fields, expected {len(DECISION_COLUMNS)} "
                         f"({', '.join(DECISION_COLUMNS)})")
    raw_id, decision, reviewer, time, version, raw_old_label = fields
    try:
        candidate_id, old_label = int(raw_id), int(raw_old_label)
    except ValueError as error:
        raise DecisionFileError(f"{where}: id and old_label must be integers, got {raw_id!r}, "
                                f"{raw_old_label!r}") from error
    if decision not in RECORD_KINDS:
        raise DecisionFileError(f"{where}: decision {decision!r} is not one of {RECORD_KINDS}")
    return DecisionRecord(id=candidate_id, decision=decision, reviewer=unescape_cell(reviewer), time=time,
                          candidates_version=version, old_label=old_label)


def _fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable too (a fresh file could vanish otherwise)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
