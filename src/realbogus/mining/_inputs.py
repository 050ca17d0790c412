"""Checks of the miner's numpy inputs, done once at the boundary with messages that say
what was wrong and what was expected (no silent coercion)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Member names become CSV column names (score_<name>, cat_<name>) that the review page
# reads, so they are kept to characters that need no quoting anywhere.
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_given_labels(given_labels: np.ndarray, *, name: str = "given_labels") -> np.ndarray:
    """(N,) int64 copy of ``given_labels``; each must be 0 (non-artifact) or 1 (artifact)."""
    labels = np.asarray(given_labels)
    if labels.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of shape (N,), got shape {labels.shape}")
    if labels.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected integer labels 0/1, got dtype {labels.dtype}")
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        raise ValueError(
            f"{name}: labels must be 0 (non-artifact) or 1 (artifact); row {int(bad[0])} holds "
            f"{labels[bad[0]].item()!r} ({bad.size} bad row(s) in all)"
        )
    return labels.astype(np.int64)


def check_member_scores(
    member_scores: np.ndarray, *, n_samples: int, name: str = "member_scores"
) -> np.ndarray:
    """``member_scores`` checked: (N, M) finite artifact scores in [0, 1].

    The float dtype is kept (float32 stays float32) so category boundaries are compared at
    the precision the classifier produced, as ``realbogus.metrics.categories`` does.
    """
    scores = np.asarray(member_scores)
    if scores.ndim != 2:
        raise ValueError(f"{name}: expected shape (N, M) (samples x members), got shape {scores.shape}")
    if scores.shape[0] != n_samples:
        raise ValueError(f"{name}: has {scores.shape[0]} rows, expected one per sample ({n_samples})")
    if scores.shape[1] == 0:
        raise ValueError(f"{name}: has no member columns; expected at least one ensemble member")
    if scores.dtype.kind != "f":
        raise ValueError(f"{name}: expected float artifact scores, got dtype {scores.dtype}")
    out_of_range = ~np.isfinite(scores) | (scores < 0.0) | (scores > 1.0)
    if out_of_range.any():
        row, column = (int(v[0]) for v in np.nonzero(out_of_range))
        raise ValueError(
            f"{name}: artifact scores must be finite and in [0, 1]; row {row}, member column "
            f"{column} holds {scores[row, column].item()!r} ({int(out_of_range.sum())} bad value(s) in all)"
        )
    return scores


def check_member_names(member_names: Sequence[str], *, n_members: int) -> tuple[str, ...]:
    """Member names as a tuple: one per score column, unique, usable in a CSV header."""
    if isinstance(member_names, str):
        raise ValueError(f"member_names: expected a sequence of {n_members} names, got one string {member_names!r}")
    names = tuple(str(name) for name in member_names)
    if len(names) != n_members:
        raise ValueError(
            f"member_names: got {len(names)} name(s) {list(names)}, expected {n_members} (one per score column)"
        )
    for member in names:
        if not _MEMBER_NAME.match(member):
            raise ValueError(
                f"member_names: {member!r} is not a usable name; expected letters, digits, '_', '.' or '-'"
            )
    duplicates = sorted({member for member in names if names.count(member) > 1})
    if duplicates:
        raise ValueError(f"member_names: duplicate name(s) {duplicates}; each member needs its own name")
    return names


def check_ids(ids: np.ndarray, *, n_samples: int) -> np.ndarray:
    """(N,) int64 copy of the detection IDs, which must be unique integers."""
    values = np.asarray(ids)
    if values.ndim != 1 or values.shape[0] != n_samples:
        raise ValueError(f"ids: expected shape ({n_samples},), got shape {values.shape}")
    if values.dtype.kind not in "iu":
        raise ValueError(f"ids: expected integer detection IDs, got dtype {values.dtype}")
    unique, counts = np.unique(values, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"ids: detection ID(s) {unique[counts > 1][:5].tolist()} appear more than once")
    return values.astype(np.int64)


def check_rank_score(rank_score: np.ndarray, *, n_samples: int | None = None, name: str = "rank_score") -> np.ndarray:
    """(N,) float64 copy of a suspicion score (higher = more likely mislabelled), finite."""
    score = np.asarray(rank_score)
    if score.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of shape (N,), got shape {score.shape}")
    if n_samples is not None and score.shape[0] != n_samples:
        raise ValueError(f"{name}: has {score.shape[0]} values, expected one per sample ({n_samples})")
    if score.dtype.kind not in "fiu":
        raise ValueError(f"{name}: expected numbers, got dtype {score.dtype}")
    score = score.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(score))
    if bad.size:
        raise ValueError(f"{name}: row {int(bad[0])} is {score[bad[0]].item()!r}; expected finite values")
    return score


def check_rows(rows: np.ndarray, *, n_samples: int, name: str = "rows") -> np.ndarray:
    """(K,) int64 copy of row indices into the N samples, each in range and unique."""
    values = np.asarray(rows)
    if values.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of row indices, got shape {values.shape}")
    if values.size and values.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer row indices, got dtype {values.dtype}")
    values = values.astype(np.int64)
    bad = np.flatnonzero((values < 0) | (values >= n_samples))
    if bad.size:
        raise ValueError(f"{name}: row index {int(values[bad[0]])} is outside 0..{n_samples - 1}")
    if np.unique(values).size != values.size:
        raise ValueError(f"{name}: row indices repeat; expected each row at most once")
    return values
