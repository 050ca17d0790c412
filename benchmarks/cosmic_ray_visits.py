"""Which visits a release's cosmic rays come from, and what a median coadd does to noise; prints JSON.

A visit of several exposures (the deep fields in every band, z in the shallow ones) is
median-coadded into the search image, which rejects a cosmic ray when the visit has three or
more exposures (docs/simulation.md, "Seventh pass").  From the dry truth table of the first
``--n`` samples (``draw_truth_table``: the plans, no pixels, so a 20,000-sample release takes
seconds), this counts the cosmic-ray artifacts by field kind (deep / shallow) and, in the
shallow fields, by band (z: a visit of two exposures, g r i: one).  Run on a checkout before the seventh pass
(with its ``src`` first on ``PYTHONPATH``) it gives the cosmic rays the deep fields held then.

``median_noise``: the standard deviation of the median of N Gaussian exposures over that of
their mean (Monte Carlo, ``--draws`` sets of N): what the median costs in noise, which the
simulator does not model.

    python benchmarks/cosmic_ray_visits.py [--n 20000] [--seed 2013]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from realbogus.simulate import draw_truth_table
from realbogus.simulate.scene import DEEP_FIELDS


def visit_counts(*, n: int, seed: int) -> dict:
    """The cosmic rays of a release's dry truth table by field kind and band."""
    truth = draw_truth_table(n=n, seed=seed)
    cosmic = truth[truth["artifact_type"] == "cosmic_ray"]
    deep = cosmic["field"].isin(DEEP_FIELDS)
    return {
        "n": n, "seed": seed, "cosmic_rays": int(len(cosmic)),
        "deep_fields": int(deep.sum()),
        "shallow_by_band": {band: int(count) for band, count in cosmic.loc[~deep, "band"].value_counts().sort_index().items()},
        "all_samples_in_deep_fields": round(float(truth["field"].isin(DEEP_FIELDS).mean()), 4),
    }


def median_noise(*, exposures: tuple[int, ...], draws: int, seed: int) -> dict[str, float]:
    """Standard deviation of the median of N unit Gaussians over that of their mean."""
    rng = np.random.default_rng(seed)
    ratios = {}
    for count in exposures:
        values = rng.standard_normal((draws, count))
        ratios[str(count)] = round(float(np.median(values, axis=1).std() / values.mean(axis=1).std()), 3)
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--draws", type=int, default=400000, help="Monte Carlo sets per number of exposures")
    args = parser.parse_args()
    print(json.dumps({"benchmark": "cosmic_ray_visits", **visit_counts(n=args.n, seed=args.seed),
                      "median_noise": median_noise(exposures=(2, 3, 5, 11), draws=args.draws, seed=0)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
