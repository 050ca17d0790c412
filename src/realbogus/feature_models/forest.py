"""The autoScan random forest baseline, as the paper re-implemented it.

RandomForestClassifier(n_estimators=100, criterion="entropy", max_features=6,
min_samples_split=3, max_depth=None) on the 38 autoScan features, BAND mapped g,r,i,z -> 0..3.

Unlike the paper, rows with missing features are kept: missing values are imputed.  The
features that go missing (A_REF, B_REF, MAG_REF, MAG_REF_ERR, NN_DIST_RENORM) are missing
*because* the template has no source there, which is informative; the default fill is a
constant far outside every feature's range, so a tree can still split "no template source"
from the rest.  ``impute_strategy: median`` is the alternative.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from realbogus.feature_models import FeatureModel


@dataclass(frozen=True)
class ForestConfig:
    """The forest's settings (params.yaml ``feature_models.<member>`` of kind ``forest``);
    its seed is ``ensemble.seed`` (plus the fold when cross-fitting)."""

    n_estimators: int = 100
    criterion: str = "entropy"
    max_features: int | float | str = 6
    min_samples_split: int = 3
    max_depth: int | None = None
    impute_strategy: str = "constant"  # or "median"
    impute_fill_value: float = -999.0
    n_jobs: int = -1

    def __post_init__(self) -> None:
        if self.impute_strategy not in ("constant", "median"):
            raise ValueError(f"impute_strategy must be 'constant' or 'median', got {self.impute_strategy!r}")


def build_forest(config: ForestConfig, *, seed: int) -> Pipeline:
    """Imputer followed by the paper's forest, as one scikit-learn pipeline."""
    imputer = SimpleImputer(strategy=config.impute_strategy,
                            fill_value=config.impute_fill_value if config.impute_strategy == "constant" else None,
                            keep_empty_features=True)
    forest = RandomForestClassifier(
        n_estimators=config.n_estimators, criterion=config.criterion, max_features=config.max_features,
        min_samples_split=config.min_samples_split, max_depth=config.max_depth,
        n_jobs=config.n_jobs, random_state=seed)
    return Pipeline([("impute", imputer), ("forest", forest)])


FEATURE_MODEL = FeatureModel(kind="forest", config_type=ForestConfig, build=build_forest)
