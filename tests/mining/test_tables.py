from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from realbogus.mining.tables import (
    CATEGORY_COLUMNS,
    cross_member_placement,
    member_category_table,
    plot_cross_member_placement,
)


def test_category_table_rows_sum_to_100_and_match_counts(ensemble):
    table = member_category_table(
        given_labels=ensemble.given_labels, member_scores=ensemble.member_scores, member_names=ensemble.member_names
    )
    assert list(table["member"]) == list(ensemble.member_names)
    np.testing.assert_allclose(table[list(CATEGORY_COLUMNS)].sum(axis=1), 100.0)
    # Spot-check one member against a direct count of category 6.
    scores = ensemble.member_scores[:, 2]
    expected_cat6 = 100.0 * np.mean((ensemble.given_labels == 0) & (scores >= 0.9))
    assert table.loc[2, "cat6"] == pytest.approx(expected_cat6)
    # Percent of label-1 samples is cat1+cat2+cat3.
    assert table.loc[0, ["cat1", "cat2", "cat3"]].sum() == pytest.approx(100.0 * ensemble.given_labels.mean())


def test_cross_member_placement_small_example():
    given = np.array([1, 1, 0, 0, 0])
    scores = np.array(
        [
            [0.05, 0.02, 0.70],  # A: cat1; B: cat1; C: cat3
            [0.50, 0.05, 0.05],  # A: cat3 (not an outlier of A)
            [0.95, 0.99, 0.40],  # A: cat6; B: cat6; C: cat4
            [0.92, 0.60, 0.10],  # A: cat6; B: cat5; C: cat4
            [0.10, 0.95, 0.95],  # A: cat4
        ]
    )
    placement = cross_member_placement(
        given_labels=given, member_scores=scores, member_names=("A", "B", "C"), reference_members=["A"]
    )
    assert set(placement["other_member"]) == {"B", "C"}
    indexed = placement.set_index(["reference_category", "other_member", "category"])
    assert indexed.loc[(1, "B", 1), "count"] == 1 and indexed.loc[(1, "C", 3), "count"] == 1
    assert indexed.loc[(6, "B", 6), "percent"] == pytest.approx(50.0)
    assert indexed.loc[(6, "B", 5), "percent"] == pytest.approx(50.0)
    assert indexed.loc[(6, "C", 4), "percent"] == pytest.approx(100.0)
    assert (placement.loc[placement["reference_category"] == 6, "n_reference"] == 2).all()
    # Only categories a sample with that label can have appear.
    assert set(placement.loc[placement["reference_category"] == 1, "category"]) == {1, 2, 3}
    assert set(placement.loc[placement["reference_category"] == 6, "category"]) == {4, 5, 6}


def test_placement_percent_sums_to_100_per_group(ensemble):
    placement = cross_member_placement(
        given_labels=ensemble.given_labels, member_scores=ensemble.member_scores, member_names=ensemble.member_names
    )
    n_members = len(ensemble.member_names)
    assert len(placement) == n_members * 2 * (n_members - 1) * 3
    sums = placement.groupby(["reference_member", "reference_category", "other_member"])["percent"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 100.0)
    # Members that agree with the truth mostly agree with each other's strong outliers.
    agree = placement[placement["category"] == placement["reference_category"]]
    assert agree["percent"].mean() > 50.0


def test_placement_with_no_outliers_gives_nan_percent():
    placement = cross_member_placement(
        given_labels=np.array([1, 0]), member_scores=np.array([[0.9, 0.8], [0.1, 0.2]]), member_names=("A", "B")
    )
    assert (placement["n_reference"] == 0).all() and placement["percent"].isna().all()


def test_unknown_reference_member_is_named():
    with pytest.raises(ValueError, match="'Z'"):
        cross_member_placement(
            given_labels=np.array([1, 0]), member_scores=np.array([[0.9], [0.1]]), member_names=("A",),
            reference_members=["Z"],
        )


def test_placement_plot_shows_the_table(ensemble, tmp_path, drawn_figures):
    placement = cross_member_placement(
        given_labels=ensemble.given_labels, member_scores=ensemble.member_scores, member_names=ensemble.member_names,
        reference_members=["model1"],
    )
    path = tmp_path / "placement_model1.png"
    plot_cross_member_placement(placement=placement, reference_member="model1", path=path)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 500
    # What a person reads off the plot: per panel, one bar group per category, one bar per
    # other member, as high as the percent of the reference member's outliers it placed there.
    [figure] = drawn_figures
    others = [name for name in ensemble.member_names if name != "model1"]
    for axis, reference_category, shown in zip(figure.axes, (1, 6), ((1, 2, 3), (4, 5, 6))):
        panel = placement[placement["reference_category"] == reference_category]
        n_reference = int(panel["n_reference"].iloc[0])
        assert n_reference > 0
        assert axis.get_title() == f"model1's category {reference_category} (n={n_reference}) as placed by others"
        assert [label.get_text() for label in axis.get_xticklabels()] == [f"cat {k}" for k in shown]
        assert [bars.get_label() for bars in axis.containers] == others
        for bars, other in zip(axis.containers, others):
            expected = [panel.loc[(panel["other_member"] == other) & (panel["category"] == k), "percent"].item()
                        for k in shown]
            assert [bar.get_height() for bar in bars] == pytest.approx(expected)
    with pytest.raises(ValueError, match="no rows for reference member 'rf'"):
        plot_cross_member_placement(placement=placement, reference_member="rf", path=tmp_path / "x.png")
