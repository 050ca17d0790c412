"""The regional-reliability evidence (``mine.evidence.reliability``) on the first review round
of mined releases, against the truth and against cleanlab, printed as JSON.

For each repository given (a repository, or a clone kept by ``bench_mining.py --keep DIR``,
then ``DIR/repo``, after ``dvc repro mine@round1``), reads round 1's cross-fitted member
scores, the feature table and the simulated truth, and measures the AUPRC of the miner's
round-1 ranking for every (proxy, bins, trust, exponent) of the grid -- exactly what ``mine@round1``
ranks with those settings (no review outcomes exist in round 1) -- beside the best of
cleanlab's five methods on the same scores.  ``margin_over_best_cleanlab`` per setting and
release, and its minimum over the releases, are what chose the default.

The grid's best cell is chosen on the releases it is measured on; run it on other releases
(other seeds) to see how it holds up.

    python benchmarks/mining_reliability.py --repo /tmp/a/repo --repo /tmp/b/repo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from realbogus.mining.cleanlab_methods import cleanlab_suspicion
from realbogus.mining.evidence import difficulty_regions, regional_reliability, reliability_weighted_disagreement
from realbogus.mining.ranking import disagreement_ranking, label_disagreement
from realbogus.mining.run import read_crossfit_scores
from realbogus.mining.truth_eval import evaluate_suspicion

PROXIES = ("SNR", "MAG_FROM_LIMIT")
BINS = (2, 3, 4, 5)
EXPONENTS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
# mine.evidence.reliability_trust: 1 measures a member's error rate in a region on every sample,
# 0.5 on the samples the other members side with the label on (docs/mining.md, seventh pass).
TRUSTS = (1.0, 0.5)


def auprc(suspicion: np.ndarray, *, given: np.ndarray, truth: pd.DataFrame) -> float:
    row = evaluate_suspicion(suspicion=suspicion, given_labels=given, true_labels=truth["true_label"].to_numpy(),
                             mechanism=truth["mislabel_mechanism"].to_numpy(), budget=1).iloc[0]
    return float(row["auprc"])


def measure(repo: Path) -> dict:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    members = params["ensemble"]["members"]
    scores = read_crossfit_scores({member: repo / "data/rounds/round1/crossfit" / f"{member}.parquet"
                                   for member in members})
    given = scores.given_labels
    truth = pd.read_parquet(repo / "data/simulated/truth.parquet").set_index("id").loc[scores.ids].reset_index()
    features = pd.read_parquet(repo / "data/features/features.parquet").set_index("id").loc[scores.ids]
    cleanlab = {method: auprc(suspicion, given=given, truth=truth)
                for method, (suspicion, _) in cleanlab_suspicion(given_labels=given,
                                                                  member_scores=scores.member_scores).items()}
    best_method = max(cleanlab, key=cleanlab.get)
    weights = disagreement_ranking(given_labels=given, member_scores=scores.member_scores).member_weights
    doubt = label_disagreement(given_labels=given, member_scores=scores.member_scores)
    grid = {}
    for proxy in PROXIES:
        for bins in BINS:
            for trust in TRUSTS:
                reliability = regional_reliability(disagreement=doubt, regions=difficulty_regions(
                    given_labels=given, proxy=features[proxy].to_numpy(dtype=np.float64), bins=bins), trust=trust)
                for exponent in EXPONENTS:
                    ranking = reliability_weighted_disagreement(disagreement=doubt, reliability=reliability,
                                                                member_weights=weights, strength=exponent)
                    # trust 1 (every sample) keeps the key of the runs before reliability_trust existed
                    key = f"{proxy}/bins={bins}/b={exponent:g}" + ("" if trust == 1.0 else f"/trust={trust:g}")
                    grid[key] = round(auprc(ranking, given=given, truth=truth), 4)
    wrong = truth["true_label"].to_numpy() != given
    return {"repo": str(repo), "seed": params["simulate"]["seed"], "label_noise": params["simulate"]["label_noise"],
            "n": int(len(given)), "members": members, "n_mislabelled": int(wrong.sum()),
            "best_cleanlab": best_method, "best_cleanlab_auprc": round(cleanlab[best_method], 4),
            "auprc": grid,
            "margin_over_best_cleanlab": {key: round(value - cleanlab[best_method], 4) for key, value in grid.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, action="append", required=True, help="a mined repository (repeatable)")
    args = parser.parse_args()
    releases = [measure(repo) for repo in args.repo]
    settings = list(releases[0]["margin_over_best_cleanlab"])
    worst = {key: min(release["margin_over_best_cleanlab"][key] for release in releases) for key in settings}
    print(json.dumps({"benchmark": "mining_reliability_round1", "releases": releases,
                      "worst_margin_over_best_cleanlab": worst,
                      "best_worst_case_setting": max(worst, key=worst.get)}, indent=2))


if __name__ == "__main__":
    main()
