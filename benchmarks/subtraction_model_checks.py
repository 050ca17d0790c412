"""Two properties of the simulator's PSF and subtraction model; prints JSON.

docs/simulation.md quotes both ("Tenth pass"; the kernel since "Eleventh pass"):

* ``kernel_floor``: what the matching kernel leaves of a point source when the PSF models
  are perfect (no width, shape, shift or scale error).  The kernel is fitted on a basis of
  Gaussians times polynomials with the fit's errors-in-variables regularisation
  (``simulate.kernel_fit``), so a small residual remains: its centre pixel as a share of
  the source's (``centre_ratio``) and its S/N through the detection filter as a share of
  the source's (``filter_ratio``), split by which image the subtraction convolves and
  whether K broadens it (it is the sharper) or sharpens it (``template_broadened``,
  ``template_sharpened``, ``search_broadened``; a search image is convolved only with
  ``--convolved-image sharper``, and then only broadened).  Beside
  it, what the kernel does to the convolved image's noise: ``noise_gain`` (mean |K|^2 over
  frequencies), the lag-1 and lag-2 correlation of white noise filtered by K, and its most
  negative correlation at lags 2-6 px along a row or column (``ringing``: the kernel's
  oscillating wings), with the regularisation itself.  Measured at the simulator's
  regularisation, at ``--factors`` times it, and for the kernel of the tenth pass and
  before (``psf_ratio``: the PSF ratio blended into its Gaussian fit where the sharp PSF
  has no power, with the constants it had; a kernel that sharpens gets no Gaussian).
* ``limit_moffat_index``: how far the 5-sigma limit moves when its noise-equivalent area
  takes the broader image's own Moffat index instead of the search image's (the tenth
  pass's fix), over the drawn conditions where the search image is convolved (the template
  the broader image): none unless ``--convolved-image sharper``.

    python benchmarks/subtraction_model_checks.py [--conditions 300] [--limit-conditions 5000]
        [--seed 7] [--factors 0.1,10] [--convolved-image template|sharper]
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from realbogus.simulate import SimulationConfig
from realbogus.simulate import kernel_fit, scene
from realbogus.simulate.canvas import Canvas
from realbogus.simulate.config import CONVOLVED_IMAGES
from realbogus.simulate.psf import CENTER, GRID, effective_area, gaussian_transfer, moffat_transfer, point_sources_transfer
from realbogus.simulate.scene import draw_conditions


def _psfs(conditions) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    template = moffat_transfer(fwhm=conditions.template_seeing_fwhm_px, beta=conditions.template_beta,
                               ellipticity=conditions.template_psf_ellipticity, angle=conditions.template_psf_angle)
    search = moffat_transfer(fwhm=conditions.seeing_fwhm_px, beta=conditions.search_beta,
                             ellipticity=conditions.search_psf_ellipticity, angle=conditions.search_psf_angle)
    return template, search


# The kernel up to the tenth pass: the PSF ratio with a Wiener floor, blended into the
# Gaussian of width sqrt(sigma_broad^2 - sigma_sharp^2) where the sharp PSF's power fell
# below the blend power.
PSF_RATIO_REGULARISATION = 1e-4
PSF_RATIO_BLEND_POWER = 1e-3


def psf_ratio_kernel(sharp: np.ndarray, broad: np.ndarray, *, sigma_sharp: float, sigma_broad: float) -> np.ndarray:
    """The simulator's matching kernel up to the tenth pass, for comparison."""
    power = np.abs(sharp) ** 2
    ratio = broad * np.conj(sharp) / (power + PSF_RATIO_REGULARISATION)
    gaussian_sigma = math.sqrt(max(sigma_broad ** 2 - sigma_sharp ** 2, 0.0))
    gaussian = gaussian_transfer(sigma_y=gaussian_sigma, sigma_x=gaussian_sigma)
    weight = power / (power + PSF_RATIO_BLEND_POWER)
    return weight * ratio + (1.0 - weight) * gaussian


def _kernel(conditions, *, template: np.ndarray, search: np.ndarray, config: SimulationConfig,  # noqa: ANN001
            setting: float | str) -> np.ndarray:
    """The perfectly modelled kernel of ``conditions`` (PSF transforms ``template``, ``search``):
    fitted at ``setting`` times the simulator's regularisation, or the old PSF ratio
    (``setting == "psf_ratio"``)."""
    convolved, target = (template, search) if conditions.convolves_template else (search, template)
    if setting == "psf_ratio":
        widths = (conditions.template_seeing_fwhm_px, conditions.seeing_fwhm_px)
        convolved_fwhm, target_fwhm = widths if conditions.convolves_template else widths[::-1]
        return psf_ratio_kernel(convolved, target, sigma_sharp=scene._fwhm_to_sigma(convolved_fwhm),
                                sigma_broad=scene._fwhm_to_sigma(target_fwhm))
    regularisation = setting * scene.kernel_fit_regularisation(conditions, config=config)
    return kernel_fit.fit_kernel(convolved, target, regularisation=regularisation)


def kernel_floor(conditions_list: list, *, config: SimulationConfig, setting: float | str = 1.0) -> dict:
    """Residual of a perfectly modelled point source, and the kernel's noise figures, by
    convolved image and what K does to it."""
    rows: dict[str, list] = {}
    source = point_sources_transfer(ys=np.array([CENTER + 0.2]), xs=np.array([CENTER - 0.1]), fluxes=np.array([1.0]))
    for conditions in conditions_list:
        canvas = Canvas(conditions=conditions, config=config, detection_y=CENTER, detection_x=CENTER)
        template_psf, search_psf = _psfs(conditions)
        kernel = _kernel(conditions, template=template_psf, search=search_psf, config=config, setting=setting)
        subtraction = scene._Subtraction(kernel=kernel,
                                         convolve_template=conditions.convolves_template, scale=1.0)
        residual = scene._subtract(subtraction, search_transfer=source * search_psf, template_transfer=source * template_psf)
        alone = scene._subtract(subtraction, search_transfer=source * search_psf, template_transfer=0.0 * source)

        def filter_snr(image: np.ndarray) -> float:
            return scene._detection_snr(image, canvas, center_y=CENTER, center_x=CENTER,
                                        fwhm=conditions.difference_psf[0], noise=1.0)

        power = np.abs(subtraction.kernel) ** 2
        autocorrelation = np.fft.irfft2(power, s=(GRID, GRID))
        autocorrelation = autocorrelation / autocorrelation[0, 0]
        ringing = min(autocorrelation[0, 2:7].min(), autocorrelation[2:7, 0].min())
        image = "template" if conditions.convolves_template else "search"
        rows.setdefault(f"{image}_{'sharpened' if conditions.kernel_sharpens else 'broadened'}", []).append((
            residual[CENTER, CENTER] / alone[CENTER, CENTER], filter_snr(residual) / filter_snr(alone),
            float(power.mean()), autocorrelation[0, 1], autocorrelation[0, 2], ringing,
            scene.kernel_fit_regularisation(conditions, config=config)))
    result = {}
    for name, values in sorted(rows.items()):
        table = np.array(values)
        median = np.median(table, axis=0)
        result[name] = {
            "n": len(values), "centre_ratio_median": round(float(median[0]), 4),
            "centre_ratio_range": [round(float(table[:, 0].min()), 4), round(float(table[:, 0].max()), 4)],
            "filter_ratio_median": round(float(median[1]), 5),
            "filter_ratio_range": [round(float(table[:, 1].min()), 5), round(float(table[:, 1].max()), 5)],
            "noise_gain_median": round(float(median[2]), 4), "lag1_median": round(float(median[3]), 3),
            "lag2_median": round(float(median[4]), 3),
            "ringing_p10_p50": [round(float(np.percentile(table[:, 5], 10)), 3), round(float(median[5]), 3)],
            "regularisation_p10_p50_p90": [float(f"{np.percentile(table[:, 6], q):.3g}") for q in (10, 50, 90)]}
    table = np.array([row for values in rows.values() for row in values])
    result["all"] = {"noise_gain_median": round(float(np.median(table[:, 2])), 4),
                     "lag1_median": round(float(np.median(table[:, 3])), 3),
                     "lag2_median": round(float(np.median(table[:, 4])), 3),
                     "ringing_p10_p50": [round(float(np.percentile(table[:, 5], 10)), 3),
                                         round(float(np.median(table[:, 5])), 3)]}
    return result


def kernel_floors(conditions_list: list, *, config: SimulationConfig, factors: tuple[float, ...]) -> dict:
    """:func:`kernel_floor` for the simulator's kernel, its regularisation times each of
    ``factors``, and the old PSF-ratio kernel."""
    settings: dict[str, float | str] = {"simulator": 1.0, **{f"regularisation_x{factor:g}": factor for factor in factors},
                                        "psf_ratio": "psf_ratio"}
    return {name: kernel_floor(conditions_list, config=config, setting=setting) for name, setting in settings.items()}


def limit_moffat_index(conditions_list: list) -> dict:
    """|limit change| (mag) between the search image's and the broader image's Moffat index."""
    changes = []
    for conditions in conditions_list:
        if conditions.convolves_template:
            continue  # the difference has the search image's PSF: its index was already the right one
        fwhm = conditions.template_seeing_fwhm_px
        changes.append(abs(1.25 * math.log10(effective_area(fwhm=fwhm, beta=conditions.search_beta)
                                             / effective_area(fwhm=fwhm, beta=conditions.template_beta))))
    result = {"conditions": len(conditions_list), "search_convolved_share": round(len(changes) / len(conditions_list), 3)}
    if not changes:
        return {**result, "limit_change_mag_p50_p90_max": None}
    changes = np.array(changes)
    return {**result, "limit_change_mag_p50_p90_max": [round(float(np.percentile(changes, 50)), 3),
                                                       round(float(np.percentile(changes, 90)), 3),
                                                       round(float(changes.max()), 3)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conditions", type=int, default=300, help="drawn conditions for the kernel floor")
    parser.add_argument("--limit-conditions", type=int, default=5000, help="drawn conditions for the limit")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--factors", default="0.1,10", help="multiples of the simulator's fit regularisation to measure")
    parser.add_argument("--convolved-image", choices=CONVOLVED_IMAGES, default=SimulationConfig().convolved_image,
                        help="SimulationConfig.convolved_image")
    args = parser.parse_args()
    config = SimulationConfig(convolved_image=args.convolved_image)
    rng = np.random.default_rng(args.seed)
    conditions_list = [draw_conditions(rng, config=config) for _ in range(args.conditions)]
    factors = tuple(float(value) for value in args.factors.split(","))
    floors = kernel_floors(conditions_list, config=config, factors=factors)
    rng = np.random.default_rng(args.seed + 1)
    limit = limit_moffat_index([draw_conditions(rng, config=config) for _ in range(args.limit_conditions)])
    print(json.dumps({"benchmark": "subtraction_model_checks", "seed": args.seed,
                      "convolved_image": args.convolved_image, "kernel_floor": floors,
                      "limit_moffat_index": limit}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
