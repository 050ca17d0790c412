"""Ensemble members: resolved once from params.yaml, then fitted and scored by their kind.

A member is a named entry of params.yaml: under ``feature_models`` (a model on the 38
autoScan features, of a kind from :mod:`realbogus.feature_models`: the paper's forest
``rf``, the boosted trees ``hgb``, ...) or under ``models`` (a CNN architecture, trained
with the ``train`` settings, on the stamps).  A stage resolves the member it runs once,
:func:`resolve_member`, and passes the :class:`MemberSpec` down: what it reads, its typed
config, the params to log.  Every stage that trains (``feature_model``/``train`` on the
first split, ``crossfit`` for mining, ``retrain`` on the new labels) then goes through
:func:`fit_and_score`, which looks the fitter up by the member's kind, so a member is
trained the same way wherever it is trained.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.feature_models import FeatureModel, feature_model_kinds
from realbogus.params import config_from_mapping

FEATURES = "features"  # a member reading the feature table
STAMPS = "stamps"  # a member reading the stamp array
CNN = "cnn"  # the kind of every member under params.yaml models


@dataclass(frozen=True)
class MemberSpec:
    """One ensemble member as params.yaml defines it, resolved at the stage boundary.

    name: the member's name (``rf``, ``model1``); kind: how it is fitted (``forest``,
    ``boosting``, ..., or ``cnn``); reads: :data:`FEATURES` or :data:`STAMPS`; config: the
    kind's typed config (:class:`CNNMember` for a CNN); params: the params.yaml entries it
    was built from, logged with each of its runs; fit: the kind's fitter (see
    :func:`fit_and_score`); seeds: how many trainings its figures are reported over
    (a CNN's ``train.seeds``: its figures move with the machine, docs/cnn.md; a feature
    model reproduces exactly on every machine, so 1).
    """

    name: str
    kind: str
    reads: str
    config: Any
    params: Mapping[str, Any]
    fit: Callable[..., FittedMember] = field(repr=False, compare=False)
    seeds: int = 1


@dataclass(frozen=True)
class CNNMember:
    """A CNN member's config: its architecture and the training settings."""

    model: Any  # realbogus.cnn.models.CNNConfig (imported lazily: it imports Keras)
    train: Any  # realbogus.cnn.training.TrainConfig


@dataclass
class FittedMember:
    """A trained member and its artifact score for every row it was asked to score.

    artifact_score: (N,) float32 for all N samples (rows never scored hold NaN).
    history: per-epoch learning curves (CNNs; empty for feature models).
    save: writes the model into a folder (``model.keras`` or ``model.joblib``).
    training_scores: (T, R) the artifact scores of the R training rows in each of T epochs
        (a CNN, from the source ``record_from`` names) or after each of T boosting iterations
        (boosted trees), when asked for with
        ``record_training=True`` and the kind trains in steps; else None (a forest).
    """

    name: str
    artifact_score: np.ndarray
    history: dict[str, list[float]]
    save: Callable[[Path], Path]
    n_params: int | None = None
    best_epoch: int | None = None
    training_scores: np.ndarray | None = None


def resolve_member(name: str, params: Mapping[str, Any]) -> MemberSpec:
    """The :class:`MemberSpec` of member ``name`` in the whole params.yaml ``params``.

    An unknown name, an unknown kind or a bad setting is an error naming the params entry.
    """
    feature_members = params.get("feature_models") or {}
    cnn_members = params.get("models") or {}
    if name in feature_members and name in cnn_members:
        raise ValueError(f"member {name!r} is both under params.yaml feature_models and models; rename one")
    if name in feature_members:
        entry = feature_members[name]
        where = f"params.yaml feature_models.{name}"
        if not isinstance(entry, Mapping) or "kind" not in entry:
            raise ValueError(f"{where}: expected a mapping with a 'kind' (one of {sorted(feature_model_kinds())}) "
                             f"and that kind's settings, got {entry!r}")
        model = _feature_model(entry["kind"], where=where)
        settings = {key: value for key, value in entry.items() if key != "kind"}
        return MemberSpec(name=name, kind=model.kind, reads=FEATURES,
                          config=config_from_mapping(model.config_type, settings, where=where),
                          params={"feature_models": {name: dict(entry)}},
                          fit=functools.partial(_fit_feature_model, feature_model=model))
    if name in cnn_members:
        from realbogus.cnn.models import CNNConfig
        from realbogus.cnn.training import TrainConfig

        config = CNNMember(model=config_from_mapping(CNNConfig, cnn_members[name], where=f"params.yaml models.{name}"),
                           train=config_from_mapping(TrainConfig, params.get("train"), where="params.yaml train"))
        return MemberSpec(name=name, kind=CNN, reads=STAMPS, config=config,
                          params={"train": params.get("train"), "model": cnn_members[name]}, fit=_fit_cnn,
                          seeds=int(config.train.seeds))
    raise ValueError(f"unknown ensemble member {name!r}: expected one of params.yaml feature_models "
                     f"{sorted(feature_members)} or models {sorted(cnn_members)}")


def _feature_model(kind: str, *, where: str) -> FeatureModel:
    """The registry lookup: a feature-model kind by name."""
    kinds = feature_model_kinds()
    if kind not in kinds:
        raise ValueError(f"{where}: unknown kind {kind!r}; known kinds: {sorted(kinds)} "
                         "(one module each in src/realbogus/feature_models/)")
    return kinds[kind]


def fit_and_score(*, spec: MemberSpec, labels: np.ndarray, train_rows: np.ndarray, val_rows: np.ndarray,
                  score_rows: np.ndarray, seed: int, features: pd.DataFrame | None = None,
                  stamps: np.ndarray | None = None,
                  on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
                  record_training: bool = False, record_from: str = "epoch_end") -> FittedMember:
    """Train member ``spec`` on ``train_rows`` (validating on ``val_rows``) and score ``score_rows``.

    labels: (N,) 1 = artifact; rows index what the member reads: ``features`` (a table of
    the 38 features aligned with labels) or ``stamps`` ((N, 51, 51, 3) uint8, a memmap is
    fine).  The fitter is the one :func:`resolve_member` looked up by the member's kind.
    record_training: also keep the training rows' scores of every epoch / boosting
    iteration (``FittedMember.training_scores``; the cross-fit's training dynamics);
    record_from: a CNN's source of them (``realbogus.training_dynamics.SCORE_SOURCES``).
    """
    given = {FEATURES: features, STAMPS: stamps}[spec.reads]
    if given is None:
        raise ValueError(f"member {spec.name!r} reads the {spec.reads}, which were not given")
    return spec.fit(spec=spec, inputs=given, labels=np.asarray(labels), train_rows=train_rows, val_rows=val_rows,
                    score_rows=score_rows, seed=seed, on_epoch_end=on_epoch_end, record_training=record_training,
                    record_from=record_from)


def _fit_feature_model(*, feature_model: FeatureModel, spec: MemberSpec, inputs: pd.DataFrame | np.ndarray,
                       labels: np.ndarray,
                       train_rows: np.ndarray, val_rows: np.ndarray, score_rows: np.ndarray, seed: int,
                       on_epoch_end: Callable[[int, dict[str, float]], None] | None,
                       record_training: bool = False, record_from: str = "epoch_end") -> FittedMember:
    """Every feature-model kind: its classifier fitted on the training rows of the feature matrix
    (recorded training scores are its staged predictions, whatever ``record_from``)."""
    import joblib

    from realbogus.feature_models.matrix import (
        artifact_scores,
        as_feature_matrix,
        fit_on_rows,
        staged_artifact_scores,
    )

    # One matrix for the fit and the scoring: row subsets of the table would each copy it.
    matrix = as_feature_matrix(inputs)
    model = fit_on_rows(feature_model.build(spec.config, seed=seed), features=matrix, labels=labels,
                        train_rows=train_rows)
    artifact_score = np.full(len(labels), np.nan, dtype=np.float32)
    all_rows = len(score_rows) == len(matrix) and np.array_equal(score_rows, np.arange(len(matrix)))
    artifact_score[score_rows] = artifact_scores(model=model, features=matrix if all_rows else matrix[score_rows])
    training_scores = (staged_artifact_scores(model=model, features=matrix[train_rows])
                       if record_training else None)

    def save(folder: Path) -> Path:
        path = folder / "model.joblib"
        joblib.dump(model, path, compress=3)
        return path

    return FittedMember(name=spec.name, artifact_score=artifact_score, history={}, save=save,
                        training_scores=training_scores)


def _fit_cnn(*, spec: MemberSpec, inputs: np.ndarray, labels: np.ndarray, train_rows: np.ndarray,
             val_rows: np.ndarray, score_rows: np.ndarray, seed: int,
             on_epoch_end: Callable[[int, dict[str, float]], None] | None,
             record_training: bool = False, record_from: str = "epoch_end") -> FittedMember:
    from realbogus.cnn.models import count_params
    from realbogus.cnn.training import predict_artifact_scores, train_cnn

    result = train_cnn(stamps=inputs, labels=labels, train_rows=train_rows, val_rows=val_rows,
                       model_config=spec.config.model, train_config=spec.config.train, seed=seed,
                       on_epoch_end=on_epoch_end, progress=lambda line: print(f"{spec.name}: {line}", flush=True),
                       record_training=record_training, record_from=record_from)
    artifact_score = np.full(len(labels), np.nan, dtype=np.float32)
    artifact_score[score_rows] = predict_artifact_scores(model=result.model, stamps=inputs, rows=score_rows)

    def save(folder: Path) -> Path:
        path = folder / "model.keras"
        result.model.save(path)
        return path

    trainable, _total = count_params(result.model)
    return FittedMember(name=spec.name, artifact_score=artifact_score, history=result.history, save=save,
                        n_params=trainable, best_epoch=result.best_epoch, training_scores=result.recorded_scores)
