"""Which artifacts a member passes as real at MDR 0.05, by kind and detection S/N; prints JSON.

The false positives behind a member's FPR, taken apart against the truth: for each
artifact type among the test split's samples labelled artifact, how many there are and
how many score below the member's threshold at MDR 0.05 (the paper's operating point),
overall and per bin of the detection's S/N (the truth table's ``detection_snr``).  Reads
a folder written by ``bench_realism.py --dump DIR`` (``<member>_scores.parquet``,
``truth.parquet``) or a pipeline run's folder (``data/models/<member>/scores.parquet``,
``data/simulated/truth.parquet``).

    python benchmarks/artifacts_passed.py FOLDER [--members rf hgb]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus.metrics import operating_point_at_mdr, roc_curve

MDR = 0.05
SNR_BINS = (5.0, 6.0, 7.0, 10.0, np.inf)


def _bin_name(low: float, high: float) -> str:
    return f"{low:g}-{high:g}" if np.isfinite(high) else f">={low:g}"


def passed_artifacts(*, scores: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """One member's test artifacts passed at MDR 0.05: {"threshold", "n_artifacts", "n_passed", "by_type"}.

    ``scores``: id, split, label, artifact_score; ``truth`` indexed by id with scene_kind,
    artifact_type and detection_snr.
    """
    test = scores[scores["split"] == "test"].set_index("id")
    joined = test.join(truth[["scene_kind", "artifact_type", "detection_snr"]], how="inner")
    if len(joined) != len(test):
        raise ValueError(f"{len(test) - len(joined)} test ids have no truth row")
    threshold = operating_point_at_mdr(curve=roc_curve(labels=joined["label"].to_numpy(),
                                                       artifact_score=joined["artifact_score"].to_numpy()),
                                       mdr=MDR).threshold
    # Labelled artifacts, as the FPR counts them, by what they truly are (scene kind / artifact
    # type: "real_transient/none" is a real transient labelled artifact, a mislabel).
    artifacts = joined[joined["label"] == 1].copy()
    artifacts["kind"] = artifacts["scene_kind"].astype(str) + "/" + artifacts["artifact_type"].astype(str)
    artifacts["passed"] = artifacts["artifact_score"] < threshold
    bins = pd.cut(artifacts["detection_snr"], bins=list(SNR_BINS), right=False,
                  labels=[_bin_name(low, high) for low, high in zip(SNR_BINS[:-1], SNR_BINS[1:])])
    by_type = {}
    for kind, rows in artifacts.groupby("kind"):
        kind_bins = bins.loc[rows.index]
        by_type[str(kind)] = {
            "n": int(len(rows)), "passed": int(rows["passed"].sum()),
            "by_detection_snr": {str(name): {"n": int((kind_bins == name).sum()),
                                             "passed": int(rows["passed"][kind_bins == name].sum())}
                                 for name in kind_bins.cat.categories if (kind_bins == name).any()}}
    return {"threshold": float(threshold), "n_artifacts": int(len(artifacts)), "n_passed": int(artifacts["passed"].sum()),
            "by_type": dict(sorted(by_type.items(), key=lambda item: -item[1]["passed"]))}


def _paths(folder: Path, member: str) -> tuple[Path, Path]:
    dumped = folder / f"{member}_scores.parquet"
    if dumped.is_file():
        return dumped, folder / "truth.parquet"
    return folder / "data" / "models" / member / "scores.parquet", folder / "data" / "simulated" / "truth.parquet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--members", nargs="+", default=["rf", "hgb"])
    args = parser.parse_args()
    out = {"benchmark": "artifacts_passed", "folder": str(args.folder), "mdr": MDR, "members": {}}
    truths: dict[Path, pd.DataFrame] = {}  # every member of a folder reads the same truth table: once
    for member in args.members:
        scores_path, truth_path = _paths(args.folder, member)
        for path in (scores_path, truth_path):
            if not path.is_file():
                raise SystemExit(f"{path} does not exist (expected {member}'s scores and the truth table: "
                                 f"a bench_realism.py --dump folder or a pipeline run's folder)")
        if truth_path not in truths:
            truths[truth_path] = pd.read_parquet(truth_path).set_index("id")
        out["members"][member] = passed_artifacts(scores=pd.read_parquet(scores_path), truth=truths[truth_path])
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
