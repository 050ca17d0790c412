"""The paper's six categories (Table 2) for every (sample, member) pair.

The definitions live in ``realbogus.metrics.categories``; this only applies them to each
member's column and names the two categories in which a member *strongly* disagrees with
the given label.
"""

from __future__ import annotations

import numpy as np

from realbogus.metrics import CATEGORIES as CATEGORY_ROWS
from realbogus.metrics import CATEGORY_KEYS, categories

CATEGORIES: tuple[int, ...] = tuple(category.number for category in CATEGORY_ROWS)
CATEGORY_COLUMNS: tuple[str, ...] = CATEGORY_KEYS  # "cat1" .. "cat6"
# given label -> the category of a strong disagreement (1: artifact scored < 0.1;
# 6: non-artifact scored >= 0.9).
STRONG_DISAGREEMENT: dict[int, int] = {1: 1, 0: 6}
# given label -> the categories a sample with that label can fall in.
CATEGORIES_OF_LABEL: dict[int, tuple[int, ...]] = {
    label: tuple(category.number for category in CATEGORY_ROWS if category.label == label) for label in (0, 1)
}


def member_categories(*, given_labels: np.ndarray, member_scores: np.ndarray) -> np.ndarray:
    """(N, M) int8 category 1..6 of each sample under each member.

    given_labels: (N,) 0/1.  member_scores: (N, M) artifact scores in their original float
    precision (a float32 score reading 0.9 is category 6, as in ``metrics.categories``).
    """
    per_member = [
        categories(labels=given_labels, artifact_score=member_scores[:, member])
        for member in range(member_scores.shape[1])
    ]
    return np.stack(per_member, axis=1) if per_member else np.zeros((given_labels.shape[0], 0), dtype=np.int8)
