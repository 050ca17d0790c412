"""Write outputs whole or not at all, and never over something the command did not write.

Two rules live here, in one place, for every command and stage:

* **atomic**: an output is built at a temporary sibling path and renamed onto its name
  only when complete (:func:`atomic_path`); a crash or an interrupt removes the temporary
  path and leaves the previous output as it was.
* **safe**: before a command writes an output the user named, :func:`check_output`
  refuses a path that would destroy something the command did not create: the input
  itself, a folder that contains an input or lies inside one, the current folder (or one
  above it), the home folder, a repository root, or an existing file or non-empty folder
  that is not a previous output of the same command.  Only that last refusal can be
  overridden, with ``force=True`` (the ``--force`` switch); the others never.

A previous output is recognised by a marker the command writes with it: a folder output
holds ``.realbogus-output.json`` naming the command and the entries it wrote; a file
output has a sidecar ``.<name>.realbogus-output.json`` beside it naming the command and
the file's size and SHA-256, so a file edited by hand since is no longer "ours".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

OUTPUT_MARKER = ".realbogus-output.json"
_SIDECAR_SUFFIX = ".realbogus-output.json"
_REPOSITORY_MARKERS = (".git", ".dvc")


class OutputPathError(ValueError):
    """An output path refused because writing it could destroy what the command did not create.

    ``path`` and ``problem`` say which and why; ``forceable``: ``--force`` would allow it.
    """

    def __init__(self, message: str, *, path: Path | None = None, problem: str = "", forceable: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.problem = problem
        self.forceable = forceable


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The marker beside a file output: ``dir/.name.realbogus-output.json``."""
    target = Path(path)
    return target.parent / f".{target.name}{_SIDECAR_SUFFIX}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_marker(path: Path) -> dict | None:
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(
    path: str | os.PathLike[str],
    *,
    command: str,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    is_dir: bool = False,
    force: bool = False,
) -> Path:
    """Refuse (``OutputPathError``) an output path whose writing could destroy what ``command`` did not create.

    path: the output the user named; command: the command writing it (``"ingest"``,
    ``"survey vet"``), as recorded in its marker; inputs: the files and folders it reads
    (None entries are ignored); is_dir: the output is a folder; force: replace an
    existing file or folder of the same kind even without this command's marker.
    Returns ``path`` as a Path.  The message names the path and says why.
    """
    target = Path(path)
    resolved = target.resolve()
    where = f"output {target}"
    cwd = Path.cwd().resolve()
    if _is_within(cwd, resolved):
        what = "is the current folder" if resolved == cwd else f"contains the current folder {cwd}"
        raise OutputPathError(f"{where} {what}; name a new folder or file for the output")
    home = Path.home().resolve()
    if _is_within(home, resolved) or resolved == Path(resolved.anchor):
        raise OutputPathError(f"{where} is (or contains) the home folder or the filesystem root; "
                              "name a new folder or file for the output")
    for marker in _REPOSITORY_MARKERS:
        if (resolved / marker).exists():
            raise OutputPathError(f"{where} is a repository root (it holds {marker}); "
                                  "name a new folder or file for the output")
    for raw_input in inputs:
        if raw_input is None:
            continue
        source = Path(raw_input)
        source_resolved = source.resolve()
        if resolved == source_resolved:
            raise OutputPathError(f"{where} is the input {source}; name a different output")
        if _is_within(source_resolved, resolved):
            raise OutputPathError(f"{where} contains the input {source}; name a folder outside it")
        if _is_within(resolved, source_resolved):
            raise OutputPathError(f"{where} lies inside the input {source}; name a path outside it")
    if not target.exists() and not target.is_symlink():
        return target
    # From here on the path exists: a wrong kind is never replaced, a foreign one only with force.
    if target.is_symlink():
        problem = "is a symbolic link"
    elif is_dir and not target.is_dir():
        raise OutputPathError(f"{where} is an existing file, but {command} writes a folder there; "
                              "name a new or empty folder")
    elif not is_dir and target.is_dir():
        raise OutputPathError(f"{where} is an existing folder, but {command} writes a file there; "
                              "name a file (e.g. inside that folder)")
    elif is_dir:
        problem = _foreign_folder_problem(target, command=command)
    else:
        problem = _foreign_file_problem(target, command=command)
    if problem is None or force:
        return target
    raise OutputPathError(f"{where} {problem}; name a new path, or pass --force to replace it",
                          path=target, problem=problem, forceable=True)


def _foreign_folder_problem(folder: Path, *, command: str) -> str | None:
    """Why ``folder`` is not an earlier output of ``command`` (None when it is, or is empty)."""
    entries = sorted(os.listdir(folder))
    if not entries:
        return None
    marker = _read_marker(folder / OUTPUT_MARKER)
    if marker is None:
        return f"is a non-empty folder that {command} did not write (it has no {OUTPUT_MARKER})"
    if marker.get("command") != command:
        return f"was written by {marker.get('command')!r}, not by {command}"
    foreign = [name for name in entries if name != OUTPUT_MARKER and name not in set(marker.get("entries") or ())]
    if foreign:
        return (f"holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} that {command} did not write "
                f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''})")
    return None


def _foreign_file_problem(file: Path, *, command: str) -> str | None:
    """Why ``file`` is not an unchanged earlier output of ``command`` (None when it is, or is empty)."""
    size = file.stat().st_size
    if size == 0:
        return None
    marker = _read_marker(sidecar_path(file))
    if marker is None:
        return f"is an existing file that {command} did not write"
    if marker.get("command") != command:
        return f"was written by {marker.get('command')!r}, not by {command}"
    if marker.get("size") != size or marker.get("sha256") != _sha256(file):
        return f"was changed since {command} wrote it"
    return None


def _write_json(path: Path, payload: dict) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        _give_default_mode(Path(name), is_dir=False)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _give_default_mode(path: Path, *, is_dir: bool) -> None:
    """Give a temporary output the mode a plain ``open``/``mkdir`` would have given it.

    ``mkstemp``/``mkdtemp`` create private paths (0600 / 0700); an output renamed from one
    would stay unreadable to the user's group and to other reviewers of the repository.
    """
    os.chmod(path, (0o777 if is_dir else 0o666) & ~_current_umask())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str],
    *,
    is_dir: bool = False,
    command: str | None = None,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    force: bool = False,
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On an exception (an interrupt too) the temporary path is removed and ``path`` is left
    as it was, so a crashed stage never leaves a half-written output for DVC or the next
    stage to read.

    With ``command`` (every output a user or a stage names): :func:`check_output` runs
    first with ``inputs`` and ``force``, and the output gets its marker.  Without it (a
    file inside an output folder the command already checked) there is no check, but an
    existing folder is still only replaced when it is empty or carries a marker.
    """
    target = Path(path)
    inputs = tuple(inputs)
    if command is not None:
        check_output(target, command=command, inputs=inputs, is_dir=is_dir, force=force)
    elif is_dir and target.is_dir() and os.listdir(target) and not (target / OUTPUT_MARKER).is_file():
        raise OutputPathError(f"output {target} is a non-empty folder without {OUTPUT_MARKER}; "
                              "it was not written by realbogus and is not replaced")
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-"
    if is_dir:
        temporary = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        temporary = Path(name)
    try:
        yield temporary
        if temporary.exists():
            _give_default_mode(temporary, is_dir=is_dir)
        if is_dir:
            entries = sorted(name for name in os.listdir(temporary) if name != OUTPUT_MARKER)
            _write_json(temporary / OUTPUT_MARKER, {"command": command or "realbogus", "entries": entries})
        if is_dir and (target.exists() or target.is_symlink()):
            # Move the old output aside first, so the name is never missing for long and
            # a failure to delete the old one cannot lose the new one.
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, retired / "old")
            os.replace(temporary, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            if target.is_symlink():
                target.unlink()
            os.replace(temporary, target)
    except BaseException:
        if temporary.exists():
            _remove(temporary)
        raise
    if command is not None and not is_dir:
        _write_json(sidecar_path(target), {"command": command, "size": target.stat().st_size,
                                           "sha256": _sha256(target)})


def terminate_as_interrupt() -> None:
    """Make SIGTERM raise ``KeyboardInterrupt`` in the main thread, as Ctrl-C does.

    Python's default SIGTERM ends the process at once: no ``finally`` runs, so temporary
    outputs stay behind and pool workers are orphaned.  Raised as an interrupt, the
    clean-ups in :func:`atomic_path` and the process pools run.  Call once, at the start
    of a command or stage, from the main thread.
    """
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


__all__ = ["OUTPUT_MARKER", "OutputPathError", "atomic_path", "check_output", "sidecar_path",
           "terminate_as_interrupt"]
