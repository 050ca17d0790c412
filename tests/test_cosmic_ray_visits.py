"""benchmarks/cosmic_ray_visits.py: the visits cosmic rays come from, and the median's noise."""

from __future__ import annotations

import pytest

from script_modules import load_script  # tests/ is on sys.path


def test_cosmic_rays_come_from_shallow_visits_and_the_counts_add_up() -> None:
    counts = load_script("benchmarks/cosmic_ray_visits.py").visit_counts(n=1500, seed=7)
    assert counts["cosmic_rays"] > 20 and counts["deep_fields"] == 0
    assert sum(counts["shallow_by_band"].values()) == counts["cosmic_rays"]
    assert 0.12 < counts["all_samples_in_deep_fields"] < 0.28


def test_the_median_of_two_is_the_mean_and_of_many_approaches_sqrt_pi_over_2() -> None:
    ratios = load_script("benchmarks/cosmic_ray_visits.py").median_noise(exposures=(2, 3, 11), draws=40000, seed=1)
    assert ratios["2"] == pytest.approx(1.0, abs=1e-9)
    assert 1.10 < ratios["3"] < 1.22
    assert ratios["3"] < ratios["11"] < (3.14159 / 2) ** 0.5 + 0.02
