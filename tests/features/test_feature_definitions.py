"""Each autoScan feature behaves as its definition says on scenes with known truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realbogus.features import FeatureSettings, compute_features
from realbogus.release.layout import (
    FEATURE_NAMES,
    FEATURES_NAN_WITHOUT_TEMPLATE_SOURCE,
    PIXEL_SCALE_ARCSEC,
)


def features_of(scenes, difference_signal, template_signal=None, *, seed=0, **context):
    template, search, difference = scenes.triplet(
        difference_signal=difference_signal, template_signal=template_signal, seed=seed
    )
    return compute_features(template, search, difference, context=scenes.context(**context))


def test_returns_exactly_the_38_features_in_release_order(scenes):
    features = features_of(scenes, scenes.gaussian(flux=5000.0))
    assert tuple(features) == FEATURE_NAMES
    assert len(features) == 38
    assert features["BAND"] == "r"
    assert features["CCDID"] == 12.0
    assert all(isinstance(value, float) for name, value in features.items() if name != "BAND")


@pytest.mark.parametrize("true_mag", [20.0, 21.5])
def test_mag_recovers_injected_moffat_magnitude(scenes, true_mag):
    flux = scenes.flux_of_magnitude(true_mag)
    measured = []
    for seed in range(5):
        features = features_of(
            scenes, scenes.moffat(flux=flux, fwhm_px=scenes.seeing_fwhm_px), seed=seed
        )
        measured.append(features["MAG"])
        error = 2.5 / math.log(10) / features["SNR"]
        assert abs(features["MAG"] - true_mag) < 3 * error + 0.08
    # Kron apertures lose a few percent of a Moffat's wings, never more than ~0.1 mag.
    assert abs(np.mean(measured) - true_mag) < 0.1


def test_mag_needs_the_zeropoint_and_limit_features_need_the_limit(scenes):
    features = features_of(scenes, scenes.gaussian(flux=5000.0), zeropoint=math.nan,
                           limiting_mag=math.nan)
    for name in ("MAG", "MAG_FROM_LIMIT", "MAGDIFF"):
        assert math.isnan(features[name]), name
    assert features["SNR"] > 10  # the measurement itself does not need metadata


def test_mag_from_limit_is_limit_minus_mag(scenes):
    features = features_of(scenes, scenes.gaussian(flux=5000.0))
    assert features["MAG_FROM_LIMIT"] == pytest.approx(scenes.limiting_mag - features["MAG"])


def test_snr_and_diffsumrn_grow_with_flux(scenes):
    snrs, sums = [], []
    for flux in (400.0, 1500.0, 6000.0):
        features = features_of(scenes, scenes.gaussian(flux=flux), seed=3)
        snrs.append(features["SNR"])
        sums.append(features["DIFFSUMRN"])
    assert snrs == sorted(snrs) and snrs[-1] > 5 * snrs[0]
    assert sums == sorted(sums) and sums[0] > 0


def test_round_source_has_small_ellipticity_elongated_source_large(scenes):
    round_features = features_of(scenes, scenes.gaussian(flux=20000.0))
    elongated = features_of(scenes, scenes.gaussian(flux=20000.0, sigma_x=3.6, sigma_y=1.5))
    assert round_features["ELLIPTICITY"] < 0.1
    assert round_features["A_IMAGE"] == pytest.approx(scenes.seeing_sigma_px, rel=0.15)
    assert elongated["ELLIPTICITY"] == pytest.approx(1 - 1.5 / 3.6, abs=0.1)
    assert elongated["A_IMAGE"] > 2 * elongated["B_IMAGE"]


def test_gaussian_fit_recovers_scale_and_unit_amplitude(scenes):
    features = features_of(scenes, scenes.gaussian(flux=30000.0, sigma_x=2.2))
    # AMP and GAUSS are measured on the peak-normalised stamp.
    assert features["SCALE"] == pytest.approx(2.2, rel=0.08)
    assert features["AMP"] == pytest.approx(1.0, abs=0.15)
    dipole = features_of(scenes, scenes.gaussian(flux=30000.0, x=24.0)
                         - scenes.gaussian(flux=30000.0, x=27.0))
    assert dipole["GAUSS"] > 5 * features["GAUSS"]


def test_colmeds_flags_a_bad_column(scenes):
    bad_column = np.zeros((51, 51))
    bad_column[:, 18] = 400.0
    bad_column += scenes.gaussian(flux=3000.0)  # a faint detection beside it
    clean = features_of(scenes, scenes.gaussian(flux=3000.0))
    column = features_of(scenes, bad_column)
    assert column["COLMEDS"] > 0.5
    assert clean["COLMEDS"] < 0.1


def test_dipole_has_negative_pixels_and_a_point_source_none(scenes):
    dipole = scenes.gaussian(flux=12000.0, x=26.5) - scenes.gaussian(flux=12000.0, x=23.5)
    dipole_features = features_of(scenes, dipole)
    point = features_of(scenes, scenes.gaussian(flux=12000.0))
    for name in ("N2SIG3", "N3SIG3", "N2SIG5", "N3SIG5"):
        assert dipole_features[name] >= 2, name
        assert point[name] == 0, name
    assert dipole_features["NUMNEGRN"] > point["NUMNEGRN"] + 5
    # Pixels cancel in a dipole: the L1 ratio is large; a one-signed source keeps it small.
    assert abs(dipole_features["L1"]) > 3 * abs(point["L1"])


def test_negative_counts_are_nested(scenes):
    dipole = scenes.gaussian(flux=8000.0, x=27.0) - scenes.gaussian(flux=8000.0, x=23.0)
    features = features_of(scenes, dipole, seed=7)
    # -3 sigma pixels are a subset of -2 sigma ones; a 5x5 box sits inside the 7x7.
    assert features["N3SIG3"] <= features["N2SIG3"] <= features["N2SIG5"]
    assert features["N3SIG3"] <= features["N3SIG5"] <= features["N2SIG5"]


def test_shift_counts_compare_difference_with_template(scenes):
    transient = scenes.gaussian(flux=10000.0)
    hostless = features_of(scenes, transient)
    on_star = features_of(scenes, transient, template_signal=scenes.gaussian(flux=80000.0))
    for name in ("N2SIG3SHIFT", "N3SIG3SHIFT", "N2SIG5SHIFT", "N3SIG5SHIFT"):
        assert hostless[name] > 0, name  # positive pixels in the difference only
        assert on_star[name] < hostless[name], name


def test_lacosmic_is_high_for_a_single_pixel_spike(scenes):
    spike = np.zeros((51, 51))
    spike[25, 25] = 3000.0
    cosmic = features_of(scenes, spike)
    point = features_of(scenes, scenes.gaussian(flux=20000.0))
    assert cosmic["LACOSMIC"] > 5.0
    assert point["LACOSMIC"] < 3.0


def test_spread_model_separates_point_extended_and_sharp(scenes):
    point = features_of(scenes, scenes.gaussian(flux=40000.0))
    extended = features_of(scenes, scenes.gaussian(flux=40000.0, sigma_x=3.5))
    spike = np.zeros((51, 51))
    spike[25, 25] = 5000.0
    sharp = features_of(scenes, spike)
    assert abs(point["SPREAD_MODEL"]) < 3 * point["SPREADERR_MODEL"] + 0.002
    assert extended["SPREAD_MODEL"] > point["SPREAD_MODEL"] + 5 * extended["SPREADERR_MODEL"]
    assert sharp["SPREAD_MODEL"] < -0.005
    assert point["SPREADERR_MODEL"] > 0


def test_spread_model_needs_the_seeing(scenes):
    features = features_of(scenes, scenes.gaussian(flux=40000.0), seeing_fwhm_px=math.nan)
    assert math.isnan(features["SPREAD_MODEL"]) and math.isnan(features["SPREADERR_MODEL"])


def test_maskfrac_of_a_half_masked_stamp(scenes):
    template, search, difference = scenes.triplet(difference_signal=scenes.gaussian(flux=8000.0))
    difference[:, :20] = scenes.masked_value
    difference[:5, 30:] = np.nan
    features = compute_features(template, search, difference, context=scenes.context())
    assert features["MASKFRAC"] == pytest.approx((51 * 20 + 5 * 21) / 51**2)
    assert features["SNR"] > 10  # the unmasked detection is still measured
    assert math.isfinite(features["COLMEDS"]) and math.isfinite(features["N2SIG5"])


def test_masked_pixels_in_the_aperture_raise_the_incomplete_flag(scenes):
    template, search, difference = scenes.triplet(difference_signal=scenes.gaussian(flux=8000.0))
    clean = compute_features(template, search, difference, context=scenes.context())
    difference[:, 27:] = scenes.masked_value
    truncated = compute_features(template, search, difference, context=scenes.context())
    assert int(clean["FLAGS"]) & 16 == 0
    assert int(truncated["FLAGS"]) & 16


def test_template_features_are_nan_without_a_template_source(scenes):
    features = features_of(scenes, scenes.gaussian(flux=8000.0))
    for name in FEATURES_NAN_WITHOUT_TEMPLATE_SOURCE:
        assert math.isnan(features[name]), name
    assert features["MAGLIM"] == 1.0
    assert features["MAGDIFF"] == pytest.approx(scenes.limiting_mag - features["MAG"])


def test_template_source_gives_reference_magnitude_and_distance(scenes):
    host_mag = 19.5
    host = scenes.gaussian(flux=scenes.flux_of_magnitude(host_mag), sigma_x=2.5, x=29.0, y=22.0)
    features = features_of(scenes, scenes.gaussian(flux=8000.0), template_signal=host)
    assert features["MAGLIM"] == 0.0
    assert features["NN_DIST_RENORM"] == pytest.approx(5.0 * PIXEL_SCALE_ARCSEC, abs=0.1)
    assert features["MAG_REF"] == pytest.approx(host_mag, abs=0.1)
    assert 0 < features["MAG_REF_ERR"] < 0.05
    assert features["A_REF"] == pytest.approx(2.5, rel=0.2)
    assert features["MAGDIFF"] == pytest.approx(features["MAG_REF"] - features["MAG"])


def test_template_source_beyond_five_arcsec_is_not_the_reference(scenes):
    far_star = scenes.gaussian(flux=80000.0, x=25.0 + 6.0 / PIXEL_SCALE_ARCSEC)
    features = features_of(scenes, scenes.gaussian(flux=8000.0), template_signal=far_star)
    assert features["MAGLIM"] == 1.0
    assert math.isnan(features["NN_DIST_RENORM"])


def test_flux_ratio_and_gflux_reflect_the_host(scenes):
    transient = scenes.gaussian(flux=5000.0)
    hostless = features_of(scenes, transient)
    host = scenes.exponential_galaxy(flux=60000.0, scale_px=3.0)
    on_host = features_of(scenes, transient, template_signal=host)
    assert abs(on_host["FLUX_RATIO"]) < 0.3
    assert abs(hostless["FLUX_RATIO"]) > 3
    # GFLUX = (host + transient) / transient flux in the same aperture.
    assert hostless["GFLUX"] == pytest.approx(1.0, abs=0.15)
    assert on_host["GFLUX"] > 5


def test_min_distance_to_edge_uses_the_ccd_position(scenes):
    source = scenes.gaussian(flux=5000.0)
    assert features_of(scenes, source, x_ccd=100.0, y_ccd=3000.0)[
        "MIN_DISTANCE_TO_EDGE_IN_NEW"] == 100.0
    # DECam CCDs are 2048 columns by 4096 rows.
    assert features_of(scenes, source, x_ccd=2000.0, y_ccd=4000.0)[
        "MIN_DISTANCE_TO_EDGE_IN_NEW"] == 48.0
    assert math.isnan(features_of(scenes, source, x_ccd=math.nan)["MIN_DISTANCE_TO_EDGE_IN_NEW"])


def test_unknown_ccd_is_nan(scenes):
    assert math.isnan(features_of(scenes, scenes.gaussian(flux=5000.0), ccdid=-1)["CCDID"])


def test_float32_stamps_give_the_same_features(scenes):
    stamps = scenes.triplet(difference_signal=scenes.gaussian(flux=5000.0))
    as64 = compute_features(*stamps, context=scenes.context())
    as32 = compute_features(*(s.astype(np.float32) for s in stamps), context=scenes.context())
    for name in FEATURE_NAMES:
        if name == "BAND":
            continue
        assert as32[name] == pytest.approx(as64[name], rel=1e-3, abs=1e-3, nan_ok=True), name


def test_features_are_deterministic(scenes):
    stamps = scenes.triplet(difference_signal=scenes.gaussian(flux=5000.0))
    first = compute_features(*stamps, context=scenes.context())
    second = compute_features(*stamps, context=scenes.context())
    for name in FEATURE_NAMES:
        assert first[name] == second[name] or (
            math.isnan(first[name]) and math.isnan(second[name])
        ), name


def test_a_close_neighbour_sets_a_photometry_flag(scenes):
    isolated = features_of(scenes, scenes.gaussian(flux=8000.0))
    pair = features_of(scenes, scenes.gaussian(flux=8000.0)
                       + scenes.gaussian(flux=8000.0, x=30.0, y=27.0))
    assert int(isolated["FLAGS"]) == 0
    # Deblended (2) or a neighbour inside the Kron aperture (1), as SExtractor would say.
    assert int(pair["FLAGS"]) & (1 | 2)


def test_settings_change_what_counts_as_the_reference_source(scenes):
    host = scenes.gaussian(flux=60000.0, x=31.0, y=25.0)
    template, search, difference = scenes.triplet(
        difference_signal=scenes.gaussian(flux=8000.0), template_signal=host
    )
    default = compute_features(template, search, difference, context=scenes.context())
    strict = compute_features(
        template, search, difference, context=scenes.context(),
        settings=FeatureSettings(template_match_radius_arcsec=1.0),
    )
    assert default["MAGLIM"] == 0.0 and default["NN_DIST_RENORM"] == pytest.approx(
        6 * PIXEL_SCALE_ARCSEC, abs=0.1)
    assert strict["MAGLIM"] == 1.0 and math.isnan(strict["A_REF"])
