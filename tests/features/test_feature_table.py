"""compute_feature_table: many samples at once, in the release's column order."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from realbogus.features import FeatureSettings, compute_feature_table, compute_features
from realbogus.params import config_from_mapping
from realbogus.release.layout import FEATURE_NAMES


def _stack(scenes, n):
    samples, contexts = [], []
    for index in range(n):
        signal = scenes.gaussian(flux=2000.0 * (index + 1))
        samples.append(np.stack(scenes.triplet(difference_signal=signal, seed=index)))
        contexts.append(scenes.context(band="griz"[index % 4], ccdid=index + 1))
    return np.stack(samples), contexts


def test_table_matches_per_sample_features(scenes):
    stamps, contexts = _stack(scenes, 4)
    table = compute_feature_table(stamps, contexts=contexts, ids=[101, 7, 55, 3])
    assert list(table.columns) == list(FEATURE_NAMES)
    assert list(table.index) == [101, 7, 55, 3] and table.index.name == "ID"
    assert list(table["BAND"]) == ["g", "r", "i", "z"]
    assert table.drop(columns="BAND").dtypes.eq(np.float64).all()
    for row in range(4):
        expected = compute_features(*stamps[row], context=contexts[row])
        for name in FEATURE_NAMES:
            value = table.iloc[row][name]
            assert value == expected[name] or (math.isnan(value) and math.isnan(expected[name]))


def test_channels_last_layout_gives_the_same_table(scenes):
    stamps, contexts = _stack(scenes, 2)
    first = compute_feature_table(stamps, contexts=contexts)
    second = compute_feature_table(np.moveaxis(stamps, 1, -1), contexts=contexts,
                                   channels_last=True)
    pd.testing.assert_frame_equal(first, second)
    assert list(first.index) == [0, 1]


def test_table_rejects_wrong_shapes_and_counts(scenes):
    stamps, contexts = _stack(scenes, 2)
    with pytest.raises(ValueError, match=r"\(N, 3, 51, 51\).*\(2, 51, 51, 3\)"):
        compute_feature_table(np.moveaxis(stamps, 1, -1), contexts=contexts)
    with pytest.raises(ValueError, match="1 contexts for 2 samples"):
        compute_feature_table(stamps, contexts=contexts[:1])
    with pytest.raises(ValueError, match="3 ids for 2 samples"):
        compute_feature_table(stamps, contexts=contexts, ids=[1, 2, 3])


def test_table_error_names_the_sample(scenes):
    stamps, contexts = _stack(scenes, 2)
    contexts[1] = scenes.context(band="u")
    with pytest.raises(ValueError, match=r"sample ID 42 \(row 1\): context.band"):
        compute_feature_table(stamps, contexts=contexts, ids=[41, 42])


def test_settings_from_params_rejects_unknown_keys():
    assert config_from_mapping(FeatureSettings, {"aperture_radius_px": 4.0}, where="f").aperture_radius_px == 4.0
    assert config_from_mapping(FeatureSettings, None, where="f") == FeatureSettings()
    with pytest.raises(ValueError, match=r"f: unknown key\(s\) \['aperture_radius'\]"):
        config_from_mapping(FeatureSettings, {"aperture_radius": 4.0}, where="f")
    with pytest.raises(ValueError, match="positive"):
        FeatureSettings(min_area_px=0)
