"""The sizes of the central objects in the template and search panels, real against simulated, as drawn; prints JSON.

The seeing of the template against the search image decides which image the subtraction
convolves and what the difference looks like, but real stamps are at hand only as a picture.
Per stamp of a drawn grid of triplets (``realbogus.release.picture``), this script measures
in the template and in the search panel the full width at half maximum of the central
object: the brightest pixel of the central 21x21 of the stamp, above the border ring's
median (the sky) by at least MIN_CONTRAST grey levels, and the connected pixels around it
above half that height (FWHM = 2 sqrt(area / pi), in stamp pixels).  Both display stretches
map the central maximum to 255 without clipping it, so the half-maximum area is the
object's own.  A stamp counts as a **compact pair** when both panels' peaks lie within
MAX_PEAK_SEPARATION of each other (the same object) and both widths are below MAX_COMPACT
(a star or a compact galaxy, not an extended one): its ratio template / search FWHM says
which image had the better seeing.

The same measure is taken on simulated stamps drawn in pages of the same geometry
(``--simulate N``), so the drawing's resampling affects both alike.  There the simulator
knows which image each subtraction convolved (``convolved_image``), so the simulated compact
pairs are also split by it and by what the central object is (a fake on its host, a star's
or galaxy's residual, anything else): what a ratio says about the convolution direction
when the object in the search image is not the one in the template.

``--config-json`` sets SimulationConfig knobs for the simulated stamps (default: none), to
ask what a release drawn otherwise would look like, e.g. under sharper seeing.

    python benchmarks/picture_psf_sizes.py --picture PICTURE.png --simulate 300 --seed 2013
        [--config-json '{"seeing_fwhm_arcsec_range": [0.7, 1.4]}']
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage, stats

from realbogus.release.picture import CHANNELS, read_picture, round_trip
from realbogus.simulate import SimulationConfig
from realbogus.simulate.config import knobs_from_json

# The central box the peak is looked for in, as the display stretch's own (21x21).
CENTRAL_HALF = 10
# The sky ring: outside the central 35x35 of a 51-pixel stamp (des_gif_statistics.md).
RING_WIDTH = 8
# A peak less than this far above the sky (grey levels of 255) is noise-dominated: not measured.
MIN_CONTRAST = 60.0
# Template and search peaks this close (stamp pixels) are taken for the same object.
MAX_PEAK_SEPARATION = 2.0
# Wider than this (stamp pixels) in either panel: an extended galaxy, not a PSF-sized object.
MAX_COMPACT = 7.0


def central_fwhm(panel: np.ndarray) -> tuple[float, tuple[int, int]]:
    """(FWHM in pixels or nan, peak (y, x)) of the central object of one 51x51 display panel."""
    image = panel.astype(float)
    size = image.shape[0]
    ring = np.ones(image.shape, bool)
    ring[RING_WIDTH:size - RING_WIDTH, RING_WIDTH:size - RING_WIDTH] = False
    sky = float(np.median(image[ring]))
    middle = size // 2
    box = image[middle - CENTRAL_HALF:middle + CENTRAL_HALF + 1, middle - CENTRAL_HALF:middle + CENTRAL_HALF + 1]
    dy, dx = np.unravel_index(int(np.argmax(box)), box.shape)
    peak = (int(dy) + middle - CENTRAL_HALF, int(dx) + middle - CENTRAL_HALF)
    height = image[peak] - sky
    if height < MIN_CONTRAST:
        return float("nan"), peak
    regions, _ = ndimage.label(image - sky > height / 2)
    area = int((regions == regions[peak]).sum())
    return float(2.0 * np.sqrt(area / np.pi)), peak


def stamp_sizes(stamps: np.ndarray) -> list[dict[str, float | bool]]:
    """Per (N, 51, 51, 3) display triplet: template and search FWHM, and whether they are a compact pair."""
    out = []
    for triplet in stamps:
        template, template_peak = central_fwhm(triplet[..., CHANNELS.index("template")])
        search, search_peak = central_fwhm(triplet[..., CHANNELS.index("search")])
        separation = float(np.hypot(template_peak[0] - search_peak[0], template_peak[1] - search_peak[1]))
        compact = bool(np.isfinite(template) and np.isfinite(search) and separation <= MAX_PEAK_SEPARATION
                       and template < MAX_COMPACT and search < MAX_COMPACT)
        out.append({"template_fwhm": template, "search_fwhm": search, "compact_pair": compact,
                    "ratio": template / search if compact else float("nan")})
    return out


def summary(sizes: list[dict[str, float | bool]]) -> dict:
    """Percentiles of each panel's FWHM (measured stamps) and of the compact pairs' ratio."""
    percentiles = [10, 25, 50, 75, 90]

    def spread(values: list[float]) -> list[float] | None:
        values = [value for value in values if np.isfinite(value)]
        return np.round(np.percentile(values, percentiles), 3).tolist() if values else None

    pairs = [stamp for stamp in sizes if stamp["compact_pair"]]
    ratios = np.array([stamp["ratio"] for stamp in pairs], dtype=float)
    return {"stamps": len(sizes),
            "template_fwhm_p10_p25_p50_p75_p90": spread([stamp["template_fwhm"] for stamp in sizes]),
            "search_fwhm_p10_p25_p50_p75_p90": spread([stamp["search_fwhm"] for stamp in sizes]),
            "compact_pairs": len(pairs),
            "compact_template_fwhm_p10_p25_p50_p75_p90": spread([stamp["template_fwhm"] for stamp in pairs]),
            "ratio_template_over_search_p10_p25_p50_p75_p90": spread(list(ratios)),
            "share_template_at_least_as_broad": round(float((ratios >= 1.0).mean()), 4) if len(ratios) else None}


# What the central object of a simulated stamp is, for the split of the compact pairs.
OBJECT_GROUPS = {"fake": "fake on its host", "dipole": "residual of a star or galaxy",
                 "bad_subtraction": "residual of a star or galaxy", "galaxy_core": "residual of a star or galaxy"}


def simulated_sizes(n: int, *, seed: int, config: SimulationConfig | None = None) -> list[dict[str, float | bool | str]]:
    """The measure on the first ``n`` simulated samples of ``seed`` (default knobs unless ``config``), drawn
    in pages and cut back out; each stamp also names the image its subtraction convolved and its object's group."""
    from realbogus.simulate.preview import display_triplets

    planned = display_triplets(seed=seed, n=n, config=config)
    stamps = round_trip(np.stack([np.stack(display, axis=-1) for _, display in planned]))
    sizes = stamp_sizes(stamps)
    for stamp, (plan, _) in zip(sizes, planned):
        stamp["convolved"] = "template" if plan.conditions.convolves_template else "search"
        kind = plan.scene_kind if plan.scene_kind != "artifact" else plan.artifact_type
        stamp["object"] = OBJECT_GROUPS.get(kind, "other")
    return sizes


def split_by_convolved_image(sizes: list[dict]) -> dict[str, dict]:
    """The compact pairs' ratio summary per convolved image, and per convolved image and object group."""
    pairs = [stamp for stamp in sizes if stamp["compact_pair"]]
    out: dict[str, dict] = {}
    for convolved in ("template", "search"):
        chosen = [stamp for stamp in pairs if stamp["convolved"] == convolved]
        out[f"{convolved}_convolved"] = {"share_of_stamps": round(sum(stamp["convolved"] == convolved
                                                                      for stamp in sizes) / len(sizes), 4),
                                         **_pair_ratios(chosen),
                                         "by_object": {group: _pair_ratios([stamp for stamp in chosen
                                                                            if stamp["object"] == group])
                                                       for group in sorted({*OBJECT_GROUPS.values(), "other"})}}
    return out


def _pair_ratios(pairs: list[dict]) -> dict:
    ratios = np.array([stamp["ratio"] for stamp in pairs], dtype=float)
    if not len(ratios):
        return {"compact_pairs": 0}
    return {"compact_pairs": len(ratios),
            "ratio_p10_p50_p90": np.round(np.percentile(ratios, [10, 50, 90]), 3).tolist(),
            "share_template_at_least_as_broad": round(float((ratios >= 1.0).mean()), 4)}


def compact_width_tests(picture: list[dict], simulated: list[dict]) -> dict[str, dict[str, float]]:
    """Whether the picture's compact pairs' widths could be drawn like the simulated ones: per panel,
    the two-sample Kolmogorov-Smirnov p-value and the Anderson-Darling one (more sensitive in the
    tails, where a few sharp objects sit; scipy clips it to 0.001-0.25)."""
    tests: dict[str, dict[str, float]] = {}
    for key in ("search_fwhm", "template_fwhm"):
        real = [stamp[key] for stamp in picture if stamp["compact_pair"]]
        drawn = [stamp[key] for stamp in simulated if stamp["compact_pair"]]
        if len(real) < 2 or len(drawn) < 2:
            continue
        with warnings.catch_warnings():  # the clipping of the Anderson-Darling p-value is documented above
            warnings.simplefilter("ignore")
            anderson = stats.anderson_ksamp([real, drawn]).pvalue
        tests[key] = {"ks_p": round(float(stats.ks_2samp(real, drawn).pvalue), 4),
                      "anderson_darling_p": round(float(anderson), 4)}
    return tests


def search_width_percentiles(picture: list[dict], simulated: list[dict]) -> list[float]:
    """For each compact pair of the picture, the share of the simulated compact pairs whose search
    object is at most as wide: how sharp the picture's search images are against the release's."""
    widths = np.array([stamp["search_fwhm"] for stamp in simulated if stamp["compact_pair"]], dtype=float)
    if not len(widths):
        return []
    return [round(float((widths <= stamp["search_fwhm"]).mean()), 4) for stamp in picture if stamp["compact_pair"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--picture", type=Path, help="a drawn grid of stamp triplets (PNG)")
    parser.add_argument("--simulate", type=int, default=0, help="simulated samples to draw and measure")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--config-json", default="{}", help="SimulationConfig knobs for the simulated stamps")
    args = parser.parse_args(argv)
    try:
        knobs = knobs_from_json(args.config_json, where="--config-json")
        config = SimulationConfig.from_mapping(knobs, where="--config-json")
    except ValueError as error:  # not a JSON object, an unknown knob or a value out of its range
        parser.error(str(error))
    if not args.picture and not args.simulate:
        parser.error("give --picture, --simulate N or both")
    result: dict = {"benchmark": "picture_psf_sizes", "min_contrast": MIN_CONTRAST,
                    "max_peak_separation_px": MAX_PEAK_SEPARATION, "max_compact_fwhm_px": MAX_COMPACT}
    if args.picture:
        sizes = stamp_sizes(read_picture(args.picture))
        result["picture"] = {"path": str(args.picture), **summary(sizes),
                             "per_stamp": [{key: (round(value, 3) if isinstance(value, float) else value)
                                            for key, value in stamp.items()} for stamp in sizes]}
    if args.simulate:
        simulated = simulated_sizes(args.simulate, seed=args.seed, config=config)
        result["simulated"] = {"n": args.simulate, "seed": args.seed, "config_json": knobs, **summary(simulated),
                               "by_convolved_image": split_by_convolved_image(simulated)}
        if args.picture:
            result["picture"]["compact_search_fwhm_percentile_among_simulated"] = search_width_percentiles(
                sizes, simulated)
            result["picture"]["compact_widths_against_simulated"] = compact_width_tests(sizes, simulated)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
