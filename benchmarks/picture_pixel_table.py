"""The GIF pixel table like for like: the picture's real stamps beside release stamps drawn alike; prints JSON.

The real figures the realism report checks against (``realbogus.release.reference``) were
measured on the real GIF stamps themselves.  The real stamps this project can see are the
reference picture's: each 51x51 stamp drawn ~82 pixels wide and averaged back to 51x51
(``realbogus.release.picture``), which smooths its noise.  So the release's stamps are set
beside the picture's stamps only after the same round trip (``picture.round_trip``).  Per
channel, the table of ``pixel_statistics.channel_table`` (background and noise p10 / p50 /
p90, shares at 0 and 255) for:

* ``picture``: the stamps cut out of ``--picture``;
* ``release``: ``--n`` stamps of the ingested release ``--ingested`` (drawn at random with
  ``--seed``) as they are, the figures the realism report reads;
* ``release_round_trip``: the same stamps after the round trip, the fair comparison.

``difference_noise_per_picture_stamp`` lists each picture stamp's difference noise (grey
levels: the border ring's robust sigma) and ``picture_stamps_below_release_median`` counts
those below the round-tripped release's median, with ``chance_of_as_many_below``: the
binomial chance of at least that many if the real stamps were drawn like the release's.
The difference's noise in grey levels is 255 over the displayed range in noise sigmas: a
stamp of pure noise under the release's stretch shows ~48 (0.5th to 99.7th percentile,
5.3 sigmas); the brighter a stamp's detection or residuals, the wider its range and the
lower its noise.  ``difference_tails`` says where a stamp's range ends: the 0.5th and 99.7th
percentiles of its pixels (ticks left out) less its sky, in its ring's noise sigmas, per
picture stamp and as medians (the picture, the release as is and round-tripped); those
percentiles are where the release's stretch clips (``realbogus.release.display``), so the
release as is gives about -2.6 and +2.7 sigmas to a stamp of pure noise.  With ``--truth``
(the release's truth table), or with ``--simulate`` (stamps simulated here, with knobs
changed by ``--config-json``: a what-if), the difference noise, as is and round-tripped, per
bin of the detection's S/N (``by_detection_snr``), which reads the real stamps' noise as a
brightness of their detections, and per kind of detection (``by_kind``: fakes, dipoles, noise
peaks...; ``simulate.release.truth_kind``), to set beside the picture's stamps of the same look.

    python benchmarks/picture_pixel_table.py --picture P.png --ingested data/ingested \\
        [--truth data/simulated/truth.parquet] [--n 2000] [--seed 0]
    python benchmarks/picture_pixel_table.py --picture P.png --simulate 1000 --seed 2013 \\
        [--config-json '{"knob": value}']
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from realbogus.ingest import load_stamps
from realbogus.release.display import TICK_MASK, display_triplet
from realbogus.release.layout import CHANNELS, STAMP_SIZE
from realbogus.release.picture import read_picture, round_trip
from realbogus.release.pixel_statistics import channel_table, stamp_statistics
from realbogus.simulate import SimulationConfig, simulate_sample
from realbogus.simulate.config import DEFAULT_FLIP_RATIO, DEFAULT_LABEL_NOISE
from realbogus.simulate.release import truth_kind, truth_row
from realbogus.stamp_reader import read_rows

DIFFERENCE = CHANNELS.index("diff")
# Detection S/N bins of ``by_detection_snr``: the threshold's neighbourhood, then wider.
SNR_EDGES = (5.0, 6.0, 8.0, 12.0, 20.0, 50.0, np.inf)
TABLE_KEYS = ("background", "noise", "fraction_at_0", "fraction_at_255_outside_ticks")
DEFAULT_DRAWN = 2000  # --ingested stamps drawn by default
# The percentiles of the range ends (``difference_display``): those the release's difference stretch clips at.
TAIL_PERCENTILES = (0.5, 99.7)


def table(stamps: np.ndarray) -> dict[str, dict[str, object]]:
    """The pixel table's figures (``TABLE_KEYS``) per channel of (n, 51, 51, 3) uint8 ``stamps``."""
    tables = {channel: channel_table(stamps[..., index]) for index, channel in enumerate(CHANNELS)}
    return {channel: {key: figures[key] for key in TABLE_KEYS} for channel, figures in tables.items()}


def below_median(real_noise: np.ndarray, release_noise: np.ndarray) -> dict[str, float | int]:
    """How many real stamps' difference noise lies below the release's median, and the chance of as many."""
    median = float(np.nanmedian(release_noise))
    below = int(np.sum(real_noise < median))
    # P(X >= below) for X ~ Binomial(n, share of release stamps below their own median).
    share = float(np.mean(release_noise < median))
    chance = float(stats.binom.sf(below - 1, real_noise.size, share))
    return {"release_median": round(median, 2), "picture_stamps_below_release_median": below,
            "picture_stamps": int(real_noise.size), "chance_of_as_many_below": round(chance, 5)}


def difference_display(stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each stamp's difference noise (grey levels; ``pixel_statistics``) and (n, 2) range ends: its
    percentiles TAIL_PERCENTILES (ticks left out) less its sky, in ring sigmas.

    The ends are NaN where the ring has no spread (a stamp whose ring sits clipped at one grey level)."""
    statistics = stamp_statistics(stamps[..., DIFFERENCE])
    pixels = stamps[..., DIFFERENCE][:, ~TICK_MASK].astype(np.float64)
    ends = np.percentile(pixels, TAIL_PERCENTILES, axis=1).T
    with np.errstate(divide="ignore", invalid="ignore"):
        tails = (ends - statistics.background[:, None]) / statistics.noise[:, None]
    tails[~np.isfinite(tails)] = np.nan
    return statistics.noise, tails


def _tail_medians(tails: np.ndarray) -> list[float]:
    return [round(float(value), 2) for value in np.nanmedian(tails, axis=0)]


def by_detection_snr(*, snr: np.ndarray, noise: np.ndarray, noise_round_trip: np.ndarray) -> list[dict[str, object]]:
    """The difference noise's median (as is, round-tripped) and the stamps' share per detection-S/N bin."""
    rows = []
    for low, high in zip(SNR_EDGES[:-1], SNR_EDGES[1:]):
        inside = (snr >= low) & (snr < high)
        if not inside.any():
            continue
        rows.append({"detection_snr": [low, None if np.isinf(high) else high], "share": round(float(inside.mean()), 4),
                     "noise_p50": round(float(np.nanmedian(noise[inside])), 2),
                     "noise_round_trip_p50": round(float(np.nanmedian(noise_round_trip[inside])), 2)})
    return rows


def ingested_stamps(folder: Path, *, n: int, seed: int, truth: Path | None) -> tuple[np.ndarray, pd.DataFrame | None]:
    """``n`` stamps of an ingest folder drawn at random with ``seed``, and their truth rows
    (``detection_snr``, ``kind``: ``simulate.release.truth_kind``) from ``truth``."""
    catalog = pd.read_parquet(folder / "catalog.parquet", columns=["id", "row"])
    chosen = catalog.sample(n=min(n, len(catalog)), random_state=seed).sort_values("row")
    stamps = read_rows(load_stamps(folder), chosen["row"].to_numpy())
    if truth is None:
        return stamps, None
    table = pd.read_parquet(truth, columns=["id", "detection_snr", "scene_kind", "artifact_type"]).set_index("id")
    missing = np.setdiff1d(chosen["id"].to_numpy(), table.index.to_numpy())
    if missing.size:
        raise SystemExit(f"{truth} has no row for {missing.size} drawn id(s), e.g. {missing[:5].tolist()}")
    return stamps, _snr_and_kind(table.loc[chosen["id"].to_numpy()].reset_index())


def simulated_stamps(n: int, *, seed: int, config: SimulationConfig) -> tuple[np.ndarray, pd.DataFrame]:
    """The first ``n`` samples of ``seed`` simulated with ``config``, as GIF triplets, and their truth rows."""
    stamps = np.empty((n, STAMP_SIZE, STAMP_SIZE, len(CHANNELS)), dtype=np.uint8)
    rows = []
    for index in range(n):
        plan, rendered = simulate_sample(seed=seed, index=index, label_noise=DEFAULT_LABEL_NOISE,
                                         flip_ratio=DEFAULT_FLIP_RATIO, config=config)
        stamps[index] = display_triplet(rendered.template, rendered.search, rendered.difference)
        rows.append(truth_row(plan, rendered))
    return stamps, _snr_and_kind(pd.DataFrame(rows))


def _snr_and_kind(truth: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"detection_snr": truth["detection_snr"].to_numpy(), "kind": truth_kind(truth).to_numpy()})


def by_kind(*, kinds: np.ndarray, snr: np.ndarray, noise_round_trip: np.ndarray,
            tails_round_trip: np.ndarray) -> dict[str, dict[str, float | int]]:
    """Per kind of detection: how many, their round-tripped difference noise (p25, p50), range ends and S/N (p50)."""
    figures = {}
    for kind in sorted(set(kinds)):
        inside = kinds == kind
        figures[str(kind)] = {
            "n": int(inside.sum()),
            "noise_round_trip_p25_p50": [round(float(v), 2) for v in np.nanpercentile(noise_round_trip[inside], [25, 50])],
            "tails_round_trip_p50": _tail_medians(tails_round_trip[inside]),
            "detection_snr_p50": round(float(np.median(snr[inside])), 2)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picture", type=Path, required=True, help="a picture of real stamps (the reference PNG)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ingested", type=Path, help="an ingest folder (stamps.npy, catalog.parquet)")
    source.add_argument("--simulate", type=int, metavar="N", help="simulate N samples instead (--seed, --config-json)")
    parser.add_argument("--truth", type=Path, help="with --ingested: the release's truth.parquet (the noise per S/N)")
    parser.add_argument("--n", type=int, help="with --ingested: stamps to draw (default 2000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the draw's seed (--ingested) or the simulation's (--simulate); default 0")
    parser.add_argument("--config-json", help="with --simulate: SimulationConfig overrides")
    args = parser.parse_args(argv)
    if args.ingested is not None:
        if args.config_json is not None:
            parser.error("--config-json goes with --simulate: an ingested release's knobs are fixed")
        n = DEFAULT_DRAWN if args.n is None else args.n
        if n < 1:
            parser.error(f"--n must be at least 1, got {n}")
        release, truth = ingested_stamps(args.ingested, n=n, seed=args.seed, truth=args.truth)
        origin = {"ingested": str(args.ingested), "draw_seed": args.seed}
    else:
        if args.simulate < 1:
            parser.error(f"--simulate must be at least 1, got {args.simulate}")
        if args.truth is not None or args.n is not None:
            parser.error("--truth and --n go with --ingested: --simulate N simulates N stamps, which carry their own S/N")
        overrides = json.loads(args.config_json or "{}")
        release, truth = simulated_stamps(args.simulate, seed=args.seed,
                                        config=SimulationConfig.from_mapping(overrides))
        origin = {"simulated": args.simulate, "seed": args.seed, "config_overrides": overrides}
    drawn = round_trip(release)
    picture = read_picture(args.picture)

    (real_noise, real_tails), (noise, tails), (noise_round_trip, tails_round_trip) = (
        difference_display(stamps) for stamps in (picture, release, drawn))
    result: dict[str, object] = {
        "benchmark": "picture_pixel_table", "picture_file": str(args.picture), **origin,
        "n_release_stamps": int(len(release)),
        "picture": table(picture), "release": table(release), "release_round_trip": table(drawn),
        "difference_noise_per_picture_stamp": [round(float(value), 2) for value in real_noise],
        "difference_noise_round_trip": below_median(real_noise, noise_round_trip),
        "difference_tails": {"percentiles": list(TAIL_PERCENTILES),
                             "picture_per_stamp": real_tails.round(2).tolist(),
                             "picture_p50": _tail_medians(real_tails), "release_p50": _tail_medians(tails),
                             "release_round_trip_p50": _tail_medians(tails_round_trip)},
    }
    if truth is not None:
        snr = truth["detection_snr"].to_numpy()
        result["by_detection_snr"] = by_detection_snr(snr=snr, noise=noise, noise_round_trip=noise_round_trip)
        result["detection_snr_p10_p50_p90"] = [round(float(v), 2) for v in np.percentile(snr, [10, 50, 90])]
        result["by_kind"] = by_kind(kinds=truth["kind"].to_numpy(), snr=snr, noise_round_trip=noise_round_trip,
                                    tails_round_trip=tails_round_trip)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
