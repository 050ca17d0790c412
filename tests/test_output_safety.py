"""Issue 15, files destroyed: a command never deletes or overwrites what it did not create.

Each refusal is one line naming the path and why, exit status 2, and the whole folder
tree around the command is byte-for-byte what it was before (tree_state before == after).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from realbogus.atomic import OUTPUT_MARKER, OutputPathError, atomic_path, check_output, sidecar_path
from realbogus.cli import main as cli_main

# tests/ is on sys.path (pytest's rootdir-relative import of this module)
from release.conftest import build_release
from snapshots import changed_paths, tree_state

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A user's folder: a tiny release, an unrelated notes file; the current folder."""
    root = tmp_path / "proj"
    build_release(root / "release", n=6, n_tars=2)
    (root / "notes.txt").write_text("my notes\n")
    monkeypatch.chdir(root)
    return root


def refused(argv: list[str], capsys, *, words: str, root: Path) -> str:
    """Run the command; assert exit 2, one stderr line with ``words``, and nothing changed under root."""
    before = tree_state(root)
    code = cli_main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], err
    assert changed_paths(before, tree_state(root)) == set()
    return lines[0]


@pytest.mark.parametrize(("argv", "words"), [
    (["ingest", "release", "."], "output . is the current folder"),
    (["ingest", "release", ".."], "contains the current folder"),
    (["ingest", "release", "release"], "output release is the input release"),
    (["ingest", "release", "release/ingested"], "lies inside the input release"),
    (["ingest", "release", "notes.txt"], "is an existing file, but ingest writes a folder there"),
    (["simulate", ".", "--n", "5", "--seed", "1", "--truth", "../t.parquet"], "output . is the current folder"),
    (["simulate", "notes.txt", "--n", "5", "--seed", "1"], "is an existing file, but simulate writes a folder"),
    (["simulate", "fresh", "--n", "5", "--seed", "1", "--truth", "notes.txt"],
     "notes.txt is an existing file that simulate did not write"),
])
def test_ingest_and_simulate_refuse_paths_they_would_destroy(project: Path, capsys, argv, words) -> None:
    refused([*argv, "--no-progress"], capsys, words=words, root=project.parent)


def test_ingest_into_the_folder_holding_the_release_is_refused(tmp_path: Path, capsys) -> None:
    build_release(tmp_path / "proj" / "release", n=6, n_tars=2)
    (tmp_path / "proj" / "other.txt").write_text("unrelated\n")
    line = refused(["ingest", str(tmp_path / "proj" / "release"), str(tmp_path / "proj"), "--no-progress"],
                   capsys, words="contains the input", root=tmp_path)
    assert str(tmp_path / "proj") in line


def test_survey_vet_and_score_refuse_their_inputs_and_the_current_folder(project: Path, capsys) -> None:
    (project / "votes.csv").write_text("id,observer,vote\n1,ana,artifact\n")
    refused(["survey", "vet", "votes.csv", "--out", "."], capsys, words="output . is the current folder",
            root=project.parent)
    refused(["survey", "vet", "votes.csv", "--out", "votes.csv"], capsys, words="is the input votes.csv",
            root=project.parent)
    np.save(project / "x.npy", np.zeros((2, 51, 51, 3), np.uint8))
    (project / "model.keras").write_bytes(b"never read: the output is refused first")
    refused(["score", "x.npy", "--model", "model.keras", "--out", "x.npy"], capsys,
            words="output x.npy is the input x.npy", root=project.parent)
    refused(["score", "x.npy", "--model", "model.keras", "--out", "release"], capsys,
            words="output release is an existing folder, but score writes a file there", root=project.parent)


def test_a_repository_root_is_never_an_output(tmp_path: Path, capsys) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (tmp_path / "votes.csv").write_text("id,observer,vote\n1,ana,artifact\n")
    refused(["survey", "vet", str(tmp_path / "votes.csv"), "--out", str(repo), "--force"], capsys,
            words="is a repository root (it holds .git)", root=tmp_path)


def test_rerun_replaces_its_own_output_but_not_a_foreign_folder_unless_forced(project: Path, capsys) -> None:
    argv = ["ingest", "release", "ingested", "--workers", "0", "--no-progress"]
    assert cli_main(argv) == 0
    marker = json.loads((project / "ingested" / OUTPUT_MARKER).read_text())
    assert marker["command"] == "ingest" and "stamps.npy" in marker["entries"]
    assert cli_main(argv) == 0  # an earlier ingest output: replaced without asking
    capsys.readouterr()
    # A file the user put into the output folder makes it no longer only ingest's.
    (project / "ingested" / "my_plot.png").write_bytes(b"mine")
    refused(argv, capsys, words="holds 1 entry that ingest did not write (my_plot.png)", root=project.parent)
    # A folder of the user's: refused, then replaced whole with --force.
    (project / "mine").mkdir()
    (project / "mine" / "data.txt").write_text("keep me\n")
    refused(["ingest", "release", "mine", "--workers", "0", "--no-progress"], capsys,
            words="is a non-empty folder that ingest did not write", root=project.parent)
    assert cli_main(["ingest", "release", "mine", "--workers", "0", "--no-progress", "--force"]) == 0
    assert (project / "mine" / "stamps.npy").is_file() and not (project / "mine" / "data.txt").exists()


def test_file_outputs_carry_a_sidecar_and_an_edited_file_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "scores.csv"
    with atomic_path(out, command="score") as temporary:
        temporary.write_text("id,artifact_score\n1,0.5\n")
    assert json.loads(sidecar_path(out).read_text())["command"] == "score"
    check_output(out, command="score")  # its own unchanged output: fine
    with pytest.raises(OutputPathError, match="was written by 'score', not by survey votes"):
        check_output(out, command="survey votes")
    out.write_text("id,artifact_score\n1,0.9\n")  # edited by hand since
    with pytest.raises(OutputPathError, match="was changed since score wrote it; .* pass --force"):
        check_output(out, command="score")
    check_output(out, command="score", force=True)


def test_force_never_allows_the_input_the_current_folder_or_a_kind_change(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "f.txt").write_text("x")
    for path, kwargs, words in [
        (tmp_path, {"is_dir": True}, "is the current folder"),
        (tmp_path / "in", {"is_dir": True, "inputs": [tmp_path / "in"]}, "is the input"),
        (tmp_path / "in" / "out", {"is_dir": True, "inputs": [tmp_path / "in"]}, "lies inside the input"),
        (tmp_path / "f.txt", {"is_dir": True}, "is an existing file"),
        (tmp_path / "in", {"is_dir": False}, "is an existing folder"),
        (Path.home(), {"is_dir": True}, "home folder"),
    ]:
        with pytest.raises(OutputPathError, match=words):
            check_output(path, command="x", force=True, **kwargs)


def test_a_crash_leaves_the_previous_output_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_path(out, is_dir=True, command="x") as temporary:
        (temporary / "a.txt").write_text("first")
    with pytest.raises(RuntimeError), atomic_path(out, is_dir=True, command="x") as temporary:
        (temporary / "a.txt").write_text("second")
        raise RuntimeError("crash")
    assert (out / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_outputs_get_the_mode_the_umask_gives_not_a_private_temporary_one(tmp_path: Path) -> None:
    """mkstemp/mkdtemp make 0600/0700 paths; renamed outputs must read like any file the user writes."""
    previous = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "table.csv", command="x") as temporary:
            temporary.write_text("id\n1\n")
        with atomic_path(tmp_path / "folder", is_dir=True, command="x") as temporary:
            (temporary / "a.txt").write_text("a")
    finally:
        os.umask(previous)
    assert (tmp_path / "table.csv").stat().st_mode & 0o777 == 0o644
    assert sidecar_path(tmp_path / "table.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "folder" / OUTPUT_MARKER).stat().st_mode & 0o777 == 0o644


def _stage(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "REALBOGUS_DEBUG"}
    return subprocess.run([sys.executable, str(REPO / "stages" / f"{name}.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_stages_follow_the_same_rule(tmp_path: Path) -> None:
    """A stage rerun by hand replaces its own output; one pointed at its input refuses in one line."""
    build_release(tmp_path / "data" / "release", n=6, n_tars=2)
    (tmp_path / "params.yaml").write_text(
        "release: {path: data, format: gif}\ningest: {workers: 0, on_error: raise}\n"
        "split: {seed: 1, fractions: {train: 0.5, val: 0.25, test: 0.25}}\n")
    before = tree_state(tmp_path)
    result = _stage("ingest", "--out", "data/ingested", cwd=tmp_path)  # the release folder holds the output
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "stage ingest: output data/ingested lies inside the input data; name a path outside it"]
    assert changed_paths(before, tree_state(tmp_path)) == set()

    (tmp_path / "params.yaml").write_text((tmp_path / "params.yaml").read_text().replace("path: data,",
                                                                                         "path: data/release,"))
    for _ in range(2):  # as `python stages/x.py` by hand: the second run finds its own outputs
        assert _stage("ingest", "--out", "data/ingested", cwd=tmp_path).returncode == 0
        result = _stage("split", "--catalog", "data/ingested/catalog.parquet", "--out", "data/split/split.csv",
                        cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    split = tmp_path / "data" / "split" / "split.csv"
    split.write_text(split.read_text().replace("train", "test"))  # someone edited it by hand
    before = tree_state(tmp_path)
    result = _stage("split", "--catalog", "data/ingested/catalog.parquet", "--out", "data/split/split.csv",
                    cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "stage split: output data/split/split.csv was changed since split wrote it; run the stage with "
        "`dvc repro` (which removes its outputs first) or remove the output yourself"]
    assert changed_paths(before, tree_state(tmp_path)) == set()
