from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from PIL import Image

from realbogus.cli import main
from realbogus.simulate import ARTIFACT_TYPES, SimulationConfig
from realbogus.simulate.preview import FAKE_COLUMNS, MISLABEL_COLUMNS, choose_preview_indices


def test_cli_writes_release_truth_beside_it_and_preview(tmp_path: Path, capsys) -> None:
    out = tmp_path / "release"
    code = main(["simulate", str(out), "--n", "6", "--seed", "3", "--workers", "1", "--no-progress",
                 "--label-noise", "0.2", "--flip-ratio", "1", "--preview", str(tmp_path / "gallery.png")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 6
    truth = pd.read_parquet(tmp_path / "release_truth.parquet")
    assert len(truth) == 6
    with Image.open(tmp_path / "gallery.png") as image:
        assert image.size[0] > 200


def test_preview_covers_both_classes_every_artifact_type_and_both_mislabels() -> None:
    chosen = choose_preview_indices(seed=2, n=3000, label_noise=0.02, flip_ratio=3.0, config=SimulationConfig())
    assert set(chosen) == set(FAKE_COLUMNS) | set(ARTIFACT_TYPES) | set(MISLABEL_COLUMNS)
