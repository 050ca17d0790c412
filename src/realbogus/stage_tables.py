"""The tables one DVC stage hands the next: reading them with checks, writing them whole.

Tables between stages (all keyed by the release's detection ``id``):

* ``data/ingested/catalog.parquet``: id, row (index into ``stamps.npy``), label (the
  release's OBJECT_TYPE), band, the 38 features, source.
* a labels table ``labels.csv``: id, label -- a label version; the release's own labels
  are version 0, each relabel (``merge``) writes a new one.
* ``split.csv``: id, split (train / val / test / reserve).
* ``scores.parquet``: id, split, label, artifact_score -- one model's scores for every sample.
* ``history.csv`` beside a CNN's model: epoch (from 1), then one column per Keras metric
  (loss, accuracy, val_loss, ...) -- its learning curves.
* ``data/ingested/stamps.npy``: the stamps, row ``row`` of the catalog; ingest writes them in
  ascending id order, which every reader relies on (:func:`check_stamps_in_id_order`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path

LABELS_COLUMNS = ("id", "label")
LABELS_FILE = "labels.csv"


def read_table(path: str | os.PathLike[str], *, columns: Sequence[str], what: str,
               only: bool = False) -> pd.DataFrame:
    """A parquet or CSV table that must hold ``columns``; the error names the file and what it is.

    only: read just ``columns`` and no other.  At the full release's size the catalog's
    other columns (38 features, band, source) cost ~0.5 KB per sample in every stage that
    only wants ids, rows and labels.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: {what} not found (has the stage that writes it run?)")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        present = pq.read_schema(path).names
    else:
        present = list(pd.read_csv(path, nrows=0).columns)
    missing = [column for column in columns if column not in present]
    if missing:
        raise ValueError(f"{path}: {what} lacks column(s) {missing}; has {present}")
    wanted = list(columns) if only else None
    table = pd.read_parquet(path, columns=wanted) if path.suffix == ".parquet" else pd.read_csv(path, usecols=wanted)
    if table["id"].duplicated().any():
        duplicated = table.loc[table["id"].duplicated(), "id"].head(5).tolist()
        raise ValueError(f"{path}: {what} has duplicate id(s), e.g. {duplicated}")
    return table


def labels_from_catalog(catalog: pd.DataFrame) -> pd.DataFrame:
    """Label version 0: the release's own OBJECT_TYPE per id."""
    return catalog.loc[:, ["id", "label"]].astype({"id": np.int64, "label": np.int8}).sort_values("id").reset_index(drop=True)


def write_labels(labels: pd.DataFrame, path: str | os.PathLike[str], *, command: str | None = None) -> None:
    """Write a labels table deterministically (sorted by id, plain CSV): the same labels
    always give the same bytes, so a label version's content hash identifies it.
    command: the stage writing it, for the output's marker (``realbogus.atomic``)."""
    table = labels.loc[:, list(LABELS_COLUMNS)].astype({"id": np.int64, "label": np.int8})
    with atomic_path(path, command=command) as temporary:
        table.sort_values("id").to_csv(temporary, index=False, lineterminator="\n")


def align(table: pd.DataFrame, ids: np.ndarray, *, column: str, what: str) -> np.ndarray:
    """``table[column]`` reordered to follow ``ids``; every id must be present."""
    indexed = table.set_index("id")[column]
    missing = np.setdiff1d(ids, indexed.index.to_numpy())
    if missing.size:
        raise ValueError(f"{what} has no {column!r} for {missing.size} id(s), e.g. {missing[:5].tolist()}")
    return indexed.loc[ids].to_numpy()


def write_scores(*, ids: np.ndarray, split: np.ndarray, labels: np.ndarray, artifact_score: np.ndarray,
                 path: str | os.PathLike[str]) -> None:
    """One model's artifact score for every sample, with its split and the label it trained on."""
    table = pd.DataFrame({"id": ids.astype(np.int64), "split": split, "label": labels.astype(np.int8),
                          "artifact_score": artifact_score.astype(np.float32)})
    with atomic_path(path) as temporary:
        table.to_parquet(temporary, index=False)


SEED_SCORES_FILE = "seed_scores.parquet"
"""A model folder's scores of every training seed (members reported over several seeds)."""


def write_seed_scores(*, ids: np.ndarray, seed_scores: Mapping[int, np.ndarray], path: str | os.PathLike[str]) -> None:
    """Every seed's artifact score for every sample, long format: id, seed, artifact_score."""
    table = pd.concat([pd.DataFrame({"id": ids.astype(np.int64), "seed": np.full(len(ids), seed, dtype=np.int64),
                                     "artifact_score": np.asarray(scores, dtype=np.float32)})
                       for seed, scores in seed_scores.items()], ignore_index=True)
    with atomic_path(path) as temporary:
        table.to_parquet(temporary, index=False)


def read_seed_scores(model_dir: str | os.PathLike[str]) -> dict[int, pd.Series] | None:
    """{seed: artifact score indexed by id} from a model folder, in seed order; None when the
    member was trained with one seed (no ``seed_scores.parquet``)."""
    path = Path(model_dir) / SEED_SCORES_FILE
    if not path.exists():
        return None
    table = pd.read_parquet(path)  # not read_table: every id appears once per seed
    missing = [column for column in ("id", "seed", "artifact_score") if column not in table.columns]
    if missing:
        raise ValueError(f"{path}: scores per seed lack column(s) {missing}; has {list(table.columns)}")
    seeds = {int(seed): group.set_index("id")["artifact_score"] for seed, group in table.groupby("seed", sort=True)}
    counts = {len(scores) for scores in seeds.values()}
    if len(counts) != 1 or any(scores.index.has_duplicates for scores in seeds.values()):
        raise ValueError(f"{path}: every seed must score the same samples once; "
                         f"got {({seed: len(scores) for seed, scores in seeds.items()})} rows per seed")
    return seeds


HISTORY_FILE = "history.csv"


def write_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike[str]) -> None:
    """Keras' per-epoch ``history`` dict (metric -> one value per epoch) as ``history.csv``."""
    lengths = {len(values) for values in history.values()}
    if len(lengths) > 1:
        raise ValueError(f"history metrics have different lengths {sorted(lengths)}; expected one value per epoch")
    epochs = lengths.pop() if lengths else 0
    table = pd.DataFrame({"epoch": np.arange(1, epochs + 1), **{key: list(history[key]) for key in sorted(history)}})
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, lineterminator="\n")


def read_history(model_dir: str | os.PathLike[str]) -> pd.DataFrame | None:
    """A model folder's ``history.csv``, or None when the model has none (feature models)."""
    path = Path(model_dir) / HISTORY_FILE
    if not path.exists():
        return None
    table = pd.read_csv(path)
    if "epoch" not in table.columns:
        raise ValueError(f"{path}: learning curves lack the column 'epoch'; has {list(table.columns)}")
    return table


def write_json(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def check_stamps_in_id_order(*, rows: np.ndarray, n_stamps: int, where: str | os.PathLike[str]) -> None:
    """Raise unless stamp row ``i`` holds the ``i``-th id in ascending order.

    rows: (N,) the catalog's ``row`` of each id, ids ascending.  Ingest writes the stamps in
    id order, so readers index the stamp array by position; a catalog whose rows say
    otherwise comes from elsewhere or was edited, and positions would pair the wrong stamps.
    """
    rows = np.asarray(rows)
    if len(rows) != n_stamps or not np.array_equal(rows, np.arange(n_stamps)):
        raise ValueError(f"{where}: stamps.npy rows do not follow the catalog's id order "
                         f"({len(rows)} catalog rows, {n_stamps} stamps); re-run the ingest stage")
