"""Threshold rules and the three-scorer comparison with the paper's survey plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from realbogus.metrics import rates_at
from realbogus.survey.report import compare_scorers
from realbogus.params import config_from_mapping
from realbogus.survey.threshold import ThresholdRule, choose_threshold


def _scored(n: int = 600, *, separation: float = 2.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.85).astype(np.int8)
    score = 1 / (1 + np.exp(-(rng.normal(size=n) + separation * (labels - 0.5) * 2)))
    return labels, score.astype(np.float32)


def test_rules_meet_their_targets():
    labels, score = _scored()
    by_mdr = choose_threshold(labels=labels, artifact_score=score, rule=ThresholdRule(by="mdr", target=0.05))
    assert by_mdr.mdr <= 0.05
    assert rates_at(labels=labels, artifact_score=score, threshold=by_mdr.threshold).mdr == pytest.approx(by_mdr.mdr)
    by_fpr = choose_threshold(labels=labels, artifact_score=score, rule=ThresholdRule(by="fpr", target=0.02))
    assert by_fpr.fpr <= 0.02
    fixed = choose_threshold(labels=labels, artifact_score=score, rule=ThresholdRule(by="fixed", target=0.3))
    assert fixed.threshold == 0.3
    with pytest.raises(ValueError, match="must be one of"):
        ThresholdRule(by="tpr")
    with pytest.raises(ValueError, match="unknown key"):
        config_from_mapping(ThresholdRule, {"by": "mdr", "taget": 0.1}, where="threshold")
    assert config_from_mapping(ThresholdRule, {"target": "1e-2"}, where="threshold") == ThresholdRule(target=0.01)


def test_compare_scorers_writes_the_survey_plots_and_metrics(tmp_path):
    labels, good = _scored(seed=1)
    _, poor = _scored(seed=2, separation=0.5)
    ids = np.arange(len(labels))
    rng = np.random.default_rng(3)
    vetted = pd.DataFrame({"id": ids, "label": labels,
                           "split": rng.choice(["train", "val", "test"], size=len(ids), p=[0.4, 0.3, 0.3])})
    scores = {"original": pd.DataFrame({"id": ids, "artifact_score": poor}),
              "finetune": pd.DataFrame({"id": ids, "artifact_score": good})}
    # The observers' majority is wrong on 15% of the detections; the truth table comes in its own order.
    true_labels = np.where(rng.random(len(ids)) < 0.15, 1 - labels, labels)
    truth = pd.DataFrame({"id": ids, "true_label": true_labels}).iloc[::-1]
    results = compare_scorers(vetted=vetted, scores=scores, rule=ThresholdRule(by="mdr", target=0.1),
                              alert_threshold=0.3, out_dir=tmp_path, figures_dir=tmp_path / "figures", truth=truth)
    assert results["finetune"]["auc"] > results["original"]["auc"]
    test = (vetted["split"] == "test").to_numpy()
    for name, score in (("original", poor), ("finetune", good)):
        threshold = results[name]["threshold"]
        by_vetted = rates_at(labels=labels[test], artifact_score=score[test], threshold=threshold)
        by_truth = rates_at(labels=true_labels[test], artifact_score=score[test], threshold=threshold)
        assert (results[name]["mdr"], results[name]["fpr"]) == pytest.approx((by_vetted.mdr, by_vetted.fpr))
        assert (results[name]["mdr_truth"], results[name]["fpr_truth"]) == pytest.approx((by_truth.mdr, by_truth.fpr))
        assert (by_truth.mdr, by_truth.fpr) != pytest.approx((by_vetted.mdr, by_vetted.fpr))
    for name in ("comparison.csv", "summary.md"):
        assert (tmp_path / name).is_file(), name
    for data in ("roc.csv", "threshold_curves.csv", "score_hist.csv", "cleanliness.csv"):
        assert (tmp_path / "original" / data).is_file()
    # The figures (the survey's DVC plots) are all in one folder, and only figures are there.
    assert sorted(path.name for path in (tmp_path / "figures").iterdir()) == sorted(
        ["roc_fpr_mdr.png", "roc_tpr_fpr.png", "cleanliness.png"]
        + [f"{figure}_{name}.png" for figure in ("threshold_curves", "score_hist") for name in scores])
    flat = json.loads((tmp_path / "metrics.json").read_text())
    assert {"original.threshold", "finetune.mdr", "finetune.fpr_alert", "real_fraction"} <= set(flat)
    assert "| finetune |" in (tmp_path / "summary.md").read_text()
    with pytest.raises(ValueError, match="miss 1 vetted id"):
        compare_scorers(vetted=vetted, scores={"x": scores["original"].iloc[1:]}, rule=ThresholdRule(),
                        alert_threshold=0.3, out_dir=tmp_path / "bad")
