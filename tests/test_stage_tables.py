"""The tables one stage hands the next: checked reads, deterministic writes, the stamp order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realbogus.mining.run import EnsembleScores, mine_ensemble
from realbogus.stage_tables import align, check_stamps_in_id_order, read_table, write_labels


def test_read_table_names_the_file_and_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"labels\.csv: new labels not found"):
        read_table(tmp_path / "labels.csv", columns=("id", "label"), what="new labels")
    path = tmp_path / "split.csv"
    pd.DataFrame({"id": [1, 2, 2], "split": ["train", "val", "test"]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"split\.csv: split lacks column\(s\) \['label'\]"):
        read_table(path, columns=("id", "label"), what="split")
    with pytest.raises(ValueError, match=r"split\.csv: split has duplicate id\(s\), e\.g\. \[2\]"):
        read_table(path, columns=("id", "split"), what="split")


def test_align_follows_the_ids_and_refuses_missing_ones():
    table = pd.DataFrame({"id": [30, 10, 20], "label": [1, 0, 1]})
    assert align(table, np.array([10, 20, 30]), column="label", what="labels").tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match=r"labels has no 'label' for 1 id\(s\), e\.g\. \[40\]"):
        align(table, np.array([10, 40]), column="label", what="labels")


def test_the_same_labels_give_the_same_bytes(tmp_path):
    labels = pd.DataFrame({"id": [3, 1, 2], "label": [1, 0, 1]})
    write_labels(labels, tmp_path / "a.csv")
    write_labels(labels.sample(frac=1.0, random_state=0), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes() == b"id,label\n1,0\n2,1\n3,1\n"


def test_stamps_must_follow_the_id_order():
    check_stamps_in_id_order(rows=np.arange(4), n_stamps=4, where="catalog")
    with pytest.raises(ValueError, match=r"catalog: stamps\.npy rows do not follow the catalog's id order"):
        check_stamps_in_id_order(rows=np.array([0, 2, 1, 3]), n_stamps=4, where="catalog")
    with pytest.raises(ValueError, match=r"3 catalog rows, 4 stamps"):
        check_stamps_in_id_order(rows=np.arange(3), n_stamps=4, where="catalog")


def test_mining_refuses_stamps_out_of_id_order(tmp_path):
    rng = np.random.default_rng(0)
    scores = EnsembleScores(ids=np.arange(10, 20), given_labels=np.tile([0, 1], 5), member_names=("a",),
                            member_scores=rng.random((10, 1)))
    stamps = np.zeros((10, 51, 51, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="do not follow the catalog's id order"):
        mine_ensemble(scores=scores, stamps=stamps, rows=np.arange(10)[::-1].copy(), out_dir=tmp_path / "mine",
                      reports_dir=tmp_path / "reports", budget=3)
    assert not (tmp_path / "mine").exists() and not (tmp_path / "reports").exists()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_read_table_only_reads_the_named_columns_and_still_checks_them(tmp_path, suffix):
    table = pd.DataFrame({"id": [2, 1], "label": [1, 0], "band": ["g", "r"], "SNR": [5.0, 7.0]})
    path = tmp_path / f"catalog{suffix}"
    table.to_parquet(path, index=False) if suffix == ".parquet" else table.to_csv(path, index=False)
    assert list(read_table(path, columns=("id", "label"), what="catalog", only=True).columns) == ["id", "label"]
    assert list(read_table(path, columns=("id", "label"), what="catalog").columns) == ["id", "label", "band", "SNR"]
    with pytest.raises(ValueError, match=rf"catalog{suffix}: catalog lacks column\(s\) \['row'\]"):
        read_table(path, columns=("id", "row"), what="catalog", only=True)
