from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.mining.rounds import (
    RELEASE,
    check_reviews,
    empty_reviews,
    read_round_labels,
    review_rounds,
    reviewed_mask,
    round_reviews,
    write_round_labels,
)


def test_review_rounds_keep_order_and_check_the_chain():
    rounds = review_rounds({"round1": {"after": RELEASE, "budget": 30}, "round2": {"after": "round1", "budget": 10},
                            "extra": {"after": "round2", "budget": 0}})
    assert [(r.name, r.after, r.budget) for r in rounds] == [("round1", "release", 30), ("round2", "round1", 10),
                                                             ("extra", "round2", 0)]
    with pytest.raises(ValueError, match=r"round2: after is 'release', expected 'round1'"):
        review_rounds({"round1": {"after": RELEASE, "budget": 3}, "round2": {"after": RELEASE, "budget": 3}})
    with pytest.raises(ValueError, match="budget must be a whole number"):
        review_rounds({"round1": {"after": RELEASE, "budget": -1}})
    with pytest.raises(ValueError, match="budget must be a whole number"):
        review_rounds({"round1": {"after": RELEASE, "budget": 2.5}})
    with pytest.raises(ValueError, match="exactly the keys after and budget"):
        review_rounds({"round1": {"after": RELEASE, "budjet": 3}})
    with pytest.raises(ValueError, match="must start with a letter"):
        review_rounds({"round 1": {"after": RELEASE, "budget": 3}})
    with pytest.raises(ValueError, match="must start with a letter"):
        review_rounds({RELEASE: {"after": RELEASE, "budget": 3}})
    with pytest.raises(ValueError, match="at least one round"):
        review_rounds({})


def test_round_reviews_say_what_each_candidate_became():
    old = pd.Series([0, 1, 0, 1], index=[10, 11, 12, 13])
    new = pd.Series([1, 1, 0, 1], index=[10, 11, 12, 13])
    rows = round_reviews(round_name="round2", candidate_ids=np.array([12, 10, 11]), old_labels=old, new_labels=new,
                         decided_ids=np.array([10, 11]))
    assert rows["id"].tolist() == [12, 10, 11]
    assert rows["outcome"].tolist() == ["undecided", "corrected", "confirmed"]
    assert rows["old_label"].tolist() == [0, 0, 1] and rows["new_label"].tolist() == [0, 1, 1]
    assert set(rows["round"]) == {"round2"}
    assert reviewed_mask(ids=np.array([9, 10, 11, 12, 13]), reviews=rows).tolist() == [False, True, True, True, False]


def test_a_sample_is_reviewed_in_one_round_only():
    twice = pd.DataFrame({"id": [5, 5], "round": ["round1", "round2"], "old_label": [0, 1], "new_label": [1, 1],
                          "outcome": ["corrected", "confirmed"]})
    with pytest.raises(ValueError, match="id 5 was reviewed twice"):
        check_reviews(twice, where="ledger")
    with pytest.raises(ValueError, match="outcome of id 5 is not one of"):
        check_reviews(twice.iloc[:1].assign(outcome="maybe"), where="ledger")


def test_label_folders_round_trip_byte_for_byte(tmp_path):
    labels = pd.DataFrame({"id": [3, 1, 2], "label": [1, 0, 1]})
    reviews = pd.DataFrame({"id": [3], "round": ["round1"], "old_label": [0], "new_label": [1],
                            "outcome": ["corrected"]})
    write_round_labels(labels=labels, reviews=reviews, folder=tmp_path / "a", command="merge")
    write_round_labels(labels=labels.iloc[::-1], reviews=reviews, folder=tmp_path / "b", command="merge")
    for name in ("labels.csv", "reviews.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    read_labels, read_reviews = read_round_labels(tmp_path / "a")
    assert read_labels["id"].tolist() == [1, 2, 3] and read_reviews["outcome"].tolist() == ["corrected"]
    write_round_labels(labels=labels, reviews=empty_reviews(), folder=tmp_path / "c", command="release_labels")
    assert read_round_labels(tmp_path / "c")[1].empty
    # A ledger naming an id the labels lack is refused with the file named.
    (tmp_path / "a" / "reviews.csv").write_text("id,round,old_label,new_label,outcome\n99,round1,0,1,corrected\n")
    with pytest.raises(ValueError, match=r"reviews\.csv: id\(s\) \[99\] have no label"):
        read_round_labels(tmp_path / "a")
