"""benchmarks/truth_table_changes.py: what a simulator change moves, sample by sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from script_modules import load_script  # tests/ is on sys.path

SCRIPT = "benchmarks/truth_table_changes.py"


def test_changes_are_counted_per_column_with_the_bounds_they_cross() -> None:
    module = load_script(SCRIPT)
    before = pd.DataFrame({"seeing": [0.9, 1.2, 1.8, 1.0], "kind": ["a", "b", "c", "d"],
                           "detail": [np.nan, "x", np.nan, "y"]}, index=[1, 2, 3, 4])
    after = before.assign(seeing=[0.7, 1.2, 2.1, 1.0])
    out = module.table_changes(before, after)
    # Two samples moved, both past the first table's bounds; the unchanged columns (missing
    # values on both sides included) are not listed.
    assert out["samples"] == 4 and out["samples_changed"] == 2 and list(out["columns"]) == ["seeing"]
    seeing = out["columns"]["seeing"]
    assert seeing["changed"] == 2 and seeing["below_first_min"] == 1 and seeing["above_first_max"] == 1
    assert seeing["median_abs_change"] == pytest.approx(0.25)
    assert module.table_changes(before, before)["samples_changed"] == 0
    with pytest.raises(ValueError, match="different samples"):
        module.table_changes(before, after.iloc[:3])


def test_write_then_compare_on_the_same_checkout_finds_nothing(tmp_path: Path, capsys) -> None:
    module = load_script(SCRIPT)
    for name in ("a.parquet", "b.parquet"):
        assert module.main(["write", "--n", "30", "--seed", "4", "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    assert module.main(["compare", str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == 30 and result["samples_changed"] == 0
    # A file this command did not write is not overwritten.
    foreign = tmp_path / "notes.parquet"
    foreign.write_text("mine")
    with pytest.raises(Exception, match="notes.parquet"):
        module.main(["write", "--n", "3", "--out", str(foreign)])
    assert foreign.read_text() == "mine"
