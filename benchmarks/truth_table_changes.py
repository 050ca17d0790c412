"""What a simulator change moves in a release: two dry truth tables compared sample by sample; prints JSON.

A simulator pass is judged on three seeds (``bench_realism.py``), but the first question is
which samples it touches at all.  ``write`` saves the dry truth table (``draw_truth_table``:
labels, kinds and conditions, no pixels; 20,000 samples in seconds) of the checkout whose
``src`` is first on ``PYTHONPATH``; ``compare`` reads two such tables (or any two truth
tables of the same ids) and counts, per column, the samples whose value changed, and for a
numeric column the median absolute change and how many values of the second table fall
below the first's minimum or above its maximum (a bound the change removed).

    PYTHONPATH=OLD_CHECKOUT/src python benchmarks/truth_table_changes.py write --n 20000 --seed 2013 --out old.parquet
    python benchmarks/truth_table_changes.py write --n 20000 --seed 2013 --out new.parquet
    python benchmarks/truth_table_changes.py compare old.parquet new.parquet
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path

COMMAND = "benchmarks/truth_table_changes.py write"


def _same(first: pd.Series, second: pd.Series) -> np.ndarray:
    both_missing = first.isna().to_numpy() & second.isna().to_numpy()
    return (first.to_numpy() == second.to_numpy()) | both_missing


def table_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """Per column of both tables (indexed by the same ids): how many samples changed, and how."""
    if not before.index.equals(after.index):
        raise ValueError(f"the tables hold different samples ({len(before)} and {len(after)} ids, "
                         "or in another order): compare tables of the same release size and seed")
    columns = [column for column in before.columns if column in after.columns]
    changed_any = np.zeros(len(before), dtype=bool)
    per_column: dict[str, dict] = {}
    for column in columns:
        changed = ~_same(before[column], after[column])
        if not changed.any():
            continue
        changed_any |= changed
        entry: dict = {"changed": int(changed.sum())}
        if pd.api.types.is_numeric_dtype(before[column]) and pd.api.types.is_numeric_dtype(after[column]):
            first, second = before[column].to_numpy(float), after[column].to_numpy(float)
            entry["median_abs_change"] = round(float(np.nanmedian(np.abs(second[changed] - first[changed]))), 6)
            entry["below_first_min"] = int(np.sum(second < np.nanmin(first)))
            entry["above_first_max"] = int(np.sum(second > np.nanmax(first)))
            entry["first_min_max"] = [round(float(np.nanmin(first)), 6), round(float(np.nanmax(first)), 6)]
            entry["second_min_max"] = [round(float(np.nanmin(second)), 6), round(float(np.nanmax(second)), 6)]
        per_column[column] = entry
    return {"samples": int(len(before)), "samples_changed": int(changed_any.sum()), "columns": per_column}


def _read(path: Path) -> pd.DataFrame:
    table = pd.read_parquet(path)
    if "id" not in table.columns:
        raise ValueError(f"{path}: a truth table needs an 'id' column, found {sorted(table.columns)[:8]}...")
    return table.set_index("id")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="the dry truth table of the checkout on PYTHONPATH")
    write.add_argument("--n", type=int, default=20000)
    write.add_argument("--seed", type=int, default=2013)
    write.add_argument("--out", type=Path, required=True)
    compare = commands.add_parser("compare", help="two truth tables, sample by sample")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "write":
        from realbogus.simulate import draw_truth_table
        from realbogus.simulate.release import detection_id

        table = draw_truth_table(n=args.n, seed=args.seed)
        table["id"] = [detection_id(index) for index in range(args.n)]
        # Written whole or not at all, and never over a file this command did not write.
        with atomic_path(args.out, command=COMMAND) as temporary:
            table.to_parquet(temporary)
        print(json.dumps({"benchmark": "truth_table_changes", "wrote": str(args.out), "n": args.n, "seed": args.seed}))
        return 0
    print(json.dumps({"benchmark": "truth_table_changes", "before": str(args.before), "after": str(args.after),
                      **table_changes(_read(args.before), _read(args.after))}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
