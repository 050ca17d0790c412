"""Provenance: what a result was computed from -- content hashes, git state, the repository.

Tracking tags every run with these (``realbogus.tracking``), stages record label versions
with them, and the survey scorer names the model it used by its hash.  Nothing here talks
to MLflow.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Set by DVC (dvc/env.py) for stage commands: the repository DVC runs in (for a queued
# experiment, the *parent* repository).
ENV_DVC_ROOT = "DVC_ROOT"

_HASH_CHUNK_BYTES = 1 << 20


class NoRepositoryError(LookupError):
    """No directory holding ``.git`` or ``.dvc`` at or above the given path."""


# --------------------------------------------------------------------------------------------
# content hashes


def content_hash(source: str | os.PathLike[str] | bytes, *, length: int = 16) -> str:
    """Short sha256 hex digest of bytes, a file, or a directory tree (``length`` hex chars).

    Files are read in 1 MiB chunks, so multi-gigabyte stamp arrays hash in constant memory.
    A directory hashes every file below it in sorted relative-path order, each preceded by
    its relative path, so renaming, adding or editing any file changes the hash while the
    directory's own location and file timestamps do not matter.
    """
    if not 1 <= length <= 64:
        raise ValueError(f"length must be 1..64 hex characters, got {length}")
    digest = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        digest.update(source)
        return digest.hexdigest()[:length]
    path = Path(source)
    if path.is_file():
        _hash_file_into(digest, path)
    elif path.is_dir():
        files = sorted(
            (candidate for candidate in path.rglob("*") if candidate.is_file()),
            key=lambda candidate: candidate.relative_to(path).as_posix(),
        )
        for file_path in files:
            relative = file_path.relative_to(path).as_posix().encode("utf-8")
            # Length-prefixed path and size keep "ab"+"c" distinct from "a"+"bc".
            digest.update(len(relative).to_bytes(8, "big") + relative)
            digest.update(file_path.stat().st_size.to_bytes(8, "big"))
            _hash_file_into(digest, file_path)
    else:
        raise FileNotFoundError(f"content_hash: {path} is neither a file nor a directory")
    return digest.hexdigest()[:length]


def _hash_file_into(digest: Any, path: Path) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)


# --------------------------------------------------------------------------------------------
# git state


def _git(args: list[str], *, cwd: Path) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


@dataclass(frozen=True)
class GitState:
    """The checkout's commit (None outside git or before the first commit) and dirty flag.

    ``dirty`` counts changes to tracked files only: DVC outputs are git-ignored and untracked
    scratch files do not change what the code computes.
    """

    commit: str | None
    dirty: bool


def git_state(*, path: str | os.PathLike[str] | None = None) -> GitState:
    """Git commit and dirty flag of the checkout holding ``path`` (default: cwd)."""
    where = Path(path if path is not None else os.getcwd())
    commit = _git(["rev-parse", "--verify", "-q", "HEAD"], cwd=where)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd=where)
    return GitState(commit=commit or None, dirty=bool(status))


# --------------------------------------------------------------------------------------------
# the software and CPU a run computed on

# The distributions whose version changes a trained model or a figure: the same seeded CNN
# training gave other scores under TensorFlow 2.20 and 2.21 (docs/cnn.md).
RECORDED_DISTRIBUTIONS = ("numpy", "scikit-learn", "tensorflow", "keras", "jax", "jaxlib", "torch")
# The CPU features that decide which kernels oneDNN and XLA may pick, highest first.
CPU_FEATURES = ("amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx_vnni", "avx2")


def cpu_from_cpuinfo(text: str) -> tuple[str, list[str]]:
    """The CPU's model name and which of :data:`CPU_FEATURES` it has, from Linux's /proc/cpuinfo text."""
    model, flags = "", set()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "model name" and not model:
            model = value.strip()
        elif name.strip() == "flags" and not flags:
            flags = set(value.split())
    return model, [feature for feature in CPU_FEATURES if feature in flags]


def software_environment() -> dict[str, str]:
    """Python, the installed versions of :data:`RECORDED_DISTRIBUTIONS` and the CPU, as strings.

    Read from the installed packages' metadata, so nothing is imported (TensorFlow's start-up
    settings stay the caller's).  A distribution that is not installed is left out.
    """
    environment = {"python": platform.python_version(), "machine": platform.machine()}
    for distribution in RECORDED_DISTRIBUTIONS:
        try:
            environment[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    try:
        model, features = cpu_from_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:  # not Linux
        model, features = "", []
    environment["cpu"] = model or platform.processor() or "unknown"
    environment["cpu_features"] = " ".join(features) or "none of " + " ".join(CPU_FEATURES)
    return environment


# --------------------------------------------------------------------------------------------
# the repository a run belongs to


def _exp_temp_copy_origin(path: Path) -> Path | None:
    """The original repository if ``path`` lies in a DVC experiment temp copy, else None.

    dvc 3.x (repo/experiments/executor/local.py, TempDirExecutor) runs a queued experiment in
    ``mkdtemp(dir=<repo>/.dvc/tmp/exps)``, a fresh git clone of the repository, so the copy
    has its own ``.git`` and ``.dvc`` and would otherwise look like a repository root.
    """
    parts = path.parts
    for index in range(len(parts) - 3):
        if parts[index + 1 : index + 4] == (".dvc", "tmp", "exps"):
            return Path(*parts[: index + 1])
    return None


def checkout_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest directory at or above ``start`` (default: cwd) holding ``.dvc`` or ``.git``.

    This is the checkout whose code is running: inside a DVC experiment temp copy it is the
    copy itself (used for the git commit and params.yaml), not the original repository.
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".dvc").is_dir() or (candidate / ".git").exists():
            return candidate
    return None


def repository_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The original repository root for ``start`` (default: cwd), where the store lives.

    A path inside ``<repo>/.dvc/tmp/exps/<tmpdir>/`` resolves to ``<repo>``; otherwise the
    nearest directory holding ``.dvc`` or ``.git``; failing both, ``DVC_ROOT`` if DVC set it.
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    origin = _exp_temp_copy_origin(here)
    if origin is not None:
        return origin
    found = checkout_root(here)
    if found is not None:
        return found
    dvc_root = os.environ.get(ENV_DVC_ROOT)
    if dvc_root and Path(dvc_root).is_dir():
        return Path(dvc_root).resolve()
    raise NoRepositoryError(f"no repository root (a directory holding .git or .dvc) at or above {here}")
