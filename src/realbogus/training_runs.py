"""Train-and-evaluate runs of ensemble members, shared by the `rf`, `hgb`, `train`, `crossfit`
and `retrain` stages: load the stage inputs, fit through :mod:`realbogus.members`, write
model and scores, evaluate, and track it all in MLflow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus import tracking
from realbogus.atomic import atomic_path
from realbogus.evaluation import evaluate_scores
from realbogus.members import fit_and_score, reads_features
from realbogus.provenance import content_hash
from realbogus.split import assign_splits
from realbogus.stage_tables import align, check_stamps_in_id_order, read_table, write_scores


@dataclass(frozen=True)
class StageInputs:
    """Everything a training stage reads, aligned on the catalog's id order.

    ids: (N,) detection ids, ascending; rows: (N,) row of each id in stamps.npy;
    labels: (N,) the label version trained on (1 = artifact).
    """

    ids: np.ndarray
    rows: np.ndarray
    labels: np.ndarray
    features: pd.DataFrame | None
    stamps: np.ndarray
    data_version: str
    labels_version: str


def load_inputs(*, ingested_dir: str | Path, features_path: str | Path | None,
                labels_path: str | Path) -> StageInputs:
    """The stage inputs; ``features_path`` None when no member needs the features (CNNs)."""
    ingested_dir = Path(ingested_dir)
    catalog = read_table(ingested_dir / "catalog.parquet", columns=("id", "row", "label"),
                         what="ingested catalog").sort_values("id").reset_index(drop=True)
    ids = catalog["id"].to_numpy()
    features = None if features_path is None else (
        read_table(features_path, columns=("id",), what="feature table").set_index("id").loc[ids].reset_index())
    labels = align(read_table(labels_path, columns=("id", "label"), what="labels"), ids, column="label",
                   what=str(labels_path)).astype(np.int64)
    stamps = np.load(ingested_dir / "stamps.npy", mmap_mode="r")
    # Order stamps by id: the CNN reads stamps[rows]; ingest writes them in id order already.
    return StageInputs(ids=ids, rows=catalog["row"].to_numpy(), labels=labels, features=features, stamps=stamps,
                       data_version=content_hash(ingested_dir / "catalog.parquet"),
                       labels_version=content_hash(labels_path))


def _epoch_logger(run: Any):
    def log(epoch: int, logs: Mapping[str, float]) -> None:
        run.log_metrics({key: float(value) for key, value in logs.items()}, step=epoch)
    return log


def stage_params(params: Mapping[str, Any], member: str) -> dict[str, Any]:
    """The params a member's run depends on (logged to MLflow)."""
    chosen: dict[str, Any] = {"split": params.get("split"), "tracking": params.get("tracking", {})}
    if reads_features(member, params=params):
        chosen[member] = params[member]
    else:
        chosen["train"] = params["train"]
        chosen["model"] = params["models"][member]
    return chosen


def train_and_evaluate(*, member: str, params: Mapping[str, Any], inputs: StageInputs, split: np.ndarray, seed: int,
                       model_dir: str | Path, reports_dir: str | Path, stage: str) -> dict[str, dict[str, Any]]:
    """Fit ``member`` on the train split, score every sample, evaluate val and test.

    Writes ``model_dir/model.*`` and ``model_dir/scores.parquet`` (id, split, label,
    artifact_score) and the evaluation files under ``reports_dir/<split>/``.
    Returns {split: metrics}.
    """
    model_dir, reports_dir = Path(model_dir), Path(reports_dir)
    source = str(params["release"]["path"])
    with tracking.stage_run(stage=stage, params=stage_params(params, member), data_version=inputs.data_version,
                            labels_version=inputs.labels_version, data_source=source, run_name=f"{stage}-{member}",
                            tags={"member": member}) as run:
        fitted = fit_and_score(
            name=member, params=params, labels=inputs.labels, seed=seed,
            train_rows=np.flatnonzero(split == "train"), val_rows=np.flatnonzero(split == "val"),
            score_rows=np.arange(len(inputs.ids)), features=inputs.features,
            stamps=_stamps_for(member, params, inputs), on_epoch_end=_epoch_logger(run))
        with atomic_path(model_dir, is_dir=True) as temporary:
            fitted.save(temporary)
            write_scores(ids=inputs.ids, split=split, labels=inputs.labels, artifact_score=fitted.artifact_score,
                         path=temporary / "scores.parquet")
        results = evaluate_splits(labels=inputs.labels, artifact_score=fitted.artifact_score, split=split,
                                  out_dir=reports_dir, name=f"{stage} {member}")
        log_split_metrics(run, results, reports_dir)
        if fitted.n_params is not None:
            run.log_metrics({"trainable_params": fitted.n_params, "best_epoch": fitted.best_epoch})
        for model_file in model_dir.glob("model.*"):
            run.log_artifacts(model_file, artifact_path="model")
    return results


def _stamps_for(member: str, params: Mapping[str, Any], inputs: StageInputs) -> np.ndarray | None:
    """The stamps for a CNN member, None for a feature model."""
    return None if reads_features(member, params=params) else stamps_in_id_order(inputs)


def stamps_in_id_order(inputs: StageInputs) -> np.ndarray:
    """The stamp array, whose rows must follow the id-sorted catalog (ingest writes them so)."""
    check_stamps_in_id_order(rows=inputs.rows, n_stamps=len(inputs.stamps), where="ingested catalog vs stamps.npy")
    return inputs.stamps


EVALUATED_SPLITS = ("val", "test")


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


def new_split(*, ids: np.ndarray, labels: np.ndarray, params: Mapping[str, Any], seed: int) -> np.ndarray:
    return assign_splits(ids=ids, labels=labels, fractions=params["split"]["fractions"], seed=seed)


def crossfit_folds(*, ids: np.ndarray, labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(N,) fold number 0..folds-1 per sample, label-stratified and seeded."""
    if folds < 2:
        raise ValueError(f"crossfit.folds must be >= 2 (2 reproduces the paper's train-on-half), got {folds}")
    names = assign_splits(ids=ids, labels=labels, seed=seed,
                          fractions={f"fold{k}": 1.0 / folds for k in range(folds)}, required=())
    return np.array([int(name[4:]) for name in names])


def crossfit_member(*, member: str, params: Mapping[str, Any], inputs: StageInputs, folds: int, seed: int,
                    validation_fraction: float, out_path: str | Path, stage: str = "crossfit") -> pd.DataFrame:
    """Cross-fitted artifact scores: each sample scored by a model that never trained on it.

    For each of ``folds`` label-stratified folds, ``member`` trains on the other folds
    (``validation_fraction`` of them held out for early stopping) and scores the fold.
    Each fold is its own MLflow run.  Writes and returns a table id, fold, label,
    artifact_score.
    """
    fold_of = crossfit_folds(ids=inputs.ids, labels=inputs.labels, folds=folds, seed=seed)
    artifact_score = np.full(len(inputs.ids), np.nan, dtype=np.float32)
    rng = np.random.default_rng(seed)
    source = str(params["release"]["path"])
    for fold in range(folds):
        held_out = np.flatnonzero(fold_of == fold)
        training = np.flatnonzero(fold_of != fold)
        is_val = rng.random(len(training)) < validation_fraction
        with tracking.stage_run(stage=stage, params={**stage_params(params, member), "crossfit": params.get("crossfit")},
                                data_version=inputs.data_version, labels_version=inputs.labels_version,
                                data_source=source, run_name=f"{stage}-{member}-fold{fold}",
                                tags={"member": member, "fold": fold}) as run:
            fitted = fit_and_score(
                name=member, params=params, labels=inputs.labels, seed=seed + fold, train_rows=training[~is_val],
                val_rows=training[is_val], score_rows=held_out, features=inputs.features,
                stamps=_stamps_for(member, params, inputs), on_epoch_end=_epoch_logger(run))
            artifact_score[held_out] = fitted.artifact_score[held_out]
            from realbogus.metrics import headline_metrics

            run.log_metrics({key: value for key, value in headline_metrics(
                labels=inputs.labels[held_out], artifact_score=artifact_score[held_out]).items()
                if isinstance(value, (int, float))})
    table = pd.DataFrame({"id": inputs.ids.astype(np.int64), "fold": fold_of.astype(np.int8),
                          "label": inputs.labels.astype(np.int8), "artifact_score": artifact_score})
    with atomic_path(out_path) as temporary:
        table.to_parquet(temporary, index=False)
    return table
