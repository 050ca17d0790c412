"""From review decisions to a new label version: the simulated expert, people's precedence,
the 0->1 / 1->0 counts and undecided candidates (hand-made decision tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.relabel import DECISION_COLUMNS, SIMULATED_EXPERT, merge_decisions, simulated_expert_decisions


def _decisions(rows: list[tuple[int, str, str]], old_labels: dict[int, int]) -> pd.DataFrame:
    """A decisions table from (id, decision, reviewer) rows, in the order given."""
    return pd.DataFrame([{"id": sample, "decision": decision, "reviewer": reviewer,
                          "time": "2026-01-01T00:00:00+00:00", "candidates_version": "v1",
                          "old_label": old_labels[sample]} for sample, decision, reviewer in rows],
                        columns=list(DECISION_COLUMNS))


# ---------------------------------------------------------------------------------- the expert


def _candidates_and_truth(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = rng.choice(np.arange(10**5, 10**6), size=n, replace=False)
    true_label = rng.integers(0, 2, n)
    given = np.where(rng.random(n) < 0.5, 1 - true_label, true_label)
    candidates = pd.DataFrame({"id": ids, "given_label": given})
    # The truth covers more than the candidates, in another order.
    extra = pd.DataFrame({"id": [1, 2, 3], "true_label": [0, 1, 0]})
    truth = pd.concat([pd.DataFrame({"id": ids, "true_label": true_label}).iloc[::-1], extra], ignore_index=True)
    return candidates, truth


def _answers(decisions: pd.DataFrame) -> np.ndarray:
    return (decisions["decision"] == "artifact").to_numpy().astype(np.int64)


def test_an_expert_without_errors_answers_the_truth_in_candidate_order():
    candidates, truth = _candidates_and_truth(50)
    decisions = simulated_expert_decisions(candidates=candidates, truth=truth, error_rate=0.0, seed=1,
                                           candidates_version="abc")
    assert list(decisions.columns) == list(DECISION_COLUMNS)
    assert decisions["id"].tolist() == candidates["id"].tolist()
    expected = truth.set_index("id").loc[candidates["id"], "true_label"].to_numpy()
    np.testing.assert_array_equal(_answers(decisions), expected)
    assert set(decisions["decision"]) == {"artifact", "non-artifact"}
    assert decisions["old_label"].tolist() == candidates["given_label"].tolist()
    assert set(decisions["reviewer"]) == {SIMULATED_EXPERT} and set(decisions["candidates_version"]) == {"abc"}
    always_wrong = simulated_expert_decisions(candidates=candidates, truth=truth, error_rate=1.0, seed=1,
                                              candidates_version="abc")
    np.testing.assert_array_equal(_answers(always_wrong), 1 - expected)


@pytest.mark.parametrize("error_rate", [0.05, 0.3])
def test_the_expert_errs_at_the_set_rate_on_both_classes(error_rate):
    n = 6000
    candidates, truth = _candidates_and_truth(n, seed=2)
    decisions = simulated_expert_decisions(candidates=candidates, truth=truth, error_rate=error_rate, seed=7,
                                           candidates_version="v")
    true_label = truth.set_index("id").loc[candidates["id"], "true_label"].to_numpy()
    wrong = _answers(decisions) != true_label
    # Seeded, so the same fraction every run; the band is 4 binomial standard deviations.
    for chosen in (true_label == 0, true_label == 1, np.ones(n, bool)):
        band = 4 * np.sqrt(error_rate * (1 - error_rate) / chosen.sum())
        assert abs(wrong[chosen].mean() - error_rate) < band, (wrong[chosen].mean(), error_rate)
    again = simulated_expert_decisions(candidates=candidates, truth=truth, error_rate=error_rate, seed=7,
                                       candidates_version="v")
    pd.testing.assert_frame_equal(decisions, again)
    other_seed = simulated_expert_decisions(candidates=candidates, truth=truth, error_rate=error_rate, seed=8,
                                            candidates_version="v")
    assert not np.array_equal(_answers(other_seed), _answers(decisions))


def test_a_candidate_missing_from_the_truth_is_named():
    candidates, truth = _candidates_and_truth(5)
    missing = int(candidates["id"].iloc[3])
    truth = truth[truth["id"] != missing]
    with pytest.raises(ValueError, match=rf"the truth table has no entry for candidate id\(s\) \[{missing}\]"):
        simulated_expert_decisions(candidates=candidates, truth=truth, error_rate=0.1, seed=0, candidates_version="v")


@pytest.mark.parametrize("error_rate", [-0.1, 1.5])
def test_an_error_rate_outside_0_1_is_refused(error_rate):
    candidates, truth = _candidates_and_truth(5)
    with pytest.raises(ValueError, match=r"review.expert_error_rate must lie in \[0, 1\]"):
        simulated_expert_decisions(candidates=candidates, truth=truth, error_rate=error_rate, seed=0,
                                   candidates_version="v")


# ---------------------------------------------------------------------------------- the merge

LABELS = {1: 0, 2: 0, 3: 1, 4: 1, 5: 0, 7: 0, 8: 1}
EXPERT = [(1, "artifact"),        # given 0; nobody else: the expert's word, 0 -> 1
          (2, "non-artifact"),    # given 0, agrees; alice says artifact: 0 -> 1
          (3, "non-artifact"),    # given 1, contradicts; alice says artifact: stays 1, decided by her
          (4, "non-artifact"),    # given 1; bob is only unsure: the expert's word, 1 -> 0
          (5, "artifact"),        # given 0, contradicts; alice and bob disagree: a tie, stays 0
          (7, "artifact")]        # given 0, contradicts; alice says non-artifact: stays 0, decided by her
PEOPLE = [(2, "artifact", "alice"), (3, "artifact", "alice"), (4, "unsure", "bob"),
          (5, "artifact", "alice"), (5, "non-artifact", "bob"), (7, "non-artifact", "alice")]


def _merge(expert_rows, people_rows, *, min_votes: int = 1):
    labels = pd.DataFrame({"id": list(LABELS), "label": list(LABELS.values())})
    expert = _decisions([(sample, decision, SIMULATED_EXPERT) for sample, decision in expert_rows], LABELS)
    people = _decisions(people_rows, LABELS)
    return merge_decisions(labels=labels, people=people, expert=expert, min_votes=min_votes)


def test_people_overrule_the_expert_and_the_counts_say_what_changed():
    new_labels, changelog, counts = _merge(EXPERT, PEOPLE)
    assert dict(zip(new_labels["id"], new_labels["label"])) == {1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 7: 0, 8: 1}
    assert changelog.to_dict("list") == {"id": [1, 2, 4], "old_label": [0, 0, 1], "new_label": [1, 1, 0],
                                         "n_votes": [1, 1, 1],
                                         "reviewers": [SIMULATED_EXPERT, "alice", SIMULATED_EXPERT]}
    # Without the rule, 3 and 7 would be ties (undecided), 2 a tie (unchanged) and 5 a
    # 2-1 majority for artifact (0 -> 1): every number below would differ.
    assert counts == {"changed_0_to_1": 2, "changed_1_to_0": 1, "decided": 5, "undecided": 1}


def test_a_person_overrules_an_expert_who_contradicted_the_given_label():
    """Where the expert contradicts the given label and a person keeps it, the label stays
    either way; the person's vote must still decide it, not tie with the expert's."""
    new_labels, changelog, counts = _merge([(3, "non-artifact"), (7, "artifact")],
                                           [(3, "artifact", "alice"), (7, "non-artifact", "alice")])
    assert changelog.empty
    assert counts == {"changed_0_to_1": 0, "changed_1_to_0": 0, "decided": 2, "undecided": 0}
    # Two people split against the expert's contradiction: their tie stands, the expert does not break it.
    new_labels, changelog, counts = _merge([(5, "artifact")], [(5, "artifact", "alice"), (5, "non-artifact", "bob")])
    assert new_labels.set_index("id").loc[5, "label"] == 0 and changelog.empty
    assert counts["undecided"] == 1 and counts["decided"] == 0


def test_too_few_votes_leave_a_candidate_undecided_and_its_label_unchanged():
    new_labels, changelog, counts = _merge(EXPERT, [], min_votes=2)
    assert new_labels["label"].tolist() == list(LABELS.values()) and changelog.empty
    # Six candidates voted on, none with two votes; id 8 was never a candidate and is not counted.
    assert counts == {"changed_0_to_1": 0, "changed_1_to_0": 0, "decided": 0, "undecided": 6}
    new_labels, changelog, counts = _merge(EXPERT, [(1, "artifact", "alice"), (2, "artifact", "bob"),
                                                    (2, "artifact", "carol")], min_votes=2)
    assert changelog["id"].tolist() == [2] and changelog["reviewers"].tolist() == ["bob,carol"]
    assert counts == {"changed_0_to_1": 1, "changed_1_to_0": 0, "decided": 1, "undecided": 5}


def test_a_person_changing_their_mind_counts_once_with_the_latest_vote():
    _, changelog, counts = _merge([], [(4, "artifact", "alice"), (4, "non-artifact", "alice")])
    assert changelog.to_dict("list") == {"id": [4], "old_label": [1], "new_label": [0], "n_votes": [1],
                                         "reviewers": ["alice"]}
    assert counts == {"changed_0_to_1": 0, "changed_1_to_0": 1, "decided": 1, "undecided": 0}


def test_a_decision_on_an_unknown_sample_is_refused():
    labels = pd.DataFrame({"id": [1, 2], "label": [0, 1]})
    people = _decisions([(99, "artifact", "alice")], {99: 0})
    with pytest.raises(ValueError, match="not among the known samples: 99"):
        merge_decisions(labels=labels, people=people, expert=_decisions([], {}), min_votes=1)


def test_a_vote_a_person_took_back_leaves_the_expert_s_word():
    """Precedence follows what people finally said: an undone vote, or an earlier vote the
    person replaced with unsure, is no counting vote, so the expert's decision stands."""
    _, changelog, counts = _merge([(4, "non-artifact"), (3, "non-artifact")],
                                  [(4, "artifact", "alice"), (4, "undo", "alice"),
                                   (3, "artifact", "bob"), (3, "unsure", "bob")])
    assert changelog.to_dict("list") == {"id": [3, 4], "old_label": [1, 1], "new_label": [0, 0],
                                         "n_votes": [1, 1], "reviewers": [SIMULATED_EXPERT, SIMULATED_EXPERT]}
    assert counts == {"changed_0_to_1": 0, "changed_1_to_0": 2, "decided": 2, "undecided": 0}
