"""What the samples several members strongly misclassify are, against the truth; prints JSON.

In a folder where the pipeline ran on a simulated release (data/models/<member>/scores.parquet,
data/simulated/truth.parquet): the test samples that at least ``realism.min_members``
members put in category 1 or 6 (the ``realism`` stage's count, ``reports/realism``), split
into the mislabelled ones (by mechanism) and the correctly labelled ones (by scene kind and
artifact type), each group with the range of its detection S/N, distance from the limiting
magnitude, host magnitude and offset from the host's centre, and the magnitude of the star or
galaxy a residual artifact is made of.  The correctly labelled ones are what keeps the share
of mislabels among the flags below the paper's ~90 %.

    python benchmarks/strong_flags_by_kind.py [FOLDER]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from realbogus.realism import strong_votes

DESCRIBED = ("detection_snr", "mag_from_limit", "host_magnitude", "host_offset_px", "source_magnitude")


def describe(rows: pd.DataFrame) -> dict:
    out: dict = {"n": int(len(rows))}
    for column in DESCRIBED:
        values = rows[column].dropna()
        if len(values):
            out[f"{column}_min_max"] = [round(float(values.min()), 2), round(float(values.max()), 2)]
    return out


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    params = yaml.safe_load((folder / "params.yaml").read_text())
    members = list(params["ensemble"]["members"])
    min_members = int(params["realism"]["min_members"])
    votes = strong_votes(scores_by_member={member: pd.read_parquet(folder / "data" / "models" / member / "scores.parquet")
                                           for member in members})
    flagged = votes[votes[members].sum(axis=1) >= min_members]
    truth = pd.read_parquet(folder / "data" / "simulated" / "truth.parquet").set_index("id").loc[flagged.index]
    wrong = truth["true_label"].to_numpy() != flagged["label"].to_numpy()
    mislabelled, correct = truth[wrong], truth[~wrong]
    result = {"folder": str(folder.resolve()), "members": members, "min_members": min_members,
              "n_test": int(len(votes)), "n_flagged": int(len(flagged)), "n_mislabelled": int(wrong.sum()),
              "mislabelled_share": round(float(np.mean(wrong)), 4) if len(flagged) else None,
              "mislabelled_by_mechanism": {name: describe(rows) for name, rows in
                                           mislabelled.groupby("mislabel_mechanism")},
              "correct_by_kind": {f"{kind}/{artifact}": describe(rows) for (kind, artifact), rows in
                                  correct.groupby(["scene_kind", "artifact_type"])}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
