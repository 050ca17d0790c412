from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from PIL import Image

from realbogus.cli import main
from realbogus.release.layout import FEATURE_TABLE_NAME
from realbogus.release.reader import read_feature_table
from realbogus.simulate import ARTIFACT_TYPES, SimulationConfig
from realbogus.simulate.preview import FAKE_COLUMNS, MISLABEL_COLUMNS, choose_preview_indices
from realbogus.simulate.release import draw_truth_table


def test_cli_writes_release_truth_beside_it_and_preview(tmp_path: Path, capsys) -> None:
    out = tmp_path / "release"
    code = main(["simulate", str(out), "--n", "6", "--seed", "5", "--workers", "1", "--no-progress",
                 "--label-noise", "0.2", "--flip-ratio", "1", "--preview", str(tmp_path / "gallery.png")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 6
    truth = pd.read_parquet(tmp_path / "release_truth.parquet")
    assert len(truth) == 6
    # --label-noise and --flip-ratio reached the release: its labels are the draws of exactly
    # these settings (for seed 5 they differ from the defaults' and from flip ratio 3's).
    labels = ["id", "given_label", "true_label", "mislabel_mechanism"]
    drawn = draw_truth_table(n=6, seed=5, label_noise=0.2, flip_ratio=1)
    pd.testing.assert_frame_equal(truth[labels], drawn[labels])
    for other in (draw_truth_table(n=6, seed=5), draw_truth_table(n=6, seed=5, label_noise=0.2, flip_ratio=3)):
        assert not other[labels].equals(drawn[labels])
    mislabelled = int((truth["given_label"] != truth["true_label"]).sum())
    assert mislabelled > 0 and summary["measured_label_noise"] == mislabelled / 6
    release = read_feature_table(out / FEATURE_TABLE_NAME)
    given = release.set_index("ID")["OBJECT_TYPE"]
    assert given.loc[truth["id"]].tolist() == truth["given_label"].tolist()  # the CSV holds the given labels
    assert "label_noise=0.2 flip_ratio=1.0" in (out / FEATURE_TABLE_NAME).read_text().splitlines()[1]
    with Image.open(tmp_path / "gallery.png") as image:
        assert image.size[0] > 200


def test_preview_covers_both_classes_every_artifact_type_and_both_mislabels() -> None:
    chosen = choose_preview_indices(seed=2, n=3000, label_noise=0.02, flip_ratio=3.0, config=SimulationConfig())
    assert set(chosen) == set(FAKE_COLUMNS) | set(ARTIFACT_TYPES) | set(MISLABEL_COLUMNS)
