"""Reading the candidate list and stamps; rendering a stamp."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from realbogus.review.candidates import load_candidates, load_stamps
from realbogus.review.render import stamp_png

from .conftest import ReviewInputs


def test_candidates_come_in_rank_order_with_members_and_md5_version(review_inputs: ReviewInputs) -> None:
    candidates = load_candidates(path=review_inputs.candidates)
    assert candidates.members == ("model1", "model2", "rf")
    expected_order = review_inputs.table.sort_values("rank")["id"].tolist()
    assert candidates.ids.tolist() == expected_order
    assert candidates.version == hashlib.md5(review_inputs.candidates.read_bytes()).hexdigest()
    stamps = load_stamps(path=review_inputs.stamps, candidates=candidates)
    assert stamps.shape == review_inputs.stamp_array.shape
    assert isinstance(stamps, np.memmap)  # not read into memory


def _rewrite(inputs: ReviewInputs, change) -> Path:
    table = inputs.table.copy()
    table = change(table)
    table.to_csv(inputs.candidates, index=False)
    return inputs.candidates


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns=["row"]), r"missing column\(s\) \['row'\]"),
        (lambda t: t.drop(columns=["cat_rf"]), r"member\(s\) \['rf'\] lack"),
        (lambda t: t.assign(id=[t["id"].iloc[0]] * len(t)), "listed twice"),
        (lambda t: t.assign(given_label=2), "given_label must be 1"),
        (lambda t: t.assign(score_model1=1.5), r"score_model1 must be an artifact score in \[0, 1\]"),
        (lambda t: t.assign(cat_model2=7), "cat_model2 must be a category 1..6"),
        (lambda t: t.assign(row=["x"] * len(t)), "column 'row' must hold integers"),
        (lambda t: t.iloc[:0], "holds no candidates"),
    ],
)
def test_bad_candidate_lists_name_the_file_and_problem(review_inputs: ReviewInputs, change, message) -> None:
    path = _rewrite(review_inputs, change)
    with pytest.raises(ValueError, match=message) as error:
        load_candidates(path=path)
    assert str(path) in str(error.value)


def test_rows_outside_the_stamp_array_and_bad_arrays_are_refused(review_inputs: ReviewInputs, tmp_path: Path) -> None:
    _rewrite(review_inputs, lambda t: t.assign(row=t["row"].where(t.index > 0, 20)))
    candidates = load_candidates(path=review_inputs.candidates)
    with pytest.raises(ValueError, match=r"has row 20, outside the 20 stamps"):
        load_stamps(path=review_inputs.stamps, candidates=candidates)
    wrong_shape = tmp_path / "wrong.npy"
    np.save(wrong_shape, np.zeros((30, 51, 51), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"shape \(30, 51, 51\); expected \(N, 51, 51, 3\) uint8"):
        load_stamps(path=wrong_shape, candidates=candidates)
    wrong_type = tmp_path / "float.npy"
    np.save(wrong_type, np.zeros((30, 51, 51, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="dtype float32"):
        load_stamps(path=wrong_type, candidates=candidates)
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        load_stamps(path=tmp_path / "missing.npy", candidates=candidates)


def test_stamp_png_is_a_nearest_neighbour_enlargement() -> None:
    stamp = np.random.default_rng(0).integers(0, 256, size=(51, 51), dtype=np.uint8)
    image = np.asarray(Image.open(io.BytesIO(stamp_png(stamp=stamp, upscale=3))))
    assert image.shape == (153, 153)
    # Every 3x3 block is one original pixel, unblurred.
    np.testing.assert_array_equal(image[::3, ::3], stamp)
    np.testing.assert_array_equal(image[2::3, 1::3], stamp)
    with pytest.raises(ValueError, match="2-D uint8"):
        stamp_png(stamp=stamp.astype(float))
