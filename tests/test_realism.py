"""The realism report: pixel comparison, members' strongly misclassified samples, the stage."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from realbogus.realism import (
    member_figures,
    pixel_comparison,
    realism_report,
    sample_rows,
    strongly_misclassified_by_several,
)
from realbogus.release.display import add_tick_marks
from script_modules import load_script

REPO = Path(__file__).resolve().parents[1]


def _scores(ids, labels, artifact_score, split="test") -> pd.DataFrame:
    return pd.DataFrame({"id": ids, "split": split, "label": labels, "artifact_score": artifact_score})


def _release_like_stamps(n: int, seed: int = 0) -> np.ndarray:
    """GIF-like stamps with the real release's look: dark template/search skies, grainy difference."""
    rng = np.random.default_rng(seed)
    stamps = np.empty((n, 51, 51, 3), dtype=np.uint8)
    for index in range(n):
        # The real stretch puts the sky 2-3 noise sigmas above 0 (realbogus.release.display).
        for channel, noise in enumerate((rng.uniform(2, 30), rng.uniform(4, 40), rng.uniform(28, 45))):
            image = np.clip(rng.normal(2.5 * noise, noise, size=(51, 51)), 0, 254)
            image[25, 25] = 255
            stamps[index, :, :, channel] = add_tick_marks(image.astype(np.uint8))
    return stamps


def test_pixel_comparison_passes_a_real_like_release_and_fails_a_grey_one() -> None:
    assert pixel_comparison(_release_like_stamps(60))["all_checks_pass"]
    grey = _release_like_stamps(60)
    grey[..., 0] = np.clip(grey[..., 0].astype(int) + 120, 0, 255).astype(np.uint8)  # a washed-out template
    comparison = pixel_comparison(grey)
    assert not comparison["all_checks_pass"]
    assert not comparison["temp"]["checks"]["background_median_inside_real_p10_p90"]
    assert comparison["diff"]["checks"]["background_median_inside_real_p10_p90"]


def test_member_figures_count_categories_1_and_6_and_judge_by_the_truth() -> None:
    ids = np.arange(1, 11)
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    score = np.array([0.05, 0.1, 0.2, 0.3, 0.95, 0.99, 0.9, 0.8, 0.7, 0.05])
    scores = pd.concat([_scores(ids, labels, score), _scores([99], [1], [0.0], split="train")])
    truth = pd.DataFrame({"id": [*ids, 99], "true_label": [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0]})
    figures = member_figures(scores=scores, truth=truth)
    assert figures["n"] == 10  # the train row is left out
    assert figures["strongly_misclassified_share"] == pytest.approx(0.2)  # id 5 (cat 6), id 10 (cat 1)
    from realbogus.metrics import share_interval

    assert (figures["strongly_misclassified_share_low"], figures["strongly_misclassified_share_high"]) == \
        share_interval(2, 10)
    # Judged by the truth the two flips are right, so the forest separates perfectly.
    assert figures["truth_auc"] == pytest.approx(1.0) and figures["truth_fpr_at_mdr_0.05"] == 0.0
    assert figures["auc"] < 1.0
    without_truth = member_figures(scores=scores)
    assert "truth_auc" not in without_truth and without_truth["auc"] == figures["auc"]


def test_member_figures_give_each_given_label_fpr_its_sampling_interval() -> None:
    from realbogus.metrics import fpr_at_mdr_interval

    rng = np.random.default_rng(3)
    ids = np.arange(1, 2001)
    labels = rng.integers(0, 2, ids.size)
    member = _scores(ids, labels, np.clip(rng.normal(0.3 + 0.4 * labels, 0.15), 0, 1))
    figures = member_figures(scores=member, truth=pd.DataFrame({"id": ids, "true_label": labels}))
    expected = fpr_at_mdr_interval(labels=labels, artifact_score=member["artifact_score"].to_numpy(), mdr=[0.03, 0.04, 0.05])
    for row, mdr in enumerate(("0.03", "0.04", "0.05")):
        assert figures[f"fpr_at_mdr_{mdr}_low"] <= figures[f"fpr_at_mdr_{mdr}"] <= figures[f"fpr_at_mdr_{mdr}_high"]
        assert (figures[f"fpr_at_mdr_{mdr}_low"], figures[f"fpr_at_mdr_{mdr}_high"]) == tuple(expected[row])
        assert f"truth_fpr_at_mdr_{mdr}_low" not in figures  # the interval is for the figures beside Goldstein's
    # A split of one class has no FPR at MDR, and no interval.
    one_class = member_figures(scores=_scores(ids[:5], np.ones(5, dtype=int), np.full(5, 0.5)))
    assert one_class["fpr_at_mdr_0.05"] is None and one_class["fpr_at_mdr_0.05_low"] is None


def test_member_figures_split_the_strong_share_into_mislabels_and_say_how_many_mislabels_it_contradicts() -> None:
    ids = np.arange(1, 11)
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    score = np.array([0.05, 0.1, 0.2, 0.3, 0.95, 0.99, 0.9, 0.8, 0.7, 0.05])
    # Mislabelled: id 4 (scored 0.3: not contradicted), id 5 (0.95, category 6) and id 10 (0.05, category 1);
    # id 1 is correctly labelled.
    truth = pd.DataFrame({"id": ids, "true_label": [0, 0, 0, 1, 1, 1, 1, 1, 1, 0]})
    figures = member_figures(scores=_scores(ids, labels, score), truth=truth)
    assert figures["strongly_misclassified_share"] == pytest.approx(0.2)
    assert figures["strongly_misclassified_mislabelled_share"] == pytest.approx(0.2)
    assert figures["mislabelled_strongly_contradicted"] == pytest.approx(2 / 3)
    # A correctly labelled sample in category 6 counts in the share but not in its mislabelled part.
    figures = member_figures(scores=_scores(ids, labels, np.where(ids == 1, 0.95, score)), truth=truth)
    assert figures["strongly_misclassified_share"] == pytest.approx(0.3)
    assert figures["strongly_misclassified_mislabelled_share"] == pytest.approx(0.2)
    assert "mislabelled_strongly_contradicted" not in member_figures(scores=_scores(ids, labels, score))


def test_member_figures_count_a_stored_boundary_score_as_the_category_table_does() -> None:
    from realbogus.metrics import categories

    # A forest's 0.9 stored as float32 is 0.8999999762; the category table puts it in category 6.
    score = np.array([0.9, 0.1, 0.5, 0.3], dtype=np.float32)
    labels = np.array([0, 1, 1, 0])
    assert list(categories(labels=labels, artifact_score=score)) == [6, 2, 3, 4]
    figures = member_figures(scores=_scores(np.arange(1, 5), labels, score))
    assert figures["strongly_misclassified_share"] == pytest.approx(0.25)


def test_several_members_flag_and_the_truth_says_how_many_are_mislabelled() -> None:
    ids = np.arange(1, 7)
    labels = np.array([0, 0, 0, 1, 1, 1])
    members = {
        "a": _scores(ids, labels, [0.95, 0.95, 0.1, 0.05, 0.9, 0.9]),
        "b": _scores(ids, labels, [0.97, 0.2, 0.1, 0.02, 0.9, 0.05]),
        "c": _scores(ids, labels, [0.99, 0.93, 0.1, 0.5, 0.9, 0.06]),
    }
    truth = pd.DataFrame({"id": ids, "true_label": [1, 0, 0, 0, 1, 1]})
    result = strongly_misclassified_by_several(scores_by_member=members, truth=truth, min_members=2)
    # ids 1 (3 votes), 2 (2), 4 (2), 6 (2) are flagged; 1 and 4 are truly mislabelled.
    assert (result["n_samples"], result["n_flagged"]) == (6, 4)
    assert result["n_flagged_mislabelled"] == 2 and result["mislabelled_share"] == pytest.approx(0.5)
    assert result["n_mislabelled"] == 2 and result["recall"] == pytest.approx(1.0)
    from realbogus.metrics import share_interval

    assert (result["mislabelled_share_low"], result["mislabelled_share_high"]) == share_interval(2, 4)
    unanimous = strongly_misclassified_by_several(scores_by_member=members, truth=truth, min_members=3)
    assert unanimous["n_flagged"] == 1 and unanimous["mislabelled_share"] == 1.0
    no_truth = strongly_misclassified_by_several(scores_by_member=members)
    assert "mislabelled_share" not in no_truth and no_truth["n_flagged"] == 4
    with pytest.raises(ValueError, match="at least 2"):
        strongly_misclassified_by_several(scores_by_member={"a": members["a"]})
    with pytest.raises(ValueError, match="truth table has no row"):
        strongly_misclassified_by_several(scores_by_member=members, truth=truth.iloc[:3])


def test_sample_rows_keeps_small_releases_whole_and_samples_big_ones() -> None:
    assert np.array_equal(sample_rows(5, max_rows=10), np.arange(5))
    rows = sample_rows(1000, max_rows=50, seed=3)
    assert len(rows) == 50 and len(set(rows)) == 50 and np.all(np.diff(rows) > 0)
    assert np.array_equal(rows, sample_rows(1000, max_rows=50, seed=3))


def _member_scores(rng: np.random.Generator, ids: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    split = np.where(np.arange(len(ids)) % 5 == 0, "test", "train")
    score = np.clip(rng.normal(0.15 + 0.7 * labels, 0.15), 0, 1).astype(np.float32)
    return _scores(ids, labels, score, split=split)


def test_report_writes_every_file_and_metrics_without_nan(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ids = np.arange(1, 501)
    labels = rng.integers(0, 2, ids.size)
    truth = pd.DataFrame({"id": ids, "true_label": np.where(rng.random(ids.size) < 0.02, 1 - labels, labels)})
    members = {name: _member_scores(rng, ids, labels) for name in ("rf", "hgb")}
    metrics = realism_report(stamps=_release_like_stamps(40), scores_by_member=members, truth=truth,
                             out_dir=tmp_path / "realism")
    written = {path.name for path in (tmp_path / "realism").iterdir()}
    assert written == {"metrics.json", "pixel_table.csv", "pixel_histograms.csv", "pixel_histograms.png",
                       "members.csv", "roc_forest.csv", "roc_forest.png"}
    on_disk = json.loads((tmp_path / "realism" / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert metrics["truth_available"] and metrics["pixels_all_checks_pass"]
    assert "truth_fpr_at_mdr_0.05" in metrics["members"]["rf"]
    assert "mislabelled_share" in metrics["strongly_misclassified_by_several"]
    roc = pd.read_csv(tmp_path / "realism" / "roc_forest.csv")
    assert set(roc["judged_by"]) == {"given labels", "truth"}
    table = pd.read_csv(tmp_path / "realism" / "pixel_table.csv")
    assert set(table["channel"]) == {"temp", "srch", "diff"} and table["real_p50"].notna().all()


def _write_pipeline_outputs(root: Path, *, with_truth: bool) -> None:
    rng = np.random.default_rng(2)
    n = 300
    ids = np.arange(1, n + 1)
    labels = rng.integers(0, 2, n)
    ingested = root / "data" / "ingested"
    ingested.mkdir(parents=True)
    np.save(ingested / "stamps.npy", _release_like_stamps(n))
    pd.DataFrame({"id": ids, "row": np.arange(n), "label": labels}).to_parquet(ingested / "catalog.parquet")
    for member in ("rf", "hgb", "model1"):
        folder = root / "data" / "models" / member
        folder.mkdir(parents=True)
        _member_scores(rng, ids, labels).to_parquet(folder / "scores.parquet")
    truth = pd.DataFrame({"id": ids, "true_label": labels, "given_label": labels}) if with_truth \
        else pd.DataFrame({"id": pd.Series(dtype="int64")})  # what `simulate` writes for a real release
    (root / "data" / "simulated").mkdir(parents=True)
    truth.to_parquet(root / "data" / "simulated" / "truth.parquet")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["realism"]["max_stamps"] = 120
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.parametrize("with_truth", [True, False])
def test_stage_runs_on_a_simulated_and_on_a_real_release(tmp_path: Path, monkeypatch, with_truth: bool) -> None:
    _write_pipeline_outputs(tmp_path, with_truth=with_truth)
    shutil.copy(REPO / "stages" / "realism.py", tmp_path / "realism_stage.py")
    stage = load_script(tmp_path / "realism_stage.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(os.environ, "REALBOGUS_TRACKING", "0")
    stage.main([])
    metrics = json.loads((tmp_path / "reports" / "realism" / "metrics.json").read_text())
    assert metrics["n_stamps_measured"] == 120
    assert set(metrics["members"]) == {"rf", "hgb", "model1"}
    assert metrics["truth_available"] is with_truth
    several = metrics["strongly_misclassified_by_several"]
    assert ("mislabelled_share" in several) is with_truth
    assert ("truth_auc" in metrics["members"]["rf"]) is with_truth


def test_summary_section_reports_the_pixel_table_members_and_mislabelled_share(tmp_path: Path) -> None:
    from realbogus.report import realism_lines

    rng = np.random.default_rng(4)
    ids = np.arange(1, 401)
    labels = rng.integers(0, 2, ids.size)
    truth = pd.DataFrame({"id": ids, "true_label": labels})
    members = {name: _member_scores(rng, ids, labels) for name in ("rf", "hgb")}
    realism_report(stamps=_release_like_stamps(30), scores_by_member=members, truth=truth,
                   out_dir=tmp_path)
    text = "\n".join(realism_lines(json.loads((tmp_path / "metrics.json").read_text())))
    assert "| temp |" in text and "| diff |" in text and "| rf |" in text and "| hgb |" in text
    assert "Goldstein et al. 2015" in text and "strongly misclassify" in text
    assert "of the mislabels)" not in text  # no mislabels in this truth: no floor to state
    # The flags' line gives the share truly mislabelled its interval (here drawn by hand).
    flags = {"min_members": 2, "n_samples": 4000, "n_flagged": 43, "n_flagged_mislabelled": 32,
             "mislabelled_share": 32 / 43, "mislabelled_share_low": 0.623, "mislabelled_share_high": 0.837,
             "n_mislabelled": 40, "recall": 0.8}
    flag_lines = realism_lines({"pixels": {}, "strongly_misclassified_by_several": flags})
    assert ("43 of 4000, of which 74% truly mislabelled; 90% interval 62-84% (they are 80% of the test "
            "split's 40 mislabels)") in "\n".join(flag_lines)
    rf_figures = json.loads((tmp_path / "metrics.json").read_text())["members"]["rf"]
    rf_row = next(line for line in text.splitlines() if line.startswith("| rf |"))
    assert (f"| {100 * rf_figures['fpr_at_mdr_0.05_low']:.2f}% - {100 * rf_figures['fpr_at_mdr_0.05_high']:.2f}% |"
            in rf_row)
    real_release = realism_report(stamps=_release_like_stamps(30), scores_by_member=members, truth=None,
                                  out_dir=tmp_path / "real")
    assert "truly mislabelled" not in "\n".join(realism_lines(real_release))
    # With mislabels, each member's share is split: its mislabelled part, and how many mislabels it contradicts.
    noisy = truth.assign(true_label=np.where(ids <= 40, 1 - labels, labels))
    noisy_metrics = realism_report(stamps=_release_like_stamps(30), scores_by_member=members, truth=noisy,
                                   out_dir=tmp_path / "noisy")
    rf = noisy_metrics["members"]["rf"]
    row = next(line for line in realism_lines(noisy_metrics) if line.startswith("| rf |"))
    assert (f"({100 * rf['strongly_misclassified_mislabelled_share']:.2f}% mislabelled; "
            f"{100 * rf['mislabelled_strongly_contradicted']:.0f}% of the mislabels)") in row
