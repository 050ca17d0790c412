"""Issue 15, raw failures: every CLI (and stage) error is one line naming the file, the record
and what was expected, exit status 2; the traceback only with --debug (REALBOGUS_DEBUG=1
for stages); an interrupted ingest leaves no temporary folder and no pool worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.cli import main as cli_main

# tests/ is on sys.path (pytest's rootdir-relative import of this module)
from release.conftest import build_release
from snapshots import changed_paths, tree_state

REPO = Path(__file__).resolve().parents[1]


def one_line_error(argv: list[str], capsys, *, root: Path) -> str:
    """Run the command: exit 2, exactly one stderr line, no traceback, nothing changed under root."""
    before = tree_state(root)
    code = cli_main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert changed_paths(before, tree_state(root)) == set()
    return err.strip()


def test_bad_numbers_are_refused_by_the_argument_parser(tmp_path: Path, capsys) -> None:
    build_release(tmp_path / "release", n=4, n_tars=1)
    line = one_line_error(["ingest", str(tmp_path / "release"), str(tmp_path / "out"), "--workers", "-1"], capsys,
                          root=tmp_path)
    assert line == ("realbogus ingest: argument --workers: expected an integer >= 0, got -1 "
                    "(see realbogus ingest --help)")
    line = one_line_error(["review", "--port", "99999"], capsys, root=tmp_path)
    assert "argument --port: expected a port number 0..65535, got 99999" in line
    line = one_line_error(["score", "x.npy", "--model", "m.keras", "--threshold", "1.5"], capsys, root=tmp_path)
    assert "argument --threshold: expected a number in [0, 1], got 1.5" in line


def test_score_names_a_corrupt_or_text_model_file(tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 51, 51, 3), np.uint8))
    (tmp_path / "text.keras").write_text("not a model\n")
    (tmp_path / "random.keras").write_bytes(np.random.default_rng(0).bytes(3000))
    for name in ("text.keras", "random.keras"):
        line = one_line_error(["score", str(tmp_path / "x.npy"), "--model", str(tmp_path / name), "--out",
                               str(tmp_path / "s.csv"), "--no-progress"], capsys, root=tmp_path)
        assert f"{name}: not a Keras model file (a .keras file is a zip archive" in line
        assert "File not found" not in line


def test_survey_vet_names_a_missing_or_unreadable_ids_table(tmp_path: Path, capsys) -> None:
    (tmp_path / "votes.csv").write_text("id,observer,vote\n1,ana,artifact\n")
    line = one_line_error(["survey", "vet", str(tmp_path / "votes.csv"), "--ids", str(tmp_path / "nope.parquet")],
                          capsys, root=tmp_path)
    assert line == (f"realbogus survey vet: ids table {tmp_path / 'nope.parquet'} does not exist (expected a "
                    "catalog.parquet or a CSV with an id column)")
    (tmp_path / "bad.parquet").write_text("x")
    line = one_line_error(["survey", "vet", str(tmp_path / "votes.csv"), "--ids", str(tmp_path / "bad.parquet")],
                          capsys, root=tmp_path)
    assert "bad.parquet cannot be read" in line
    pd.DataFrame({"id": ["1", "99999999999999999999"]}).to_csv(tmp_path / "ids.csv", index=False)
    line = one_line_error(["survey", "vet", str(tmp_path / "votes.csv"), "--ids", str(tmp_path / "ids.csv")],
                          capsys, root=tmp_path)
    assert "ids.csv line 3: id '99999999999999999999' is not an integer that fits in 64 bits" in line


def test_debug_shows_the_traceback(tmp_path: Path, capsys) -> None:
    argv = ["survey", "vet", str(tmp_path / "nope.csv")]
    assert cli_main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert cli_main([*argv, "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().endswith(
        f"votes table {tmp_path / 'nope.csv'} does not exist (expected a CSV with id, observer, vote)")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_a_stage_against_an_unreachable_mlflow_server_says_so_in_one_line(tmp_path: Path) -> None:
    """The merge stage, run as DVC runs it, with MLFLOW_TRACKING_URI naming a port nobody listens on."""
    (tmp_path / "params.yaml").write_text("release: {path: data/release}\nmerge: {min_votes: 1}\n"
                                          "tracking: {probe_timeout_s: 2}\n")
    from realbogus.mining.rounds import REVIEW_COLUMNS

    pd.DataFrame({"id": [1, 2], "label": [0, 1]}).to_parquet(tmp_path / "catalog.parquet")
    # Round 1 starts from the release's labels, with nothing reviewed yet; one candidate.
    (tmp_path / "start").mkdir()
    pd.DataFrame({"id": [1, 2], "label": [0, 1]}).to_csv(tmp_path / "start" / "labels.csv", index=False)
    pd.DataFrame(columns=list(REVIEW_COLUMNS)).to_csv(tmp_path / "start" / "reviews.csv", index=False)
    pd.DataFrame({"id": [2]}).to_csv(tmp_path / "candidates.csv", index=False)
    pd.DataFrame(columns=["id", "decision", "reviewer", "time", "candidates_version", "old_label"]).to_csv(
        tmp_path / "expert.csv", index=False)
    command = [sys.executable, str(REPO / "stages" / "merge.py"), "--round", "round1", "--catalog", "catalog.parquet",
               "--start", "start", "--candidates", "candidates.csv", "--people", "people.csv",
               "--expert", "expert.csv", "--out", "round1", "--reports", "reports"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{_closed_port()}", "REALBOGUS_TRACKING": "1"}
    env.pop("REALBOGUS_DEBUG", None)
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("stage merge: MLflow tracking server http://127.0.0.1:")
    assert "cannot be reached" in lines[0] and "REALBOGUS_TRACKING=0" in lines[0]
    debug = subprocess.run(command, cwd=tmp_path, env={**env, "REALBOGUS_DEBUG": "1"}, capture_output=True,
                           text=True, timeout=120)
    assert debug.returncode == 2 and "Traceback (most recent call last)" in debug.stderr


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process parents from /proc")
def test_sigterm_during_ingest_leaves_no_temporary_folder_and_no_worker(tmp_path: Path) -> None:
    build_release(tmp_path / "release", n=60, n_tars=2, with_masked=False)
    (tmp_path / "out").mkdir()
    # The release walk slowed down, so the ingest is surely mid-way when the signal comes.
    script = (
        "import sys, time\n"
        "import realbogus.ingest as ingest\n"
        "original = ingest.iter_release_samples\n"
        "def slow(*args, **kwargs):\n"
        "    for sample in original(*args, **kwargs):\n"
        "        time.sleep(0.05)\n"
        "        yield sample\n"
        "ingest.iter_release_samples = slow\n"
        "from realbogus.cli import main\n"
        "raise SystemExit(main(sys.argv[1:]))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, "ingest", str(tmp_path / "release"),
                                str(tmp_path / "out" / "ingested"), "--workers", "2", "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (workers and list((tmp_path / "out").glob(".ingested.tmp-*"))):
        time.sleep(0.1)
        # spawn starts a resource tracker too; the decoding workers are the other children
        workers = _children(process.pid)
        assert process.poll() is None, process.communicate()
    assert workers, "the pool never started"
    time.sleep(0.5)  # let batches be in flight
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines() == [
        "realbogus ingest: interrupted; temporary outputs were removed, earlier outputs are unchanged"]
    assert list((tmp_path / "out").iterdir()) == []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
