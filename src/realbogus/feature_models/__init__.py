"""Models on the 38 autoScan features, one *kind* per module, found by their ``FEATURE_MODEL``.

A kind is a typed config and a function building an unfitted scikit-learn style classifier
(``fit``, ``predict_proba``, ``classes_``) from it and a seed; everything else -- the
feature matrix, fitting on the training rows, artifact scores, saving ``model.joblib``,
evaluation and tracking -- is shared.  A member is a named entry of ``feature_models`` in
params.yaml with a ``kind`` and that kind's settings; the ``feature_model`` stage trains
each one.

Adding a kind takes one module here and one params entry::

    # src/realbogus/feature_models/logistic.py
    @dataclass(frozen=True)
    class LogisticConfig:
        C: float = 1.0

    def build_logistic(config: LogisticConfig, *, seed: int):
        return make_pipeline(SimpleImputer(), LogisticRegression(C=config.C, random_state=seed))

    FEATURE_MODEL = FeatureModel(kind="logistic", config_type=LogisticConfig, build=build_logistic)

    # params.yaml
    feature_models:
      lr: {kind: logistic, C: 0.5}

(and ``lr`` in ``ensemble.members`` if it should also mine and be retrained).  A kind
defined outside this package is added with :func:`register_feature_model`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FeatureModel:
    """One kind of feature model.

    kind: its name in params.yaml (``feature_models.<member>.kind``).
    config_type: a frozen dataclass of its settings (the member's other params keys).
    build: ``build(config, seed=...)`` -> an unfitted classifier with ``fit(X, y)``,
        ``predict_proba(X)`` and ``classes_``, trained on :func:`~realbogus.feature_models.matrix.feature_matrix`
        with label 1 = artifact.
    """

    kind: str
    config_type: type
    build: Callable[..., Any]


_REGISTERED: dict[str, FeatureModel] = {}


def register_feature_model(model: FeatureModel) -> None:
    """Make a kind defined outside this package known (a kind of the same name is an error)."""
    if model.kind in feature_model_kinds():
        raise ValueError(f"feature model kind {model.kind!r} is already defined")
    _REGISTERED[model.kind] = model


def feature_model_kinds() -> dict[str, FeatureModel]:
    """Every kind: each module of this package holding a ``FEATURE_MODEL``, plus the registered ones."""
    kinds: dict[str, FeatureModel] = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        model = getattr(module, "FEATURE_MODEL", None)
        if model is not None:
            if model.kind in kinds:
                raise ValueError(f"feature model kind {model.kind!r} is defined twice ({module.__name__})")
            kinds[model.kind] = model
    return {**kinds, **_REGISTERED}
