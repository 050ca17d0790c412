"""Ensemble members: the feature models and the CNNs behind one fit-and-score call.

Every stage that trains (``rf``/``hgb``/``train`` on the first split, ``crossfit`` for
mining, ``retrain`` on the new labels) goes through :func:`fit_and_score`, so a member is
trained the same way wherever it is trained.  A member is named ``rf`` (the paper's
forest), ``hgb`` (gradient-boosted trees) or by its entry under ``models`` in params.yaml
(the paper's CNN presets are ``model1`` .. ``model4``).  The feature models read the 38
autoScan features, the CNNs the stamps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FOREST = "rf"
BOOSTING = "hgb"
# Feature-model members (each configured by the params.yaml section of its name) -> kind.
FEATURE_MEMBERS = {FOREST: "forest", BOOSTING: "boosting"}


@dataclass
class FittedMember:
    """A trained member and its artifact score for every row it was asked to score.

    artifact_score: (N,) float32 for all N samples (rows never scored hold NaN).
    history: per-epoch learning curves (CNNs; empty for the forest).
    save: writes the model into a folder (``model.keras`` or ``model.joblib``).
    """

    name: str
    artifact_score: np.ndarray
    history: dict[str, list[float]]
    save: Callable[[Path], Path]
    n_params: int | None = None
    best_epoch: int | None = None


def member_kind(name: str, *, params: Mapping[str, Any]) -> str:
    """"forest", "boosting" or "cnn"; an unknown name is an error listing the known ones."""
    if name in FEATURE_MEMBERS:
        return FEATURE_MEMBERS[name]
    models = params.get("models") or {}
    if name in models:
        return "cnn"
    raise ValueError(f"unknown ensemble member {name!r}: expected one of {sorted(FEATURE_MEMBERS)} "
                     f"or of params.yaml models {sorted(models)}")


def reads_features(name: str, *, params: Mapping[str, Any]) -> bool:
    """Whether member ``name`` trains on the feature table (else on the stamps)."""
    return member_kind(name, params=params) != "cnn"


def _fit_feature_model(*, name: str, params: Mapping[str, Any], features: pd.DataFrame, labels: np.ndarray,
                       train_rows: np.ndarray, seed: int) -> Any:
    from realbogus.params import config_from_mapping

    if member_kind(name, params=params) == "forest":
        from realbogus.forest import ForestConfig as config_type
        from realbogus.forest import train_forest as train
    else:
        from realbogus.boosting import BoostingConfig as config_type
        from realbogus.boosting import train_boosting as train
    config = config_from_mapping(config_type, {**params[name], "seed": seed}, where=f"params.yaml {name}")
    return train(features=features, labels=labels, train_rows=train_rows, config=config)


def fit_and_score(*, name: str, params: Mapping[str, Any], labels: np.ndarray, train_rows: np.ndarray,
                  val_rows: np.ndarray, score_rows: np.ndarray, seed: int, features: pd.DataFrame | None = None,
                  stamps: np.ndarray | None = None,
                  on_epoch_end: Callable[[int, dict[str, float]], None] | None = None) -> FittedMember:
    """Train member ``name`` on ``train_rows`` (validating on ``val_rows``) and score ``score_rows``.

    labels: (N,) 1 = artifact; rows index ``features`` (feature models: a table of the 38
    features aligned with labels) or ``stamps`` (CNNs: (N, 51, 51, 3), a memmap is fine).
    """
    labels = np.asarray(labels)
    artifact_score = np.full(len(labels), np.nan, dtype=np.float32)
    if reads_features(name, params=params):
        import joblib

        from realbogus.forest import feature_model_artifact_scores

        if features is None:
            raise ValueError(f"member {name!r} needs the feature table")
        model = _fit_feature_model(name=name, params=params, features=features, labels=labels,
                                   train_rows=train_rows, seed=seed)
        artifact_score[score_rows] = feature_model_artifact_scores(model=model, features=features.iloc[score_rows])

        def save(folder: Path) -> Path:
            path = folder / "model.joblib"
            joblib.dump(model, path, compress=3)
            return path

        return FittedMember(name=name, artifact_score=artifact_score, history={}, save=save)

    from realbogus.cnn.models import CNNConfig, count_params
    from realbogus.cnn.training import TrainConfig, predict_artifact_scores, train_cnn

    if stamps is None:
        raise ValueError(f"CNN member {name!r} needs the stamp array")
    result = train_cnn(stamps=stamps, labels=labels, train_rows=train_rows, val_rows=val_rows,
                       model_config=CNNConfig.from_params(params["models"][name]),
                       train_config=TrainConfig.from_params(params["train"]), seed=seed, on_epoch_end=on_epoch_end,
                       progress=lambda line: print(f"{name}: {line}", flush=True))
    artifact_score[score_rows] = predict_artifact_scores(model=result.model, stamps=stamps, rows=score_rows)

    def save_cnn(folder: Path) -> Path:
        path = folder / "model.keras"
        result.model.save(path)
        return path

    trainable, _total = count_params(result.model)
    return FittedMember(name=name, artifact_score=artifact_score, history=result.history, save=save_cnn,
                        n_params=trainable, best_epoch=result.best_epoch)
