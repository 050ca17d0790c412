"""Tests for realbogus.provenance's content hashes (git state and repository roots are
exercised by tests/test_tracking.py, in real repositories)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from realbogus.provenance import content_hash


def test_content_hash_bytes_file_and_streaming_agree(tmp_path: Path) -> None:
    # Larger than the 1 MiB read chunk, so the streaming path really loops.
    payload = os.urandom(3 * (1 << 20) + 17)
    file_path = tmp_path / "stamps.npy"
    file_path.write_bytes(payload)
    expected = hashlib.sha256(payload).hexdigest()
    assert content_hash(payload, length=64) == expected
    assert content_hash(file_path, length=64) == expected
    assert content_hash(file_path) == expected[:16]


def test_content_hash_directory_sees_edits_renames_and_additions_not_location(tmp_path: Path) -> None:
    first = tmp_path / "labels_v1"
    (first / "sub").mkdir(parents=True)
    (first / "labels.csv").write_text("ID,OBJECT_TYPE\n1,0\n2,1\n")
    (first / "sub" / "notes.txt").write_text("reviewed")
    original = content_hash(first)

    copy = tmp_path / "elsewhere" / "labels_copy"
    shutil.copytree(first, copy)
    assert content_hash(copy) == original

    (copy / "labels.csv").write_text("ID,OBJECT_TYPE\n1,1\n2,1\n")
    edited = content_hash(copy)
    assert edited != original

    (copy / "labels.csv").rename(copy / "labels_renamed.csv")
    assert content_hash(copy) not in (original, edited)

    shutil.rmtree(copy)
    shutil.copytree(first, copy)
    (copy / "extra.csv").write_text("")
    assert content_hash(copy) != original


def test_content_hash_missing_path_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no_such_labels"):
        content_hash(tmp_path / "no_such_labels")
