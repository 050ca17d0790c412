"""A folder tree's state (every path with its bytes' hash), to show what a command changed."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_state(root: Path) -> dict[str, str]:
    """relative path -> "dir", "link -> target" or the SHA-256 of the file's bytes, for everything under root."""
    state: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            state[key] = f"link -> {path.readlink()}"
        elif path.is_dir():
            state[key] = "dir"
        else:
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def changed_paths(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """Paths added, removed or rewritten between two tree states."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
