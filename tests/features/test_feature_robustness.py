"""Odd but legitimate stamps give NaN where nothing can be measured; bad input raises."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from realbogus.features import compute_features
from realbogus.release.layout import FEATURE_NAMES

# Features that come from the context alone and so survive any stamp.
_CONTEXT_ONLY = {"BAND", "CCDID", "MIN_DISTANCE_TO_EDGE_IN_NEW"}


def _odd_stamps(scenes):
    sky = np.full((51, 51), 200.0)
    masked = np.full((51, 51), scenes.masked_value)
    return {
        "all masked": (masked, masked, masked),
        "all NaN": (np.full((51, 51), np.nan),) * 3,
        "constant": (sky, sky, np.full((51, 51), 3.0)),
        "all zero": (np.zeros((51, 51)),) * 3,
        "pure noise": scenes.triplet(difference_signal=np.zeros((51, 51)), seed=5),
        "only the centre unmasked": tuple(
            np.where(np.hypot(*np.mgrid[-25:26, -25:26]) < 3, 100.0, scenes.masked_value)
            for _ in range(3)
        ),
        "huge values": tuple(s * 1e30 for s in scenes.triplet(
            difference_signal=scenes.gaussian(flux=5000.0))),
        "negative source": scenes.triplet(difference_signal=-scenes.gaussian(flux=8000.0)),
    }


@pytest.mark.parametrize("case", [
    "all masked", "all NaN", "constant", "all zero", "pure noise", "only the centre unmasked",
    "huge values", "negative source",
])
def test_odd_stamps_never_raise(scenes, case):
    template, search, difference = _odd_stamps(scenes)[case]
    with warnings.catch_warnings():  # nor leak RuntimeWarnings (all-NaN slices, 0/0)
        warnings.simplefilter("error")
        features = compute_features(template, search, difference, context=scenes.context())
    assert tuple(features) == FEATURE_NAMES
    for name, value in features.items():
        if name != "BAND":
            assert isinstance(value, float) and not math.isinf(value), (name, value)


def test_all_masked_stamps_measure_nothing_but_the_mask(scenes):
    masked = np.full((51, 51), scenes.masked_value)
    features = compute_features(masked, masked, masked, context=scenes.context())
    assert features["MASKFRAC"] == 1.0
    unmeasured = set(FEATURE_NAMES) - _CONTEXT_ONLY - {"MASKFRAC", "MAGLIM", "MAGDIFF"}
    for name in unmeasured:
        assert math.isnan(features[name]), name
    # No template source was found, which is exactly what MAGLIM records.
    assert features["MAGLIM"] == 1.0


def test_constant_difference_has_no_detection(scenes):
    sky = np.full((51, 51), 200.0)
    features = compute_features(sky, sky, np.full((51, 51), 3.0), context=scenes.context())
    for name in ("SNR", "MAG", "A_IMAGE", "GAUSS", "N2SIG3", "DIFFSUMRN", "L1"):
        assert math.isnan(features[name]), name
    assert features["MASKFRAC"] == 0.0


def test_pure_noise_has_no_detection_at_the_centre(scenes):
    features = compute_features(*_odd_stamps(scenes)["pure noise"], context=scenes.context())
    assert math.isnan(features["A_IMAGE"]) and math.isnan(features["SNR"])
    assert math.isfinite(features["N2SIG5"]) and math.isfinite(features["COLMEDS"])


@pytest.mark.parametrize("shape", [(50, 51), (51,), (3, 51, 51), (52, 52)])
def test_wrong_shape_names_the_stamp_and_both_shapes(scenes, shape):
    good = np.zeros((51, 51))
    with pytest.raises(ValueError, match=r"search stamp must have shape \(51, 51\).*got") as info:
        compute_features(good, np.zeros(shape), good, context=scenes.context())
    assert str(shape) in str(info.value)


def test_integer_stamp_is_rejected_with_its_dtype(scenes):
    good = np.zeros((51, 51))
    with pytest.raises(ValueError, match=r"difference stamp must hold floating-point.*uint8"):
        compute_features(good, good, np.zeros((51, 51), dtype=np.uint8), context=scenes.context())


def test_unknown_band_is_rejected(scenes):
    good = np.zeros((51, 51))
    with pytest.raises(ValueError, match=r"band must be one of .*'Y'"):
        compute_features(good, good, good, context=scenes.context(band="Y"))


def test_context_must_be_an_observation_context(scenes):
    good = np.zeros((51, 51))
    with pytest.raises(TypeError, match="ObservationContext"):
        compute_features(good, good, good, context={"band": "r"})


def test_inputs_are_not_modified(scenes):
    stamps = scenes.triplet(difference_signal=scenes.gaussian(flux=5000.0))
    stamps[2][:, :10] = scenes.masked_value
    copies = [s.copy() for s in stamps]
    compute_features(*stamps, context=scenes.context())
    for stamp, copy in zip(stamps, copies):
        np.testing.assert_array_equal(stamp, copy)
