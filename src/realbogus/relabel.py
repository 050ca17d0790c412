"""From review decisions to a new label version.

Decisions come from people (``realbogus review``, appended to a decisions CSV) and, for
simulated data, from a simulated expert who answers from the truth with a set error rate,
so the default pipeline closes the loop unattended.  People take precedence: where any
person's latest word on a sample is a counting vote (artifact or non-artifact), the
simulated expert's vote on it is ignored; a vote the person undid, or replaced with unsure
or skip, leaves the sample to the expert.
Votes combine by majority with a minimum number of votes (``realbogus.votes``).
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from realbogus.release.layout import ARTIFACT
from realbogus.votes import ARTIFACT_VOTE, NON_ARTIFACT_VOTE, combine_votes

DECISION_COLUMNS = ("id", "decision", "reviewer", "time", "candidates_version", "old_label")
SIMULATED_EXPERT = "simulated-expert"
CHANGELOG_COLUMNS = ("id", "old_label", "new_label", "n_votes", "reviewers")


def empty_decisions() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="int64" if column in ("id", "old_label") else "object")
                         for column in DECISION_COLUMNS})


def round_seed(seed: int, review_round: str | None) -> int:
    """The simulated expert's seed for one review round: ``seed`` itself without a round,
    else a seed drawn from (seed, the round's name), so each round's slips are independent
    and do not move when rounds are added or renamed elsewhere."""
    if review_round is None:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), zlib.crc32(review_round.encode())]).generate_state(1)[0])


def simulated_expert_decisions(*, candidates: pd.DataFrame, truth: pd.DataFrame, error_rate: float, seed: int,
                               candidates_version: str) -> pd.DataFrame:
    """One decision per candidate from the simulated truth, wrong with probability ``error_rate``.

    candidates: id, given_label (the review candidate list); truth: id, true_label.
    Returns a decisions table (``DECISION_COLUMNS``) in candidate order.
    """
    if not 0.0 <= error_rate <= 1.0:
        raise ValueError(f"review.expert_error_rate must lie in [0, 1], got {error_rate}")
    true_label = truth.set_index("id")["true_label"].reindex(candidates["id"])
    if true_label.isna().any():
        missing = candidates["id"][true_label.isna().to_numpy()].head(5).tolist()
        raise ValueError(f"the truth table has no entry for candidate id(s) {missing}")
    answer = true_label.to_numpy(dtype=np.int64)
    wrong = np.random.default_rng(seed).random(len(answer)) < error_rate
    answer = np.where(wrong, 1 - answer, answer)
    # A fixed timestamp keeps the file byte-identical across reruns (DVC caches it by content).
    time = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc).isoformat()
    return pd.DataFrame({
        "id": candidates["id"].to_numpy(dtype=np.int64),
        "decision": np.where(answer == ARTIFACT, ARTIFACT_VOTE, NON_ARTIFACT_VOTE),
        "reviewer": SIMULATED_EXPERT, "time": time, "candidates_version": candidates_version,
        "old_label": candidates["given_label"].to_numpy(dtype=np.int64)})


@dataclass(frozen=True)
class MergeResult:
    """What merging one round's decisions gives.

    labels: id, label -- the new label version; changelog: id, old_label, new_label,
    n_votes, reviewers for every changed id; counts: changed_0_to_1, changed_1_to_0,
    decided, undecided; decided_ids: (D,) the ids the votes decided (changed or kept).
    """

    labels: pd.DataFrame
    changelog: pd.DataFrame
    counts: dict[str, int]
    decided_ids: np.ndarray


def merge_decisions(*, labels: pd.DataFrame, people: pd.DataFrame, expert: pd.DataFrame,
                    min_votes: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """(new labels, changelog, counts) from the current labels and every decision given
    (see :func:`merge_round`, which this is with no candidate list)."""
    result = merge_round(labels=labels, people=people, expert=expert, min_votes=min_votes)
    return result.labels, result.changelog, result.counts


def merge_round(*, labels: pd.DataFrame, people: pd.DataFrame, expert: pd.DataFrame, min_votes: int,
                candidate_ids: np.ndarray | None = None) -> MergeResult:
    """The new label version from the current labels and the decisions.

    labels: id, label (the label version being revised).  people / expert: decision
    tables (``DECISION_COLUMNS``); people's rows are in the order they were appended.
    candidate_ids: when given (a review round's candidate list), only decisions on these
    ids count: one decisions file serves every round, and a round merges the decisions on
    its own candidates (no sample is a candidate in two rounds).  Decisions on other ids
    stay in the file for the round that lists them.
    """
    known = set(labels["id"].tolist())
    people_votes = people.rename(columns={"reviewer": "voter", "decision": "vote"})
    expert_votes = expert.rename(columns={"reviewer": "voter", "decision": "vote"})
    if candidate_ids is not None:
        in_round = set(np.asarray(candidate_ids, dtype=np.int64).tolist())
        people_votes = people_votes[people_votes["id"].isin(in_round)]
        expert_votes = expert_votes[expert_votes["id"].isin(in_round)]
    if not people_votes.empty:
        # What people finally said counts, not every row they wrote: a vote undone, or
        # replaced by unsure or skip, leaves the sample to the expert.
        people_result = combine_votes(people_votes.loc[:, ["id", "voter", "vote"]], min_votes=1, known_ids=known,
                                      allow_empty=True)
        people_counting = pd.concat([people_result.labels, people_result.undecided])
        people_counting = people_counting.loc[people_counting["n_votes"] > 0, "id"]
        expert_votes = expert_votes[~expert_votes["id"].isin(people_counting)]
    votes = pd.concat([expert_votes, people_votes], ignore_index=True)
    result = combine_votes(votes.loc[:, ["id", "voter", "vote"]], min_votes=min_votes, known_ids=known,
                           allow_empty=True)
    decided = result.labels.set_index("id")
    new_labels = labels.set_index("id")["label"].copy()
    old_labels = new_labels.copy()
    new_labels.loc[decided.index] = decided["label"].astype(new_labels.dtype)
    changed = new_labels.index[new_labels.to_numpy() != old_labels.to_numpy()]
    changelog = pd.DataFrame({
        "id": changed.to_numpy(dtype=np.int64),
        "old_label": old_labels.loc[changed].to_numpy(dtype=np.int64),
        "new_label": new_labels.loc[changed].to_numpy(dtype=np.int64),
        "n_votes": decided.loc[changed, "n_votes"].to_numpy(dtype=np.int64),
        "reviewers": decided.loc[changed, "voters"].astype(str).to_numpy()}).sort_values("id")
    voted_ids = set(votes["id"].tolist())
    counts = {"changed_0_to_1": int(((changelog["old_label"] == 0) & (changelog["new_label"] == 1)).sum()),
              "changed_1_to_0": int(((changelog["old_label"] == 1) & (changelog["new_label"] == 0)).sum()),
              "decided": int(len(decided)),
              "undecided": int(result.undecided["id"].isin(voted_ids).sum())}
    return MergeResult(labels=new_labels.rename("label").reset_index(), changelog=changelog.reset_index(drop=True),
                       counts=counts, decided_ids=decided.index.to_numpy(dtype=np.int64))
