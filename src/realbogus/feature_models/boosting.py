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

Boosted trees are over-confident out of sample: fitted by log loss until their training
rows are nearly separated, their scores overstate how sure they are (on the default
release's test split, 9.4 % of the samples scored 0.02-0.1 were artifacts, where the scores
claim 4.4 %: benchmarks/hgb_calibration.py).  The paper's category table reads scores as
probabilities (>= 0.9 against the label: strongly misclassified), and the mining weighs
each member's disagreement, so an over-confident member over-counts.  ``calibration``
refits the score scale on held-out rows (scikit-learn's CalibratedClassifierCV:
``calibration_folds`` fits, each calibrated on the rows it left out, averaged): "sigmoid"
(Platt: two parameters) or "isotonic" (a monotone step function); null keeps the raw scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

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
    calibration: str | None = None
    calibration_folds: int = 5

    def __post_init__(self) -> None:
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if not 0.0 < self.learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {list(CALIBRATIONS)}, got {self.calibration!r}")
        if self.calibration_folds < 2:
            raise ValueError(f"calibration_folds must be >= 2, got {self.calibration_folds}")


CALIBRATIONS = (None, "sigmoid", "isotonic")


def build_boosting(config: BoostingConfig, *,
                   seed: int) -> HistGradientBoostingClassifier | CalibratedClassifierCV:
    trees = HistGradientBoostingClassifier(
        max_iter=config.max_iter, learning_rate=config.learning_rate, max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf, l2_regularization=config.l2_regularization,
        early_stopping=False, random_state=seed)
    if config.calibration is None:
        return trees
    # Unshuffled folds: the calibration, like the trees, depends only on the rows and the seed.
    return CalibratedClassifierCV(trees, method=config.calibration,
                                  cv=StratifiedKFold(n_splits=config.calibration_folds), ensemble=True)


FEATURE_MODEL = FeatureModel(kind="boosting", config_type=BoostingConfig, build=build_boosting)
