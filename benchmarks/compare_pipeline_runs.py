"""Two finished pipeline folders side by side, member by member; prints JSON.

For each ensemble member: the test figures the `realism` stage recorded (FPR at MDR 0.03 /
0.04 / 0.05 against the given labels and the truth, the share in categories 1 + 6), Table 4's
rows (before and after the relabel, given labels and truth), and for the CNNs the epochs'
validation losses of the first training and of the retrain.  Then the samples several members
strongly misclassify, the mining against the truth and the relabel's counts.  Everything is
read from the folders' reports and model folders; nothing is trained or scored.

    python benchmarks/compare_pipeline_runs.py RUN_A RUN_B [--names before after]

Use it on two runs of the same release (a fresh-clone `make repro` before and after a change
of the training) to see what the change moved and what it left alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from realbogus.stage_tables import read_history

MDRS = ("0.03", "0.04", "0.05")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"{path}: not found (is this a finished pipeline folder?)")
    return json.loads(path.read_text())


def _val_losses(model_dir: Path) -> list[float] | None:
    history = read_history(model_dir)
    return None if history is None else [round(float(value), 4) for value in history["val_loss"]]


def _table4(path: Path) -> dict:
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {f"{row['judged_by']}: {row['column']}": {
        "auc": round(float(row["auc"]), 4),
        "fpr_at_mdr_0.05": round(float(row["fpr_at_mdr_0.05"]), 4),
        "categories_1_and_6_percent": round(float(row["cat1"]) + float(row["cat6"]), 3),
    } for row in rows}


def run_figures(folder: Path) -> dict:
    """What one finished pipeline folder reports, per member and for the whole loop."""
    realism = _read_json(folder / "reports/realism/metrics.json")
    members = {}
    for name, figures in sorted(realism["members"].items()):
        entry = {
            "fpr_at_mdr_given": [round(figures[f"fpr_at_mdr_{mdr}"], 4) for mdr in MDRS],
            "fpr_at_mdr_truth": [round(figures[f"truth_fpr_at_mdr_{mdr}"], 4) for mdr in MDRS]
            if f"truth_fpr_at_mdr_{MDRS[0]}" in figures else None,
            "categories_1_and_6": round(figures["strongly_misclassified_share"], 4),
            "table4": _table4(folder / f"reports/evaluate/table4_{name}.csv"),
        }
        first, retrain = _val_losses(folder / f"data/models/{name}"), _val_losses(folder / f"data/retrain/{name}")
        if first is not None or retrain is not None:
            entry["val_loss_by_epoch"] = {"first_training": first, "retrain": retrain}
        members[name] = entry
    mining = _read_json(folder / "reports/mine_truth/metrics.json") \
        if (folder / "reports/mine_truth/metrics.json").is_file() else {}
    headline = _read_json(folder / "reports/headline.json")
    return {
        "folder": str(folder),
        "members": members,
        "strongly_misclassified_by_several": realism.get("strongly_misclassified_by_several"),
        "mining": {key: mining[key] for key in ("ours_auprc", "ours_precision_at_budget", "ours_recall_at_budget",
                                                "best_cleanlab_auprc", "best_cleanlab_method", "budget")
                   if key in mining},
        "labels_changed": headline.get("labels"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs=2, type=Path, help="two finished pipeline folders")
    parser.add_argument("--names", nargs=2, default=("a", "b"), help="what to call the two runs in the JSON")
    args = parser.parse_args(argv)
    report = {"benchmark": "benchmarks/compare_pipeline_runs.py",
              **{name: run_figures(folder) for name, folder in zip(args.names, args.runs)}}
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
