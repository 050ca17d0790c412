"""How steeply SN Ia fakes crowd the detection limit, and how bright their hosts are, from the SN Ia rate; prints JSON.

The simulator draws an injected fake's magnitude relative to the search image's 5-sigma
limit from an exponential truncated to [fake_mag_from_limit_min, fake_mag_from_limit_max],
densest at the faint end, with e-folding scale ``fake_mag_from_limit_scale`` (docs/
simulation.md, "Non-artifacts").  DES-SN overlaid fake SNe Ia on its search images on every
epoch of their light curves (Kessler et al. 2015), so a sample of the release is one epoch
of one fake, not one supernova.  The simulator also sets a fake's host from the fake: its
magnitude less ``host_over_peak_mag`` and less how far past peak the fake is caught
(``transient_below_peak_mag_scale``, an exponential's mean), both per band.  This script
derives all three instead of assuming them:

* SNe Ia over redshift at the volumetric rate R(z) = 2.6e-5 (1+z)^1.5 per year per Mpc^3
  (Dilday et al. 2010, the rate DES-SN's simulations use), per unit observer time
  R / (1+z) dV/dz, in flat LambdaCDM (H0 70, Omega_m 0.3);
* peak M_B = -19.3 (Vega; -19.39 AB) with a Gaussian spread (``--peak-spread``, stretch
  and colour as well as intrinsic scatter);
* the observed band's magnitude at peak m = M_AB(lambda_band / (1+z)) + mu(z) - 2.5
  log10(1+z) (the K-correction of an AB magnitude), with M_AB(lambda) from the SED
  ``--sed``: ``sn_ia`` (approximate peak colours of a normal SN Ia, U-B -0.3, B-V 0, V-R
  0, V-I -0.3 in Vega magnitudes, a UV falling below 3,600 A; see ``PEAK_SED_AB``) or
  ``flat`` (flat in f_nu: no colour, the bandwidth term only);
* a B-band light curve in rest-frame days from peak (a rise as t^2 over 18 days; 1.1 mag
  in the 15 days after peak, 0.05 mag/day to day 40, 0.015 mag/day after), time-dilated
  by 1+z, observed weekly over a 150-day season in each band;
* each band's 5-sigma limit: the median the simulator draws for it (from
  ``draw_truth_table``), and ``--deeper`` magnitudes deeper for the deep fields' coadds;
* the host at the supernova's redshift and the same rest wavelength: an M_r = -20.5 galaxy
  (the hosts' median stellar mass) with blue-cloud or red-sequence colours
  (``--host-red-fraction`` passive; see ``HOST_BLUE_AB``), so host over peak is their
  rest-frame colour there.

Every epoch whose magnitude lies in the injection range is one injected fake; the scale is
the maximum-likelihood e-folding scale of a truncated exponential over that range, per
band and pooled over the four bands as the release draws them (uniformly).  The local
scale over the last magnitudes above the limit (``--near``) is reported beside it.  The
time past peak and the host over peak are means over the epochs the pipeline detects
(each weighted by the simulator's detection efficiency).

    python benchmarks/sn_ia_fake_counts.py [--supernovae 400000] [--seed 7] [--sed sn_ia|flat]
        [--peak-spread 0.25] [--host-red-fraction 0.3] [--rate-power 1.5] [--deeper 0,1]
"""

from __future__ import annotations

import argparse
import json
import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar

from realbogus.simulate import SimulationConfig
from realbogus.simulate.release import draw_truth_table
from realbogus.simulate.scene import detection_efficiency

SPEED_OF_LIGHT_KM_S = 299_792.458
HUBBLE_KM_S_MPC = 70.0
OMEGA_MATTER = 0.3
# Dilday et al. 2010: SN Ia volumetric rate 2.6e-5 (1+z)^1.5 / yr / Mpc^3 (h70^3).
RATE_NORMALISATION = 2.6e-5
RATE_POWER = 1.5
PEAK_M_B_AB = -19.39  # M_B = -19.3 Vega; B(AB) = B(Vega) - 0.09
# Approximate AB absolute magnitudes of a normal SN Ia at B maximum against rest wavelength
# (Angstrom): U-B -0.3, B-V 0, V-R 0, V-I -0.3 (Vega) with the Vega-to-AB offsets U +0.79,
# B -0.09, V +0.02, R +0.21, I +0.45; the UV falling steeply below U; the near infrared
# fainter than I.  An approximation for a slope, not a template for photometry.
PEAK_SED_AB = ((2500.0, -17.0), (3000.0, -18.0), (3600.0, -18.81), (4450.0, -19.39),
               (5500.0, -19.28), (6500.0, -19.09), (8000.0, -18.55), (9000.0, -18.3),
               (12500.0, -17.7))
# Rest-frame AB absolute magnitudes of an SN Ia host against rest wavelength (Angstrom), at
# M_r = -20.5 (the hosts' median stellar mass, ~10^10.2 solar): approximate SDSS-band colours
# of the blue cloud (u-g 1.2, g-r 0.45, r-i 0.2, i-z 0.1) and of the red sequence (u-g 1.8,
# g-r 0.75, r-i 0.4, i-z 0.3), flat in the UV below u for the blue and falling for the red.
# About a third of SNe Ia are in passive hosts.  Approximations for a mean colour, not SEDs.
HOST_BLUE_AB = ((2500.0, -18.6), (3550.0, -18.85), (4700.0, -20.05), (6200.0, -20.5), (7500.0, -20.7),
                (8900.0, -20.8), (12500.0, -21.0))
HOST_RED_AB = ((2500.0, -16.5), (3550.0, -17.95), (4700.0, -19.75), (6200.0, -20.5), (7500.0, -20.9),
               (8900.0, -21.2), (12500.0, -21.6))
HOST_RED_FRACTION = 0.3
# DECam effective wavelengths (Angstrom).
BAND_WAVELENGTH = {"g": 4800.0, "r": 6400.0, "i": 7800.0, "z": 9200.0}
SEASON_DAYS = 150.0
CADENCE_DAYS = 7.0
RISE_DAYS = 18.0


def cosmology_grid(z_max: float = 2.5, steps: int = 20_000, rate_power: float = RATE_POWER) -> dict[str, np.ndarray]:
    """Comoving distance, distance modulus and the observed SN Ia rate density on a redshift grid."""
    z = np.linspace(1e-4, z_max, steps)
    e = np.sqrt(OMEGA_MATTER * (1.0 + z) ** 3 + 1.0 - OMEGA_MATTER)
    hubble_distance = SPEED_OF_LIGHT_KM_S / HUBBLE_KM_S_MPC
    integrand = 1.0 / e
    comoving = hubble_distance * np.concatenate(
        [[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(z))]) + hubble_distance * z[0]
    luminosity_distance = (1.0 + z) * comoving
    modulus = 5.0 * np.log10(luminosity_distance * 1e6 / 10.0)
    volume_per_z = 4.0 * math.pi * comoving ** 2 * hubble_distance / e
    observed_rate = RATE_NORMALISATION * (1.0 + z) ** rate_power / (1.0 + z) * volume_per_z
    return {"z": z, "modulus": modulus, "observed_rate": observed_rate}


def peak_absolute_ab(rest_wavelength: np.ndarray, sed: str) -> np.ndarray:
    if sed == "flat":
        return np.full_like(rest_wavelength, PEAK_M_B_AB)
    return _interpolate_sed(PEAK_SED_AB, rest_wavelength)


def _interpolate_sed(table: tuple[tuple[float, float], ...], rest_wavelength: np.ndarray) -> np.ndarray:
    return np.interp(np.log(rest_wavelength), np.log([w for w, _ in table]), [m for _, m in table])


def host_absolute_ab(rest_wavelength: np.ndarray, *, red: np.ndarray) -> np.ndarray:
    return np.where(red, _interpolate_sed(HOST_RED_AB, rest_wavelength), _interpolate_sed(HOST_BLUE_AB, rest_wavelength))


def light_curve_offset(rest_days: np.ndarray) -> np.ndarray:
    """Magnitudes below peak at rest-frame days from B maximum (inf before the explosion)."""
    t = np.asarray(rest_days, dtype=float)
    offset = np.full(t.shape, np.inf)
    rising = (t > -RISE_DAYS) & (t <= 0.0)
    offset[rising] = -5.0 * np.log10((t[rising] + RISE_DAYS) / RISE_DAYS)
    early = (t > 0.0) & (t <= 15.0)
    offset[early] = 1.1 / 15.0 * t[early]
    middle = (t > 15.0) & (t <= 40.0)
    offset[middle] = 1.1 + 0.05 * (t[middle] - 15.0)
    late = t > 40.0
    offset[late] = 2.35 + 0.015 * (t[late] - 40.0)
    return offset


class Epochs(NamedTuple):
    """The epochs of a set of supernovae in one band (one entry per epoch after the explosion)."""
    from_limit: np.ndarray       # magnitude minus the limit
    below_peak: np.ndarray       # magnitudes below the supernova's peak
    host_minus_peak: np.ndarray  # the host's magnitude minus the supernova's peak, in this band
    peak_from_limit: np.ndarray  # per supernova: its peak minus the limit


def epochs_from_limit(rng: np.random.Generator, *, supernovae: int, band: str, limit: float, sed: str,
                      peak_spread: float, host_red_fraction: float, grid: dict[str, np.ndarray]) -> Epochs:
    """Weekly epochs of supernovae drawn at the SN Ia rate, seen in ``band`` with 5-sigma ``limit``."""
    cdf = np.cumsum(grid["observed_rate"])
    z = np.interp(rng.random(supernovae) * cdf[-1], cdf, grid["z"])
    modulus = np.interp(z, grid["z"], grid["modulus"])
    rest_wavelength = BAND_WAVELENGTH[band] / (1.0 + z)
    peak_absolute = peak_absolute_ab(rest_wavelength, sed)
    peak = peak_absolute + rng.normal(0.0, peak_spread, supernovae) + modulus - 2.5 * np.log10(1.0 + z) - limit
    # Host and supernova at the same redshift and rest wavelength: the same modulus and
    # bandwidth term, so the difference is their rest-frame colour at that wavelength.
    host_minus_peak = host_absolute_ab(rest_wavelength, red=rng.random(supernovae) < host_red_fraction) - peak_absolute
    # Peaks from well before the season (a fading supernova) to its last night.
    peak_day = rng.uniform(-200.0, SEASON_DAYS, supernovae)
    nights = np.arange(0.0, SEASON_DAYS, CADENCE_DAYS)
    rest_days = (nights[None, :] - peak_day[:, None]) / (1.0 + z[:, None])
    below_peak = light_curve_offset(rest_days)
    epochs = peak[:, None] + below_peak
    seen = np.isfinite(epochs)
    return Epochs(from_limit=epochs[seen], below_peak=below_peak[seen],
                  host_minus_peak=np.broadcast_to(host_minus_peak[:, None], epochs.shape)[seen], peak_from_limit=peak)


def truncated_exponential_scale(values: np.ndarray, low: float, high: float) -> float:
    """Maximum-likelihood e-folding scale of a density exp((u - high) / s) on [low, high]."""
    inside = values[(values >= low) & (values <= high)]
    depth = high - inside
    span = high - low

    def negative_log_likelihood(log_scale: float) -> float:
        s = math.exp(log_scale)
        return float(len(depth) * math.log(s * (1.0 - math.exp(-span / s))) + depth.sum() / s)

    best = minimize_scalar(negative_log_likelihood, bounds=(math.log(0.05), math.log(50.0)), method="bounded")
    return math.exp(best.x)


def detected_weights(epochs: Epochs, low: float, high: float, config: SimulationConfig) -> tuple[np.ndarray, np.ndarray]:
    """The injected epochs (inside [low, high]) and the chance the pipeline detects each."""
    inside = (epochs.from_limit >= low) & (epochs.from_limit <= high)
    nominal_snr = 5.0 * 10.0 ** (-0.4 * epochs.from_limit[inside])
    return inside, np.array([detection_efficiency(snr, config=config) for snr in nominal_snr])


def figures(epochs: Epochs, *, low: float, high: float, near: float, config: SimulationConfig) -> dict[str, float]:
    inside, detected = detected_weights(epochs, low, high, config)
    return {
        "scale_epochs": round(truncated_exponential_scale(epochs.from_limit, low, high), 3),
        "scale_epochs_near_limit": round(truncated_exponential_scale(epochs.from_limit, -near, high), 3),
        "scale_peaks": round(truncated_exponential_scale(epochs.peak_from_limit, low, high), 3),
        "detected_mean_below_peak": round(float(np.average(epochs.below_peak[inside], weights=detected)), 3),
        # host_over_peak_mag's meaning: how much brighter the host is than the supernova at peak.
        "detected_mean_host_over_peak": round(-float(np.average(epochs.host_minus_peak[inside], weights=detected)), 3),
    }


def band_limits(seed: int) -> dict[str, float]:
    truth = draw_truth_table(n=4000, seed=seed)
    return {band: float(group["limiting_mag"].median()) for band, group in truth.groupby("band")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernovae", type=int, default=400_000, help="per band and depth")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sed", choices=("sn_ia", "flat"), default="sn_ia")
    parser.add_argument("--peak-spread", type=float, default=0.25)
    parser.add_argument("--host-red-fraction", type=float, default=HOST_RED_FRACTION)
    parser.add_argument("--rate-power", type=float, default=RATE_POWER, help="R(z) ~ (1+z)^power")
    parser.add_argument("--deeper", default="0,1", help="magnitudes deeper than the shallow limit")
    parser.add_argument("--near", type=float, default=2.0, help="the local fit's magnitudes above the limit")
    args = parser.parse_args()

    config = SimulationConfig()
    low, high = config.fake_mag_from_limit_min, config.fake_mag_from_limit_max
    rng = np.random.default_rng(args.seed)
    grid = cosmology_grid(rate_power=args.rate_power)
    limits = band_limits(args.seed)
    result: dict[str, object] = {
        "benchmark": "sn_ia_fake_counts", "sed": args.sed, "peak_spread": args.peak_spread, "rate_power": args.rate_power,
        "host_red_fraction": args.host_red_fraction,
        "supernovae_per_band": args.supernovae, "seed": args.seed, "injection_range": [low, high],
        "simulator_scale": config.fake_mag_from_limit_scale,
        "simulator_below_peak_mean": dict(config.transient_below_peak_mag_scale),
        "simulator_host_over_peak": dict(config.host_over_peak_mag), "band_limits": limits, "depths": {},
    }
    for deeper in (float(value) for value in args.deeper.split(",")):
        per_band = {}
        for band, limit in limits.items():
            per_band[band] = epochs_from_limit(
                rng, supernovae=args.supernovae, band=band, limit=limit + deeper, sed=args.sed,
                peak_spread=args.peak_spread, host_red_fraction=args.host_red_fraction, grid=grid)
        pooled = Epochs(*(np.concatenate([getattr(e, field) for e in per_band.values()]) for field in Epochs._fields))
        result["depths"][f"limit+{deeper:g}"] = {
            "pooled": figures(pooled, low=low, high=high, near=args.near, config=config),
            "bands": {band: {**figures(e, low=low, high=high, near=args.near, config=config),
                             "epochs_in_range_per_supernova": round(float(
                                 ((e.from_limit >= low) & (e.from_limit <= high)).sum()) / args.supernovae, 3)}
                      for band, e in per_band.items()},
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
