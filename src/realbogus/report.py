"""The before/after evaluation of a relabel (the paper's Table 4) and reports/summary.md.

For each ensemble member, three columns (Ayyar et al. 2022, Table 4):

* train-old/test-old: the model trained on the old labels, its old test split, old labels;
* train-old/test-new: the same model and test samples, judged by the new labels;
* train-new/test-new: the model retrained on the new labels with a new split, its new
  test split, new labels.

With simulated data the same three are also judged against the truth, which says whether
a relabel really helped rather than just moved the goalposts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from realbogus.metrics import category_table, fpr_at_mdr, roc_curve
from realbogus.metrics import auc as roc_auc
from realbogus.plots import plot_roc_fpr_mdr

COLUMNS = ("train-old/test-old", "train-old/test-new", "train-new/test-new")
MDR_TARGET = 0.05
# reports/headline.json: the few numbers `dvc exp show` and `dvc metrics diff` compare.
MINING_HEADLINE = {"precision": "ours_precision_at_budget", "recall": "ours_recall_at_budget", "auprc": "ours_auprc"}


def _row(labels: np.ndarray, artifact_score: np.ndarray) -> dict[str, float]:
    predicted_artifact = artifact_score >= 0.5
    return {"n": int(len(labels)), "auc": roc_auc(labels=labels, artifact_score=artifact_score),
            "fpr_at_mdr_0.05": float(fpr_at_mdr(labels=labels, artifact_score=artifact_score, mdr=MDR_TARGET)),
            "accuracy": float((predicted_artifact == (labels == 1)).mean()),
            **category_table(labels=labels, artifact_score=artifact_score)}


def before_after_table(*, old_scores: pd.DataFrame, new_scores: pd.DataFrame, new_labels: pd.DataFrame,
                       truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """One member's Table 4: rows (judged_by, column), metric columns.

    old_scores / new_scores: id, split, label, artifact_score (``scores.parquet`` of the
    first training and of the retraining); new_labels: id, label; truth: id, true_label.
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
            rows.append({"judged_by": judge, "column": column, **_row(labels.astype(np.int64), scores)})
    return pd.DataFrame(rows)


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


def pipeline_headline(*, tables: Mapping[str, pd.DataFrame], merge: Mapping[str, Any],
                     mining: Mapping[str, Any] | None) -> dict[str, Any]:
    """The pipeline's headline numbers, nested for ``dvc metrics`` (keys shown as ``rf.auc``).

    Per member, judged by the given labels on the test split: ``auc`` after relabelling
    (train-new/test-new), ``fpr_before`` and ``fpr_after``: FPR at MDR 0.05 before
    (train-old/test-old) and after.  ``mining``: precision and recall at the review budget
    and AUPRC against the truth (simulated data only).  ``labels``: labels changed by the
    merge, ``up`` 0->1 and ``down`` 1->0.
    """
    headline: dict[str, Any] = {}
    for member, table in tables.items():
        given = table[table["judged_by"] == "given labels"].set_index("column")
        headline[member] = {"auc": _rounded(given.loc[COLUMNS[2], "auc"]),
                            "fpr_before": _rounded(given.loc[COLUMNS[0], "fpr_at_mdr_0.05"]),
                            "fpr_after": _rounded(given.loc[COLUMNS[2], "fpr_at_mdr_0.05"])}
    if mining and mining.get("truth_available"):
        headline["mining"] = {key: _rounded(mining[source]) for key, source in MINING_HEADLINE.items()}
    headline["labels"] = {"up": merge.get("changed_0_to_1"), "down": merge.get("changed_1_to_0")}
    return headline


def _rounded(value: Any) -> float | None:
    """4 decimals: what a table of experiments can show (the per-stage files keep full precision)."""
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
        lines += ["| member | FPR at MDR 0.03 / 0.04 / 0.05 (given labels) | the same, truth | strongly misclassified (cat 1 + 6) |",
                  "|---|---|---|---|"]
        for member, figures in members.items():
            given = " / ".join(_percent(figures.get(f"fpr_at_mdr_{mdr}")) for mdr in ("0.03", "0.04", "0.05"))
            truth = " / ".join(_percent(figures.get(f"truth_fpr_at_mdr_{mdr}")) for mdr in ("0.03", "0.04", "0.05"))
            lines.append(f"| {member} | {given} | {truth} | {_percent(figures.get('strongly_misclassified_share'))} |")
        lines += ["", "Goldstein et al. 2015, the forest on the real release: 3.8% / 2.4% / 1.6%; Ayyar et al. 2022: "
                  "0.24-0.67% of samples strongly misclassified per model.", ""]
    several = realism.get("strongly_misclassified_by_several")
    if several:
        line = (f"Test samples at least {several['min_members']} members strongly misclassify: "
                f"{several['n_flagged']} of {several['n_samples']}")
        if several.get("mislabelled_share") is not None:
            line += (f", of which {100 * several['mislabelled_share']:.0f}% truly mislabelled "
                     f"(they are {100 * several['recall']:.0f}% of the test split's {several['n_mislabelled']} mislabels)")
        lines += [line + " (the paper: about 90% of those inspected).", ""]
    return lines


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def write_summary(*, path: Path, tables: Mapping[str, pd.DataFrame], merge: Mapping[str, Any],
                  mining: Mapping[str, Any] | None, figures: Sequence[str],
                  realism: Mapping[str, Any] | None = None) -> None:
    """reports/summary.md: the relabel story in tables and figures (and how real the release is)."""
    lines = ["# realbogus: relabel loop summary", ""]
    if realism:
        lines += realism_lines(realism)
    if mining and mining.get("truth_available"):
        lines += ["## Mining (against the simulated truth)", "",
                  f"- mislabelled samples in the release: {mining['n_mislabelled']}",
                  f"- review budget: {mining['budget']}",
                  f"- precision at budget: {mining['ours_precision_at_budget']:.3f}, "
                  f"recall at budget: {mining['ours_recall_at_budget']:.3f}, AUPRC {mining['ours_auprc']:.3f}",
                  f"- best cleanlab AUPRC: {mining['best_cleanlab_auprc']:.3f} ({mining['best_cleanlab_method']})", ""]
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
