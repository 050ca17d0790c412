"""How far can relabelling lower a retrained member's FPR at MDR 0.05 at most?  Prints JSON.

In a folder where the pipeline ran on a simulated release (data/ingested, data/features,
data/rounds/<round>/labels.csv, data/simulated/truth.parquet), each feature member of
params.yaml's ensemble is trained on the release's own labels and on a better version --
each review round's merged labels, and the truth itself (every label right: a perfect review
of every sample, the ceiling no review can pass) -- and the two are compared on every
sample by K-fold cross-validation, against the truth (``bench_mining.crossval_scores``: the
same folds for every version, each version's models fitted once; a paired bootstrap of the
difference).

If even the truth does not lower a member's FPR measurably, no number of review rounds can:
the label noise left is below what the member's FPR at MDR 0.05 responds to.

    python benchmarks/retrain_label_ceiling.py [FOLDER]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mining import crossval_scores, paired_fpr_bootstrap, round_labels  # noqa: E402

from realbogus.stage_tables import align, read_table  # noqa: E402
from realbogus.training_runs import read_release_labels  # noqa: E402


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    params = yaml.safe_load((folder / "params.yaml").read_text())
    truth = read_table(folder / "data/simulated/truth.parquet", columns=("id", "true_label"), what="truth", only=True)
    ids = np.sort(truth["id"].to_numpy())
    true_label = align(truth, ids, column="true_label", what="truth").astype(np.int64)
    release = read_release_labels(ingested_dir=folder / "data" / "ingested", ids=ids)
    versions = {name: round_labels(folder, name, ids) for name in params["mine"]["rounds"]}
    versions["truth"] = true_label
    members = list(params["ensemble"]["members"])
    result = {"folder": str(folder.resolve()), "n_samples": int(len(ids)), "n_real": int((true_label == 0).sum()),
              "wrong_release_labels": int((release != true_label).sum()), "versions": {}}
    # Every version's models once, the release's labels among them, on the same folds.
    scores = crossval_scores(folder=folder, params=params, ids=ids, versions={"release": release, **versions},
                             members=members)
    for name, labels in versions.items():
        result["versions"][name] = {
            "wrong_labels": int((labels != true_label).sum()),
            "members": {member: entry if isinstance(entry, str) else paired_fpr_bootstrap(
                true_label=true_label, before=entry["release"], after=entry[name], resamples=1000, seed=0)
                for member, entry in scores.items()}}
        print(json.dumps({"done": name, **result["versions"][name]}), file=sys.stderr, flush=True)
    print(json.dumps({"benchmark": "retrain_label_ceiling", **result}, indent=2))


if __name__ == "__main__":
    main()
