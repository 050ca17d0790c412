"""benchmarks/noise_peak_tail.py: where a release's detected noise peaks lie above the threshold."""

from __future__ import annotations

import pytest

from realbogus.simulate import SimulationConfig

from script_modules import load_script  # tests/ is on sys.path


def test_noise_peaks_lie_in_the_gaussian_tail_of_their_true_sigma() -> None:
    figures = load_script("benchmarks/noise_peak_tail.py").tail_figures(n=500, seed=2013)
    threshold = SimulationConfig().detection_snr_min
    assert figures["n_noise_peaks"] >= 10
    # Every peak's noise is larger than the pipeline believes (that is how it passed), and the
    # noise it was conditioned on, and the detection the release records, passed the threshold.
    assert figures["excess"]["min"] > 1.0
    assert figures["drawn_snr"]["min"] >= threshold
    assert figures["detection_snr"]["min"] >= threshold
    # For excesses of 1.2-2.3 the tail's overshoot is ~excess^2/threshold, under the old draw's 1.
    assert 0.2 < figures["drawn_snr"]["mean_overshoot"] < 1.0
    assert figures["threshold_plus_exp1"]["p50"] == pytest.approx(threshold + 0.693, abs=1e-3)
