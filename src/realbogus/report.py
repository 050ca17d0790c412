"""The before/after evaluation of a relabel (the paper's Table 4) and reports/summary.md.

For each ensemble member, three columns (Ayyar et al. 2022, Table 4):

* train-old/test-old: the model trained on the old labels, its old test split, old labels;
* train-old/test-new: the same model and test samples, judged by the new labels;
* train-new/test-new: the model retrained on the new labels with a new split, its new
  test split, new labels.

With simulated data the same three are also judged against the truth, which says whether
a relabel really helped rather than just moved the goalposts.

A CNN's figures move with the machine (docs/cnn.md, "Reproducibility"), by about as much
as between training seeds.  With ``train.seeds`` > 1 every cell of its Table 4 is also given
as the mean and spread over the seeds (:func:`seed_spread_table`), and the summary states
"relabelling lowers (raises) the FPR" only when the change holds beyond that spread
(:func:`relabel_conclusion`); with one seed it states none for a CNN.  Every member's change
must also hold beyond the test splits' sampling: each cell's FPR at MDR 0.05 comes with its
90 % bootstrap interval, and the change with one (``metrics.fpr_change_interval``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.atomic import atomic_path
from realbogus.figure_tables import AFTER, BEFORE
from realbogus.metrics import category_table, fpr_at_mdr, fpr_at_mdr_interval, fpr_change_interval, roc_curve
from realbogus.metrics import auc as roc_auc
from realbogus.plots import plot_roc_fpr_mdr
from realbogus.stage_tables import read_history, read_seed_scores

COLUMNS = ("train-old/test-old", "train-old/test-new", "train-new/test-new")
MDR_TARGET = 0.05
# Table 4 figures given as mean and spread over seeds.
SPREAD_FIGURES = ("auc", "fpr_at_mdr_0.05", "accuracy", "cat1", "cat6")
# A change is a conclusion when its mean over the seeds exceeds this many standard deviations
# of the per-seed change: then a single run on another machine (another draw of the same
# spread) would most likely show a change of the same sign.
CONCLUSION_SIGMAS = 2.0
# reports/headline.json: the few numbers `dvc exp show` and `dvc metrics diff` compare.
# Mining: the first review round's precision, recall and AUPRC, and the recall of all rounds.
MINING_HEADLINE = {"precision": "ours_precision_at_budget", "recall": "ours_recall_at_budget", "auprc": "ours_auprc",
                   "recall_all_rounds": "cumulative_recall"}


def _row(labels: np.ndarray, artifact_score: np.ndarray, *, interval: bool) -> dict[str, float]:
    predicted_artifact = artifact_score >= 0.5
    row = {"n": int(len(labels)), "auc": roc_auc(labels=labels, artifact_score=artifact_score),
           "fpr_at_mdr_0.05": float(fpr_at_mdr(labels=labels, artifact_score=artifact_score, mdr=MDR_TARGET))}
    if interval:
        low, high = fpr_at_mdr_interval(labels=labels, artifact_score=artifact_score, mdr=MDR_TARGET)
        row.update({"fpr_at_mdr_0.05_low": float(low), "fpr_at_mdr_0.05_high": float(high)})
    return {**row, "accuracy": float((predicted_artifact == (labels == 1)).mean()),
            **category_table(labels=labels, artifact_score=artifact_score)}


def before_after_table(*, old_scores: pd.DataFrame, new_scores: pd.DataFrame, new_labels: pd.DataFrame,
                       truth: pd.DataFrame | None = None, intervals: bool = False) -> pd.DataFrame:
    """One member's Table 4: rows (judged_by, column), metric columns.

    old_scores / new_scores: id, split, label, artifact_score (``scores.parquet`` of the
    first training and of the retraining); new_labels: id, label; truth: id, true_label.
    intervals: also ``fpr_at_mdr_0.05_low`` / ``_high``, the 90 % interval of each cell's FPR
    from its test split's sampling (``metrics.fpr_at_mdr_interval``; about 0.4 s a cell).
    """
    old_test = old_scores[old_scores["split"] == "test"]
    new_test = new_scores[new_scores["split"] == "test"]
    relabelled = new_labels.set_index("id")["label"]
    judged = {"given labels": (old_test["label"].to_numpy(), relabelled.loc[old_test["id"]].to_numpy(),
                               new_test["label"].to_numpy())}
    if truth is not None and not truth.empty:
        true = truth.set_index("id")["true_label"]
        judged["truth"] = (true.loc[old_test["id"]].to_numpy(), true.loc[old_test["id"]].to_numpy(),
                           true.loc[new_test["id"]].to_numpy())
    score_sets = (old_test["artifact_score"].to_numpy(), old_test["artifact_score"].to_numpy(),
                  new_test["artifact_score"].to_numpy())
    rows = []
    for judge, label_sets in judged.items():
        for column, labels, scores in zip(COLUMNS, label_sets, score_sets):
            rows.append({"judged_by": judge, "column": column,
                         **_row(labels.astype(np.int64), scores, interval=intervals)})
    return pd.DataFrame(rows)


def seed_spread_table(*, old_scores: pd.DataFrame, new_scores: pd.DataFrame,
                      old_seed_scores: Mapping[int, pd.Series], new_seed_scores: Mapping[int, pd.Series],
                      new_labels: pd.DataFrame, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """One member's Table 4 once per training seed: rows (seed, judged_by, column), metric columns.

    The k-th seed of the first training is paired with the k-th seed of the retraining (each
    seed's scores replace ``artifact_score`` in ``old_scores`` / ``new_scores``, whose split
    and labels are the same for every seed).  Seed score sets: {seed: score indexed by id}.
    """
    pairs = list(zip(old_seed_scores.items(), new_seed_scores.items()))
    if len(pairs) < 2:
        raise ValueError(f"a seed spread needs at least 2 seeds in both trainings; got {len(old_seed_scores)} "
                         f"before and {len(new_seed_scores)} after the relabel")
    tables = []
    for k, ((_, old_seed), (_, new_seed)) in enumerate(pairs):
        old = old_scores.assign(artifact_score=old_seed.loc[old_scores["id"]].to_numpy())
        new = new_scores.assign(artifact_score=new_seed.loc[new_scores["id"]].to_numpy())
        tables.append(before_after_table(old_scores=old, new_scores=new, new_labels=new_labels,
                                         truth=truth).assign(seed_index=k))
    return pd.concat(tables, ignore_index=True)


def spread_summary(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per (judged_by, column): ``<figure>_mean`` and ``<figure>_std`` (ddof 1) over the seeds."""
    grouped = per_seed.groupby(["judged_by", "column"], sort=False)[list(SPREAD_FIGURES)]
    means, stds = grouped.mean().add_suffix("_mean"), grouped.std(ddof=1).add_suffix("_std")
    return pd.concat([means, stds], axis=1).reset_index()


def relabel_conclusion(*, fpr_before: Sequence[float], fpr_after: Sequence[float], same_on_every_machine: bool,
                       sampling_interval: Sequence[float] | None = None) -> str:
    """What the summary may say about the change of FPR at MDR 0.05 (train-old/test-old ->
    train-new/test-new), given its value per seed (one value each for a single training).

    same_on_every_machine: the member's figures reproduce exactly on any x86-64 machine (a
    feature model), so one training is a reproducible figure; a CNN's are not.
    sampling_interval: (low, high), the 90 % interval of the change from the two test splits'
    sampling (``metrics.fpr_change_interval``).  When given, a change is a conclusion only if
    the interval excludes 0 on the change's side as well: a test split of a few thousand
    samples moves an FPR of a few percent by more than a relabel of 0.8 % of the labels may.
    """
    before, after = np.asarray(fpr_before, dtype=float), np.asarray(fpr_after, dtype=float)
    change = after - before
    sampling, beyond_sampling = "", True
    if sampling_interval is not None:
        low, high = (float(end) for end in sampling_interval)
        sampling = f"the test splits' sampling gives the change a 90% interval of {100 * low:+.2f} to {100 * high:+.2f} points"
        mean_change = float(change.mean())
        beyond_sampling = (high < 0 and mean_change < 0) or (low > 0 and mean_change > 0)
    if change.size == 1:
        if not same_on_every_machine:
            return ("one training: a CNN's figures move between machines by about as much as between seeds "
                    "(docs/cnn.md), so no conclusion is drawn; set train.seeds >= 3 to measure the spread.")
        measured = f"{100 * before[0]:.2f}% -> {100 * after[0]:.2f}%"
        if not beyond_sampling:
            return (f"the FPR change at MDR 0.05 ({measured}) is within the test splits' sampling ({sampling}): no "
                    "conclusion is drawn (this member's figures reproduce exactly on every machine: a rerun gives "
                    "the same change, another test split another).")
        verb = "lowers" if change[0] < 0 else "raises" if change[0] > 0 else "leaves"
        return (f"relabelling {verb} the FPR at MDR 0.05 ({measured}{'; ' + sampling if sampling else ''}); "
                "this member's figures reproduce exactly on every machine (one seed: its seed spread is not measured).")
    mean, std = float(change.mean()), float(change.std(ddof=1))
    measured = f"{100 * mean:+.2f} +- {100 * std:.2f} points over {change.size} seeds"
    if abs(mean) > CONCLUSION_SIGMAS * std and (np.all(change < 0) or np.all(change > 0)):
        if not beyond_sampling:
            return (f"the FPR change at MDR 0.05 ({measured}) is beyond the seed spread but within the test splits' "
                    f"sampling ({sampling}): no conclusion is drawn.")
        verb = "lowers" if mean < 0 else "raises"
        return f"relabelling {verb} the FPR at MDR 0.05 ({measured}{'; ' + sampling if sampling else ''}): beyond the seed spread."
    return f"the FPR change at MDR 0.05 ({measured}) is within the seed spread: no conclusion is drawn."


def plot_before_after(*, old_scores: pd.DataFrame, new_scores: pd.DataFrame, new_labels: pd.DataFrame,
                      member: str, path: Path) -> None:
    """ROC (FPR vs MDR, with Goldstein's points) before and after the relabel."""
    old_test = old_scores[old_scores["split"] == "test"]
    new_test = new_scores[new_scores["split"] == "test"]
    curves = {f"{member} {COLUMNS[0]}": roc_curve(labels=old_test["label"].to_numpy(),
                                                  artifact_score=old_test["artifact_score"].to_numpy()),
              f"{member} {COLUMNS[2]}": roc_curve(labels=new_test["label"].to_numpy(),
                                                  artifact_score=new_test["artifact_score"].to_numpy())}
    plot_roc_fpr_mdr(curves=curves, path=path, title=f"{member}: before and after relabelling")


@dataclass(frozen=True)
class MemberEvaluation:
    """One member's before/after evaluation, as :func:`evaluate_member` wrote it."""

    before: pd.DataFrame  # scores.parquet of the model trained on the old labels
    after: pd.DataFrame  # ... of the model retrained on the new labels
    histories: dict[str, pd.DataFrame]  # BEFORE / AFTER -> learning curves (CNNs only)
    table: pd.DataFrame  # Table 4 (:func:`before_after_table`)
    seed_table: pd.DataFrame | None  # Table 4 per seed (:func:`seed_spread_table`) when trained over seeds
    figure: Path  # ROC before/after
    metrics: dict[str, float]  # flat names for MLflow and metrics.json
    # 90 % interval of FPR at MDR 0.05 after minus before (given labels) from the two test
    # splits' sampling (:func:`realbogus.metrics.fpr_change_interval`).
    fpr_change_interval: tuple[float, float]


def _metric_prefix(member: str, row: pd.Series) -> str:
    return f"{member}.{'truth' if row['judged_by'] == 'truth' else 'given'}.{COLUMNS.index(row['column'])}"


def evaluate_member(*, member: str, old_dir: Path, new_dir: Path, new_labels: pd.DataFrame,
                    truth: pd.DataFrame | None, out_dir: Path) -> MemberEvaluation:
    """Table 4 (and its per-seed spread when ``train.seeds`` > 1), the ROC figure and the metrics
    of one member, from the model folders of its first training (``old_dir``) and its retrain
    (``new_dir``); writes ``table4_<member>.csv`` (``_seeds.csv``) and the figure into ``out_dir``."""
    old, new = pd.read_parquet(old_dir / "scores.parquet"), pd.read_parquet(new_dir / "scores.parquet")
    histories = {when: history for when, model_dir in ((BEFORE, old_dir), (AFTER, new_dir))
                 if (history := read_history(model_dir)) is not None}
    table = before_after_table(old_scores=old, new_scores=new, new_labels=new_labels, truth=truth, intervals=True)
    _write_csv(table, out_dir / f"table4_{member}.csv")
    metrics = {f"{_metric_prefix(member, row)}.{key}": float(row[key]) for _, row in table.iterrows()
               for key in ("auc", "fpr_at_mdr_0.05", "fpr_at_mdr_0.05_low", "fpr_at_mdr_0.05_high", "accuracy")}
    old_test, new_test = old[old["split"] == "test"], new[new["split"] == "test"]
    low, high = fpr_change_interval(
        labels_before=old_test["label"].to_numpy(), score_before=old_test["artifact_score"].to_numpy(),
        labels_after=new_test["label"].to_numpy(), score_after=new_test["artifact_score"].to_numpy(), mdr=MDR_TARGET)
    metrics.update({f"{member}.given.fpr_change_low": float(low), f"{member}.given.fpr_change_high": float(high)})
    seed_table = None
    old_seeds, new_seeds = read_seed_scores(old_dir), read_seed_scores(new_dir)
    if old_seeds and new_seeds:  # trained over several seeds (train.seeds): figures as mean and spread
        seed_table = seed_spread_table(old_scores=old, new_scores=new, old_seed_scores=old_seeds,
                                       new_seed_scores=new_seeds, new_labels=new_labels, truth=truth)
        _write_csv(seed_table, out_dir / f"table4_{member}_seeds.csv")
        for _, row in spread_summary(seed_table).iterrows():
            metrics.update({f"{_metric_prefix(member, row)}.fpr_at_mdr_0.05_{stat}": float(row[f"fpr_at_mdr_0.05_{stat}"])
                            for stat in ("mean", "std")})
    figure = out_dir / f"roc_before_after_{member}.png"
    plot_before_after(old_scores=old, new_scores=new, new_labels=new_labels, member=member, path=figure)
    return MemberEvaluation(before=old, after=new, histories=histories, table=table, seed_table=seed_table,
                            figure=figure, metrics=metrics, fpr_change_interval=(float(low), float(high)))


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary:
        table.to_csv(temporary, index=False, lineterminator="\n", float_format="%.6g")


def pipeline_headline(*, tables: Mapping[str, pd.DataFrame], merge: Mapping[str, Any],
                     mining: Mapping[str, Any] | None) -> dict[str, Any]:
    """The pipeline's headline numbers, nested for ``dvc metrics`` (keys shown as ``rf.auc``).

    Per member, judged by the given labels on the test split: ``auc`` after relabelling
    (train-new/test-new), ``fpr_before`` and ``fpr_after``: FPR at MDR 0.05 before
    (train-old/test-old) and after.  ``mining``: the first review round's precision and recall
    at its budget and AUPRC, and the recall of all rounds together, against the truth
    (simulated data only).  ``labels``: labels changed by the
    merge, ``up`` 0->1 and ``down`` 1->0.
    """
    headline: dict[str, Any] = {}
    for member, table in tables.items():
        given = table[table["judged_by"] == "given labels"].set_index("column")
        headline[member] = {"auc": _rounded(given.loc[COLUMNS[2], "auc"]),
                            "fpr_before": _rounded(given.loc[COLUMNS[0], "fpr_at_mdr_0.05"]),
                            "fpr_after": _rounded(given.loc[COLUMNS[2], "fpr_at_mdr_0.05"])}
    if mining and mining.get("truth_available"):
        headline["mining"] = {key: _rounded(mining.get(source)) for key, source in MINING_HEADLINE.items()}
    headline["labels"] = {"up": merge.get("changed_0_to_1"), "down": merge.get("changed_1_to_0")}
    return headline


def _rounded(value: Any) -> float | None:
    """4 decimals: what a table of experiments can show (the per-stage files keep full precision);
    None for a number that is missing or undefined."""
    if value is None:
        return None
    value = float(value)
    return round(value, 4) if np.isfinite(value) else None


def _markdown(table: pd.DataFrame, *, floatfmt: str = ".4f") -> str:
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    lines = [header, rule]
    for _, row in table.iterrows():
        cells = [format(value, floatfmt) if isinstance(value, float) else str(value) for value in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def realism_lines(realism: Mapping[str, Any]) -> list[str]:
    """The summary's section on how real the release is (``reports/realism/metrics.json``)."""
    lines = ["## How real the release is (reports/realism)", "",
             "| channel | sky p10 / p50 / p90 | noise p50 | sky / noise | clipped at 255 (no ticks) | inside the real ranges |",
             "|---|---|---|---|---|---|"]
    for channel, figures in realism["pixels"].items():
        lines.append(f"| {channel} | {figures['background_p10']:.0f} / {figures['background_p50']:.0f} / "
                     f"{figures['background_p90']:.0f} | {figures['noise_p50']:.1f} | "
                     f"{figures['background_over_noise_p50']:.1f} | {100 * figures['fraction_at_255_outside_ticks']:.2f}% "
                     f"| {'yes' if figures['checks_pass'] else 'no'} |")
    lines += ["", "Real DES-SN stamps: sky 5 / 12 / 88 (template), 10 / 26 / 104 (search), 62 / 106 / 123 "
              "(difference); noise 5, 11, 39; sky / noise 2-3; 0.3% clipped.", ""]
    members = realism.get("members") or {}
    if members:
        lines += ["| member | FPR at MDR 0.03 / 0.04 / 0.05 (given labels) | 90% interval at 0.05 (the split's sampling) "
                  "| the same, truth | strongly misclassified (cat 1 + 6) |",
                  "|---|---|---|---|---|"]
        for member, figures in members.items():
            given = " / ".join(_percent(figures.get(f"fpr_at_mdr_{mdr}")) for mdr in ("0.03", "0.04", "0.05"))
            interval = f"{_percent(figures.get('fpr_at_mdr_0.05_low'))} - {_percent(figures.get('fpr_at_mdr_0.05_high'))}"
            truth = " / ".join(_percent(figures.get(f"truth_fpr_at_mdr_{mdr}")) for mdr in ("0.03", "0.04", "0.05"))
            strong = _percent(figures.get("strongly_misclassified_share"))
            if figures.get("strongly_misclassified_share_low") is not None:
                strong += (f" (90%: {_percent(figures['strongly_misclassified_share_low'])} - "
                           f"{_percent(figures['strongly_misclassified_share_high'])})")
            if figures.get("mislabelled_strongly_contradicted") is not None:
                # Its mislabelled part, and the share of the mislabels it contradicts: a floor under the share.
                strong += (f" ({_percent(figures.get('strongly_misclassified_mislabelled_share'))} mislabelled; "
                           f"{100 * figures['mislabelled_strongly_contradicted']:.0f}% of the mislabels)")
            lines.append(f"| {member} | {given} | {interval} | {truth} | {strong} |")
        lines += ["", "Goldstein et al. 2015, the forest on the real release: 3.8% / 2.4% / 1.6%; Ayyar et al. 2022: "
                  "0.24-0.67% of samples strongly misclassified per model.", ""]
    several = realism.get("strongly_misclassified_by_several")
    if several:
        line = (f"Test samples at least {several['min_members']} members strongly misclassify: "
                f"{several['n_flagged']} of {several['n_samples']}")
        if several.get("mislabelled_share") is not None:
            interval = ""
            if several.get("mislabelled_share_low") is not None:
                interval = (f"; 90% interval {100 * several['mislabelled_share_low']:.0f}-"
                            f"{100 * several['mislabelled_share_high']:.0f}%")
            line += (f", of which {100 * several['mislabelled_share']:.0f}% truly mislabelled{interval} "
                     f"(they are {100 * several['recall']:.0f}% of the test split's {several['n_mislabelled']} mislabels)")
        lines += [line + " (the paper: about 90% of those inspected).", ""]
    return lines


def _margin_interval(mining: Mapping[str, Any]) -> str:
    """"; margin ..., 90% interval ..." for the summary's mining lines (empty for older metrics)."""
    low, high = mining.get("auprc_margin_low"), mining.get("auprc_margin_high")
    if low is None or high is None or mining.get("ours_auprc") is None or mining.get("best_cleanlab_auprc") is None:
        return ""
    margin = mining["ours_auprc"] - mining["best_cleanlab_auprc"]
    return (f"; our margin {margin:+.3f}, 90% interval {low:+.3f} to {high:+.3f} from the sampling of the "
            f"release's samples (paired bootstrap)")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _fixed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def write_summary(*, path: Path, tables: Mapping[str, pd.DataFrame], merge: Mapping[str, Any],
                  mining: Mapping[str, Any] | None, figures: Sequence[str],
                  realism: Mapping[str, Any] | None = None,
                  seed_tables: Mapping[str, pd.DataFrame] | None = None,
                  reproducible_members: Sequence[str] = (),
                  change_intervals: Mapping[str, Sequence[float]] | None = None) -> None:
    """reports/summary.md: the relabel story in tables and figures (and how real the release is).

    seed_tables: per member trained over several seeds, its :func:`seed_spread_table`;
    reproducible_members: members whose figures are the same on every machine (feature models);
    change_intervals: per member, the sampling interval of its FPR change
    (:attr:`MemberEvaluation.fpr_change_interval`), which gates its conclusion.
    """
    seed_tables, change_intervals = seed_tables or {}, change_intervals or {}
    lines = ["# realbogus: relabel loop summary", ""]
    if realism:
        lines += realism_lines(realism)
    if mining and mining.get("truth_available"):
        lines += ["## Mining (against the simulated truth)", "",
                  f"- mislabelled samples in the release: {mining['n_mislabelled']}",
                  f"- first review round, budget {mining['budget']}: precision at budget "
                  f"{_fixed(mining['ours_precision_at_budget'])}, recall at budget "
                  f"{_fixed(mining['ours_recall_at_budget'])}, AUPRC {_fixed(mining['ours_auprc'])}",
                  f"- best cleanlab AUPRC on the same scores: {_fixed(mining['best_cleanlab_auprc'])} "
                  f"({mining['best_cleanlab_method']})" + _margin_interval(mining), ""]
        if mining.get("rounds"):
            rounds = pd.DataFrame(mining["rounds"]).reindex(columns=[
                "round", "budget", "mislabelled_in_pool", "miner_precision_at_budget", "miner_recall_at_budget",
                "miner_auprc", "best_cleanlab_auprc", "auprc_margin_low", "auprc_margin_high", "cumulative_recall"])
            lines += ["Review rounds (each judged on the samples no earlier round reviewed; cleanlab re-run on "
                      "the round's cross-fitted scores):", "", _markdown(rounds.astype(object).where(rounds.notna(),
                                                                                                       "n/a")), ""]
    lines += ["## Relabel", "", f"- labels changed 0 -> 1: {merge.get('changed_0_to_1')}, "
              f"1 -> 0: {merge.get('changed_1_to_0')} (the paper: 5,636 and 1,766)",
              f"- new labels version: `{merge.get('labels_version')}`", ""]
    after = []
    for member, table in tables.items():
        lines += [f"## {member}", "", _markdown(table.drop(columns=["n"])), ""]
        given = table[table["judged_by"] == "given labels"].set_index("column")
        before, now = given.loc[COLUMNS[0], "fpr_at_mdr_0.05"], given.loc[COLUMNS[2], "fpr_at_mdr_0.05"]
        change = (now - before) / before * 100 if before else float("nan")
        lines += [f"FPR at MDR 0.05: {before:.4f} before, {now:.4f} after ({change:+.0f}%; the paper: -27%)", ""]
        fpr_per_seed = {column: [before if column == COLUMNS[0] else now] for column in (COLUMNS[0], COLUMNS[2])}
        if member in seed_tables:
            per_seed = seed_tables[member]
            n_seeds = per_seed["seed_index"].nunique()
            lines += [f"Mean and spread over {n_seeds} seeds (the first seed is the table above):", "",
                      _markdown(spread_summary(per_seed)), ""]
            given_per_seed = per_seed[per_seed["judged_by"] == "given labels"].sort_values("seed_index")
            fpr_per_seed = {column: given_per_seed.loc[given_per_seed["column"] == column, "fpr_at_mdr_0.05"].tolist()
                            for column in (COLUMNS[0], COLUMNS[2])}
        conclusion = relabel_conclusion(fpr_before=fpr_per_seed[COLUMNS[0]], fpr_after=fpr_per_seed[COLUMNS[2]],
                                        same_on_every_machine=member in reproducible_members,
                                        sampling_interval=change_intervals.get(member))
        lines += [f"Conclusion (given labels): {conclusion}", ""]
        judged_truth = table[table["judged_by"] == "truth"]
        truth_after = judged_truth.set_index("column").loc[COLUMNS[2]] if not judged_truth.empty else None
        after.append({"member": member, "auc": given.loc[COLUMNS[2], "auc"],
                      "fpr_at_mdr_0.05": now, "accuracy": given.loc[COLUMNS[2], "accuracy"],
                      **({"truth_auc": truth_after["auc"], "truth_fpr_at_mdr_0.05": truth_after["fpr_at_mdr_0.05"]}
                         if truth_after is not None else {})})
    lines += ["## After relabelling: CNNs vs the feature models (train-new/test-new)", "",
              _markdown(pd.DataFrame(after)), ""]
    lines += [f"![{Path(figure).stem}]({figure})" for figure in figures]
    path.write_text("\n".join(lines) + "\n")
