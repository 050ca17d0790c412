"""The CNN's area under the margin from its two sources (``crossfit.margin_scores``), on the
first review round of mined releases, printed as JSON.

For each repository given, two round-1 cross-fit tables of one CNN member, the same
cross-fit run once with ``margin_scores: epoch_end`` and once with ``step`` (e.g. the
stage's file and a copy of it re-run with the other setting).  Reports whether their
cross-fitted scores are identical (the source must change nothing in the training), how
the two margins correlate, and round 1's ranking with each, at every margin weight of
``mining_margin.py``'s grid and the release's reliability setting, beside the best cleanlab
variant (which reads the probabilities only, so it is the same for both).

    python benchmarks/margin_sources.py --member model1 \\
        --repo /tmp/a/repo:data/rounds/round1/crossfit/model1_epoch_end.parquet:data/rounds/round1/crossfit/model1_step.parquet
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from mining_margin import measure


def compare(repo: Path, *, member: str, files: dict[str, Path]) -> dict:
    tables = {source: pd.read_parquet(path) for source, path in files.items()}
    epoch_end, step = tables["epoch_end"], tables["step"]
    if not np.array_equal(epoch_end["id"].to_numpy(), step["id"].to_numpy()):
        raise SystemExit(f"{repo}: the two cross-fit tables of {member} hold other ids")
    both = np.isfinite(epoch_end["margin_area"]) & np.isfinite(step["margin_area"])
    reliability = yaml.safe_load((repo / "params.yaml").read_text())["mine"]["evidence"]["reliability"]
    rows = {}
    for source, path in files.items():
        figures = measure(repo, crossfit_files={member: path})
        rows[source] = {key.split("/a=")[1]: value for key, value in figures["ours"].items()
                        if key.startswith(f"margin={member}/b={reliability:g}/")}
    return {"repo": str(repo), "seed": figures["seed"], "label_noise": figures["label_noise"],
            "budget": figures["budget"], "n_mislabelled": figures["n_mislabelled"],
            "identical_crossfit_scores": bool(np.array_equal(epoch_end["artifact_score"].to_numpy(),
                                                             step["artifact_score"].to_numpy())),
            "margin_correlation": round(float(np.corrcoef(epoch_end["margin_area"][both],
                                                          step["margin_area"][both])[0, 1]), 4),
            "reliability_b": reliability, "best_cleanlab": figures["best_cleanlab"],
            "best_cleanlab_figures": figures["cleanlab"][figures["best_cleanlab"]],
            "round1_by_margin_weight": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--member", default="model1")
    parser.add_argument("--repo", action="append", required=True,
                        help="REPO:EPOCH_END_TABLE:STEP_TABLE (tables relative to REPO; repeatable)")
    args = parser.parse_args()
    releases = []
    for given in args.repo:
        repo, epoch_end, step = given.split(":")
        repo = Path(repo)
        releases.append(compare(repo, member=args.member,
                                files={"epoch_end": repo / epoch_end, "step": repo / step}))
    print(json.dumps({"benchmark": "margin_sources_round1", "member": args.member, "releases": releases}, indent=2))


if __name__ == "__main__":
    main()
