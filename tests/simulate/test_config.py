from __future__ import annotations

import pytest

from realbogus.simulate import SimulationConfig
from realbogus.simulate.config import knobs_from_json
from script_modules import load_script  # tests/ is on sys.path


def test_from_mapping_merges_weight_tables_and_refuses_typos() -> None:
    config = SimulationConfig.from_mapping({"artifact_type_weights": {"dipole": 0.5}, "host_fraction": 0.3,
                                            "seeing_fwhm_arcsec_range": [1.0, 1.5]})
    weights = dict(config.artifact_type_weights)
    assert weights["dipole"] == 0.5 and weights["noise_peak"] == dict(SimulationConfig().artifact_type_weights)["noise_peak"]
    assert config.seeing_fwhm_arcsec_range == (1.0, 1.5)
    with pytest.raises(ValueError, match="simulate.config: unknown key.*host_fractoin"):
        SimulationConfig.from_mapping({"host_fractoin": 0.3})


def test_per_band_knobs_take_one_number_for_every_band_or_a_table_merged_band_by_band() -> None:
    one_number = SimulationConfig(host_over_peak_mag=0.7, transient_below_peak_mag_scale=1)
    assert dict(one_number.host_over_peak_mag) == {"g": 0.7, "r": 0.7, "i": 0.7, "z": 0.7}
    assert one_number.band_value("transient_below_peak_mag_scale", "z") == 1.0
    from_params = SimulationConfig.from_mapping({"host_over_peak_mag": {"g": 0.0, "z": 1.95}})
    default = dict(SimulationConfig().host_over_peak_mag)
    assert dict(from_params.host_over_peak_mag) == {**default, "g": 0.0, "z": 1.95}
    # Scalars from params.yaml (the knobs' earlier form) still work.
    assert SimulationConfig.from_mapping({"host_over_peak_mag": 1.2}).band_value("host_over_peak_mag", "i") == 1.2


def test_a_renamed_key_says_what_replaced_it() -> None:
    with pytest.raises(ValueError, match="template_seeing_fwhm_arcsec_range is now template_epoch_seeing_fwhm_arcsec_range"):
        SimulationConfig.from_mapping({"template_seeing_fwhm_arcsec_range": [0.85, 1.3]})


@pytest.mark.parametrize("kwargs, message", [
    (dict(artifact_fraction=1.0), "artifact_fraction"),
    (dict(artifact_type_weights=(("dipoles", 1.0),)), "unknown name"),
    (dict(seeing_fwhm_arcsec_range=(2.0, 1.0)), "seeing_fwhm_arcsec_range"),
    (dict(psf_shape_error=-0.01), "psf_shape_error must be >= 0"),
    (dict(source_psf_shape_error_sigma=-0.04), "source_psf_shape_error_sigma must be >= 0"),
    (dict(convolved_image="search"), r"convolved_image must be one of \['template', 'sharper'\], got 'search'"),
    (dict(transient_below_peak_mag_scale=-0.5), "transient_below_peak_mag_scale must be >= 0 in every band"),
    (dict(host_over_peak_mag=(("g", 0.0), ("r", 0.5))), r"host_over_peak_mag: no value for band\(s\) \['i', 'z'\]"),
])
def test_bad_config_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimulationConfig(**kwargs)


def test_cosmic_rays_need_a_visit_whose_median_keeps_them() -> None:
    # Every visit a median of three or more: a cosmic ray could never be detected.
    every_visit_three = {"search_exposures_shallow": {"g": 3, "r": 3, "i": 3, "z": 3}}
    with pytest.raises(ValueError, match="cosmic_ray.*at least 3 search exposures"):
        SimulationConfig.from_mapping(every_visit_three)
    # Without cosmic rays the same visits are fine.
    SimulationConfig.from_mapping({**every_visit_three, "artifact_type_weights": {"cosmic_ray": 0.0}})


@pytest.mark.parametrize("text, message", [
    ("{seeing: 1}", "--config-json must be a JSON object of SimulationConfig knobs: Expecting property name"),
    ("[1, 2]", "--config-json must be a JSON object of SimulationConfig knobs, got '\\[1, 2\\]'"),
    ('{"seeing_range": [1, 2]}', "--config-json: unknown key\\(s\\) \\['seeing_range'\\]"),
])
def test_knobs_given_as_json_text_that_are_not_an_object_of_known_knobs_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        knobs_from_json(text, where="--config-json")


def test_knobs_given_as_json_text_come_back_as_given() -> None:
    assert knobs_from_json('{"host_fraction": 0.5, "seeing_fwhm_arcsec_range": [1.0, 1.5]}', where="x") == \
        {"host_fraction": 0.5, "seeing_fwhm_arcsec_range": [1.0, 1.5]}


@pytest.mark.parametrize("script", ["benchmarks/bench_simulate.py", "benchmarks/bench_realism.py"])
def test_the_simulating_benchmarks_refuse_bad_config_json_before_simulating(script: str, monkeypatch, capsys) -> None:
    module = load_script(script)
    monkeypatch.setattr("sys.argv", [script, "--config-json", "[1, 2]"])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 2
    assert "--config-json must be a JSON object of SimulationConfig knobs, got '[1, 2]'" in capsys.readouterr().err
