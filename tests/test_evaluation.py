"""evaluate_scores writes every file, readable by dvc metrics/plots, consistent with metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from realbogus import evaluation, metrics


def _reject_constant(name):
    raise AssertionError(f"metrics.json holds {name}; dvc and MLflow need null instead")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 3000)
    artifact_score = np.clip(rng.normal(0.2 + 0.6 * labels, 0.18), 0.0, 1.0).astype(np.float32)
    out_dir = tmp_path_factory.mktemp("evaluation") / "rf_test"
    returned = evaluation.evaluate_scores(
        labels=labels, artifact_score=artifact_score, out_dir=out_dir, name="rf test",
        fpr_targets=(0.01,), max_curve_points=200,
    )
    return labels, artifact_score, out_dir, returned


def test_every_file_is_written(evaluated):
    _, _, out_dir, _ = evaluated
    expected = set(evaluation.DATA_FILES) | set(evaluation.FIGURE_FILES.values())
    assert {path.name for path in out_dir.iterdir()} == expected  # and no temporary leftovers


def test_metrics_json_is_flat_numbers_matching_metrics(evaluated):
    labels, artifact_score, out_dir, returned = evaluated
    written = json.loads((out_dir / "metrics.json").read_text(), parse_constant=_reject_constant)
    assert written == returned
    assert all(isinstance(value, (int, float)) for value in written.values())
    assert written["n"] == labels.size
    assert written["auc"] == pytest.approx(metrics.auc(labels=labels, artifact_score=artifact_score))
    for target in (0.03, 0.04, 0.05):
        assert written[f"fpr_at_mdr_{target}"] == pytest.approx(
            metrics.fpr_at_mdr(labels=labels, artifact_score=artifact_score, mdr=target))
    assert written["mdr_at_fpr_0.01"] == pytest.approx(
        metrics.mdr_at_fpr(labels=labels, artifact_score=artifact_score, fpr=0.01))
    assert written["accuracy"] == pytest.approx(metrics.accuracy_at(labels=labels, artifact_score=artifact_score))
    table = metrics.category_table(labels=labels, artifact_score=artifact_score)
    assert {key: written[key] for key in table} == pytest.approx(table)


def test_roc_csv_is_thinned_but_exact(evaluated):
    labels, artifact_score, out_dir, returned = evaluated
    roc = pd.read_csv(out_dir / "roc.csv")
    assert list(roc.columns) == ["fpr", "mdr", "tpr", "threshold"]
    full = metrics.roc_curve(labels=labels, artifact_score=artifact_score)
    assert full.fpr.size > 1000 and len(roc) <= 200 + 3
    # Every written point lies on the full curve, in order, ends included.
    rows = np.searchsorted(full.thresholds, roc["threshold"].to_numpy())
    np.testing.assert_allclose(full.thresholds[rows], roc["threshold"])
    np.testing.assert_allclose(full.fpr[rows], roc["fpr"])
    np.testing.assert_allclose(full.mdr[rows], roc["mdr"])
    assert rows[0] == 0 and rows[-1] == full.fpr.size - 1 and np.all(np.diff(rows) > 0)
    # The headline operating points are rows of the file.
    for target in metrics.DEFAULT_MDR_TARGETS:
        meets = roc[roc["mdr"] <= target]
        assert meets["fpr"].min() == pytest.approx(returned[f"fpr_at_mdr_{target}"])


def test_plot_csvs(evaluated):
    labels, artifact_score, out_dir, _ = evaluated
    hist = pd.read_csv(out_dir / "score_hist.csv")
    assert list(hist.columns) == ["score", "bin_low", "bin_high", "non_artifact", "artifact"]
    assert hist["non_artifact"].sum() == np.count_nonzero(labels == 0)
    assert hist["artifact"].sum() == np.count_nonzero(labels == 1)
    categories = pd.read_csv(out_dir / "categories.csv")
    assert categories["category"].tolist() == [1, 2, 3, 4, 5, 6]
    assert categories["count"].sum() == labels.size
    np.testing.assert_allclose(
        categories["percent"], list(metrics.category_table(labels=labels, artifact_score=artifact_score).values()))
    rates = pd.read_csv(out_dir / "threshold_curves.csv")
    assert list(rates.columns) == ["threshold", "fpr", "mdr", "tpr"] and len(rates) == 101
    at_half = rates.loc[rates["threshold"] == 0.5].iloc[0]
    expected = metrics.rates_at(labels=labels, artifact_score=artifact_score, threshold=0.5)
    assert (at_half["fpr"], at_half["mdr"]) == pytest.approx((expected.fpr, expected.mdr))
    clean = pd.read_csv(out_dir / "cleanliness.csv")
    assert clean["cleanliness"].notna().all() and clean["cleanliness"].between(0, 1).all()
    assert clean["cleanliness"].iloc[-1] == pytest.approx(0.15)  # all pass: the stream's own mix


def test_hand_case_end_to_end(tmp_path):
    returned = evaluation.evaluate_scores(
        labels=[0, 0, 0, 1, 1, 1], artifact_score=[0.05, 0.5, 0.95, 0.1, 0.3, 0.9],
        out_dir=tmp_path / "hand", name="hand", figures=False, histogram_bins=2,
    )
    assert returned["auc"] == pytest.approx(4 / 9)
    assert returned["tpr"] == pytest.approx(1 / 3) and returned["fpr"] == pytest.approx(2 / 3)
    hist = pd.read_csv(tmp_path / "hand" / "score_hist.csv")
    assert hist["non_artifact"].tolist() == [1, 2] and hist["artifact"].tolist() == [2, 1]
    assert not list((tmp_path / "hand").glob("*.png"))


def test_one_class_is_an_error_naming_the_run(tmp_path):
    with pytest.raises(ValueError, match=r"evaluate_scores\('rf val'.*only artifacts \(1\) \(2 samples\)"):
        evaluation.evaluate_scores(labels=[1, 1], artifact_score=[0.1, 0.9], out_dir=tmp_path, name="rf val")


def test_nan_is_refused_in_metrics_json(tmp_path):
    with pytest.raises(ValueError):
        evaluation.write_metrics_json({"auc": float("nan")}, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_thin_curve_indices():
    # A straight line keeps only its ends; a bend is kept.
    assert evaluation.thin_curve_indices(x=[0, 1, 2, 3], y=[0, 1, 2, 3], max_points=10).tolist() == [0, 3]
    assert evaluation.thin_curve_indices(x=[0, 0, 0, 1, 2], y=[0, 1, 2, 2, 2], max_points=10).tolist() == [0, 2, 4]
    angles = np.linspace(0, np.pi / 2, 5000)
    kept = evaluation.thin_curve_indices(x=np.sin(angles), y=1 - np.cos(angles), max_points=50, keep=[1234])
    assert kept[0] == 0 and kept[-1] == 4999 and 1234 in kept and kept.size <= 51
    # Evenly along the length: the gaps on a circle arc are about equal.
    gaps = np.diff(kept[kept != 1234])
    assert gaps.max() <= 2 * np.median(gaps)
    with pytest.raises(ValueError, match="max_points must be at least 2"):
        evaluation.thin_curve_indices(x=[0, 1], y=[0, 1], max_points=1)
