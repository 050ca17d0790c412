"""Each figure renders and is written where asked, atomically."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from realbogus import metrics, plots


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 400)
    # Artifacts score high, reals low, with overlap so every curve has some shape.
    artifact_score = np.clip(rng.normal(0.25 + 0.5 * labels, 0.2), 0.0, 1.0)
    return labels, artifact_score


def _assert_png(path, figure):
    assert isinstance(figure, Figure)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 100
    # Only the figure is left in the folder: no temporary file from the atomic write.
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_roc_fpr_mdr_with_goldstein_points_and_several_curves(scored, tmp_path):
    labels, artifact_score = scored
    before = metrics.roc_curve(labels=labels, artifact_score=artifact_score)
    after = metrics.roc_curve(labels=labels, artifact_score=artifact_score ** 2)
    path = tmp_path / "roc_fpr_mdr.png"
    figure = plots.plot_roc_fpr_mdr(curves={"before": before, "after": after}, log_x=True, path=path)
    _assert_png(path, figure)
    axes = figure.axes[0]
    assert [line.get_label() for line in axes.get_lines()] == ["before", "after"]
    assert axes.get_xscale() == "log"
    # The Goldstein points are drawn as (MDR, FPR).
    offsets = axes.collections[0].get_offsets()
    np.testing.assert_allclose(offsets, np.array(metrics.GOLDSTEIN_2015_POINTS))
    np.testing.assert_allclose(axes.get_lines()[0].get_xdata(), np.maximum(before.mdr, plots.LOG_AXIS_FLOOR))
    np.testing.assert_allclose(axes.get_lines()[0].get_ydata(), before.fpr)


def test_roc_fpr_mdr_without_reference_points(scored):
    labels, artifact_score = scored
    curve = metrics.roc_curve(labels=labels, artifact_score=artifact_score)
    figure = plots.plot_roc_fpr_mdr(curves={"m": curve}, reference_points=None)
    assert len(figure.axes[0].collections) == 0


def test_roc_tpr_fpr(scored, tmp_path):
    labels, artifact_score = scored
    curve = metrics.roc_curve(labels=labels, artifact_score=artifact_score)
    path = tmp_path / "roc.png"
    figure = plots.plot_roc_tpr_fpr(curves={"model 1": curve}, aucs={"model 1": 0.9123}, path=path)
    _assert_png(path, figure)
    assert "AUC 0.9123" in figure.axes[0].get_legend().get_texts()[0].get_text()


def test_score_histograms_log_y(scored, tmp_path):
    labels, artifact_score = scored
    path = tmp_path / "hist.png"
    figure = plots.plot_score_histograms(labels=labels, artifact_score=artifact_score, bins=20,
                                         threshold=0.3, path=path)
    _assert_png(path, figure)
    assert figure.axes[0].get_yscale() == "log"


def test_threshold_curves_marks_the_threshold(scored, tmp_path):
    labels, artifact_score = scored
    curves = metrics.threshold_curves(labels=labels, artifact_score=artifact_score)
    path = tmp_path / "thresholds.png"
    figure = plots.plot_threshold_curves(curves=curves, chosen_threshold=0.3, path=path)
    _assert_png(path, figure)
    labels_drawn = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels_drawn == ["FPR", "MDR", "threshold 0.3"]


def test_stream_cleanliness_skips_undefined_points(scored, tmp_path):
    labels, artifact_score = scored
    curve = metrics.stream_cleanliness(labels=labels, artifact_score=artifact_score, real_fraction=0.15)
    path = tmp_path / "clean.svg"
    figure = plots.plot_stream_cleanliness(curves={"m": curve}, path=path)
    assert path.read_text().lstrip().startswith("<?xml")  # the suffix picks the format
    drawn = figure.axes[0].get_lines()[0].get_ydata()
    assert np.isfinite(drawn).all() and drawn.size == np.isfinite(curve.cleanliness).sum()


def test_bad_figure_requests_are_errors(scored, tmp_path):
    with pytest.raises(ValueError, match="at least one curve"):
        plots.plot_roc_tpr_fpr(curves={})
    figure, _ = plots.new_figure()
    with pytest.raises(ValueError, match="give it a suffix"):
        plots.save_figure(figure, tmp_path / "no_suffix")
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        plots.plot_score_histograms(labels=[0, 1], artifact_score=[0.1, 0.9], bins=0)
