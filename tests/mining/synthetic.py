"""Synthetic cross-fitted ensemble scores with known label flips, made on the fly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MEMBER_NAMES = ("model1", "model2", "model3", "model4", "rf")


@dataclass(frozen=True)
class SyntheticEnsemble:
    ids: np.ndarray  # (N,) int64
    given_labels: np.ndarray  # (N,) int64, with flips
    true_labels: np.ndarray  # (N,) int64
    mechanism: np.ndarray  # (N,) str, "none" where given == true
    member_scores: np.ndarray  # (N, M) float64 artifact scores
    member_names: tuple[str, ...]
    stamps: np.ndarray  # (N, 51, 51, 3) uint8


def make_ensemble(
    *,
    n_samples: int = 2000,
    flip_rate: float = 0.02,
    seed: int = 0,
    member_noise: tuple[float, ...] = (1.0, 1.0, 1.2, 1.2, 1.8),
) -> SyntheticEnsemble:
    """Members that mostly agree with the truth (not the given labels): each member's
    artifact logit is a shared per-sample "how artifact-like" term plus its own noise, so
    members make partly correlated mistakes; ~flip_rate of given labels are flipped, mechanism "bad_ccd"
    (given 0, truly 1) or "real_transient" (given 1, truly 0) by the flip's direction."""
    rng = np.random.default_rng(seed)
    true_labels = (rng.random(n_samples) < 0.4).astype(np.int64)
    # Shared difficulty: a few correctly labelled samples look like the other class to all.
    shared = np.where(true_labels == 1, 4.0, -4.0) + rng.normal(0.0, 2.0, n_samples)
    logits = shared[:, None] + rng.normal(0.0, 1.0, (n_samples, len(member_noise))) * np.array(member_noise)
    member_scores = 1.0 / (1.0 + np.exp(-logits))
    n_flips = max(2, int(round(flip_rate * n_samples)))
    flipped = rng.choice(n_samples, size=n_flips, replace=False)
    given_labels = true_labels.copy()
    given_labels[flipped] = 1 - true_labels[flipped]
    mechanism = np.full(n_samples, "none", dtype=object)
    mechanism[flipped] = np.where(given_labels[flipped] == 0, "bad_ccd", "real_transient")
    stamps = rng.integers(0, 256, size=(n_samples, 51, 51, 3), dtype=np.uint8)
    ids = 100_000 + rng.permutation(n_samples * 3)[:n_samples].astype(np.int64)
    return SyntheticEnsemble(
        ids=ids,
        given_labels=given_labels,
        true_labels=true_labels,
        mechanism=mechanism.astype(str),
        member_scores=member_scores,
        member_names=MEMBER_NAMES[: len(member_noise)],
        stamps=stamps,
    )
