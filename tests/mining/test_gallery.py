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


def _panels(figure):
    """(title, [the three stamps as drawn], annotation or None) per drawn panel, in reading order."""
    panels = []
    for panel in figure.subfigs:
        if not panel.axes:
            continue  # a blank panel closing the last line
        # The panel's texts in the order drawn: its title, then the annotation if any.
        title, *rest = [text.get_text() for text in panel.texts]
        annotation = rest[0] if rest else None
        panels.append((title, [axis.get_images()[0].get_array() for axis in panel.axes], annotation))
    return panels


def test_gallery_shows_the_candidates_in_rank_order_with_their_stamps(ensemble, tmp_path, drawn_figures):
    score = ensemble_rank_score(given_labels=ensemble.given_labels, member_scores=ensemble.member_scores)
    rows = select_candidates(rank_score=score, budget=7)
    path = tmp_path / "gallery.png"
    write_candidate_gallery(path=path, candidates_per_line=3, **_gallery_kwargs(ensemble, rows))
    [figure] = drawn_figures
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == tuple(round(inches * 100) for inches in figure.get_size_inches())
    panels = _panels(figure)
    assert len(figure.subfigs) == 9 and len(panels) == 7  # three lines of three, the last with one
    for rank, (row, (title, stamps, annotation)) in enumerate(zip(rows, panels), start=1):
        assert title == candidate_title(rank=rank, detection_id=int(ensemble.ids[row]),
                                        given_label=int(ensemble.given_labels[row]),
                                        member_names=ensemble.member_names, member_scores=ensemble.member_scores[row])
        for channel, stamp in enumerate(stamps):  # template, search, difference, as stored
            np.testing.assert_array_equal(stamp, ensemble.stamps[row, :, :, channel])
        assert annotation is None
    shown_ids = [int(title.split("ID ")[1].split()[0]) for title, _, _ in panels]
    assert shown_ids == ensemble.ids[rows].tolist()


def test_gallery_annotations_change_the_picture_and_are_checked(ensemble, tmp_path, drawn_figures):
    rows = np.array([3, 1])
    plain, annotated = tmp_path / "plain.png", tmp_path / "annotated.png"
    write_candidate_gallery(path=plain, **_gallery_kwargs(ensemble, rows))
    write_candidate_gallery(path=annotated, annotations=["note A", "note B"], **_gallery_kwargs(ensemble, rows))
    assert plain.read_bytes() != annotated.read_bytes()
    assert [annotation for _, _, annotation in _panels(drawn_figures[-1])] == ["note A", "note B"]
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
