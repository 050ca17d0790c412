from __future__ import annotations

import argparse
import json

import pytest

from realbogus.cli import models as models_command


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    models_command.add_arguments(parser)
    return models_command.run(parser.parse_args(argv))


def test_models_command_reports_paper_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["preset"] for row in rows] == ["model1", "model2", "model3", "model4"]
    assert all(row["matches_paper"] for row in rows)
    assert rows[0]["trainable_params"] == 265_165 and rows[3]["total_params"] == 954_247


def test_models_command_text_and_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["model2", "--layers"]) == 0
    out = capsys.readouterr().out
    assert "414,205 / total 414,947" in out and "matches paper" in out and "block2_pool" in out
    with pytest.raises(ValueError, match=r"unknown preset\(s\) \['model7'\]; expected some of"):
        _run(["model7"])
    # through the command line: one line, exit status 2
    from realbogus.cli import main

    assert main(["models", "model7"]) == 2
    assert capsys.readouterr().err.strip() == (
        "realbogus models: unknown preset(s) ['model7']; expected some of ['model1', 'model2', 'model3', 'model4']")
