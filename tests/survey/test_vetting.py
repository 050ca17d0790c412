"""Vetting by majority: ties, too few votes, unknown ids, empty tables, duplicate observer entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.cli import main as cli_main
from realbogus.survey.vetting import read_votes, vet_labels, vetting_report, write_vetting


def _votes(rows):
    return pd.DataFrame(rows, columns=["id", "observer", "vote"])


def test_majority_labels_with_ties_and_too_few_votes_reported():
    votes = _votes([
        (1, "ana", "artifact"), (1, "ben", "artifact"), (1, "chloe", "non-artifact"),   # 2:1 -> artifact
        (2, "ana", "non-artifact"), (2, "ben", "0"), (2, "chloe", "1"),                 # 2:1 -> real
        (3, "ana", "artifact"), (3, "ben", "non-artifact"), (3, "chloe", "artifact"), (3, "dev", "non-artifact"),
        (4, "ana", "artifact"), (4, "ben", "unsure"), (4, "chloe", "artifact"),         # 2 counting < 3
    ])
    result = vet_labels(votes, min_votes=3, known_ids=[1, 2, 3, 4, 5])
    assert result.labels.set_index("id")["label"].to_dict() == {1: 1, 2: 0}
    reasons = result.undecided.set_index("id")["reason"].to_dict()
    assert reasons[3] == "tie: 2 artifact vs 2 non-artifact"
    assert reasons[4] == "too few votes: 2 of the 3 needed"
    assert reasons[5] == "too few votes: 0 of the 3 needed"
    report = vetting_report(result, n_detections=5)
    assert (report["n_labelled"], report["n_tie"], report["n_too_few_votes"]) == (2, 1, 2)


def test_unknown_ids_are_reported_or_refused():
    votes = _votes([(1, "ana", "artifact"), (99, "ana", "artifact")])
    result = vet_labels(votes, min_votes=1, known_ids=[1])
    assert result.undecided.set_index("id").loc[99, "reason"].startswith("unknown id")
    assert any("99" in note for note in result.notes)
    with pytest.raises(ValueError, match=r"not among the known samples: 99"):
        vet_labels(votes, min_votes=1, known_ids=[1], on_unknown_id="raise")


def test_empty_votes_are_refused_unless_allowed(tmp_path):
    empty = _votes([])
    with pytest.raises(ValueError, match="votes table is empty"):
        vet_labels(empty, min_votes=3, known_ids=[1, 2])
    result = vet_labels(empty, min_votes=3, known_ids=[1, 2], allow_empty=True)
    assert result.labels.empty and result.undecided["id"].tolist() == [1, 2]
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    with pytest.raises(ValueError, match="blank.csv is empty: not even a header"):
        read_votes(blank)
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,observer,vote\n")
    with pytest.raises(ValueError, match="votes table is empty"):
        vet_labels(read_votes(header_only), min_votes=3)


def test_duplicate_observer_entries_are_refused_or_resolved_to_the_latest():
    votes = _votes([(1, "ana", "artifact"), (1, "ben", "artifact"), (1, "ana", "non-artifact"),
                    (1, "chloe", "non-artifact")])
    with pytest.raises(ValueError, match=r"\(id 1, voter 'ana': 2 votes\)"):
        vet_labels(votes, min_votes=3)
    result = vet_labels(votes, min_votes=3, on_duplicate="latest")
    assert result.labels.set_index("id").loc[1, "label"] == 0  # ana's latest vote counts: 2 real vs 1
    assert result.duplicates[["id", "voter"]].values.tolist() == [[1, "ana"]]


def test_bad_values_and_missing_columns_name_the_row():
    with pytest.raises(ValueError, match=r"row\(s\) 3 \(id 2, voter 'ben': 'maybe'\)"):
        vet_labels(_votes([(1, "ana", "artifact"), (2, "ben", "maybe")]), min_votes=1)
    with pytest.raises(ValueError, match="lacks column"):
        vet_labels(pd.DataFrame({"id": [1], "voter": ["ana"], "vote": ["artifact"]}), min_votes=1)


def test_write_and_cli(tmp_path, capsys):
    votes = _votes([(1, "ana", "artifact"), (1, "ben", "artifact"), (1, "chloe", "artifact"),
                    (2, "ana", "artifact"), (2, "ben", "non-artifact"), (7, "ana", "artifact")])
    votes.to_csv(tmp_path / "votes.csv", index=False)
    pd.DataFrame({"id": [1, 2, 3]}).to_csv(tmp_path / "ids.csv", index=False)
    code = cli_main(["survey", "vet", str(tmp_path / "votes.csv"), "--min-votes", "2", "--ids",
                     str(tmp_path / "ids.csv"), "--out", str(tmp_path / "vetted")])
    captured = capsys.readouterr()
    assert code == 0
    assert "undecided: id 2: tie: 1 artifact vs 1 non-artifact" in captured.err
    assert "undecided: id 3: too few votes" in captured.err
    assert "undecided: id 7: unknown id" in captured.err
    labels = pd.read_csv(tmp_path / "vetted" / "labels.csv")
    assert labels["id"].tolist() == [1]
    (tmp_path / "dup.csv").write_text("id,observer,vote\n1,ana,artifact\n1,ana,artifact\n")
    assert cli_main(["survey", "vet", str(tmp_path / "dup.csv"), "--min-votes", "1"]) == 2
    assert "voted more than once" in capsys.readouterr().err
    result = vet_labels(votes, min_votes=2)
    write_vetting(result, vetting_report(result), tmp_path / "again")
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == [
        ".realbogus-output.json", "duplicates.csv", "labels.csv", "undecided.csv", "vetting.json"]
    assert np.isfinite(vetting_report(result)["unanimous_fraction"])
