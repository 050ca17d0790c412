"""benchmarks/picture_psf_sizes.py: the central objects' widths in drawn template and search panels."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from realbogus.release.picture import cut_stamps, draw_page

from script_modules import load_script  # tests/ is on sys.path

SCRIPT = "benchmarks/picture_psf_sizes.py"


def _module():
    return load_script(SCRIPT)


def _panel(fwhm: float, *, peak: float = 255.0, sky: float = 20.0, dx: float = 0.0) -> np.ndarray:
    """A 51x51 display panel: a Gaussian of ``fwhm`` pixels at the centre (peak at ``peak``) on a noisy sky."""
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    yy, xx = np.mgrid[:51, :51]
    source = np.exp(-0.5 * ((yy - 25) ** 2 + (xx - 25 - dx) ** 2) / sigma ** 2)
    noise = np.random.default_rng(int(fwhm * 100 + dx)).normal(0.0, 3.0, (51, 51))
    return np.clip(sky + (peak - sky) * source + noise, 0, 255).astype(np.uint8)


def test_widths_and_their_ratio_survive_the_drawing(tmp_path: Path) -> None:
    sizes = _module()
    diff = np.full((51, 51), 110, np.uint8)
    triplets = [
        (_panel(5.5), _panel(4.0), diff),              # template broader: ratio > 1
        (_panel(4.0), _panel(5.5), diff),              # search broader: ratio < 1
        (_panel(12.0), _panel(12.0), diff),            # an extended galaxy: not a compact pair
        (_panel(5.0), _panel(5.0, peak=50.0), diff),   # a faint search object: not measured
        (_panel(5.0), _panel(5.0, dx=8.0), diff),      # different objects at the peaks: not a pair
    ]
    draw_page(triplets, tmp_path / "page.png")
    measured = sizes.stamp_sizes(cut_stamps(np.asarray(Image.open(tmp_path / "page.png").convert("L"))))

    assert len(measured) == 5
    broad_template, broad_search, galaxy, faint, apart = measured
    assert broad_template["compact_pair"] and broad_template["ratio"] > 1.2
    assert broad_search["compact_pair"] and broad_search["ratio"] < 0.85
    # Widths come back within a pixel of the drawn ones.
    assert abs(broad_template["template_fwhm"] - 5.5) < 1.0 and abs(broad_template["search_fwhm"] - 4.0) < 1.0
    assert galaxy["template_fwhm"] > sizes.MAX_COMPACT and not galaxy["compact_pair"]
    assert math.isnan(faint["search_fwhm"]) and not faint["compact_pair"]
    assert not apart["compact_pair"] and math.isnan(apart["ratio"])
    summary = sizes.summary(measured)
    assert summary["compact_pairs"] == 2 and summary["share_template_at_least_as_broad"] == 0.5


def test_drawn_pages_split_the_triplets_by_page_and_leave_no_file(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    from realbogus.release.picture import COLUMNS_PER_PAGE, drawn_pages

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its scratch folder goes
    diff = np.full((51, 51), 110, np.uint8)
    triplets = [(_panel(4.0 + 0.2 * i), _panel(4.0), diff) for i in range(COLUMNS_PER_PAGE + 3)]
    pages = drawn_pages(triplets)
    assert len(pages) == 2 and all(page.ndim == 2 for page in pages)
    stamps = [cut_stamps(page) for page in pages]
    assert [len(page_stamps) for page_stamps in stamps] == [COLUMNS_PER_PAGE, 3]
    assert list(tmp_path.iterdir()) == []  # the page files went with their folder


def test_simulated_pairs_split_by_the_convolved_image_and_the_object() -> None:
    sizes = _module()
    nan = float("nan")
    stamps = [
        {"compact_pair": True, "ratio": 0.9, "convolved": "template", "object": "residual of a star or galaxy"},
        {"compact_pair": True, "ratio": 1.1, "convolved": "template", "object": "fake on its host"},
        {"compact_pair": True, "ratio": 1.2, "convolved": "search", "object": "residual of a star or galaxy"},
        {"compact_pair": False, "ratio": nan, "convolved": "search", "object": "other"},
    ]
    split = sizes.split_by_convolved_image(stamps)
    template, search = split["template_convolved"], split["search_convolved"]
    assert template["share_of_stamps"] == 0.5 and search["share_of_stamps"] == 0.5
    assert template["compact_pairs"] == 2 and template["share_template_at_least_as_broad"] == 0.5
    assert template["by_object"]["fake on its host"]["share_template_at_least_as_broad"] == 1.0
    assert template["by_object"]["residual of a star or galaxy"]["ratio_p10_p50_p90"] == [0.9, 0.9, 0.9]
    assert search["compact_pairs"] == 1 and search["by_object"]["other"] == {"compact_pairs": 0}


def test_search_width_percentiles_place_each_compact_pair_among_the_simulated() -> None:
    module = _module()
    simulated = [{"compact_pair": True, "search_fwhm": width} for width in (4.0, 5.0, 6.0, 7.0)]
    simulated.append({"compact_pair": False, "search_fwhm": 1.0})  # not a compact pair: not counted
    picture = [{"compact_pair": True, "search_fwhm": 3.5}, {"compact_pair": False, "search_fwhm": 9.0},
               {"compact_pair": True, "search_fwhm": 5.0}]
    assert module.search_width_percentiles(picture, simulated) == [0.0, 0.5]
    assert module.search_width_percentiles(picture, []) == []


def test_config_json_draws_the_simulated_stamps_under_other_knobs(capsys) -> None:
    module = _module()
    def median_search_width(seeing: float) -> float:
        config = module.SimulationConfig(seeing_fwhm_arcsec_range=(seeing, seeing))
        widths = [stamp["search_fwhm"] for stamp in module.simulated_sizes(12, seed=5, config=config)]
        return float(np.nanmedian(widths))

    # The same samples under a fixed sharp and a fixed broad seeing: the search objects follow it.
    assert median_search_width(0.7) < 0.8 * median_search_width(1.8)
    assert module.main(["--simulate", "2", "--seed", "5", "--config-json",
                        '{"seeing_fwhm_arcsec_range": [0.7, 1.4]}']) == 0
    printed = capsys.readouterr().out
    assert '"seeing_fwhm_arcsec_range": [' in printed and '"n": 2' in printed


def test_compact_width_tests_tell_a_shifted_picture_from_a_matching_one() -> None:
    module = _module()
    rng = np.random.default_rng(8)
    simulated = [{"compact_pair": True, "search_fwhm": w, "template_fwhm": w} for w in rng.normal(5.5, 0.5, 300)]
    matching = [{"compact_pair": True, "search_fwhm": w, "template_fwhm": w} for w in rng.normal(5.5, 0.5, 8)]
    sharper = [{"compact_pair": True, "search_fwhm": w, "template_fwhm": w + 1.5} for w in rng.normal(4.0, 0.2, 8)]
    assert module.compact_width_tests(matching, simulated)["search_fwhm"]["ks_p"] > 0.05
    shifted = module.compact_width_tests(sharper + [{"compact_pair": False, "search_fwhm": 5.5,
                                                     "template_fwhm": 5.5}], simulated)
    assert shifted["search_fwhm"]["ks_p"] < 0.01 and shifted["search_fwhm"]["anderson_darling_p"] < 0.01
    assert shifted["template_fwhm"]["ks_p"] > shifted["search_fwhm"]["ks_p"]
    assert module.compact_width_tests(matching[:1], simulated) == {}


def test_config_json_that_is_not_an_object_of_knobs_is_refused_with_its_name(capsys) -> None:
    module = _module()
    for bad in ("{seeing", "[0.7, 1.4]"):
        with pytest.raises(SystemExit):
            module.main(["--simulate", "1", "--config-json", bad])
        assert "--config-json must be a JSON object" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        module.main(["--simulate", "1", "--config-json", '{"seeing_range": [1, 2]}'])
    assert "--config-json: unknown key(s) ['seeing_range']" in capsys.readouterr().err
