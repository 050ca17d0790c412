"""The candidate list to review and its stamps, read once and checked at the boundary.

``candidates.csv`` (written by the mining stage) has the columns id, row, given_label,
rank, rank_score and, per ensemble member ``<m>``, ``score_<m>`` (artifact score 0..1) and
``cat_<m>`` (the paper's category 1..6).  ``row`` indexes the stamp array
``stamps.npy`` of shape (N, 51, 51, 3), uint8, channels (template, search, difference).
The list's version is the MD5 of the file's bytes: the same hash DVC records for it in
``dvc.lock``, so a decision's ``candidates_version`` can be traced to a pipeline run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.release.layout import ARTIFACT, NON_ARTIFACT, check_stamp_array

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "row", "given_label", "rank", "rank_score")
SCORE_PREFIX = "score_"
CATEGORY_PREFIX = "cat_"
N_CATEGORIES = 6


@dataclass(frozen=True)
class CandidateList:
    """The candidates in rank order (best first).

    table: one row per candidate, sorted by rank, index 0..n-1; columns as in the file.
    members: ensemble member names, in the file's column order.
    version: MD5 hex digest of the candidates file.
    path: where it was read from.
    """

    table: pd.DataFrame
    members: tuple[str, ...]
    version: str
    path: Path

    @property
    def ids(self) -> np.ndarray:
        """(n,) int64 candidate ids in rank order."""
        return self.table["id"].to_numpy(dtype=np.int64)


def file_md5(path: str | os.PathLike[str]) -> str:
    """MD5 hex digest of a file's bytes, read in chunks (DVC's content hash)."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fail(path: Path, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


def load_candidates(*, path: str | os.PathLike[str]) -> CandidateList:
    """Read and check ``candidates.csv``; raise ValueError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"candidate list {path} does not exist")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise _fail(path, f"not a readable CSV table ({error})") from error
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise _fail(path, f"missing column(s) {missing}; expected {list(REQUIRED_COLUMNS)} "
                          f"plus score_<member> and cat_<member> per ensemble member")
    members = tuple(c[len(SCORE_PREFIX):] for c in table.columns if c.startswith(SCORE_PREFIX))
    unpaired = sorted(
        {m for m in members if f"{CATEGORY_PREFIX}{m}" not in table.columns}
        | {c[len(CATEGORY_PREFIX):] for c in table.columns
           if c.startswith(CATEGORY_PREFIX) and f"{SCORE_PREFIX}{c[len(CATEGORY_PREFIX):]}" not in table.columns}
    )
    if unpaired:
        raise _fail(path, f"member(s) {unpaired} lack a score_<member> or cat_<member> column; "
                          f"each member needs both")
    if len(table) == 0:
        raise _fail(path, "holds no candidates")

    integer_columns = ["id", "row", "given_label", "rank"] + [f"{CATEGORY_PREFIX}{m}" for m in members]
    for column in integer_columns:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = np.flatnonzero((values.isna() | (values.fillna(0) % 1 != 0)).to_numpy())
        if bad.size:
            raise _fail(path, f"column {column!r} must hold integers; bad value at data row "
                              f"{bad[0] + 1} (id {table['id'].iloc[bad[0]]!r}): {table[column].iloc[bad[0]]!r}")
        table[column] = values.astype(np.int64)
    duplicated = table["id"][table["id"].duplicated()].unique()
    if duplicated.size:
        raise _fail(path, f"candidate id(s) listed twice: {duplicated[:5].tolist()}")
    bad_labels = table.loc[~table["given_label"].isin([ARTIFACT, NON_ARTIFACT]), "id"]
    if len(bad_labels):
        raise _fail(path, f"given_label must be {ARTIFACT} (artifact) or {NON_ARTIFACT} "
                          f"(non-artifact); candidate id {bad_labels.iloc[0]} has another value")
    for member in members:
        scores = pd.to_numeric(table[f"{SCORE_PREFIX}{member}"], errors="coerce")
        out_of_range = table.loc[~scores.between(0.0, 1.0), "id"]
        if len(out_of_range):
            raise _fail(path, f"score_{member} must be an artifact score in [0, 1]; "
                              f"candidate id {out_of_range.iloc[0]} has another value")
        table[f"{SCORE_PREFIX}{member}"] = scores.astype(np.float64)
        categories = table[f"{CATEGORY_PREFIX}{member}"]
        bad_category = table.loc[~categories.between(1, N_CATEGORIES), "id"]
        if len(bad_category):
            raise _fail(path, f"cat_{member} must be a category 1..{N_CATEGORIES}; "
                              f"candidate id {bad_category.iloc[0]} has another value")
    table["rank_score"] = pd.to_numeric(table["rank_score"], errors="coerce").astype(np.float64)
    table = table.sort_values(["rank", "id"], kind="stable").reset_index(drop=True)
    return CandidateList(table=table, members=members, version=file_md5(path), path=path)


def load_stamps(*, path: str | os.PathLike[str], candidates: CandidateList) -> np.ndarray:
    """Memory-map the stamp array and check it against the candidates' ``row`` values.

    Returns the (N, 51, 51, 3) uint8 array, channels (template, search, difference),
    opened read-only with ``mmap_mode="r"`` so a large release is not read into memory.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"stamp array {path} does not exist")
    try:
        stamps = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise _fail(path, f"not a readable .npy array ({error})") from error
    check_stamp_array(stamps, where=str(path))
    rows = candidates.table["row"].to_numpy()
    outside = np.flatnonzero((rows < 0) | (rows >= stamps.shape[0]))
    if outside.size:
        first = outside[0]
        raise _fail(candidates.path, f"candidate id {candidates.table['id'].iloc[first]} has row "
                                     f"{rows[first]}, outside the {stamps.shape[0]} stamps in {path}")
    return stamps
