"""Time the checked read of the feature table against a bare pandas read of the same file; print JSON.

Usage: python benchmarks/bench_feature_table.py [--rows 100000 900000] [--repeats 3]

Since issue 15 the reader checks every row (field count, exact 64-bit IDs, labels, bands,
numbers) with one extra pass over the raw lines.  This measures what that costs, side by
side in one run on the same file: ``checked`` is ``read_feature_table``; ``bare`` is the
chunked ``pd.read_csv`` with float columns that the reader used before (no row checks).
The real table has about 900k rows; ingest of the real release takes minutes, so a few
seconds here are acceptable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.release.layout import FEATURE_TABLE_COLUMNS, LABEL_COLUMN
from realbogus.release.reader import read_feature_table
from realbogus.release.writer import write_feature_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from release.conftest import make_feature_table  # noqa: E402


def _bare_read(path: Path) -> pd.DataFrame:
    float_columns = [c for c in FEATURE_TABLE_COLUMNS if c not in ("ID", LABEL_COLUMN, "BAND")]
    chunks = pd.read_csv(path, skiprows=2, dtype={"BAND": str, **{c: np.float64 for c in float_columns}},
                         keep_default_na=False, na_values=["", "nan", "NaN", "NAN", "-nan"], chunksize=100_000)
    return pd.concat(list(chunks), ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 900_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n_rows in args.rows:
            rng = np.random.default_rng(0)
            table = make_feature_table(np.arange(1, n_rows + 1, dtype=np.int64),
                                       rng.integers(0, 2, n_rows).astype(np.int8), rng)
            path = Path(folder) / f"features_{n_rows}.csv"
            write_feature_table(path, table, comment_lines=["benchmark", "# two comment lines"])
            del table
            times: dict[str, list[float]] = {"checked": [], "bare": []}
            for _ in range(args.repeats):
                for name, read in (("checked", read_feature_table), ("bare", _bare_read)):
                    started = time.perf_counter()
                    read_back = read(path)
                    times[name].append(time.perf_counter() - started)
                    assert len(read_back) == n_rows
                    del read_back
            checked, bare = statistics.median(times["checked"]), statistics.median(times["bare"])
            results.append({"rows": n_rows, "file_mb": round(path.stat().st_size / 1e6, 1),
                            "checked_s": round(checked, 2), "bare_s": round(bare, 2),
                            "checked_over_bare": round(checked / bare, 2),
                            "checked_rows_per_s": round(n_rows / checked)})
    print(json.dumps({"benchmark": "feature_table_read", "python": platform.python_version(),
                      "load_average": [round(x, 2) for x in os.getloadavg()], "repeats": args.repeats,
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
