"""How much a release behaves like the real DES-SN release: the `realism` stage's work.

Four comparisons, each against figures recorded from the real release
(``realbogus.release.reference``, ``realbogus.metrics.GOLDSTEIN_2015_POINTS``):

* pixels: the GIF pixel table (background, noise, their ratio, clipped shares per
  channel; ``realbogus.release.pixel_statistics``) beside the real one, with the checks
  "median inside the real p10-p90" and "background spread at least half the real one";
* difficulty: the forest's FPR at MDR 0.03 / 0.04 / 0.05 on the test split beside
  Goldstein et al. 2015's points;
* strongly misclassified: per member, the share of test samples in categories 1 + 6
  (Ayyar et al. 2022: 0.24-0.67 % per model);
* mislabels: among the test samples at least two members strongly misclassify, the share
  truly mislabelled (Ayyar et al.: about 90 % of those inspected) -- only where a truth
  table exists (a simulated release); a real release reports counts only.

Inputs are arrays and tables; the stage (``stages/realism.py``) reads and writes files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.metrics import (
    GOLDSTEIN_2015_POINTS,
    auc,
    categories,
    fpr_at_mdr,
    fpr_at_mdr_interval,
    fpr_at_mdr_key,
    share_interval,
)
from realbogus.stage_tables import write_json
from realbogus.release.layout import CHANNELS
from realbogus.release.pixel_statistics import pixel_table
from realbogus.release.reference import (
    AYYAR_2022_STRONGLY_MISCLASSIFIED_SHARE,
    REAL_FRACTION_AT_255_OUTSIDE_TICKS,
    REAL_GIF_STATISTICS,
)

STRONG_CATEGORIES = (1, 6)
MDR_TARGETS: tuple[float, ...] = tuple(mdr for mdr, _ in GOLDSTEIN_2015_POINTS)
# Below this share of non-tick pixels at 255 a release has no clipped blobs (real: 0.3 %).
MAX_FRACTION_AT_255_OUTSIDE_TICKS = 0.01
CHECKED_FIGURES = ("background", "noise", "background_over_noise")


# ------------------------------------------------------------------------------- pixels


def pixel_comparison(stamps: np.ndarray) -> dict[str, Any]:
    """The release's GIF pixel table beside the real one, with pass/fail checks.

    stamps: (n, 51, 51, 3) uint8 in (template, search, difference) order.
    Returns ``{channel: {"release": table, "real": table, "checks": {name: bool}}}`` plus
    ``"all_checks_pass"``.  Checks per channel: the median of background, noise and their
    ratio inside the real [p10, p90]; the p10-p90 spread of the background at least half
    the real spread; and, over all channels, non-tick pixels at 255 below 1 %.
    """
    table = pixel_table(stamps)
    result: dict[str, Any] = {}
    passes = []
    for channel in CHANNELS:
        ours, real = table[channel], REAL_GIF_STATISTICS[channel]
        checks: dict[str, bool] = {}
        for figure in CHECKED_FIGURES:
            median = ours[figure][1]
            low, _, high = real[figure]
            checks[f"{figure}_median_inside_real_p10_p90"] = bool(median is not None and low <= median <= high)
        spread = _spread(ours["background"])
        real_spread = _spread(real["background"])
        checks["background_spread_at_least_half_real"] = bool(spread is not None and spread >= 0.5 * real_spread)
        checks["fraction_at_255_outside_ticks_below_1pc"] = bool(
            ours["fraction_at_255_outside_ticks"] is not None
            and ours["fraction_at_255_outside_ticks"] < MAX_FRACTION_AT_255_OUTSIDE_TICKS)
        result[channel] = {"release": ours, "real": {**real, "fraction_at_255_outside_ticks":
                                                     REAL_FRACTION_AT_255_OUTSIDE_TICKS},
                           "checks": checks}
        passes.extend(checks.values())
    result["all_checks_pass"] = bool(all(passes))
    return result


def _spread(percentiles: Sequence[float | None]) -> float | None:
    low, _, high = percentiles
    return None if low is None or high is None else float(high - low)


def pixel_rows(comparison: Mapping[str, Any]) -> pd.DataFrame:
    """``pixel_comparison`` as a flat table: one row per (channel, figure), release beside real."""
    rows = []
    for channel in CHANNELS:
        entry = comparison[channel]
        for figure in (*CHECKED_FIGURES, "peak"):
            ours, real = entry["release"][figure], entry["real"][figure]
            rows.append({"channel": channel, "figure": figure,
                         "release_p10": ours[0], "release_p50": ours[1], "release_p90": ours[2],
                         "real_p10": real[0], "real_p50": real[1], "real_p90": real[2]})
        for figure in ("fraction_at_0", "fraction_at_255", "fraction_at_255_outside_ticks"):
            rows.append({"channel": channel, "figure": figure, "release_p50": entry["release"][figure],
                         "real_p50": entry["real"][figure]})
    return pd.DataFrame(rows, columns=["channel", "figure", "release_p10", "release_p50", "release_p90",
                                       "real_p10", "real_p50", "real_p90"])


# ------------------------------------------------------------------------- classifiers


def _test_rows(scores: pd.DataFrame, split: str | None) -> pd.DataFrame:
    return scores if split is None else scores[scores["split"] == split]


def _truth_labels(ids: np.ndarray, truth: pd.DataFrame | None) -> np.ndarray | None:
    if truth is None or truth.empty:
        return None
    indexed = truth.set_index("id")["true_label"]
    missing = np.setdiff1d(ids, indexed.index.to_numpy())
    if missing.size:
        raise ValueError(f"the truth table has no row for {missing.size} scored id(s), e.g. {missing[:5].tolist()}")
    return indexed.loc[ids].to_numpy().astype(np.int8)


def member_figures(*, scores: pd.DataFrame, truth: pd.DataFrame | None = None,
                   split: str | None = "test") -> dict[str, float | int | None]:
    """One member's difficulty figures on ``split`` of its ``scores`` (id, split, label, artifact_score).

    Keys: ``n``, ``auc``, ``fpr_at_mdr_<m>`` for m in 0.03 / 0.04 / 0.05 against the given
    labels (the ``label`` column: what the member trained on) with ``fpr_at_mdr_<m>_low`` /
    ``_high``, its 90 % interval from the split's sampling (``metrics.fpr_at_mdr_interval``,
    seeded: on a 4,000-sample split an FPR of 3.1 % at MDR 0.05 spans 2.3-3.9 %), the same
    figures with a ``truth_`` prefix against ``truth`` (id, true_label) when given (no
    interval), and ``strongly_misclassified_share``
    (categories 1 + 6 as a share of the samples, not percent) with its 90 % interval
    (``_low`` / ``_high``, ``metrics.share_interval``).  With the truth also its part
    that is mislabelled (``strongly_misclassified_mislabelled_share``, of the samples) and
    ``mislabelled_strongly_contradicted``: the share of the split's mislabelled samples the
    member puts in category 1 or 6.  That share times the noise rate is a floor under
    ``strongly_misclassified_share``: the paper's 0.24-0.67 % per model, below its 0.82 %
    changed labels, says its models strongly contradicted fewer of their mislabels.
    """
    chosen = _test_rows(scores, split)
    labels = chosen["label"].to_numpy().astype(np.int8)
    stored_score = chosen["artifact_score"].to_numpy()
    score = stored_score.astype(np.float64)
    figures: dict[str, float | int | None] = {"n": int(len(chosen))}
    judged = {"": labels}
    true = _truth_labels(chosen["id"].to_numpy(), truth)
    if true is not None:
        judged["truth_"] = true
    # The ROC figures need both classes among the judged labels; None where one is missing.
    has_both = {prefix: 0 < judged_labels.sum() < judged_labels.size for prefix, judged_labels in judged.items()}
    for prefix, judged_labels in judged.items():
        both = has_both[prefix]
        figures[f"{prefix}auc"] = float(auc(labels=judged_labels, artifact_score=score)) if both else None
        for target in MDR_TARGETS:
            value = fpr_at_mdr(labels=judged_labels, artifact_score=score, mdr=target) if both else None
            figures[f"{prefix}{fpr_at_mdr_key(target)}"] = None if value is None else float(value)
    # How far the split's sampling alone moves the figures set beside Goldstein's points.
    intervals = fpr_at_mdr_interval(labels=labels, artifact_score=score, mdr=MDR_TARGETS) if has_both[""] else None
    for k, target in enumerate(MDR_TARGETS):
        for end, name in enumerate(("low", "high")):
            figures[f"{fpr_at_mdr_key(target)}_{name}"] = None if intervals is None else float(intervals[k, end])
    # The categories at the stored precision, as the evaluate stage's table counts them: a float32
    # score of 0.9 is category 6 there, and would fall to 5 once widened to float64 (0.8999999762).
    strong = np.isin(categories(labels=labels, artifact_score=stored_score), STRONG_CATEGORIES)
    figures["strongly_misclassified_share"] = float(strong.mean()) if strong.size else None
    strong_interval = share_interval(int(strong.sum()), int(strong.size))
    figures["strongly_misclassified_share_low"] = None if strong_interval is None else strong_interval[0]
    figures["strongly_misclassified_share_high"] = None if strong_interval is None else strong_interval[1]
    if true is not None:
        mislabelled = true != labels
        figures["strongly_misclassified_mislabelled_share"] = (float((strong & mislabelled).mean())
                                                               if strong.size else None)
        figures["mislabelled_strongly_contradicted"] = (float(strong[mislabelled].mean())
                                                        if mislabelled.any() else None)
    return figures


def strong_votes(*, scores_by_member: Mapping[str, pd.DataFrame], split: str | None = "test") -> pd.DataFrame:
    """Per sample that every member scored on ``split`` (index id): its given ``label`` and, per
    member (a column named after it), whether that member puts it in category 1 or 6."""
    frames = []
    for member, scores in scores_by_member.items():
        chosen = _test_rows(scores, split)
        strong = np.isin(categories(labels=chosen["label"].to_numpy().astype(np.int8),
                                    artifact_score=chosen["artifact_score"].to_numpy()), STRONG_CATEGORIES)
        frames.append(pd.DataFrame({"id": chosen["id"].to_numpy(), "label": chosen["label"].to_numpy(),
                                    member: strong}).set_index("id"))
    joined = frames[0]
    for frame in frames[1:]:
        joined = joined.join(frame.drop(columns="label"), how="inner")
    return joined


def strongly_misclassified_by_several(*, scores_by_member: Mapping[str, pd.DataFrame],
                                      truth: pd.DataFrame | None = None, min_members: int = 2,
                                      split: str | None = "test") -> dict[str, Any]:
    """The samples at least ``min_members`` members put in category 1 or 6, and how many are mislabelled.

    Only samples every member scored on ``split`` count (members trained on the same split
    share their test samples).  Returns ``n_samples`` (the common samples), ``n_flagged``,
    ``flagged_share`` and, with a truth table, ``n_flagged_mislabelled`` and
    ``mislabelled_share`` (None when nothing was flagged) with its 90 % interval
    (``mislabelled_share_low`` / ``_high``, ``metrics.share_interval``: a few dozen flags know
    it to about +-10 points), plus ``n_mislabelled`` among the
    common samples and ``recall`` (flagged mislabelled / all mislabelled).
    """
    if len(scores_by_member) < min_members:
        raise ValueError(f"need at least {min_members} members' scores, got {sorted(scores_by_member)}")
    joined = strong_votes(scores_by_member=scores_by_member, split=split)
    votes = joined[list(scores_by_member)].sum(axis=1).to_numpy()
    flagged = votes >= min_members
    result: dict[str, Any] = {"min_members": min_members, "members": list(scores_by_member),
                              "n_samples": int(len(joined)), "n_flagged": int(flagged.sum()),
                              "flagged_share": float(flagged.mean()) if len(joined) else None}
    true = _truth_labels(joined.index.to_numpy(), truth)
    if true is not None:
        mislabelled = true != joined["label"].to_numpy().astype(np.int8)
        result["n_mislabelled"] = int(mislabelled.sum())
        result["n_flagged_mislabelled"] = int((flagged & mislabelled).sum())
        result["mislabelled_share"] = (float((flagged & mislabelled).sum() / flagged.sum())
                                       if flagged.any() else None)
        interval = share_interval(int((flagged & mislabelled).sum()), int(flagged.sum()))
        result["mislabelled_share_low"] = None if interval is None else interval[0]
        result["mislabelled_share_high"] = None if interval is None else interval[1]
        result["recall"] = float((flagged & mislabelled).sum() / mislabelled.sum()) if mislabelled.any() else None
    return result


def paper_ranges() -> dict[str, Any]:
    """The published figures the classifier comparisons stand beside."""
    return {"goldstein_2015_forest": {fpr_at_mdr_key(mdr): fpr for mdr, fpr in GOLDSTEIN_2015_POINTS},
            "ayyar_2022_strongly_misclassified_share": list(AYYAR_2022_STRONGLY_MISCLASSIFIED_SHARE)}


# ------------------------------------------------------------------------------ the report

PIXEL_TABLE_FILE = "pixel_table.csv"
PIXEL_HISTOGRAMS_FILE = "pixel_histograms.csv"
PIXEL_FIGURE_FILE = "pixel_histograms.png"
MEMBERS_FILE = "members.csv"
FOREST_ROC_FILE = "roc_forest.csv"
FOREST_ROC_FIGURE_FILE = "roc_forest.png"
METRICS_FILE = "metrics.json"
HISTOGRAM_BINS = np.arange(0, 257, 4)


def sample_rows(n_rows: int, *, max_rows: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices: all rows, or a seeded random ``max_rows`` of them (big releases)."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows}")
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=max_rows, replace=False))


def write_pixel_histograms(stamps: np.ndarray, *, out_dir: Path) -> None:
    """Histograms of the per-stamp background and noise per channel, real p10-p90 shaded (CSV + PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from realbogus.plots import save_figure
    from realbogus.release.layout import CHANNEL_NAMES
    from realbogus.release.pixel_statistics import stamp_statistics

    figure = Figure(figsize=(10.0, 5.5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, len(CHANNELS))
    rows = []
    for column, channel in enumerate(CHANNELS):
        per_stamp = stamp_statistics(np.asarray(stamps[..., column]))
        for row, figure_name in enumerate(("background", "noise")):
            values = getattr(per_stamp, figure_name)
            counts, edges = np.histogram(values[np.isfinite(values)], bins=HISTOGRAM_BINS)
            rows += [{"channel": channel, "figure": figure_name, "bin_low": int(low), "bin_high": int(high),
                      "count": int(count)} for low, high, count in zip(edges[:-1], edges[1:], counts)]
            axis = axes[row, column]
            axis.stairs(counts / max(counts.sum(), 1), edges, fill=True, alpha=0.6, label="this release")
            low, median, high = REAL_GIF_STATISTICS[channel][figure_name]
            axis.axvspan(low, high, color="tab:orange", alpha=0.2, label="real p10-p90")
            axis.axvline(median, color="tab:orange", linewidth=1.5, label="real median")
            axis.set_title(f"{CHANNEL_NAMES[channel]}: {figure_name}", fontsize=9)
            axis.set_xlim(0, 256)
            axis.set_xlabel("GIF value (0..255)", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    with atomic_path(out_dir / PIXEL_HISTOGRAMS_FILE) as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False, lineterminator="\n")
    save_figure(figure, out_dir / PIXEL_FIGURE_FILE)


def write_forest_roc(*, scores: pd.DataFrame, truth: pd.DataFrame | None, out_dir: Path, name: str) -> None:
    """The forest's test ROC (FPR vs MDR; given labels, and the truth if known) with Goldstein's points."""
    from realbogus.evaluation import thin_curve_indices
    from realbogus.metrics import roc_curve
    from realbogus.plots import plot_roc_fpr_mdr

    test = _test_rows(scores, "test")
    score = test["artifact_score"].to_numpy()
    judged = {f"{name}, given labels": test["label"].to_numpy()}
    true = _truth_labels(test["id"].to_numpy(), truth)
    if true is not None:
        judged[f"{name}, truth"] = true
    curves, frames = {}, []
    for label_name, labels in judged.items():
        curve = roc_curve(labels=labels, artifact_score=score)
        curves[label_name] = curve
        kept = thin_curve_indices(x=curve.fpr, y=curve.tpr, max_points=400)
        frames.append(pd.DataFrame({"judged_by": label_name.split(", ")[-1], "mdr": curve.mdr[kept],
                                    "fpr": curve.fpr[kept], "threshold": curve.thresholds[kept]}))
    with atomic_path(out_dir / FOREST_ROC_FILE) as temporary:
        pd.concat(frames).to_csv(temporary, index=False, lineterminator="\n", float_format="%.6g")
    plot_roc_fpr_mdr(curves=curves, path=out_dir / FOREST_ROC_FIGURE_FILE,
                     title=f"{name} on this release's test split vs Goldstein et al. 2015 (real release)")


def realism_report(*, stamps: np.ndarray, scores_by_member: Mapping[str, pd.DataFrame],
                   truth: pd.DataFrame | None, out_dir: str | os.PathLike[str], forest: str = "rf",
                   min_members: int = 2) -> dict[str, Any]:
    """Write the realism report to ``out_dir`` and return its metrics (also in ``metrics.json``).

    stamps: (n, 51, 51, 3) uint8 GIF stamps (a sample of the release is enough).
    scores_by_member: member -> its ``scores.parquet`` table (id, split, label, artifact_score).
    truth: the simulated truth (id, true_label), or None / empty for a real release.
    forest: the member whose ROC is drawn against Goldstein's points (skipped if absent).
    """
    output = Path(out_dir)
    output.mkdir(parents=True, exist_ok=True)
    if truth is not None and truth.empty:
        truth = None
    pixels = pixel_comparison(stamps)
    with atomic_path(output / PIXEL_TABLE_FILE) as temporary:
        pixel_rows(pixels).to_csv(temporary, index=False, lineterminator="\n", float_format="%.4g")
    write_pixel_histograms(stamps, out_dir=output)
    members = {member: member_figures(scores=scores, truth=truth) for member, scores in scores_by_member.items()}
    if members:
        with atomic_path(output / MEMBERS_FILE) as temporary:
            pd.DataFrame([{"member": member, **figures} for member, figures in members.items()]).to_csv(
                temporary, index=False, lineterminator="\n", float_format="%.6g")
    if forest in scores_by_member:
        write_forest_roc(scores=scores_by_member[forest], truth=truth, out_dir=output, name=forest)
    metrics: dict[str, Any] = {
        "truth_available": truth is not None, "n_stamps_measured": int(len(stamps)),
        "pixels": {channel: {"background_p50": pixels[channel]["release"]["background"][1],
                             "noise_p50": pixels[channel]["release"]["noise"][1],
                             "background_p10": pixels[channel]["release"]["background"][0],
                             "background_p90": pixels[channel]["release"]["background"][2],
                             "background_over_noise_p50": pixels[channel]["release"]["background_over_noise"][1],
                             "fraction_at_255_outside_ticks":
                                 pixels[channel]["release"]["fraction_at_255_outside_ticks"],
                             "checks_pass": all(pixels[channel]["checks"].values())}
                   for channel in CHANNELS},
        "pixels_all_checks_pass": pixels["all_checks_pass"],
        "members": members,
        "paper": paper_ranges(),
    }
    if len(scores_by_member) >= min_members:
        metrics["strongly_misclassified_by_several"] = strongly_misclassified_by_several(
            scores_by_member=scores_by_member, truth=truth, min_members=min_members)
    write_json(metrics, output / METRICS_FILE)
    return metrics


def flat_numbers(metrics: Mapping[str, Any], *, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a nested metrics dict as ``a.b.c`` -> float (for MLflow)."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_numbers(value, prefix=f"{name}."))
        elif isinstance(value, bool):
            flat[name] = float(value)
        elif isinstance(value, (int, float)) and value is not None and np.isfinite(value):
            flat[name] = float(value)
    return flat
