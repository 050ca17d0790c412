"""Train-and-evaluate runs of ensemble members, shared by the `feature_model`, `train`,
`crossfit` and `retrain` stages: load what the member reads, fit through
:mod:`realbogus.members`, write model and scores, evaluate, and track it all in MLflow.

A run is named ``<stage>-<member>`` in MLflow (``feature_model-rf``, ``train-model1``,
``crossfit-hgb-fold0``) and logs the member's params entry beside the stage's own.

When several processes train a CNN together (:mod:`realbogus.cluster`), each runs the
stage; all fit, the chief alone writes the outputs and logs (the others' tracking is off).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus import tracking
from realbogus.atomic import atomic_path
from realbogus.cluster import is_chief
from realbogus.evaluation import evaluate_scores
from realbogus.feature_models.matrix import read_feature_matrix
from realbogus.members import FEATURES, STAMPS, MemberSpec, fit_and_score
from realbogus.metrics import headline_metrics
from realbogus.provenance import content_hash
from realbogus.seeds import spread_over_seeds, training_seeds
from realbogus.split import assign_splits
from realbogus.stage_tables import (
    HISTORY_FILE,
    SEED_SCORES_FILE,
    align,
    check_stamps_in_id_order,
    read_table,
    write_history,
    write_scores,
    write_seed_scores,
)
from realbogus.training_dynamics import SCORE_SOURCES, margin_area

EVALUATED_SPLITS = ("val", "test")


@dataclass(frozen=True)
class StageInputs:
    """What a training stage reads for one member, aligned on the catalog's id order.

    ids: (N,) detection ids, ascending; labels: (N,) the label version trained on (1 =
    artifact); features: the (N, 38) feature matrix in id order, for a member reading features;
    stamps: the (N, 51, 51, 3) memmap, row i = ids[i], for a member reading stamps.
    """

    ids: np.ndarray
    labels: np.ndarray
    features: np.ndarray | None
    stamps: np.ndarray | None
    data_version: str
    labels_version: str


def load_inputs(*, spec: MemberSpec, ingested_dir: str | Path, features_path: str | Path,
                labels_path: str | Path) -> StageInputs:
    """The ids, labels and whichever of features and stamps member ``spec`` reads."""
    ingested_dir = Path(ingested_dir)
    catalog_path = ingested_dir / "catalog.parquet"
    catalog = read_table(catalog_path, columns=("id", "row", "label"), what="ingested catalog",
                         only=True).sort_values("id").reset_index(drop=True)
    ids = catalog["id"].to_numpy()
    features = stamps = None
    if spec.reads == FEATURES:
        features = read_feature_matrix(features_path, ids=ids)
    elif spec.reads == STAMPS:
        stamps = np.load(ingested_dir / "stamps.npy", mmap_mode="r")
        check_stamps_in_id_order(rows=catalog["row"].to_numpy(), n_stamps=len(stamps), where=catalog_path)
    labels = align(read_table(labels_path, columns=("id", "label"), what="labels", only=True), ids, column="label",
                   what=str(labels_path)).astype(np.int64)
    return StageInputs(ids=ids, labels=labels, features=features, stamps=stamps,
                       data_version=content_hash(catalog_path), labels_version=content_hash(labels_path))


def _epoch_logger(run: Any):
    def log(epoch: int, logs: Mapping[str, float]) -> None:
        run.log_metrics({key: float(value) for key, value in logs.items()}, step=epoch)
    return log


def train_and_evaluate(*, spec: MemberSpec, inputs: StageInputs, split: np.ndarray, seed: int,
                       model_dir: str | Path, reports_dir: str | Path, stage: str, data_source: str,
                       run_params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Fit member ``spec`` on the train split, score every sample, evaluate val and test.

    Writes ``model_dir/model.*``, ``model_dir/scores.parquet`` (id, split, label,
    artifact_score), for a CNN ``model_dir/history.csv`` (per-epoch learning curves), and the
    evaluation files under ``reports_dir/<split>/``; run_params: the stage's own params
    (split, ...) logged beside the member's.  Returns {split: metrics}.

    A member reported over several seeds (``spec.seeds`` > 1: a CNN's ``train.seeds``) is
    trained once more per further seed on the same split; the model and scores written are
    the first seed's (the single-run result), and ``model_dir/seed_scores.parquet`` holds
    every seed's scores, from which the evaluate stage states each figure as mean and spread.
    """
    model_dir, reports_dir = Path(model_dir), Path(reports_dir)
    with tracking.stage_run(stage=stage, params={**run_params, **spec.params}, data_version=inputs.data_version,
                            labels_version=inputs.labels_version, data_source=data_source,
                            run_name=f"{stage}-{spec.name}", tags={"member": spec.name, "member_kind": spec.kind}) as run:
        fitted = fit_and_score(
            spec=spec, labels=inputs.labels, seed=seed,
            train_rows=np.flatnonzero(split == "train"), val_rows=np.flatnonzero(split == "val"),
            score_rows=np.arange(len(inputs.ids)), features=inputs.features, stamps=inputs.stamps,
            on_epoch_end=_epoch_logger(run))
        seeds = training_seeds(base_seed=seed, n_seeds=spec.seeds)
        seed_scores = {seeds[0]: fitted.artifact_score}
        for extra_seed in seeds[1:]:
            print(f"{stage} {spec.name}: seed {extra_seed} ({len(seed_scores) + 1} of {len(seeds)})", flush=True)
            seed_scores[extra_seed] = fit_and_score(
                spec=spec, labels=inputs.labels, seed=extra_seed, train_rows=np.flatnonzero(split == "train"),
                val_rows=np.flatnonzero(split == "val"), score_rows=np.arange(len(inputs.ids)),
                features=inputs.features, stamps=inputs.stamps).artifact_score
        if not is_chief():
            return {}  # a cluster's other process: it trained with the chief, which writes
        with atomic_path(model_dir, is_dir=True, command="train") as temporary:
            fitted.save(temporary)
            write_scores(ids=inputs.ids, split=split, labels=inputs.labels, artifact_score=fitted.artifact_score,
                         path=temporary / "scores.parquet")
            if fitted.history:  # a CNN's learning curves, for the evaluate stage's figures
                write_history(fitted.history, temporary / HISTORY_FILE)
            if len(seeds) > 1:
                write_seed_scores(ids=inputs.ids, seed_scores=seed_scores, path=temporary / SEED_SCORES_FILE)
        results = evaluate_splits(labels=inputs.labels, artifact_score=fitted.artifact_score, split=split,
                                  out_dir=reports_dir, name=f"{stage} {spec.name}")
        log_split_metrics(run, results, reports_dir)
        if len(seeds) > 1:
            run.log_metrics(seed_spread_metrics(labels=inputs.labels, seed_scores=seed_scores, split=split))
        if fitted.n_params is not None:
            run.log_metrics({"trainable_params": fitted.n_params, "best_epoch": fitted.best_epoch})
        for model_file in model_dir.glob("model.*"):
            run.log_artifacts(model_file, artifact_path="model")
    return results


def seed_spread_metrics(*, labels: np.ndarray, seed_scores: Mapping[int, np.ndarray], split: np.ndarray,
                        figures: Sequence[str] = ("auc", "fpr_at_mdr_0.05", "accuracy")) -> dict[str, float]:
    """``<split>_<figure>_{mean,std,min,max}`` over the seeds, for the val and test splits."""
    metrics = {}
    for split_name in EVALUATED_SPLITS:
        chosen = split == split_name
        if not chosen.any():
            continue
        per_seed = [headline_metrics(labels=labels[chosen], artifact_score=scores[chosen])
                    for scores in seed_scores.values()]
        for name, spread in spread_over_seeds(per_seed).items():
            if name in figures:
                metrics.update(spread.as_metrics(f"{split_name}_{name}"))
    return metrics


def evaluate_splits(*, labels: np.ndarray, artifact_score: np.ndarray, split: np.ndarray, out_dir: Path,
                    name: str, splits: Sequence[str] = EVALUATED_SPLITS) -> dict[str, dict[str, Any]]:
    """The paper's metrics per split (files under ``out_dir/<split>/``), as {split: metrics}."""
    results = {}
    for split_name in splits:
        chosen = split == split_name
        if not chosen.any():
            continue
        results[split_name] = evaluate_scores(labels=labels[chosen], artifact_score=artifact_score[chosen],
                                              out_dir=out_dir / split_name, name=f"{name} {split_name}")
    return results


def log_split_metrics(run: Any, results: Mapping[str, Mapping[str, Any]], out_dir: Path) -> None:
    """Log ``{split: metrics}`` as ``<split>_<metric>`` plus the split's files as artifacts."""
    for split_name, metrics in results.items():
        run.log_metrics({f"{split_name}_{key}": value for key, value in metrics.items()
                         if isinstance(value, (int, float)) and value is not None})
        run.log_artifacts(out_dir / split_name, artifact_path=f"evaluation/{split_name}")


def new_split(*, ids: np.ndarray, release_labels: np.ndarray, fractions: Mapping[str, float], seed: int) -> np.ndarray:
    """(N,) split name per sample for a retrain: a new split drawn with ``seed``, stratified by
    the *release's* labels, not by the label version being trained on.

    So every label version (one review round, three, a hand relabel) puts the same samples in
    test under the same seed, and two retrains' test figures compare the same detections:
    stratifying by each version's own labels would move every relabelled sample, and with it
    its neighbours in the shuffle, to another split.
    """
    return assign_splits(ids=ids, labels=release_labels, fractions=fractions, seed=seed)


def read_release_labels(*, ingested_dir: str | Path, ids: np.ndarray) -> np.ndarray:
    """(N,) the labels the release came with (the ingested catalog), aligned with ``ids``."""
    catalog_path = Path(ingested_dir) / "catalog.parquet"
    catalog = read_table(catalog_path, columns=("id", "label"), what="ingested catalog", only=True)
    return align(catalog, ids, column="label", what=str(catalog_path)).astype(np.int64)


def crossfit_folds(*, ids: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(N,) fold number 0..folds-1 per sample, label-stratified and seeded."""
    if folds < 2:
        raise ValueError(f"crossfit.folds must be >= 2 (2 reproduces the paper's train-on-half), got {folds}")
    names = assign_splits(ids=ids, labels=labels, seed=seed,
                          fractions={f"fold{k}": 1.0 / folds for k in range(folds)}, required=())
    return np.array([int(name[4:]) for name in names])


def records_training_dynamics(setting: Any, *, member: str, known_members: Iterable[str]) -> bool:
    """Whether the cross-fit of ``member`` records its training samples' area under the margin,
    from params.yaml ``crossfit.training_dynamics``: false (no member), true (every member
    that trains in steps: the CNNs and the boosted trees), or a list of member names (those
    members only).  A listed name must be one of ``known_members`` (the names under
    params.yaml feature_models and models), so a typo is an error; it need not be in the
    ensemble (a member dropped from ``ensemble.members`` is simply not cross-fitted).
    """
    where = "params.yaml crossfit.training_dynamics"
    if isinstance(setting, bool):
        return setting
    if isinstance(setting, (list, tuple)) and all(isinstance(name, str) for name in setting):
        known = sorted(set(known_members))
        unknown = sorted(set(setting) - set(known))
        if unknown:
            raise ValueError(f"{where} names {unknown}, which are not members defined under params.yaml "
                             f"feature_models or models ({known})")
        return member in setting
    raise ValueError(f"{where} must be true, false or a list of member names, got {setting!r}")


def margin_score_source(setting: Any) -> str:
    """params.yaml ``crossfit.margin_scores``, checked: one of ``SCORE_SOURCES``."""
    if setting not in SCORE_SOURCES:
        raise ValueError(f"params.yaml crossfit.margin_scores must be one of {list(SCORE_SOURCES)}, got {setting!r}")
    return setting


def crossfit_member(*, spec: MemberSpec, inputs: StageInputs, folds: int, seed: int, validation_fraction: float,
                    out_path: str | Path, data_source: str, run_params: Mapping[str, Any],
                    stage: str = "crossfit", review_round: str | None = None,
                    training_dynamics: bool = False, margin_scores: str = "epoch_end") -> pd.DataFrame:
    """Cross-fitted artifact scores: each sample scored by a model that never trained on it.

    For each of ``folds`` label-stratified folds, member ``spec`` trains on the other folds
    (``validation_fraction`` of them held out for early stopping) and scores the fold.
    Each fold is its own MLflow run (under the review round's run when ``review_round`` is
    given).  Writes and returns a table id, fold, label, artifact_score and, with
    ``training_dynamics``, margin_area: each sample's area under the margin over the
    training of the folds it trained in (``realbogus.training_dynamics.margin_area``; NaN
    for a member that trains in one go, and for a sample that only validated), from a CNN's
    ``margin_scores`` (``realbogus.training_dynamics.SCORE_SOURCES``).
    """
    from realbogus.metrics import headline_metrics

    fold_of = crossfit_folds(ids=inputs.ids, labels=inputs.labels, folds=folds, seed=seed)
    artifact_score = np.full(len(inputs.ids), np.nan, dtype=np.float32)
    margin_sum, margin_steps = np.zeros(len(inputs.ids)), np.zeros(len(inputs.ids))
    rng = np.random.default_rng(seed)
    for fold in range(folds):
        held_out = np.flatnonzero(fold_of == fold)
        training = np.flatnonzero(fold_of != fold)
        is_val = rng.random(len(training)) < validation_fraction
        with tracking.stage_run(stage=stage, params={**run_params, **spec.params}, data_version=inputs.data_version,
                                labels_version=inputs.labels_version, data_source=data_source,
                                run_name=f"{stage}-{spec.name}-fold{fold}", review_round=review_round,
                                tags={"member": spec.name, "member_kind": spec.kind, "fold": fold}) as run:
            fitted = fit_and_score(
                spec=spec, labels=inputs.labels, seed=seed + fold, train_rows=training[~is_val],
                val_rows=training[is_val], score_rows=held_out, features=inputs.features, stamps=inputs.stamps,
                on_epoch_end=_epoch_logger(run), record_training=training_dynamics, record_from=margin_scores)
            artifact_score[held_out] = fitted.artifact_score[held_out]
            if fitted.training_scores is not None:
                trained = training[~is_val]
                steps = fitted.training_scores.shape[0]
                margin_sum[trained] += steps * margin_area(given_labels=inputs.labels[trained],
                                                           epoch_scores=fitted.training_scores)
                margin_steps[trained] += steps
            run.log_metrics({key: value for key, value in headline_metrics(
                labels=inputs.labels[held_out], artifact_score=artifact_score[held_out]).items()
                if isinstance(value, (int, float))})
    table = pd.DataFrame({"id": inputs.ids.astype(np.int64), "fold": fold_of.astype(np.int8),
                          "label": inputs.labels.astype(np.int8), "artifact_score": artifact_score})
    if training_dynamics:
        with np.errstate(invalid="ignore", divide="ignore"):
            table["margin_area"] = np.where(margin_steps > 0, margin_sum / margin_steps, np.nan).astype(np.float32)
    if not is_chief():
        return table  # a cluster's other process: it trained with the chief, which writes
    with atomic_path(out_path, command="crossfit") as temporary:
        table.to_parquet(temporary, index=False)
    return table
