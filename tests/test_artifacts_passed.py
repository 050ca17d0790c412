"""benchmarks/artifacts_passed.py: a member's false positives at MDR 0.05, by what they truly are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.metrics import fpr_at_mdr

from script_modules import load_script  # tests/ is on sys.path


def _release(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = 600
    kinds = rng.choice(["fake", "artifact", "artifact", "real_transient"], size=n, p=[0.5, 0.3, 0.18, 0.02])
    artifact_type = np.where(kinds == "artifact", rng.choice(["noise_peak", "dipole"], size=n), "none")
    label = (kinds != "fake").astype(int)
    # Noise peaks and the real transients among the artifacts score like fakes more often.
    score = np.where(label == 0, rng.beta(2, 8, n), np.where(artifact_type == "dipole", rng.beta(8, 2, n), rng.beta(3, 3, n)))
    split = rng.choice(["train", "test"], size=n)
    scores = pd.DataFrame({"id": np.arange(n), "split": split, "label": label, "artifact_score": score})
    truth = pd.DataFrame({"scene_kind": kinds, "artifact_type": artifact_type,
                          "detection_snr": rng.uniform(5.0, 14.0, n)}, index=pd.Index(np.arange(n), name="id"))
    return scores, truth


def test_the_passed_artifacts_are_the_fpr_at_mdr_005_taken_apart() -> None:
    scores, truth = _release(np.random.default_rng(3))
    figures = load_script("benchmarks/artifacts_passed.py").passed_artifacts(scores=scores, truth=truth)
    test = scores[scores["split"] == "test"]
    assert figures["n_artifacts"] == int((test["label"] == 1).sum())
    assert figures["n_passed"] / figures["n_artifacts"] == pytest.approx(
        fpr_at_mdr(labels=test["label"], artifact_score=test["artifact_score"], mdr=0.05))
    by_type = figures["by_type"]
    assert set(by_type) == {"artifact/noise_peak", "artifact/dipole", "real_transient/none"}
    assert sum(kind["passed"] for kind in by_type.values()) == figures["n_passed"]
    # Sorted by how many passed: the noise peaks (scored like fakes) before the dipoles.
    assert list(by_type).index("artifact/noise_peak") < list(by_type).index("artifact/dipole")
    for kind in by_type.values():
        bins = kind["by_detection_snr"].values()
        assert sum(b["n"] for b in bins) == kind["n"] and sum(b["passed"] for b in bins) == kind["passed"]


def test_a_test_row_without_truth_is_an_error() -> None:
    scores, truth = _release(np.random.default_rng(4))
    with pytest.raises(ValueError, match="no truth row"):
        load_script("benchmarks/artifacts_passed.py").passed_artifacts(scores=scores, truth=truth.iloc[:100])
