"""read_crossfit_scores: the members' cross-fitted tables joined on id, or a clear refusal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.mining.run import read_crossfit_scores


def _write(path, *, ids, labels, scores, fold=None):
    table = pd.DataFrame({"id": ids, "fold": fold if fold is not None else np.arange(len(ids)) % 2,
                          "label": labels, "artifact_score": scores})
    table.to_parquet(path, index=False)
    return path


def test_members_are_aligned_on_id_whatever_their_row_order(tmp_path):
    ids = np.array([30, 10, 20, 40])
    labels = np.array([1, 0, 0, 1])
    first = _write(tmp_path / "a.parquet", ids=ids, labels=labels, scores=[0.3, 0.1, 0.2, 0.4])
    order = [2, 3, 0, 1]
    second = _write(tmp_path / "b.parquet", ids=ids[order], labels=labels[order], scores=np.array([0.9, 0.6, 0.8, 0.7])[order])
    scores = read_crossfit_scores({"a": first, "b": second})
    assert scores.member_names == ("a", "b")
    assert scores.ids.tolist() == [10, 20, 30, 40] and scores.given_labels.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(scores.member_scores, [[0.1, 0.6], [0.2, 0.8], [0.3, 0.9], [0.4, 0.7]], rtol=1e-6)


def test_a_sample_without_a_cross_fitted_score_is_refused(tmp_path):
    path = _write(tmp_path / "a.parquet", ids=[1, 2, 3], labels=[0, 1, 0], scores=[0.1, np.nan, np.nan])
    with pytest.raises(ValueError, match=r"a\.parquet: 2 samples have no cross-fitted score"):
        read_crossfit_scores({"a": path})


@pytest.mark.parametrize(("ids", "labels"), [([1, 2, 4], [0, 1, 0]), ([1, 2], [0, 1]), ([1, 2, 3], [0, 1, 1])],
                         ids=["other ids", "fewer ids", "other labels"])
def test_members_with_other_ids_or_labels_are_refused(tmp_path, ids, labels):
    first = _write(tmp_path / "a.parquet", ids=[1, 2, 3], labels=[0, 1, 0], scores=[0.1, 0.2, 0.3])
    second = _write(tmp_path / "b.parquet", ids=ids, labels=labels, scores=np.full(len(ids), 0.5))
    with pytest.raises(ValueError, match=r"b\.parquet: ids or labels differ from .*a\.parquet; re-run crossfit"):
        read_crossfit_scores({"a": first, "b": second})


def test_no_members_is_refused():
    with pytest.raises(ValueError, match="no cross-fitted scores given: the ensemble has no members"):
        read_crossfit_scores({})
