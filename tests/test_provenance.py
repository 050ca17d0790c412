"""Tests for realbogus.provenance's content hashes and software environment (git state and
repository roots are exercised by tests/test_tracking.py, in real repositories)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
from pathlib import Path

import pytest

from realbogus import provenance
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


def test_cpu_from_cpuinfo_reads_the_model_and_the_kernel_relevant_features_of_the_first_cpu() -> None:
    text = ("processor\t: 0\nmodel name\t: AMD EPYC 9B45\nflags\t\t: fpu sse avx avx2 avx512f avx512_vnni\n\n"
            "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu amx_tile\n")
    assert provenance.cpu_from_cpuinfo(text) == ("AMD EPYC 9B45", ["avx512_vnni", "avx512f", "avx2"])
    assert provenance.cpu_from_cpuinfo("") == ("", [])


def test_software_environment_names_installed_versions_and_leaves_out_what_is_not_installed(monkeypatch) -> None:
    monkeypatch.setattr(provenance, "RECORDED_DISTRIBUTIONS", ("numpy", "no-such-distribution-realbogus"))
    environment = provenance.software_environment()
    assert environment["numpy"] == importlib.metadata.version("numpy")
    assert "no-such-distribution-realbogus" not in environment
    assert environment["python"] == platform.python_version() and environment["cpu"]
    assert all(isinstance(value, str) for value in environment.values())
