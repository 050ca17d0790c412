"""The texture of the difference stamps' noise, real against simulated, as drawn; prints JSON.

Real DES stamps are at hand only as a picture (a grid of template / search / difference
panels, each 51x51 stamp drawn ~80 pixels wide).  Drawing resamples, so the real noise's
correlation can be compared only with simulated stamps drawn the same way: this script
measures, in each difference panel's border ring (outside the central 35x35 of the stamp,
pixels at 0 and 255 left out), the correlation of neighbouring drawn pixels along rows and
columns at drawn lags 1-5, per stamp:

* ``lag1``: the mean of the row and column correlations at lag 1 (how fine the grain is);
* ``min_lag3_5``: the most negative correlation at lags 3-5 (~2-3 stamp pixels), in either
  direction: a band-pass, "wormy" noise whose blobs alternate, as a matching kernel with
  negative wings or a sharpening kernel leaves it, against the plain grain of resampled
  white noise.

and their percentiles over the stamps (template and search panels too, as a check that what
rings comes from the subtraction), for a picture (``--picture``), for simulated stamps
drawn in pages of the same geometry (``--simulate N``: ten columns on a 12 x 3.5 inch page at
100 dpi, ~80 pixels per stamp, as the reference picture), or both.

    python benchmarks/difference_noise_texture.py --picture PICTURE.png --simulate 300 --seed 2013
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from realbogus.release.picture import CHANNELS, drawn_pages_with_layout, find_panels

LAGS = (1, 2, 3, 4, 5)
# The ring outside the central 35x35 of a 51-pixel stamp, as des_gif_statistics.md measures.
RING_FRACTION = 8 / 51
# A correlation this negative at lags 3-5 is far outside the noise of one estimate (~0.02).
RINGING_LEVEL = -0.12
# Fewer usable pixel pairs than this (a dark template whose ring sits at 0): not measured.
MIN_PAIRS = 200


def ring_correlations(panel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column correlations at LAGS of the ring pixels of one drawn panel (its frame cut off)."""
    panel = panel.astype(float)
    size = panel.shape[0]
    border = int(size * RING_FRACTION) + 1
    usable = (panel > 0) & (panel < 255)
    usable[border:size - border, border:size - border] = False
    def correlation(first: np.ndarray, second: np.ndarray, both: np.ndarray) -> float:
        if both.sum() < MIN_PAIRS or first[both].std() == 0 or second[both].std() == 0:
            return float("nan")
        return float(np.corrcoef(first[both], second[both])[0, 1])

    rows = [correlation(panel[:, :-lag], panel[:, lag:], usable[:, :-lag] & usable[:, lag:]) for lag in LAGS]
    columns = [correlation(panel[:-lag, :], panel[lag:, :], usable[:-lag, :] & usable[lag:, :]) for lag in LAGS]
    return np.array(rows), np.array(columns)


def picture_texture(page: np.ndarray, channel: str = "difference", *,
                    panels: tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]] | None = None
                    ) -> list[dict[str, float]]:
    """Per panel of one row of a drawn page (the difference by default): lag1 and min_lag3_5.

    ``panels``: the page's (row bands, column bands) where they are known (``page_layout``,
    for pages this script draws); by default they are found on the page, which misses a
    column whose panels are all nearly white.
    """
    rows, columns = find_panels(page) if panels is None else panels
    if len(rows) != len(CHANNELS):
        raise ValueError(f"expected 3 rows of panels (template, search, difference), found {len(rows)}")
    top, bottom = rows[CHANNELS.index(channel)]
    stamps = []
    for left, right in columns:
        along_rows, along_columns = ring_correlations(page[top + 2:bottom - 2, left + 2:right - 2])
        stamps.append({"lag1": float((along_rows[0] + along_columns[0]) / 2),
                       "min_lag3_5": float(min(along_rows[2:].min(), along_columns[2:].min()))})
    return stamps


def simulated_texture(n: int, *, seed: int) -> dict[str, list[dict[str, float]]]:
    """The same measure per channel on the first ``n`` simulated samples of ``seed`` (default knobs), drawn in pages."""
    from realbogus.simulate.preview import display_triplets

    triplets = [display for _, display in display_triplets(seed=seed, n=n)]
    stamps: dict[str, list[dict[str, float]]] = {channel: [] for channel in CHANNELS}
    # Cut where the drawing put the panels, so that no stamp goes unmeasured.
    for page, layout in drawn_pages_with_layout(triplets):
        for channel in CHANNELS:
            stamps[channel] += picture_texture(page, channel, panels=layout)
    return stamps


def summary(stamps: list[dict[str, float]]) -> dict:
    """Percentiles over the stamps that could be measured (``stamps``: all, ``measured``: those)."""
    measured = [stamp for stamp in stamps if np.isfinite(stamp["lag1"]) and np.isfinite(stamp["min_lag3_5"])]
    lag1 = np.array([stamp["lag1"] for stamp in measured])
    ringing = np.array([stamp["min_lag3_5"] for stamp in measured])
    percentiles = [10, 25, 50, 75, 90]
    return {"stamps": len(stamps), "measured": len(measured),
            "lag1_p10_p25_p50_p75_p90": np.round(np.percentile(lag1, percentiles), 3).tolist(),
            "min_lag3_5_p10_p25_p50_p75_p90": np.round(np.percentile(ringing, percentiles), 3).tolist(),
            f"share_min_lag3_5_below_{RINGING_LEVEL}": round(float((ringing < RINGING_LEVEL).mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picture", type=Path, help="a drawn grid of stamp triplets (PNG)")
    parser.add_argument("--simulate", type=int, default=0, help="simulated samples to draw and measure")
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args(argv)
    if not args.picture and not args.simulate:
        parser.error("give --picture, --simulate N or both")
    result: dict = {"benchmark": "difference_noise_texture", "lags_drawn_px": list(LAGS),
                    "ringing_level": RINGING_LEVEL}
    if args.picture:
        page = np.asarray(Image.open(args.picture).convert("L"))
        stamps = picture_texture(page)
        result["picture"] = {"path": str(args.picture), **summary(stamps),
                             "per_stamp": [{key: round(value, 3) for key, value in stamp.items()} for stamp in stamps],
                             "template_and_search": {channel: summary(picture_texture(page, channel))
                                                     for channel in CHANNELS[:2]}}
    if args.simulate:
        simulated = simulated_texture(args.simulate, seed=args.seed)
        result["simulated"] = {"n": args.simulate, "seed": args.seed, **summary(simulated["difference"]),
                               "template_and_search": {channel: summary(simulated[channel]) for channel in CHANNELS[:2]}}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
