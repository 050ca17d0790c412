"""Each member's test figures split by which image was the sharper, and so how it was subtracted; prints JSON.

The subtraction convolves the template (``SimulationConfig.convolved_image``, default
"template"), so where the template is the broader image its kernel sharpens it: the
difference keeps the search image's sharper PSF and rings.  With ``convolved_image:
sharper`` the search image is convolved there instead, and the difference has the
template's PSF and smoother noise.  In a folder where the pipeline ran on a simulated
release (data/models/<member>/scores.parquet, data/simulated/truth.parquet, params.yaml's
ensemble members), per member and per half of the test split (``template_sharper``:
template seeing <= search seeing, the template convolved and broadened;
``template_broader``: the others):

* ``fpr_at_mdr_0.05``: the share of the half's artifacts (given labels) scored below the
  member's threshold at MDR 0.05 on the whole test split (one cut, as a survey applies it);
* ``strongly_misclassified_share``: the half's share in categories 1 + 6, and the part of it
  whose given label is right (``..._correctly_labelled_share``);
* ``artifacts_passed_by_type``: per artifact type of the truth (given label 1), how many of
  the half's artifacts there are and how many the same cut passes as non-artifacts.

    python benchmarks/figures_by_convolved_image.py [FOLDER]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from realbogus.metrics import operating_point_at_mdr, roc_curve
from realbogus.realism import strong_votes

MDR = 0.05


def split_figures(*, scores: pd.DataFrame, truth: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """The figures of one member's test rows (``scores``: id, split, label, artifact_score) per half.

    ``truth`` is indexed by id with true_label, artifact_type, seeing_fwhm_arcsec and
    template_seeing_fwhm_arcsec.
    """
    test = scores[scores["split"] == "test"].set_index("id")
    joined = test.join(truth[["true_label", "artifact_type", "seeing_fwhm_arcsec", "template_seeing_fwhm_arcsec"]],
                       how="inner")
    if len(joined) != len(test):
        raise ValueError(f"{len(test) - len(joined)} test ids have no truth row")
    threshold = operating_point_at_mdr(curve=roc_curve(labels=joined["label"].to_numpy(),
                                                       artifact_score=joined["artifact_score"].to_numpy()),
                                       mdr=MDR).threshold
    strong = strong_votes(scores_by_member={"member": scores}).loc[joined.index, "member"].to_numpy()
    template_broader = (joined["template_seeing_fwhm_arcsec"] > joined["seeing_fwhm_arcsec"]).to_numpy()
    correct = (joined["label"] == joined["true_label"]).to_numpy()
    out = {}
    for name, half in (("template_sharper", ~template_broader), ("template_broader", template_broader)):
        rows = joined[half]
        artifacts = rows[rows["label"] == 1]
        out[name] = {"n": int(half.sum()), "n_artifacts": int(len(artifacts)),
                     f"fpr_at_mdr_{MDR}": round(float((artifacts["artifact_score"] < threshold).mean()), 4)
                     if len(artifacts) else None,
                     "strongly_misclassified_share": round(float(strong[half].mean()), 4) if half.any() else None,
                     "strongly_misclassified_correctly_labelled_share":
                         round(float((strong & correct)[half].mean()), 4) if half.any() else None,
                     "artifacts_passed_by_type": {
                         str(kind): {"n": int(len(rows_of_kind)),
                                     "passed": int((rows_of_kind["artifact_score"] < threshold).sum())}
                         for kind, rows_of_kind in artifacts.groupby("artifact_type")}}
    return out


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    members = list(yaml.safe_load((folder / "params.yaml").read_text())["ensemble"]["members"])
    truth = pd.read_parquet(folder / "data" / "simulated" / "truth.parquet").set_index("id")
    result = {"folder": str(folder.resolve()), "mdr": MDR,
              "template_broader_share_of_release": round(float(np.mean(truth["template_seeing_fwhm_arcsec"]
                                                                       > truth["seeing_fwhm_arcsec"])), 4),
              "members": {member: split_figures(scores=pd.read_parquet(folder / "data" / "models" / member
                                                                       / "scores.parquet"), truth=truth)
                          for member in members}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
