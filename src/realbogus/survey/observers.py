"""Simulated survey observers: several people vet each detection and disagree on the hard ones.

Ayyar et al. 2022 (section 4.6) labelled the ongoing survey's detections by the majority of
at least three observers.  :func:`simulate_votes` plays those observers from a simulated
release's truth table (only this module and evaluation read the truth):

* every detection is shown to ``observers_per_detection`` observers picked at random (and
  to one more with probability ``extra_observer_fraction``, so even counts, hence ties,
  happen); with probability ``missed_vote_fraction`` one of them never votes (too few
  votes);
* each observer answers the true label, except with probability
  ``base_error + (marginal_error - base_error) * marginality`` (their own skill) where
  the detection's :func:`marginality` in [0, 1] is high for faint reals near the limit,
  reals on galaxies, galaxy-core residuals and noise peaks: the marginal detections the
  paper's observers disagreed on;
* on a marginal detection an observer may say ``unsure`` (probability
  ``unsure_rate * marginality``), which counts for neither side.

The result is a votes table (id, observer, vote) for :func:`realbogus.votes.combine_votes`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from realbogus.release.layout import ARTIFACT
from realbogus.votes import ARTIFACT_VOTE, NON_ARTIFACT_VOTE, UNSURE_VOTE

VOTE_COLUMNS: tuple[str, ...] = ("id", "observer", "vote")
# Artifact types that look like a real point source to a human: residuals of galaxy cores
# (the paper's "on galaxy cores") and noise peaks at the detection limit.
MARGINAL_ARTIFACT_TYPES: dict[str, float] = {"galaxy_core": 0.8, "noise_peak": 0.6, "dipole": 0.15}
TRUTH_COLUMNS_USED: tuple[str, ...] = ("id", "true_label", "artifact_type", "mag_from_limit", "host_galaxy")


@dataclasses.dataclass(frozen=True)
class ObserverConfig:
    """The simulated observers (params: ``votes`` in survey/params.yaml).

    observers: names, one per observer (at least ``observers_per_detection``).
    base_error: per observer, chance of the wrong answer on an easy detection.
    marginal_error: per observer, chance of the wrong answer on the most marginal one.
    observers_per_detection: how many observers vet each detection (the paper: >= 3).
    extra_observer_fraction: share of detections shown to one more observer.
    missed_vote_fraction: share of detections where one shown observer never votes.
    unsure_rate: chance of "unsure" on the most marginal detection (scaled by marginality).
    faint_mag_window: reals fainter than (limit - window) count as faint, linearly more
        marginal up to the limit.
    host_marginality: marginality of a real on a host galaxy.
    seed: the random seed.
    """

    observers: tuple[str, ...] = ("ana", "ben", "chloe", "dev")
    base_error: tuple[float, ...] = (0.01, 0.02, 0.02, 0.04)
    marginal_error: tuple[float, ...] = (0.25, 0.3, 0.35, 0.4)
    observers_per_detection: int = 3
    extra_observer_fraction: float = 0.1
    missed_vote_fraction: float = 0.02
    unsure_rate: float = 0.2
    faint_mag_window: float = 1.0
    host_marginality: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        n = len(self.observers)
        if len(set(self.observers)) != n or any(not str(o).strip() for o in self.observers):
            raise ValueError(f"observers must be distinct non-empty names, got {self.observers!r}")
        if len(self.base_error) != n or len(self.marginal_error) != n:
            raise ValueError(f"base_error and marginal_error need one entry per observer ({n}), got "
                             f"{len(self.base_error)} and {len(self.marginal_error)}")
        for name in ("base_error", "marginal_error"):
            if any(not 0.0 <= float(p) < 0.5 for p in getattr(self, name)):
                raise ValueError(f"{name} must be probabilities in [0, 0.5), got {getattr(self, name)!r}")
        if not 1 <= self.observers_per_detection <= n:
            raise ValueError(f"observers_per_detection must be in [1, {n}] (the number of observers), "
                             f"got {self.observers_per_detection}")
        for name in ("extra_observer_fraction", "missed_vote_fraction", "unsure_rate", "host_marginality"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if not self.faint_mag_window > 0:
            raise ValueError(f"faint_mag_window must be > 0 mag, got {self.faint_mag_window!r}")


def marginality(truth: pd.DataFrame, *, config: ObserverConfig = ObserverConfig()) -> np.ndarray:
    """(N,) how hard each detection is to vet by eye, 0 (obvious) .. 1 (a coin toss for some).

    truth: a simulated truth table (columns TRUTH_COLUMNS_USED).  Reals: faintness near the
    limit (0 at ``faint_mag_window`` above it, 1 at it) combined with being on a host
    galaxy; artifacts: by type (MARGINAL_ARTIFACT_TYPES).
    """
    missing = [c for c in TRUTH_COLUMNS_USED if c not in truth.columns]
    if missing:
        raise ValueError(f"truth table lacks column(s) {missing}; expected {list(TRUTH_COLUMNS_USED)}")
    is_real = truth["true_label"].to_numpy() != ARTIFACT
    mag_from_limit = pd.to_numeric(truth["mag_from_limit"], errors="coerce").to_numpy(np.float64)
    faint = np.clip(1.0 + np.nan_to_num(mag_from_limit, nan=-np.inf) / config.faint_mag_window, 0.0, 1.0)
    on_host = truth["host_galaxy"].fillna(False).astype(bool).to_numpy() * config.host_marginality
    real_marginality = 1.0 - (1.0 - faint) * (1.0 - on_host)
    artifact_marginality = truth["artifact_type"].map(MARGINAL_ARTIFACT_TYPES).fillna(0.0).to_numpy(np.float64)
    return np.where(is_real, real_marginality, artifact_marginality)


def simulate_votes(truth: pd.DataFrame, *, config: ObserverConfig = ObserverConfig()) -> pd.DataFrame:
    """A votes table (VOTE_COLUMNS) for every detection of ``truth``, rows grouped by id.

    Votes are ``artifact`` / ``non-artifact`` / ``unsure`` strings as the review tools write.
    Deterministic for a given truth table and ``config.seed``.
    """
    hardness = marginality(truth, config=config)
    rng = np.random.default_rng(config.seed)
    n_observers = len(config.observers)
    base = np.asarray(config.base_error, dtype=np.float64)
    worst = np.asarray(config.marginal_error, dtype=np.float64)
    ids = truth["id"].to_numpy(np.int64)
    true_labels = truth["true_label"].to_numpy()
    rows_id: list[int] = []
    rows_observer: list[str] = []
    rows_vote: list[str] = []
    for index in range(len(ids)):
        n_shown = config.observers_per_detection + int(
            rng.random() < config.extra_observer_fraction and config.observers_per_detection < n_observers)
        shown = rng.permutation(n_observers)[:n_shown]
        if rng.random() < config.missed_vote_fraction:
            shown = shown[:-1]
        for observer in shown:
            m = hardness[index]
            if rng.random() < config.unsure_rate * m:
                vote = UNSURE_VOTE
            else:
                wrong = rng.random() < base[observer] + (worst[observer] - base[observer]) * m
                says_artifact = (true_labels[index] == ARTIFACT) != wrong
                vote = ARTIFACT_VOTE if says_artifact else NON_ARTIFACT_VOTE
            rows_id.append(int(ids[index]))
            rows_observer.append(config.observers[observer])
            rows_vote.append(vote)
    return pd.DataFrame({"id": np.asarray(rows_id, dtype=np.int64), "observer": rows_observer, "vote": rows_vote})
