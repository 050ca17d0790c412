"""A DES-like simulated autoScan release with known truth (see docs/simulation.md)."""

from realbogus.simulate.config import ARTIFACT_TYPES, SimulationConfig
from realbogus.simulate.label_noise import mislabel_probabilities
from realbogus.simulate.release import (
    TRUTH_COLUMNS,
    SimulationSummary,
    draw_truth_table,
    simulate_release,
)
from realbogus.simulate.scene import RenderedSample, SamplePlan, simulate_sample

__all__ = [
    "ARTIFACT_TYPES",
    "TRUTH_COLUMNS",
    "RenderedSample",
    "SamplePlan",
    "SimulationConfig",
    "SimulationSummary",
    "draw_truth_table",
    "mislabel_probabilities",
    "simulate_release",
    "simulate_sample",
]
