"""Mining in review rounds against the truth, side by side with cleanlab run through the same
rounds, on several simulated releases; prints one JSON object.

For each variant (simulator seed, label-noise rate) this runs the real pipeline in a scratch
clone of this repository's commit, three times:

1. **one round** (`mine.rounds` = round1 only): `dvc repro` of everything, the retrain and
   Table 4 included -- our ranking against cleanlab's five methods on round 1's
   cross-fitted scores (AUPRC, precision / recall at the budget, by mechanism and
   direction), and each member retrained on round 1's labels;
2. **three rounds** (round2 and round3 appended): `dvc repro` again -- DVC takes round 1
   from its cache (the JSON says which stages ran) -- each round's ranking against
   cleanlab's on the same round's scores and pool, the cumulative recall, and each member
   retrained on round 3's labels;
3. **cleanlab through the same rounds** (`mine.method` = the best cleanlab method of
   round 1, three rounds): cleanlab picks every round's candidates, the simulated expert
   reviews them, the members are cross-fitted again on cleanlab's merged labels; its
   cumulative recall at the same budgets.

The three budgets add up to ``--budget-factor`` (default 1.2) times the variant's number of
mislabelled samples, split by ``--budget-split`` (default 0.5, 0.3, 0.2).  The goals of the
issue are checked per variant: round-1 AUPRC at least the best cleanlab's + 0.03;
cumulative recall after three rounds >= 0.85 and above cleanlab's; every member's FPR at
MDR 0.05 against the truth lower after three rounds than after one.  The two retrains share
their test samples (the retrain's split follows the release's labels, whatever the label
version), so that comparison is paired: ``retrain_paired`` gives, per member, both FPRs on the
same test samples and a paired bootstrap of their difference.  One test split of a 10,000-sample
release holds ~1,000 real detections, too few to resolve what rounds 2-3 change, so
``retrain_crossval`` also asks it of every feature member by 5-fold cross-validation over the
whole release (the same folds for both label versions, scored against the truth).

The clone shares this repository's DVC cache, so work done before (by an earlier run of
this benchmark or by `dvc repro` here) comes back from DVC's run cache.  MLflow runs land
in this repository's store (mlflow.db) unless MLFLOW_TRACKING_URI is set.  The clone is
deleted afterwards unless --keep is given.

    python benchmarks/bench_mining.py                                  # default + 1 % and 3 % noise
    python benchmarks/bench_mining.py --members rf,hgb                 # feature members only (fast)
    python benchmarks/bench_mining.py --variant 2013:0.0082 --n 5000 --diagnostics
    python benchmarks/bench_mining.py --members rf,hgb --training-dynamics 0 --three-rounds-only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VARIANTS = ("2013:default", "17:0.01", "29:0.03")
ROUNDS = ("round1", "round2", "round3")
# The loop up to Table 4 and the mining against the truth; not the survey pipeline
# (survey/dvc.yaml), which a bare `dvc repro` would run too.
PIPELINE_TARGETS = ("evaluate", "mine_truth")
FPR_COLUMN = "fpr_at_mdr_0.05"
RETRAINED = "train-new/test-new"


def parse_variant(text: str) -> tuple[int, float | None]:
    try:
        seed, noise = text.split(":")
        return int(seed), None if noise == "default" else float(noise)
    except ValueError:
        raise argparse.ArgumentTypeError(f"variant {text!r}: expected SEED:NOISE, e.g. 17:0.01 or 2013:default") from None


def run(command: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    completed = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-6000:])
        raise SystemExit(f"{' '.join(command)} failed in {cwd} (exit {completed.returncode})")
    return completed.stdout


def make_clone(workdir: Path, commit: str) -> Path:
    clone = workdir / "repo"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=clone, check=True)
    subprocess.run([str(Path(sys.executable).parent / "dvc"), "cache", "dir", "--local", str(REPO / ".dvc" / "cache")],
                   cwd=clone, check=True, stdout=subprocess.DEVNULL)
    return clone


def write_params(clone: Path, params: dict) -> None:
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def budgets_for(n_mislabelled: int, *, factor: float, split: tuple[float, ...]) -> list[int]:
    """Round budgets adding up to round(factor * n_mislabelled), in the proportions ``split``."""
    total = round(factor * n_mislabelled)
    budgets = [int(total * share // sum(split)) for share in split]
    budgets[0] += total - sum(budgets)
    return budgets


def rounds_param(budgets: list[int], count: int) -> dict[str, dict]:
    after = ["release", *ROUNDS]
    return {ROUNDS[k]: {"after": after[k], "budget": budgets[k]} for k in range(count)}


def stages_run(output: str) -> list[str]:
    return sorted(set(re.findall(r"Running stage '([^']+)'", output)))


def retrained_fpr(clone: Path, members: list[str]) -> dict[str, dict[str, float]]:
    """Each member's FPR at MDR 0.05 after the retrain (train-new/test-new), by truth and by given labels."""
    result = {}
    for member in members:
        table = pd.read_csv(clone / "reports" / "evaluate" / f"table4_{member}.csv")
        retrained = table[table["column"] == RETRAINED].set_index("judged_by")[FPR_COLUMN]
        before = table[table["column"] == "train-old/test-old"].set_index("judged_by")[FPR_COLUMN]
        result[member] = {"truth": round(float(retrained["truth"]), 5),
                          "given_labels": round(float(retrained["given labels"]), 5),
                          "truth_before_relabel": round(float(before["truth"]), 5)}
    return result


def retrained_test_scores(clone: Path, members: list[str]) -> dict[str, pd.DataFrame]:
    """Each retrained member's scores on its test split (id, artifact_score), for the paired comparison."""
    out = {}
    for member in members:
        scores = pd.read_parquet(clone / "data" / "retrain" / member / "scores.parquet")
        out[member] = scores.loc[scores["split"] == "test", ["id", "artifact_score"]].reset_index(drop=True)
    return out


def paired_fpr_bootstrap(*, true_label: np.ndarray, before: np.ndarray, after: np.ndarray, resamples: int,
                         seed: int) -> dict:
    """FPR at MDR 0.05 against the truth of two scorings of the same samples, and a paired
    bootstrap over the samples: the share of resamples in which ``after`` gives the lower FPR,
    and the 90 % interval of the difference (after - before)."""
    from realbogus.metrics import fpr_at_mdr

    def fpr(rows, score):
        return float(fpr_at_mdr(labels=true_label[rows], artifact_score=score[rows], mdr=0.05))

    rng = np.random.default_rng(seed)
    differences = []
    for _ in range(resamples):
        rows = rng.integers(0, len(true_label), len(true_label))
        differences.append(fpr(rows, after) - fpr(rows, before))
    differences = np.array(differences)
    everything = slice(None)
    return {"fpr_before": round(fpr(everything, before), 5), "fpr_after": round(fpr(everything, after), 5),
            "bootstrap_share_after_lower": round(float((differences < 0).mean()), 3),
            "difference_90pct_interval": [round(float(q), 5) for q in np.quantile(differences, [0.05, 0.95])]}


def paired_fpr_comparison(*, one: pd.DataFrame, three: pd.DataFrame, truth: pd.DataFrame, resamples: int = 1000,
                          seed: int = 0) -> dict:
    """FPR at MDR 0.05 against the truth of the retrain after one round and after three, on the
    same test samples (the retrain's split follows the release's labels, not the label version),
    with a paired bootstrap over those samples (:func:`paired_fpr_bootstrap`)."""
    merged = one.merge(three, on="id", suffixes=("_one", "_three"), validate="one_to_one")
    same_test_set = len(merged) == len(one) == len(three)
    true_label = truth.set_index("id").loc[merged["id"], "true_label"].to_numpy()
    paired = paired_fpr_bootstrap(true_label=true_label, before=merged["artifact_score_one"].to_numpy(),
                                  after=merged["artifact_score_three"].to_numpy(), resamples=resamples, seed=seed)
    return {"same_test_set": same_test_set, "n_test": len(merged), "n_test_real": int((true_label == 0).sum()),
            "fpr_one_round": paired["fpr_before"], "fpr_three_rounds": paired["fpr_after"],
            "bootstrap_share_three_lower": paired["bootstrap_share_after_lower"],
            "difference_90pct_interval": paired["difference_90pct_interval"]}


def crossval_scores(*, folder: Path, params: dict, ids: np.ndarray, versions: dict[str, np.ndarray],
                    members: list[str], folds: int = 5, repeats: int = 2, seed: int = 0) -> dict:
    """Each feature member's out-of-fold artifact scores for every sample, trained on each label
    version: K-fold cross-validation with the same folds for every version (stratified by the
    release's labels), ``repeats`` fold draws averaged.  Returns {member: {version: (N,) scores}}
    ({member: str} for a CNN member, which is not cross-validated: K trainings per version
    and repeat; see ``retrain_paired``).

    folder: a pipeline's folder (``data/ingested``, ``data/features``); ids: (N,) the samples;
    versions: {name: (N,) labels aligned with ids}.
    """
    from realbogus.feature_models.matrix import read_feature_matrix
    from realbogus.members import FEATURES, fit_and_score, resolve_member
    from realbogus.training_runs import crossfit_folds, read_release_labels

    release = read_release_labels(ingested_dir=folder / "data" / "ingested", ids=ids)
    matrix = read_feature_matrix(folder / "data" / "features" / "features.parquet", ids=ids)
    no_rows = np.zeros(0, dtype=np.int64)
    out: dict = {}
    for member in members:
        spec = resolve_member(member, params)
        if spec.reads != FEATURES:
            out[member] = "not cross-validated (a CNN): see retrain_paired"
            continue
        scores = {name: np.zeros(len(ids)) for name in versions}
        for repeat in range(repeats):
            fold = crossfit_folds(ids=ids, labels=release, folds=folds, seed=seed + repeat)
            for k in range(folds):
                train_rows, test_rows = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
                for name, labels in versions.items():
                    fitted = fit_and_score(spec=spec, labels=labels, train_rows=train_rows, val_rows=no_rows,
                                           score_rows=test_rows, seed=seed + repeat, features=matrix)
                    scores[name][test_rows] += fitted.artifact_score[test_rows] / repeats
        out[member] = scores
    return out


def crossval_fpr_comparison(*, folder: Path, params: dict, ids: np.ndarray, before: np.ndarray, after: np.ndarray,
                            true_label: np.ndarray, members: list[str], folds: int = 5, repeats: int = 2,
                            resamples: int = 1000, seed: int = 0) -> dict:
    """Each feature member trained on two label versions of the same samples, compared on
    every sample instead of one test split (:func:`crossval_scores`): FPR at MDR 0.05 against
    the truth over all samples and a paired bootstrap of the difference
    (:func:`paired_fpr_bootstrap`).  before, after, true_label: (N,) aligned with ids."""
    scores = crossval_scores(folder=folder, params=params, ids=ids, versions={"before": before, "after": after},
                             members=members, folds=folds, repeats=repeats, seed=seed)
    return {member: entry if isinstance(entry, str) else paired_fpr_bootstrap(
        true_label=true_label, before=entry["before"], after=entry["after"], resamples=resamples, seed=seed)
        for member, entry in scores.items()}


def round_labels(folder: Path, round_name: str, ids: np.ndarray) -> np.ndarray:
    """(N,) the labels a review round's merge wrote, aligned with ``ids``."""
    from realbogus.stage_tables import align, read_table

    path = folder / "data" / "rounds" / round_name / "labels.csv"
    table = read_table(path, columns=("id", "label"), what=f"{round_name} labels", only=True)
    return align(table, ids, column="label", what=str(path)).astype(np.int64)


def crossval_retrain_comparison(*, clone: Path, members: list[str], truth: pd.DataFrame, first: str = ROUNDS[0],
                                last: str = ROUNDS[-1], folds: int = 5, repeats: int = 2, resamples: int = 1000,
                                seed: int = 0) -> dict:
    """Each feature member trained on the labels after ``first`` and after ``last``, compared by
    :func:`crossval_fpr_comparison` on every sample of the release.

    The pipeline's retrain tests on 20 % of the release (~1,000 real detections at 10,000
    samples), where one false positive is 0.1 point; this asks the same question with five
    times the test samples and fewer model seeds in the answer."""
    from realbogus.stage_tables import align

    params = yaml.safe_load((clone / "params.yaml").read_text())
    ids = np.sort(truth["id"].to_numpy())
    labels = {name: round_labels(clone, name, ids) for name in (first, last)}
    true_label = align(truth, ids, column="true_label", what="truth").astype(np.int64)
    compared = crossval_fpr_comparison(folder=clone, params=params, ids=ids, before=labels[first], after=labels[last],
                                       true_label=true_label, members=members, folds=folds, repeats=repeats,
                                       resamples=resamples, seed=seed)
    return {"folds": folds, "repeats": repeats, "n_samples": int(len(ids)), "n_real": int((true_label == 0).sum()),
            "labels_changed_between": int((labels[first] != labels[last]).sum()),
            "wrong_labels": {name: int((version != true_label).sum()) for name, version in labels.items()},
            "members": {member: entry if isinstance(entry, str) else {
                f"fpr_after_{first}": entry["fpr_before"], f"fpr_after_{last}": entry["fpr_after"],
                "bootstrap_share_last_lower": entry["bootstrap_share_after_lower"],
                "difference_90pct_interval": entry["difference_90pct_interval"]}
                for member, entry in compared.items()}}


def round_table(clone: Path) -> pd.DataFrame:
    return pd.read_csv(clone / "reports" / "mine_truth" / "rounds.csv")


def margin_intervals(clone: Path) -> dict[str, list]:
    """Per round: the 90 % interval of the miner's AUPRC minus the best cleanlab method's, from
    the sampling of the round's pool, as the `mine_truth` stage measured it (None where it
    could not, or where an older stage did not write it)."""
    metrics = json.loads((clone / "reports" / "mine_truth" / "metrics.json").read_text())
    return {entry["round"]: [entry.get("auprc_margin_low"), entry.get("auprc_margin_high")]
            for entry in metrics.get("rounds", [])}


def clone_rounds(clone: Path) -> list[dict]:
    """:func:`summarise_rounds` of the clone's last `mine_truth` run, with the margins' intervals."""
    return summarise_rounds(round_table(clone), intervals=margin_intervals(clone))


def summarise_rounds(table: pd.DataFrame, *, intervals: dict[str, list] | None = None) -> list[dict]:
    """Per round: the miner's and every cleanlab method's numbers on that round's pool,
    overall, by direction and by mechanism; with ``intervals`` (:func:`margin_intervals`) also
    the margin's sampling interval."""
    out = []
    for round_name, rows in table.groupby("round", sort=False):
        entry: dict = {"round": round_name}
        miner = rows[rows["miner"]]
        total = miner[miner["subset"] == "all"].iloc[0]
        entry["miner"] = {key: _number(total[key]) for key in
                          ("n_mislabelled", "n_selected", "n_found", "auprc", "precision_at_budget", "recall_at_budget",
                           "cumulative_found", "cumulative_recall")}
        entry["miner_by_subset"] = {f"{row['subset_kind']}={row['subset']}": {
            key: _number(row[key]) for key in ("n_mislabelled", "n_found", "auprc", "recall_at_budget")}
            for _, row in miner[miner["subset"] != "all"].iterrows()}
        others = rows[~rows["miner"] & (rows["subset"] == "all")]
        entry["cleanlab_same_pool"] = {row["method"]: {key: _number(row[key]) for key in
                                                       ("auprc", "precision_at_budget", "recall_at_budget")}
                                       for _, row in others.iterrows()}
        best = others.loc[others["auprc"].idxmax()]
        entry["best_cleanlab_same_pool"] = str(best["method"])
        if intervals is not None:
            entry["auprc_margin_over_best_cleanlab_90pct_interval"] = intervals.get(round_name)
        by_subset = rows[(rows["method"] == best["method"]) & ~rows["miner"] & (rows["subset"] != "all")]
        entry["best_cleanlab_by_subset"] = {f"{row['subset_kind']}={row['subset']}": {
            key: _number(row[key]) for key in ("n_mislabelled", "n_found", "auprc", "recall_at_budget")}
            for _, row in by_subset.iterrows()}
        out.append(entry)
    return out


def _number(value) -> float | int | None:
    if pd.isna(value):
        return None
    return int(value) if float(value).is_integer() and abs(value) > 1 else round(float(value), 4)


def run_variant(clone: Path, base_params: dict, *, seed: int, noise: float | None, n: int | None, members: list[str] | None,
                factor: float, split: tuple[float, ...], env: dict[str, str], dvc: str,
                training_dynamics: float | None = None, three_rounds_only: bool = False) -> dict:
    params = json.loads(json.dumps(base_params))
    params["simulate"]["seed"] = seed
    if noise is not None:
        params["simulate"]["label_noise"] = noise
    if n is not None:
        params["simulate"]["n"] = n
    if members is not None:
        params["ensemble"]["members"] = members
        params["ensemble"]["cnns"] = [m for m in members if m in params["models"]]
    # One simulate worker: the release is the same for any worker count, and a 2-worker pool
    # was once seen to hang at exit here (a worker stuck on a lock after fork).
    params["simulate"]["workers"] = 1
    params["mine"]["method"] = "ensemble_disagreement"
    if training_dynamics is not None:
        params["mine"]["evidence"] = {**(params["mine"].get("evidence") or {}), "training_dynamics": training_dynamics}
    params["mine"]["rounds"] = rounds_param([1, 1, 1], 1)  # replaced once the truth is known
    write_params(clone, params)
    run([dvc, "repro", "simulate"], cwd=clone, env=env)
    truth = pd.read_parquet(clone / "data" / "simulated" / "truth.parquet")
    n_mislabelled = int((truth["true_label"] != truth["given_label"]).sum())
    budgets = budgets_for(n_mislabelled, factor=factor, split=split)
    members = list(params["ensemble"]["members"])
    result: dict = {"seed": seed, "label_noise": params["simulate"]["label_noise"], "n": params["simulate"]["n"],
                    "members": members, "n_mislabelled": n_mislabelled, "budgets": budgets,
                    "evidence": params["mine"].get("evidence"),
                    "mechanisms": truth.loc[truth["true_label"] != truth["given_label"],
                                            "mislabel_mechanism"].value_counts().to_dict()}

    if three_rounds_only:
        params["mine"]["rounds"] = rounds_param(budgets, 3)
        write_params(clone, params)
        run([dvc, "repro", *PIPELINE_TARGETS], cwd=clone, env=env)
        rounds = clone_rounds(clone)
        first = rounds[0]
        result["three_rounds"] = {"rounds": rounds, "retrained_fpr_at_mdr_0.05": retrained_fpr(clone, members)}
        result["retrain_crossval"] = crossval_retrain_comparison(clone=clone, members=members, truth=truth)
        best_round1 = first["cleanlab_same_pool"][first["best_cleanlab_same_pool"]]["auprc"]
        result["goals"] = {
            "round1_auprc_margin_over_best_cleanlab": round(first["miner"]["auprc"] - best_round1, 4),
            "round1_auprc_margin_90pct_interval": first.get("auprc_margin_over_best_cleanlab_90pct_interval"),
            "round1_auprc_at_least_best_cleanlab_plus_0.03": first["miner"]["auprc"] >= best_round1 + 0.03,
            "cumulative_recall_three_rounds": rounds[-1]["miner"]["cumulative_recall"],
            "cumulative_recall_at_least_0.85": rounds[-1]["miner"]["cumulative_recall"] >= 0.85}
        return result

    started = time.perf_counter()
    params["mine"]["rounds"] = rounds_param(budgets, 1)
    write_params(clone, params)
    run([dvc, "repro", *PIPELINE_TARGETS], cwd=clone, env=env)
    one = clone_rounds(clone)[0]
    result["one_round"] = {"seconds": round(time.perf_counter() - started, 1), "round1": one,
                           "retrained_fpr_at_mdr_0.05": retrained_fpr(clone, members)}
    test_scores_one_round = retrained_test_scores(clone, members)

    started = time.perf_counter()
    params["mine"]["rounds"] = rounds_param(budgets, 3)
    write_params(clone, params)
    output = run([dvc, "repro", *PIPELINE_TARGETS], cwd=clone, env=env)
    result["three_rounds"] = {"seconds": round(time.perf_counter() - started, 1),
                              "round1_stages_rerun": [stage for stage in stages_run(output) if "round1" in stage],
                              "rounds": clone_rounds(clone),
                              "retrained_fpr_at_mdr_0.05": retrained_fpr(clone, members)}
    test_scores_three_rounds = retrained_test_scores(clone, members)
    # Before cleanlab's rounds below overwrite the rounds' labels.
    result["retrain_crossval"] = crossval_retrain_comparison(clone=clone, members=members, truth=truth)
    result["retrain_paired"] = {member: paired_fpr_comparison(one=test_scores_one_round[member],
                                                              three=test_scores_three_rounds[member], truth=truth)
                                for member in members}

    best = one["best_cleanlab_same_pool"]
    started = time.perf_counter()
    params["mine"]["method"] = best
    write_params(clone, params)
    run([dvc, "repro", "mine_truth"], cwd=clone, env=env)
    result["cleanlab_three_rounds"] = {"method": best, "seconds": round(time.perf_counter() - started, 1),
                                       "rounds": clone_rounds(clone)}

    ours_round1 = one["miner"]["auprc"]
    best_round1 = one["cleanlab_same_pool"][best]["auprc"]
    ours_recall = result["three_rounds"]["rounds"][-1]["miner"]["cumulative_recall"]
    cleanlab_recall = result["cleanlab_three_rounds"]["rounds"][-1]["miner"]["cumulative_recall"]
    fpr_one, fpr_three = result["one_round"]["retrained_fpr_at_mdr_0.05"], result["three_rounds"][
        "retrained_fpr_at_mdr_0.05"]
    result["goals"] = {
        "round1_auprc_margin_over_best_cleanlab": round(ours_round1 - best_round1, 4),
        "round1_auprc_margin_90pct_interval": one.get("auprc_margin_over_best_cleanlab_90pct_interval"),
        "round1_auprc_at_least_best_cleanlab_plus_0.03": ours_round1 >= best_round1 + 0.03,
        "cumulative_recall_three_rounds": ours_recall,
        "cleanlab_cumulative_recall_three_rounds": cleanlab_recall,
        "cumulative_recall_at_least_0.85": ours_recall >= 0.85,
        "cumulative_recall_above_cleanlab": ours_recall > cleanlab_recall,
        "retrain_test_sets_identical": all(result["retrain_paired"][member]["same_test_set"] for member in members),
        "every_member_fpr_lower_after_three_rounds": all(
            fpr_three[member]["truth"] < fpr_one[member]["truth"] for member in members),
        "every_feature_member_lower_after_three_rounds_crossval": all(
            entry["fpr_after_round3"] < entry["fpr_after_round1"]
            for entry in result["retrain_crossval"]["members"].values() if isinstance(entry, dict)),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append", type=parse_variant,
                        help=f"SEED:NOISE (repeatable; NOISE 'default' keeps params.yaml's); default "
                             f"{' '.join(DEFAULT_VARIANTS)}")
    parser.add_argument("--n", type=int, default=None, help="samples per release (default: params.yaml)")
    parser.add_argument("--members", default=None, help="comma-separated ensemble members (default: params.yaml)")
    parser.add_argument("--budget-factor", type=float, default=1.2,
                        help="the three rounds' budgets add up to this times the number of mislabelled samples")
    parser.add_argument("--budget-split", default="0.5,0.3,0.2", help="how the total budget is split over the rounds")
    parser.add_argument("--training-dynamics", type=float, default=None,
                        help="mine.evidence.training_dynamics for our ranking (default: params.yaml)")
    parser.add_argument("--three-rounds-only", action="store_true",
                        help="only our three rounds (no one-round pass, no cleanlab through the rounds: cleanlab "
                             "ignores mine.evidence, so an earlier run's cleanlab rounds still hold)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the scratch clone in this folder")
    parser.add_argument("--commit", default="HEAD", help="benchmark this commit's pipeline (default HEAD)")
    parser.add_argument("--diagnostics", action="store_true",
                        help="also run mining_diagnostics.py on each variant's first round")
    args = parser.parse_args()
    variants = args.variant or [parse_variant(text) for text in DEFAULT_VARIANTS]
    split = tuple(float(share) for share in args.budget_split.split(","))
    if len(split) != len(ROUNDS):
        raise SystemExit(f"--budget-split: expected {len(ROUNDS)} shares, got {args.budget_split!r}")
    members = args.members.split(",") if args.members else None

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{REPO / 'mlflow.db'}")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    dvc = str(Path(sys.executable).parent / "dvc")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench_mining_"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        commit = subprocess.run(["git", "rev-parse", args.commit], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.strip()
        clone = make_clone(workdir, commit)
        base_params = yaml.safe_load((clone / "params.yaml").read_text())
        for seed, noise in variants:
            started = time.perf_counter()
            summary = run_variant(clone, base_params, seed=seed, noise=noise, n=args.n, members=members,
                                  factor=args.budget_factor, split=split, env=env, dvc=dvc,
                                  training_dynamics=args.training_dynamics, three_rounds_only=args.three_rounds_only)
            summary["seconds"] = round(time.perf_counter() - started, 1)
            if args.diagnostics:
                completed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "mining_diagnostics.py"),
                                            "--repo", str(clone)], env=env, capture_output=True, text=True)
                if completed.returncode != 0:
                    sys.stderr.write(completed.stderr[-6000:])
                    raise SystemExit(f"mining_diagnostics.py failed on {seed}:{noise}")
                summary["diagnostics"] = json.loads(completed.stdout)
            results.append(summary)
            # The whole variant on stderr as soon as it is done: hours of work survive a later failure.
            print(json.dumps({"done": f"{seed}:{noise}", "variant": summary}), file=sys.stderr, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps({"benchmark": "mining_rounds_vs_cleanlab", "commit": commit,
                      "budget_factor": args.budget_factor, "budget_split": split, "variants": results,
                      "all_goals_met": all(all(value for key, value in r["goals"].items() if isinstance(value, bool))
                                           for r in results)}, indent=2))


if __name__ == "__main__":
    main()
