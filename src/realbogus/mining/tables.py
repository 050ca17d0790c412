"""Per-member category tables and how the other members place one member's outliers.

``member_category_table`` is the paper's Table 2 for every ensemble member: the percent of
samples in categories 1..6.  ``cross_member_placement`` is the paper's Figures 6 and 7: take
the samples member A strongly mis-classifies (A's category 1 and category 6) and count
where each *other* member puts them.  If the others agree (category 1 or 6 again), the
models are not making idiosyncratic mistakes: the given label is the likely culprit.

All functions take given labels and scores only, never ground truth.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.mining._categories import (
    CATEGORIES,
    CATEGORIES_OF_LABEL,
    CATEGORY_COLUMNS,
    STRONG_DISAGREEMENT,
    member_categories,
)
from realbogus.mining._inputs import check_given_labels, check_member_names, check_member_scores


def _checked(
    given_labels: np.ndarray, member_scores: np.ndarray, member_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    labels = check_given_labels(given_labels)
    scores = check_member_scores(member_scores, n_samples=labels.shape[0])
    names = check_member_names(member_names, n_members=scores.shape[1])
    if labels.shape[0] == 0:
        raise ValueError("given_labels: no samples; a category table needs at least one")
    return labels, scores, names


def member_category_table(
    *, given_labels: np.ndarray, member_scores: np.ndarray, member_names: Sequence[str]
) -> pd.DataFrame:
    """Percent of all samples in each category, one row per member (the paper's Table 2).

    given_labels: (N,) 0/1.  member_scores: (N, M) artifact scores.  member_names: (M,).
    Returns columns member, n_samples, cat1..cat6 (percent; each row sums to 100).
    """
    labels, scores, names = _checked(given_labels, member_scores, member_names)
    categories = member_categories(given_labels=labels, member_scores=scores)
    records = []
    for member, name in enumerate(names):
        counts = np.bincount(categories[:, member], minlength=len(CATEGORIES) + 1)[1:]
        record: dict[str, object] = {"member": name, "n_samples": int(labels.shape[0])}
        record.update({column: 100.0 * count / labels.shape[0] for column, count in zip(CATEGORY_COLUMNS, counts)})
        records.append(record)
    return pd.DataFrame.from_records(records, columns=["member", "n_samples", *CATEGORY_COLUMNS])


def cross_member_placement(
    *,
    given_labels: np.ndarray,
    member_scores: np.ndarray,
    member_names: Sequence[str],
    reference_members: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Where the other members put each reference member's category-1 and category-6 samples.

    given_labels: (N,) 0/1.  member_scores: (N, M).  member_names: (M,).
    reference_members: the members A to take outliers from (default: every member).

    Tidy table, one row per (reference_member, reference_category, other_member, category):
    reference_category is 1 or 6; category runs over the three categories a sample with
    that given label can have (1-3 for A's category 1, 4-6 for A's category 6); n_reference
    is how many samples A put in reference_category; count and percent (of n_reference; the
    percents of one (A, category, other member) sum to 100, or are NaN when A has no such
    samples) say where the other member put them.
    """
    labels, scores, names = _checked(given_labels, member_scores, member_names)
    references = names if reference_members is None else tuple(reference_members)
    unknown = [name for name in references if name not in names]
    if unknown:
        raise ValueError(f"reference_members: {unknown} not among the members {list(names)}")
    categories = member_categories(given_labels=labels, member_scores=scores)
    records = []
    for reference in references:
        reference_index = names.index(reference)
        for given_label in (1, 0):
            reference_category = STRONG_DISAGREEMENT[given_label]
            outliers = categories[:, reference_index] == reference_category
            n_reference = int(outliers.sum())
            for other_index, other in enumerate(names):
                if other_index == reference_index:
                    continue
                placed = categories[outliers, other_index]
                for category in CATEGORIES_OF_LABEL[given_label]:
                    count = int((placed == category).sum())
                    records.append(
                        {
                            "reference_member": reference,
                            "reference_category": reference_category,
                            "n_reference": n_reference,
                            "other_member": other,
                            "category": category,
                            "count": count,
                            "percent": 100.0 * count / n_reference if n_reference else np.nan,
                        }
                    )
    return pd.DataFrame.from_records(
        records,
        columns=[
            "reference_member", "reference_category", "n_reference", "other_member", "category", "count", "percent",
        ],
    )


def plot_cross_member_placement(
    *, placement: pd.DataFrame, reference_member: str, path: str | os.PathLike[str]
) -> None:
    """Grouped bar chart (PNG) of ``cross_member_placement`` for one reference member.

    Two panels: where the other members put the reference member's category-1 samples
    (x: categories 1-3) and its category-6 samples (x: categories 4-6); one bar per other
    member in each group, height = percent.
    """
    # The object-oriented Figure needs no pyplot state or display backend.
    from matplotlib.figure import Figure

    rows = placement[placement["reference_member"] == reference_member]
    if rows.empty:
        members = sorted(placement["reference_member"].unique())
        raise ValueError(f"placement table has no rows for reference member {reference_member!r}; it has {members}")
    others = list(dict.fromkeys(rows["other_member"]))
    figure = Figure(figsize=(11, 4.2), layout="constrained")
    axes = figure.subplots(1, 2)
    bar_width = 0.8 / max(len(others), 1)
    for axis, reference_category in zip(axes, (1, 6)):
        panel = rows[rows["reference_category"] == reference_category]
        shown = CATEGORIES_OF_LABEL[1 if reference_category == 1 else 0]
        n_reference = int(panel["n_reference"].iloc[0]) if not panel.empty else 0
        for position, other in enumerate(others):
            heights = [
                float(panel.loc[(panel["other_member"] == other) & (panel["category"] == category), "percent"].sum())
                for category in shown
            ]
            offsets = np.arange(len(shown)) + (position - (len(others) - 1) / 2) * bar_width
            axis.bar(offsets, heights, width=bar_width, label=other)
        axis.set_xticks(np.arange(len(shown)), [f"cat {category}" for category in shown])
        axis.set_ylim(0, 100)
        axis.set_ylabel("percent of the reference member's samples")
        axis.set_title(f"{reference_member}'s category {reference_category} (n={n_reference}) as placed by others")
        axis.legend(fontsize="small")
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100, metadata={"Software": None})
