"""benchmarks/figures_by_convolved_image.py: a member's figures split by which image was the sharper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from script_modules import load_script  # tests/ is on sys.path

SCRIPT = "benchmarks/figures_by_convolved_image.py"


@pytest.fixture(scope="module")
def split_module():
    return load_script(SCRIPT)


def test_each_half_gets_its_own_false_positives_and_strong_errors(split_module) -> None:
    rng = np.random.default_rng(0)
    n = 400
    ids = np.arange(1, n + 1)
    labels = np.tile([0, 1], n // 2)
    template_broader = ids > n // 2               # the second half: template broader
    # Non-artifacts score low everywhere; artifacts high, except that a fifth of the
    # template-broader half's artifacts pass as non-artifacts (0.02: category 1, strong).
    scores = np.where(labels == 0, rng.uniform(0.0, 0.3, n), rng.uniform(0.7, 1.0, n))
    hard = template_broader & (labels == 1) & (rng.random(n) < 0.2)
    scores[hard] = 0.02
    # Two of the hard ones are truly non-artifacts (mislabelled): strong but not "correct".
    true_labels = labels.copy()
    true_labels[np.flatnonzero(hard)[:2]] = 0
    table = pd.DataFrame({"id": ids, "split": "test", "label": labels, "artifact_score": scores})
    table = pd.concat([table, pd.DataFrame({"id": [n + 1], "split": ["train"], "label": [1], "artifact_score": [0.0]})])
    kinds = np.where(labels == 1, np.where(ids % 4 == 0, "noise_peak", "dipole"), "none")
    truth = pd.DataFrame({"true_label": np.append(true_labels, 1), "artifact_type": np.append(kinds, "dipole"),
                          "seeing_fwhm_arcsec": np.append(np.where(template_broader, 1.0, 1.4), 1.2),
                          "template_seeing_fwhm_arcsec": 1.2}, index=np.append(ids, n + 1))

    figures = split_module.split_figures(scores=table, truth=truth)

    sharper, broader = figures["template_sharper"], figures["template_broader"]
    assert sharper["n"] == broader["n"] == n // 2     # the training row is left out
    assert sharper["fpr_at_mdr_0.05"] == 0.0 and sharper["strongly_misclassified_share"] == 0.0
    n_hard = int(hard.sum())
    assert broader["fpr_at_mdr_0.05"] == pytest.approx(n_hard / broader["n_artifacts"], abs=1e-4)
    assert broader["strongly_misclassified_share"] == pytest.approx(n_hard / (n // 2), abs=1e-4)
    assert broader["strongly_misclassified_correctly_labelled_share"] == pytest.approx((n_hard - 2) / (n // 2), abs=1e-4)
    by_type = broader["artifacts_passed_by_type"]
    assert set(by_type) == {"dipole", "noise_peak"} and sum(kind["n"] for kind in by_type.values()) == broader["n_artifacts"]
    assert sum(kind["passed"] for kind in by_type.values()) == n_hard
    assert by_type["noise_peak"]["passed"] == int((hard & (ids % 4 == 0)).sum())
    assert all(kind["passed"] == 0 for kind in sharper["artifacts_passed_by_type"].values())


def test_test_ids_without_truth_are_refused(split_module) -> None:
    table = pd.DataFrame({"id": [1, 2], "split": "test", "label": [0, 1], "artifact_score": [0.1, 0.9]})
    truth = pd.DataFrame({"true_label": [0], "artifact_type": ["none"], "seeing_fwhm_arcsec": [1.0],
                          "template_seeing_fwhm_arcsec": [1.2]}, index=[1])
    with pytest.raises(ValueError, match="1 test ids have no truth row"):
        split_module.split_figures(scores=table, truth=truth)
