"""Where the detected noise peaks of a release lie above the threshold; prints JSON.

A noise peak passes the pipeline's threshold (``detection_snr_min``, nominal S/N 5)
because its noise is larger than the pipeline's noise model says: the detection filter's
true sigma is ``excess`` times the nominal one (the noise-excess patch, the template's
share of the difference noise, the resampling correlation).  Its nominal S/N is drawn
from the Gaussian tail above the threshold for that sigma (``scene.noise_peak_snr``).
This renders the noise peaks among the first ``--n`` samples of a release (the same
``simulate_sample`` as the release) and reports, over them:

* ``excess``: the filter's true over nominal sigma at the peak (p10 / p50 / p90, range);
* ``drawn_snr``: the nominal S/N the noise was conditioned on, and its mean overshoot;
* ``detection_snr``: the release's own detection S/N (the truth table's column: measured
  at the detection, where the detector placed the stamp), with the shares above 6 and 7;
* ``threshold_plus_exp1``: the same figures for the earlier draw, threshold + Exp(1), for
  comparison (exact: median threshold + ln 2, mean threshold + 1, share above t + s e^-s).

Run on a checkout before the tail draw (93d0a76), where the rendering records neither the
excess nor the drawn S/N, it reports ``detection_snr`` alone: the two draws side by side.

    python benchmarks/noise_peak_tail.py [--n 20000] [--seed 2013]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from realbogus.simulate import SimulationConfig, simulate_sample
from realbogus.simulate.config import DEFAULT_FLIP_RATIO, DEFAULT_LABEL_NOISE


def _spread(values: np.ndarray) -> dict[str, float]:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"p10": round(float(p10), 3), "p50": round(float(p50), 3), "p90": round(float(p90), 3),
            "min": round(float(values.min()), 3), "max": round(float(values.max()), 3),
            "mean": round(float(values.mean()), 3)}


def tail_figures(*, n: int, seed: int, config: SimulationConfig | None = None) -> dict:
    """The figures above for the noise peaks among the first ``n`` samples of release ``seed``."""
    config = config or SimulationConfig()
    threshold = config.detection_snr_min
    started = time.perf_counter()
    peaks = [index for index in range(n)
             if simulate_sample(seed=seed, index=index, label_noise=DEFAULT_LABEL_NOISE,
                                flip_ratio=DEFAULT_FLIP_RATIO, config=config, render=False)[0].artifact_type == "noise_peak"]
    excess, drawn, detected = [], [], []
    for index in peaks:
        _, rendered = simulate_sample(seed=seed, index=index, label_noise=DEFAULT_LABEL_NOISE,
                                      flip_ratio=DEFAULT_FLIP_RATIO, config=config)
        if "noise_peak_excess" in rendered.truth:
            excess.append(rendered.truth["noise_peak_excess"])
            drawn.append(rendered.truth["noise_peak_snr"])
        detected.append(rendered.truth["detection_snr"])
    excess, drawn, detected = np.array(excess), np.array(drawn), np.array(detected)
    return {
        "benchmark": "noise_peak_tail", "n": n, "seed": seed, "threshold": threshold,
        "n_noise_peaks": len(peaks),
        "excess": _spread(excess) if len(excess) else None,
        "drawn_snr": {**_spread(drawn), "mean_overshoot": round(float(drawn.mean() - threshold), 3)} if len(drawn) else None,
        "detection_snr": {**_spread(detected), "share_above_6": round(float(np.mean(detected > 6.0)), 3),
                          "share_above_7": round(float(np.mean(detected > 7.0)), 3)},
        "threshold_plus_exp1": {"p50": round(threshold + math.log(2.0), 3), "mean_overshoot": 1.0,
                                "share_above_6": round(math.exp(-(6.0 - threshold)), 3),
                                "share_above_7": round(math.exp(-(7.0 - threshold)), 3)},
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args()
    print(json.dumps(tail_figures(n=args.n, seed=args.seed), indent=1))


if __name__ == "__main__":
    main()
