"""benchmarks/hgb_calibration.py: raw and calibrated boosted trees side by side on a simulated release."""

from __future__ import annotations

import json

import numpy as np

from script_modules import load_script  # tests/ is on sys.path


def test_every_variant_is_measured_on_the_same_test_samples(capsys) -> None:
    module = load_script("benchmarks/hgb_calibration.py")
    assert module.main(["--seeds", "3", "--n", "500", "--workers", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    release = result["seeds"]["3"]
    n_test = release["rf"]["n"]
    assert 80 <= n_test <= 120  # the 20 % test split of 500
    for name in ("rf", "hgb", "hgb_sigmoid", "hgb_isotonic"):
        figures = release[name]
        assert figures["n"] == n_test
        bins = figures["reliability"]
        assert sum(row["n"] for row in bins) == n_test
        assert all(0.0 <= row["mean_score"] <= 1.0 and 0.0 <= row["truly_artifact"] <= 1.0 for row in bins)
        assert figures["log_loss_given"] > 0
    # Calibration moves the scores, not the ranking's samples: the raw and calibrated hgb differ.
    assert release["hgb"]["log_loss_given"] != release["hgb_sigmoid"]["log_loss_given"]
    for name in ("hgb", "hgb_sigmoid", "hgb_isotonic"):
        pair = release[f"rf_and_{name}"]
        assert pair["members"] == ["rf", name] and pair["n_samples"] == n_test
        over = result["over_seeds"][f"rf_and_{name}"]
        assert over["n_flagged"] == pair["n_flagged"]
    assert np.isclose(result["over_seeds"]["hgb"]["auc"], round(release["hgb"]["auc"], 4))
