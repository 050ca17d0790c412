"""Gradient-boosted trees on the 38 autoScan features: a second feature-based ensemble member.

Not in the paper.  It is here for mining: a member that errs differently from the forest
(boosting fits the residuals of its earlier trees instead of averaging independent deep
trees) sharpens the ensemble's disagreement ranking for the cost of seconds, where another
CNN costs minutes per fold (docs/mining.md has the measured gain).  It is also a stronger
feature baseline than the paper's forest on most tabular problems, so `hgb` gets the same
train / evaluate / retrain treatment as `rf`.

scikit-learn's HistGradientBoostingClassifier handles missing values natively (a missing
value takes whichever branch helps), so unlike the forest nothing is imputed: "no
template source" stays a value of its own.  Early stopping is off so that a fit depends
only on its rows and seed, the same in every fold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from realbogus.forest import fit_on_rows


@dataclass(frozen=True)
class BoostingConfig:
    max_iter: int = 400
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 0.0
    seed: int = 0


def build_boosting(config: BoostingConfig) -> HistGradientBoostingClassifier:
    if config.max_iter < 1:
        raise ValueError(f"hgb.max_iter must be >= 1, got {config.max_iter}")
    if not 0.0 < config.learning_rate <= 1.0:
        raise ValueError(f"hgb.learning_rate must be in (0, 1], got {config.learning_rate}")
    return HistGradientBoostingClassifier(
        max_iter=config.max_iter, learning_rate=config.learning_rate, max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf, l2_regularization=config.l2_regularization,
        early_stopping=False, random_state=config.seed)


def train_boosting(*, features: pd.DataFrame, labels: np.ndarray, train_rows: np.ndarray,
                   config: BoostingConfig) -> HistGradientBoostingClassifier:
    """Fit the boosted trees on ``train_rows`` of ``features`` / ``labels`` (1 = artifact)."""
    return fit_on_rows(build_boosting(config), features=features, labels=labels, train_rows=train_rows)
