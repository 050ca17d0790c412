"""CNN figures over several training seeds: the mean and the spread.

A CNN trained on CPU is bit-for-bit reproducible on one machine, but not across machines
whose CPUs differ (the backend's kernels are chosen per instruction set: docs/cnn.md,
"Reproducibility").  A figure that moves with the machine is reported honestly as the
mean and spread over several seeds: ``train.seeds`` in params.yaml (:class:`TrainConfig`
``seeds``; 1 = one training, as before).

    seeds = training_seeds(base_seed=7, n_seeds=config.seeds)
    figures = [headline_metrics(labels=y, artifact_score=train_and_score(seed)) for seed in seeds]
    spread = spread_over_seeds(figures)          # {"auc": Spread(mean=..., std=...), ...}
    spread["auc"].text(digits=3)                 # "0.981 +- 0.002 (3 seeds)"
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

SEED_STRIDE = 1000
"""Seeds are ``base_seed + SEED_STRIDE * k``: far apart, so they never coincide with the
``seed + fold`` seeds the cross-fitting gives its folds."""


def training_seeds(*, base_seed: int, n_seeds: int) -> list[int]:
    """The ``n_seeds`` training seeds derived from ``base_seed``; the first is ``base_seed`` itself,
    so one seed reproduces a single training exactly."""
    if int(n_seeds) < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds!r}")
    return [int(base_seed) + SEED_STRIDE * k for k in range(int(n_seeds))]


@dataclasses.dataclass(frozen=True)
class Spread:
    """One figure over several seeds.

    mean: arithmetic mean; std: sample standard deviation (ddof 1; 0.0 for one seed);
    low / high: smallest and largest value; values: each seed's value, in seed order.
    """

    mean: float
    std: float
    low: float
    high: float
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    def text(self, *, digits: int = 3) -> str:
        """``"mean +- std (n seeds)"``, or just the value for one seed."""
        if self.n == 1:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} +- {self.std:.{digits}f} ({self.n} seeds)"

    def as_metrics(self, name: str) -> dict[str, float]:
        """Flat ``{name_mean, name_std, name_min, name_max}`` for metrics.json / MLflow."""
        return {f"{name}_mean": self.mean, f"{name}_std": self.std, f"{name}_min": self.low, f"{name}_max": self.high}


def spread_of(values: Sequence[float]) -> Spread:
    """The :class:`Spread` of one figure's values (at least one, all finite)."""
    floats = tuple(float(value) for value in values)
    if not floats:
        raise ValueError("spread_of needs at least one value")
    if not all(math.isfinite(value) for value in floats):
        raise ValueError(f"spread_of needs finite values, got {list(floats)}")
    mean = math.fsum(floats) / len(floats)
    std = math.sqrt(math.fsum((value - mean) ** 2 for value in floats) / (len(floats) - 1)) if len(floats) > 1 else 0.0
    return Spread(mean=mean, std=std, low=min(floats), high=max(floats), values=floats)


def spread_over_seeds(figures: Sequence[Mapping[str, object]]) -> dict[str, Spread]:
    """Per figure name, its :class:`Spread` over the seeds' figure dicts (one dict per seed).

    A figure is included when every seed has it as a finite number (ints included, bools
    not); others (counts that are identical anyway are fine, None for "undefined" is not)
    are left out rather than averaged over fewer seeds.
    """
    if not figures:
        raise ValueError("spread_over_seeds needs the figures of at least one seed")

    def number(value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if math.isfinite(value) else None

    names = [name for name in figures[0] if all(number(figure.get(name)) is not None for figure in figures)]
    return {name: spread_of([number(figure[name]) for figure in figures]) for name in names}  # type: ignore[misc]
