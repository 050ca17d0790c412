"""The decisions file: appended and fsync'ed, undo as a record, resumable, concurrent-safe."""

from __future__ import annotations

import csv
import multiprocessing
import threading
from pathlib import Path

import pandas as pd
import pytest

from realbogus.review.store import DECISION_COLUMNS, DecisionStore, current_decisions, validate_reviewer
from realbogus.votes import combine_votes


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_new_file_gets_header_and_each_append_is_on_disk_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "decisions.csv"
    store = DecisionStore(path=path, candidates_version="v1")
    assert path.read_text() == ",".join(DECISION_COLUMNS) + "\n"
    record = store.append(candidate_id=42, decision="artifact", reviewer="ann", old_label=0)
    # Read back from disk (not from the store's memory) right after the call.
    rows = read_rows(path)
    assert rows == [{"id": "42", "decision": "artifact", "reviewer": "ann", "time": record.time,
                     "candidates_version": "v1", "old_label": "0"}]
    assert record.time.endswith("+00:00")  # UTC, ISO 8601
    pd.Timestamp(record.time)  # parses


def test_undo_appends_a_record_and_never_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "decisions.csv"
    store = DecisionStore(path=path, candidates_version="v1")
    store.append(candidate_id=1, decision="artifact", reviewer="ann", old_label=0)
    store.append(candidate_id=2, decision="skip", reviewer="ann", old_label=1)
    store.append(candidate_id=1, decision="non-artifact", reviewer="ann", old_label=0)
    before = path.read_bytes()
    undone = store.undo_last(reviewer="ann", old_label_of={1: 0, 2: 1})
    assert (undone.id, undone.decision) == (1, "undo")
    assert path.read_bytes().startswith(before)  # appended, earlier bytes untouched
    assert current_decisions(store.records(), reviewer="ann") == {1: "artifact", 2: "skip"}
    store.undo_last(reviewer="ann", old_label_of={1: 0, 2: 1})
    store.undo_last(reviewer="ann", old_label_of={1: 0, 2: 1})
    assert current_decisions(store.records(), reviewer="ann") == {}
    assert store.undo_last(reviewer="ann", old_label_of={}) is None
    assert [r["decision"] for r in read_rows(path)] == ["artifact", "skip", "non-artifact", "undo", "undo", "undo"]


def test_undo_is_per_reviewer(tmp_path: Path) -> None:
    store = DecisionStore(path=tmp_path / "d.csv", candidates_version="v1")
    store.append(candidate_id=1, decision="artifact", reviewer="ann", old_label=0)
    store.append(candidate_id=1, decision="non-artifact", reviewer="bob", old_label=0)
    store.undo_last(reviewer="ann", old_label_of={1: 0})
    assert current_decisions(store.records(), reviewer="ann") == {}
    assert current_decisions(store.records(), reviewer="bob") == {1: "non-artifact"}


def test_reopening_resumes_and_store_and_votes_agree(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    first = DecisionStore(path=path, candidates_version="v1")
    first.append(candidate_id=1, decision="artifact", reviewer="ann", old_label=0)
    first.append(candidate_id=2, decision="non-artifact", reviewer="ann", old_label=1)
    first.undo_last(reviewer="ann", old_label_of={1: 0, 2: 1})
    second = DecisionStore(path=path, candidates_version="v2")
    assert current_decisions(second.records(), reviewer="ann") == {1: "artifact"}
    second.append(candidate_id=3, decision="unsure", reviewer="ann", old_label=1)
    rows = read_rows(path)
    assert [r["candidates_version"] for r in rows] == ["v1", "v1", "v1", "v2"]
    # The votes module reads the same file to the same standing decisions.
    result = combine_votes(pd.read_csv(path), min_votes=1, voter_column="reviewer", vote_column="decision")
    assert result.labels[["id", "label"]].values.tolist() == [[1, 1]]
    assert result.undecided["id"].tolist() == [3]


def test_two_stores_on_one_file_see_each_others_appends(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    left = DecisionStore(path=path, candidates_version="v1")
    right = DecisionStore(path=path, candidates_version="v1")
    left.append(candidate_id=1, decision="artifact", reviewer="ann", old_label=0)
    right.append(candidate_id=2, decision="artifact", reviewer="ann", old_label=0)
    # ann's undo on the left server must take back her latest decision, made on the right.
    undone = left.undo_last(reviewer="ann", old_label_of={})
    assert undone.id == 2
    assert current_decisions(right.records(), reviewer="ann") == {1: "artifact"}


def _append_many(path: str, reviewer: str, n: int) -> None:
    store = DecisionStore(path=path, candidates_version="v1")
    for i in range(n):
        store.append(candidate_id=i, decision="artifact", reviewer=reviewer, old_label=0)


def test_concurrent_writers_threads_and_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    store = DecisionStore(path=path, candidates_version="v1")
    n = 40
    threads = [threading.Thread(target=lambda r=r: [store.append(candidate_id=i, decision="skip", reviewer=r,
                                                                   old_label=1) for i in range(n)])
               for r in ("t1", "t2", "t3")]
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_append_many, args=(str(path), r, n)) for r in ("p1", "p2")]
    # Processes first: a child forked while a thread holds the flock would inherit that
    # lock's open file and wait on itself forever (separate servers never fork like this).
    for worker in processes + threads:
        worker.start()
    for worker in threads + processes:
        worker.join(timeout=60)
    assert all(p.exitcode == 0 for p in processes)
    rows = read_rows(path)
    assert len(rows) == 5 * n
    for reviewer in ("t1", "t2", "t3", "p1", "p2"):
        assert sorted(int(r["id"]) for r in rows if r["reviewer"] == reviewer) == list(range(n))
    assert len(store.records()) == 5 * n  # the store re-read the other processes' lines


def test_names_with_commas_and_quotes_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    store = DecisionStore(path=path, candidates_version="v1")
    store.append(candidate_id=9, decision="unsure", reviewer='Knop, A. "Bob"', old_label=1)
    reopened = DecisionStore(path=path, candidates_version="v1")
    assert reopened.records()[0].reviewer == 'Knop, A. "Bob"'


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "ann\nbob", "tab\there", 7])
def test_bad_reviewer_names_are_refused(name) -> None:
    with pytest.raises(ValueError, match="reviewer"):
        validate_reviewer(name)


def test_bad_decision_is_refused_and_nothing_written(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    store = DecisionStore(path=path, candidates_version="v1")
    before = path.read_bytes()
    for decision in ("undo", "ARTIFACT", "real", ""):
        with pytest.raises(ValueError, match="decision must be one of"):
            store.append(candidate_id=1, decision=decision, reviewer="ann", old_label=0)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b,c\n", "header is"),
        (",".join(DECISION_COLUMNS) + "\n1,artifact,ann,t,v1\n", "line 2: 5 fields"),
        (",".join(DECISION_COLUMNS) + "\n1,artifact,ann,t,v1,0\nx,artifact,ann,t,v1,0\n", "line 3: id and old_label"),
        (",".join(DECISION_COLUMNS) + "\n1,maybe,ann,t,v1,0\n", "line 2: decision 'maybe'"),
        (",".join(DECISION_COLUMNS) + "\n1,artifact,ann,t,v1,0\n2,arti", "last line is incomplete"),
    ],
)
def test_damaged_files_are_refused_with_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as error:
        DecisionStore(path=path, candidates_version="v1")
    assert str(path) in str(error.value)
    assert path.read_text() == content  # left as it was for a person to look at
