"""Seeded, label-stratified assignment of samples to train / validation / test (/ reserve)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

SPLIT_COLUMN = "split"


def validate_fractions(fractions: Mapping[str, float], *,
                       required: tuple[str, ...] = ("train", "val", "test")) -> dict[str, float]:
    """Fractions per split name; each in (0, 1], summing to 1 (within 1e-6), naming ``required``."""
    if not fractions:
        raise ValueError("split fractions are empty; expected e.g. {train: 0.7, val: 0.1, test: 0.2}")
    cleaned = {str(name): float(value) for name, value in fractions.items()}
    bad = {name: value for name, value in cleaned.items() if not 0.0 < value <= 1.0}
    if bad:
        raise ValueError(f"split fractions must lie in (0, 1]; got {bad}")
    total = sum(cleaned.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {total:.6f} from {cleaned}")
    for name in required:
        if name not in cleaned:
            raise ValueError(f"split fractions need a {name!r} entry; got {sorted(cleaned)}")
    return cleaned


def assign_splits(*, ids: np.ndarray, labels: np.ndarray, fractions: Mapping[str, float], seed: int,
                  required: tuple[str, ...] = ("train", "val", "test")) -> np.ndarray:
    """Split name per sample, stratified by label.

    ids: (N,) unique sample IDs; the assignment depends only on the set of (id, label)
        pairs and the seed, not on the order of the input rows.
    labels: (N,) class labels (any hashable values; each class is split on its own so
        every split keeps the overall class balance).
    fractions: split name -> fraction, e.g. the paper's final 70/10/20 or its first
        analysis {train: 0.5, val: 0.05, test: 0.05, reserve: 0.4}.
    required: split names that must be present (cross-fitting folds need none).
    Returns an (N,) array of split names, aligned with ``ids``.
    """
    ids = np.asarray(ids)
    labels = np.asarray(labels)
    if ids.shape != labels.shape or ids.ndim != 1:
        raise ValueError(f"ids and labels must be 1-D of equal length, got {ids.shape} and {labels.shape}")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("ids must be unique to split them")
    fractions = validate_fractions(fractions, required=required)
    names = list(fractions)
    cumulative = np.cumsum([fractions[name] for name in names])
    assignment = np.empty(len(ids), dtype=object)
    order_by_id = np.argsort(ids, kind="stable")
    rng = np.random.default_rng(seed)
    for label in sorted(np.unique(labels).tolist()):
        members = order_by_id[labels[order_by_id] == label]
        shuffled = members[rng.permutation(len(members))]
        # Round the cut points, not each split's size, so the sizes always add up to N.
        cuts = np.rint(cumulative * len(shuffled)).astype(int)
        start = 0
        for name, stop in zip(names, cuts):
            assignment[shuffled[start:stop]] = name
            start = stop
    return assignment.astype(str)


def split_table(*, ids: np.ndarray, labels: np.ndarray, fractions: Mapping[str, float], seed: int) -> pd.DataFrame:
    """A table (id, split) sorted by id."""
    table = pd.DataFrame({"id": np.asarray(ids, dtype=np.int64),
                          SPLIT_COLUMN: assign_splits(ids=ids, labels=labels, fractions=fractions, seed=seed)})
    return table.sort_values("id", kind="stable").reset_index(drop=True)
