"""autoScan features (Goldstein et al. 2015) computed from template/search/difference stamps.

See docs/features.md for each feature's definition and how this project computes it.
"""

from realbogus.features.autoscan import (
    DEFAULT_FEATURE_SETTINGS,
    FeatureSettings,
    compute_feature_table,
    compute_features,
)
from realbogus.features.context import ObservationContext

__all__ = [
    "DEFAULT_FEATURE_SETTINGS",
    "FeatureSettings",
    "ObservationContext",
    "compute_feature_table",
    "compute_features",
]
