"""``realbogus review`` as a command: serves until interrupted, clear errors on bad input."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realbogus.cli import review as review_cli

from .conftest import ReviewInputs


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    review_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_bad_inputs_exit_2_naming_the_file(review_inputs: ReviewInputs, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.csv"
    args = parse(["--candidates", str(missing), "--stamps", str(review_inputs.stamps),
                  "--decisions", str(review_inputs.decisions)])
    assert review_cli.run(args) == 2
    assert str(missing) in capsys.readouterr().err
    bad_decisions = tmp_path / "bad.csv"
    bad_decisions.write_text("not,a,decisions,file\n")
    args = parse(["--candidates", str(review_inputs.candidates), "--stamps", str(review_inputs.stamps),
                  "--decisions", str(bad_decisions)])
    assert review_cli.run(args) == 2
    assert "is this a decisions file?" in capsys.readouterr().err


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_command_serves_and_stops_on_sigint_or_sigterm(review_inputs: ReviewInputs, stop_signal: int) -> None:
    command = [sys.executable, "-c", "from realbogus.cli import main; raise SystemExit(main())", "review",
               "--candidates", str(review_inputs.candidates), "--stamps", str(review_inputs.stamps),
               "--decisions", str(review_inputs.decisions), "--port", "0", "--reviewer", "dee", "--quiet"]
    # Started as a script's background job would be: SIGINT inherited as ignored, which
    # Python would leave ignored.  The command must stop on SIGINT and SIGTERM anyway.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        url_line = ""
        deadline = time.monotonic() + 30
        while "open http://" not in url_line and time.monotonic() < deadline:
            url_line = process.stdout.readline()
            if not url_line and process.poll() is not None:
                pytest.fail(f"review exited early: {process.stderr.read()}")
        address = url_line.split("open ")[1].split()[0]  # http://127.0.0.1:PORT/?token=...
        port = int(address.split("http://127.0.0.1:")[1].split("/")[0])
        token = address.split("?token=")[1]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/state")  # without the printed token: refused
        response = connection.getresponse()
        assert response.status == 403 and "needs its token" in json.loads(response.read())["error"]
        connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/state", headers={"X-Review-Token": token})
        state = json.loads(connection.getresponse().read())
        assert state["reviewer"] == "dee"
        assert state["progress"]["total"] == len(review_inputs.table)
        connection.close()
    finally:
        process.send_signal(stop_signal)
        try:
            # Generous: CI boxes are shared, and one run under heavy load took over 20 s.
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"review did not stop within 60 s of {signal.Signals(stop_signal).name}; stdout: {out!r}; "
                        f"stderr: {err[-2000:]!r}")
    assert process.returncode == 0, err
    assert "stopped" in out


def test_a_round_names_its_candidate_list(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(
        "mine:\n  rounds:\n    round1: {after: release, budget: 5}\n    round2: {after: round1, budget: 3}\n")
    with pytest.raises(FileNotFoundError, match=r"run `dvc repro mine@round1` first"):
        review_cli.round_candidates(None)
    for name in ("round1", "round2"):
        folder = tmp_path / "data" / "rounds" / name / "mine"
        folder.mkdir(parents=True)
        if name == "round1":
            (folder / "candidates.csv").write_text("id\n")
    # The latest round with a list, or the one asked for; a round without one says what to run.
    assert review_cli.round_candidates(None) == "data/rounds/round1/mine/candidates.csv"
    (tmp_path / "data/rounds/round2/mine/candidates.csv").write_text("id\n")
    assert review_cli.round_candidates(None) == "data/rounds/round2/mine/candidates.csv"
    assert review_cli.round_candidates("round1") == "data/rounds/round1/mine/candidates.csv"
    with pytest.raises(FileNotFoundError, match=r"round 'round3' has no candidate list yet \(run `dvc repro mine@round3`\)"):
        review_cli.round_candidates("round3")
    # On the command line: one line naming the file, exit status 2.
    assert review_cli.run(parse(["--round", "round3"])) == 2
    assert "data/rounds/round3/mine/candidates.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(["--round", "round1", "--candidates", "x.csv"])  # one or the other
