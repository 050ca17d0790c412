"""Gradient-boosted trees on the 38 autoScan features: a second feature-based ensemble member.

Not in the paper.  It is here for mining: a member that errs differently from the forest
(boosting fits the residuals of its earlier trees instead of averaging independent deep
trees) sharpens the ensemble's disagreement ranking for the cost of seconds, where another
CNN costs minutes per fold (docs/mining.md has the measured gain).  It is also a stronger
feature baseline than the paper's forest on most tabular problems, so the `hgb` member gets
the same train / evaluate / retrain treatment as `rf`.

scikit-learn's HistGradientBoostingClassifier handles missing values natively (a missing
value takes whichever branch helps), so unlike the forest nothing is imputed: "no
template source" stays a value of its own.  Early stopping is off so that a fit depends
only on its rows and seed, the same in every fold.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.ensemble import HistGradientBoostingClassifier

from realbogus.feature_models import FeatureModel


@dataclass(frozen=True)
class BoostingConfig:
    """The boosted trees' settings (params.yaml ``feature_models.<member>`` of kind
    ``boosting``); the seed is ``ensemble.seed`` (plus the fold when cross-fitting)."""

    max_iter: int = 400
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 0.0

    def __post_init__(self) -> None:
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if not 0.0 < self.learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")


def build_boosting(config: BoostingConfig, *, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=config.max_iter, learning_rate=config.learning_rate, max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf, l2_regularization=config.l2_regularization,
        early_stopping=False, random_state=seed)


FEATURE_MODEL = FeatureModel(kind="boosting", config_type=BoostingConfig, build=build_boosting)
