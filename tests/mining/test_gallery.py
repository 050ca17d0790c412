from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from realbogus.mining.gallery import candidate_title, write_candidate_gallery
from realbogus.mining.ranking import ensemble_rank_score, select_candidates


def _gallery_kwargs(ensemble, rows):
    return dict(
        stamps=ensemble.stamps, rows=rows, ids=ensemble.ids, given_labels=ensemble.given_labels,
        member_scores=ensemble.member_scores, member_names=ensemble.member_names,
    )


def test_gallery_writes_a_png_of_the_top_candidates(ensemble, tmp_path):
    score = ensemble_rank_score(given_labels=ensemble.given_labels, member_scores=ensemble.member_scores)
    rows = select_candidates(rank_score=score, budget=6)
    path = tmp_path / "gallery.png"
    write_candidate_gallery(path=path, candidates_per_line=3, **_gallery_kwargs(ensemble, rows))
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        pixels = np.asarray(image.convert("L"))
    assert width > height > 200  # two lines of three candidates
    assert pixels.std() > 10  # stamps were drawn, not a blank page


def test_gallery_annotations_change_the_picture_and_are_checked(ensemble, tmp_path):
    rows = np.array([3, 1])
    plain, annotated = tmp_path / "plain.png", tmp_path / "annotated.png"
    write_candidate_gallery(path=plain, **_gallery_kwargs(ensemble, rows))
    write_candidate_gallery(path=annotated, annotations=["note A", "note B"], **_gallery_kwargs(ensemble, rows))
    assert plain.read_bytes() != annotated.read_bytes()
    with pytest.raises(ValueError, match="one per candidate row \\(2\\)"):
        write_candidate_gallery(path=tmp_path / "x.png", annotations=["only one"], **_gallery_kwargs(ensemble, rows))


def test_gallery_refuses_wrong_stamps(ensemble, tmp_path):
    kwargs = _gallery_kwargs(ensemble, np.array([0]))
    with pytest.raises(ValueError, match=r"stamps: stamps have shape \(\d+, 51, 51, 2\); expected \(N, 51, 51, 3\)"):
        write_candidate_gallery(path=tmp_path / "x.png", **{**kwargs, "stamps": ensemble.stamps[:, :, :, :2]})
    with pytest.raises(ValueError, match="uint8"):
        write_candidate_gallery(path=tmp_path / "x.png", **{**kwargs, "stamps": ensemble.stamps.astype(np.float32)})
    with pytest.raises(ValueError, match="one per sample"):
        write_candidate_gallery(path=tmp_path / "x.png", **{**kwargs, "stamps": ensemble.stamps[:-1]})
    with pytest.raises(ValueError, match="no candidates"):
        write_candidate_gallery(path=tmp_path / "x.png", **{**kwargs, "rows": np.array([], dtype=np.int64)})
    assert not (tmp_path / "x.png").exists()


def test_candidate_title_names_everything():
    title = candidate_title(
        rank=3, detection_id=123456, given_label=0, member_names=("model1", "rf"), member_scores=np.array([0.97, 0.5])
    )
    assert "#3" in title and "123456" in title and "given 0 (non-artifact)" in title
    assert "model1 0.970" in title and "rf 0.500" in title
