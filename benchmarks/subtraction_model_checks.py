"""Two properties of the simulator's PSF and subtraction model; prints JSON.

docs/simulation.md, "Tenth pass", quotes both:

* ``kernel_floor``: what the matching kernel (``scene._matching_kernel``) leaves of a point
  source when the PSF models are perfect (no width, shape, shift or scale error).  The kernel
  blends the ideal PSF ratio into its Gaussian fit with weight power / (power + blend), so
  a small residual remains: its centre pixel as a share of the source's (``centre_ratio``)
  and its S/N through the detection filter as a share of the source's (``filter_ratio``),
  split by which image the subtraction convolves.  Beside it, what the kernel does to the
  convolved image's noise: ``noise_gain`` (mean |K|^2 over frequencies) and the lag-1 and
  lag-2 correlation of white noise filtered by K.  Measured at the simulator's constants
  and at tighter ones (``--tight``), which remove the floor and change the noise.
* ``limit_moffat_index``: how far the 5-sigma limit moves when its noise-equivalent area
  takes the broader image's own Moffat index instead of the search image's (the tenth
  pass's fix), over the drawn conditions where the template is the broader image.

    python benchmarks/subtraction_model_checks.py [--conditions 300] [--limit-conditions 5000]
        [--seed 7] [--tight 1e-6,1e-8]
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from realbogus.simulate import SimulationConfig
from realbogus.simulate import scene
from realbogus.simulate.canvas import Canvas
from realbogus.simulate.psf import CENTER, GRID, effective_area, irfft2, moffat_transfer, point_sources_transfer
from realbogus.simulate.scene import draw_conditions


def _psfs(conditions) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    template = moffat_transfer(fwhm=conditions.template_seeing_fwhm_px, beta=conditions.template_beta,
                               ellipticity=conditions.template_psf_ellipticity, angle=conditions.template_psf_angle)
    search = moffat_transfer(fwhm=conditions.seeing_fwhm_px, beta=conditions.search_beta,
                             ellipticity=conditions.search_psf_ellipticity, angle=conditions.search_psf_angle)
    return template, search


def kernel_floor(conditions_list: list, *, config: SimulationConfig) -> dict:
    """Residual of a perfectly modelled point source, and the kernel's noise figures, by convolved image."""
    rows = {True: [], False: []}
    source = point_sources_transfer(ys=np.array([CENTER + 0.2]), xs=np.array([CENTER - 0.1]), fluxes=np.array([1.0]))
    for conditions in conditions_list:
        canvas = Canvas(conditions=conditions, config=config, detection_y=CENTER, detection_x=CENTER)
        template_psf, search_psf = _psfs(conditions)
        subtraction = scene._subtraction(canvas, template_psf=template_psf, search_psf=search_psf)
        residual = scene._subtract(subtraction, search_transfer=source * search_psf, template_transfer=source * template_psf)
        alone = scene._subtract(subtraction, search_transfer=source * search_psf, template_transfer=0.0 * source)

        def filter_snr(image: np.ndarray) -> float:
            return scene._detection_snr(image, canvas, center_y=CENTER, center_x=CENTER,
                                        fwhm=scene._broad_fwhm(conditions), noise=1.0)

        power = np.abs(subtraction.kernel) ** 2
        autocorrelation = np.fft.irfft2(power, s=(GRID, GRID))
        rows[conditions.convolves_template].append((
            residual[CENTER, CENTER] / alone[CENTER, CENTER], filter_snr(residual) / filter_snr(alone),
            float(power.mean()), autocorrelation[0, 1] / autocorrelation[0, 0], autocorrelation[0, 2] / autocorrelation[0, 0]))
    result = {}
    for convolves_template, values in rows.items():
        if not values:
            continue
        table = np.array(values)
        median = np.median(table, axis=0)
        result["template_convolved" if convolves_template else "search_convolved"] = {
            "n": len(values), "centre_ratio_median": round(float(median[0]), 4),
            "centre_ratio_range": [round(float(table[:, 0].min()), 4), round(float(table[:, 0].max()), 4)],
            "filter_ratio_median": round(float(median[1]), 5),
            "filter_ratio_range": [round(float(table[:, 1].min()), 5), round(float(table[:, 1].max()), 5)],
            "noise_gain_median": round(float(median[2]), 4), "lag1_median": round(float(median[3]), 3),
            "lag2_median": round(float(median[4]), 3)}
    table = np.array(rows[True] + rows[False])
    result["all"] = {"noise_gain_median": round(float(np.median(table[:, 2])), 4),
                     "lag1_median": round(float(np.median(table[:, 3])), 3),
                     "lag2_median": round(float(np.median(table[:, 4])), 3)}
    return result


def kernel_floors(conditions_list: list, *, config: SimulationConfig,
                  settings: dict[str, tuple[float, float]]) -> dict:
    """:func:`kernel_floor` per named (blend power, regularisation) setting of the kernel's constants."""
    defaults = (scene.KERNEL_BLEND_POWER, scene.KERNEL_REGULARISATION)
    floors = {}
    for name, (blend, regularisation) in settings.items():
        scene.KERNEL_BLEND_POWER, scene.KERNEL_REGULARISATION = blend, regularisation
        try:
            floors[name] = {"blend_power": blend, "regularisation": regularisation,
                            **kernel_floor(conditions_list, config=config)}
        finally:
            scene.KERNEL_BLEND_POWER, scene.KERNEL_REGULARISATION = defaults
    return floors


def limit_moffat_index(conditions_list: list) -> dict:
    """|limit change| (mag) between the search image's and the broader image's Moffat index."""
    changes = []
    for conditions in conditions_list:
        if conditions.convolves_template:
            continue  # the search image is the broader one: its index was already the right one
        fwhm = conditions.template_seeing_fwhm_px
        changes.append(abs(1.25 * math.log10(effective_area(fwhm=fwhm, beta=conditions.search_beta)
                                             / effective_area(fwhm=fwhm, beta=conditions.template_beta))))
    changes = np.array(changes)
    return {"conditions": len(conditions_list), "template_broader_share": round(len(changes) / len(conditions_list), 3),
            "limit_change_mag_p50_p90_max": [round(float(np.percentile(changes, 50)), 3),
                                             round(float(np.percentile(changes, 90)), 3), round(float(changes.max()), 3)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conditions", type=int, default=300, help="drawn conditions for the kernel floor")
    parser.add_argument("--limit-conditions", type=int, default=5000, help="drawn conditions for the limit")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tight", default="1e-6,1e-8", help="blend power and regularisation of the tighter kernel")
    args = parser.parse_args()
    config = SimulationConfig()
    rng = np.random.default_rng(args.seed)
    conditions_list = [draw_conditions(rng, config=config) for _ in range(args.conditions)]
    tight = tuple(float(value) for value in args.tight.split(","))
    floors = kernel_floors(conditions_list, config=config, settings={
        "simulator": (scene.KERNEL_BLEND_POWER, scene.KERNEL_REGULARISATION), "tight": tight})
    rng = np.random.default_rng(args.seed + 1)
    limit = limit_moffat_index([draw_conditions(rng, config=config) for _ in range(args.limit_conditions)])
    print(json.dumps({"benchmark": "subtraction_model_checks", "seed": args.seed, "kernel_floor": floors,
                      "limit_moffat_index": limit}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
