"""What the samples several members strongly misclassify are, against the truth; prints JSON.

In a folder where the pipeline ran on a simulated release (data/models/<member>/scores.parquet,
data/simulated/truth.parquet): the test samples that at least ``realism.min_members``
members put in category 1 or 6 (the ``realism`` stage's count, ``reports/realism``), split
into the mislabelled ones (by mechanism) and the correctly labelled ones (by scene kind and
artifact type), each group with the range of its detection S/N, distance from the limiting
magnitude, host magnitude and offset from the host's centre, and the magnitude of the star or
galaxy a residual artifact is made of.  The correctly labelled ones are what keeps the share
of mislabels among the flags below the paper's ~90 %.  ``per_member``: each member's own
category 1 + 6 samples, and the kinds of the correctly labelled among them.

Each flagged sample with a transient (a fake, a real transient, a fake on a defect) is
rendered again from the release's seed and its index (``realbogus.simulate.scene.render_sample``),
and its noise-free difference taken apart into the transient's own part and the residual
of everything static (its host, other sources, a saturated star's light):
``transient_share`` is the transient's part of the noise-free detection S/N.  Near 1, the
signal at the detection is the transient itself (a reviewer sees a point source); below
0.5, a static residual dominates it (a reviewer sees a residual, and would call it an
artifact, as the paper's reviewers did); above 1, the residual is negative there.  Defects
drawn with the noise (bad columns, masks, cosmic rays) are not in the noise-free signal,
so a fake on a bad column or a mask keeps a share near 1.

    python benchmarks/strong_flags_by_kind.py [FOLDER]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from realbogus.realism import strong_votes

DESCRIBED = ("detection_snr", "mag_from_limit", "host_magnitude", "host_offset_px", "source_magnitude",
             "transient_share")
WITH_TRANSIENT = ("fake", "real_transient", "fake_on_artifact")


def describe(rows: pd.DataFrame) -> dict:
    out: dict = {"n": int(len(rows))}
    for column in DESCRIBED:
        values = rows[column].dropna() if column in rows else pd.Series(dtype=float)
        if len(values):
            out[f"{column}_min_max"] = [round(float(values.min()), 2), round(float(values.max()), 2)]
    if "transient_share" in rows and rows["transient_share"].notna().any():
        shares = rows["transient_share"].dropna()
        out["transient_share_median"] = round(float(shares.median()), 2)
        out["n_residual_dominated"] = int((shares < 0.5).sum())
    return out


def transient_shares(truth: pd.DataFrame, *, simulate: dict) -> pd.Series:
    """Per sample of ``truth`` (index id) with a transient: the transient's share of its noise-free
    detection S/N, from the sample rendered again (NaN for the others)."""
    from realbogus.simulate import SimulationConfig
    from realbogus.simulate.release import detection_id
    from realbogus.simulate.scene import render_sample

    config = SimulationConfig.from_mapping(simulate.get("config") or {})
    shares = pd.Series(np.nan, index=truth.index, name="transient_share")
    for sample_id in truth.index[truth["scene_kind"].isin(WITH_TRANSIENT)]:
        _, signal, _ = render_sample(seed=int(simulate["seed"]), index=int(sample_id) - detection_id(0),
                                     label_noise=float(simulate["label_noise"]),
                                     flip_ratio=float(simulate["flip_ratio"]), config=config)
        shares[sample_id] = signal.detection_snr_of(signal.transients_difference()) / signal.detection_snr()
    return shares


def per_member(votes: pd.DataFrame, truth: pd.DataFrame, members: list[str]) -> dict[str, dict]:
    """Each member's own strong misclassifications (category 1 or 6): how many, how many truly
    mislabelled, and what the correctly labelled ones are (scene kind / artifact type) with their
    median detection S/N: which hard samples each member adds to the flags."""
    out: dict[str, dict] = {}
    for member in members:
        chosen = votes.index[votes[member].astype(bool)]
        rows = truth.loc[chosen]
        wrong = rows["true_label"].to_numpy() != votes.loc[chosen, "label"].to_numpy()
        correct = rows[~wrong]
        kinds = (correct["scene_kind"] + "/" + correct["artifact_type"].astype(str)).value_counts()
        out[member] = {"n_strongly_misclassified": int(len(rows)), "n_mislabelled": int(wrong.sum()),
                       "correct_by_kind": {kind: int(count) for kind, count in kinds.items()},
                       "correct_detection_snr_median": (round(float(correct["detection_snr"].median()), 2)
                                                        if len(correct) else None)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=".", type=Path,
                        help="a folder where the pipeline ran on a simulated release (default: here)")
    folder = parser.parse_args().folder
    params_path = folder / "params.yaml"
    if not params_path.is_file():
        parser.error(f"{params_path}: no params.yaml; expected a folder where the pipeline ran")
    params = yaml.safe_load(params_path.read_text())
    members = list(params["ensemble"]["members"])
    min_members = int(params["realism"]["min_members"])
    votes = strong_votes(scores_by_member={member: pd.read_parquet(folder / "data" / "models" / member / "scores.parquet")
                                           for member in members})
    flagged = votes[votes[members].sum(axis=1) >= min_members]
    every_truth = pd.read_parquet(folder / "data" / "simulated" / "truth.parquet").set_index("id")
    truth = every_truth.loc[flagged.index].copy()
    truth["transient_share"] = transient_shares(truth, simulate=params["simulate"])
    wrong = truth["true_label"].to_numpy() != flagged["label"].to_numpy()
    mislabelled, correct = truth[wrong], truth[~wrong]
    result = {"folder": str(folder.resolve()), "members": members, "min_members": min_members,
              "n_test": int(len(votes)), "n_flagged": int(len(flagged)), "n_mislabelled": int(wrong.sum()),
              "mislabelled_share": round(float(np.mean(wrong)), 4) if len(flagged) else None,
              "mislabelled_by_mechanism": {name: describe(rows) for name, rows in
                                           mislabelled.groupby("mislabel_mechanism")},
              "correct_by_kind": {f"{kind}/{artifact}": describe(rows) for (kind, artifact), rows in
                                  correct.groupby(["scene_kind", "artifact_type"])},
              "per_member": per_member(votes, every_truth, members)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
