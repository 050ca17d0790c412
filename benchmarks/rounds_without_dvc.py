"""Review rounds on a machine without DVC: one round against three, with a profile's members
(the GPU profile's four CNNs), and each member retrained after each; prints one JSON object.

``bench_mining.py`` asks the same questions with ``dvc repro`` in a scratch clone; a lent GPU
machine has jax and the scientific stack but neither DVC nor git, so this splits the work:

    # here, in the repository (DVC, git): the commit's source, both params files, both plans
    python benchmarks/rounds_without_dvc.py prepare --profile params-gpu.yaml --out rounds-gpu/
    # there (KERAS_BACKEND=jax), from the repository root or anywhere with this script:
    python benchmarks/rounds_without_dvc.py run --prepared rounds-gpu/ --work /tmp/rounds --out rounds-run/
    # either place: the figures from what ``run`` kept (``run`` prints them too when both phases ended)
    python benchmarks/rounds_without_dvc.py report --run rounds-run/

``prepare`` applies the profile to HEAD's params.yaml (DVC's own override code, as ``make
repro-gpu``), draws the release's truth without pixels to count its mislabelled samples, and
sets the budgets as ``bench_mining.py`` does (1.2 x the mislabels, split 0.5 / 0.3 / 0.2): one
params file with round 1 alone, one with all three rounds, and each one's plan
(``pipeline_without_dvc.py plan``).  ``run`` unpacks the source into ``--work``, runs the
one-round plan there, keeps what the figures need in ``<out>/one_round``, then writes the
three-round params and runs only what they change (the new rounds' stages and everything
downstream of them: the final labels, the retrain, Table 4), and keeps ``<out>/three_rounds``.
Each kept folder is written whole (built beside its name, then renamed), so a run stopped
by its deadline keeps the phase that ended.  ``report`` gives, per round, our ranking against
cleanlab's five methods on the same cross-fitted scores, the cumulative recall, and each
member's FPR at MDR 0.05 against the truth after one round and after three on the same test
samples, with a paired bootstrap (``bench_mining.paired_fpr_comparison``).  Not here:
cleanlab's own ranking through three rounds (``bench_mining.py`` runs it; a third pipeline
pass, as long as the second).
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for folder in (HERE, REPO / "src"):  # the lent machine has the stack, not this project installed
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import pipeline_without_dvc  # noqa: E402
from bench_mining import (ROUNDS, budgets_for, paired_fpr_comparison, retrained_fpr,  # noqa: E402
                          retrained_test_scores, round_table, rounds_param, summarise_rounds)
from realbogus.atomic import atomic_path  # noqa: E402

COMMAND = "benchmarks/rounds_without_dvc.py"
PHASES = {"one_round": 1, "three_rounds": len(ROUNDS)}
SOURCE = "source.tar.gz"
# What the figures are computed from, relative to the pipeline's folder; globs.
KEPT = ("data/simulated/truth.parquet", "data/rounds/*/labels.csv", "data/rounds/*/reviews.csv",
        "data/retrain/*/scores.parquet", "reports/evaluate/table4_*.csv", "reports/mine_truth/rounds.csv",
        "reports/rounds/*/mine.json", "reports/merge/metrics.json", "reports/summary.md", "params.yaml")


# -- prepare (needs git and DVC) ---------------------------------------------------------

def source_archive(repo: Path, commit: str) -> bytes:
    """``git archive`` of ``commit``: the tracked files, nothing the checkout has built."""
    return subprocess.run(["git", "archive", "--format=tar.gz", commit], cwd=repo, check=True,
                          capture_output=True).stdout


def count_mislabelled(params: dict) -> tuple[int, dict[str, int]]:
    """The release's mislabelled samples (and by mechanism), from the simulation without pixels."""
    from realbogus.simulate import SimulationConfig
    from realbogus.simulate.release import draw_truth_table

    settings = params["simulate"]
    config = SimulationConfig.from_mapping(settings.get("config") or {}, where="params.yaml simulate.config")
    truth = draw_truth_table(n=settings["n"], seed=settings["seed"], label_noise=settings["label_noise"],
                             flip_ratio=settings["flip_ratio"], config=config)
    wrong = truth[truth["true_label"] != truth["given_label"]]
    return len(wrong), {str(k): int(v) for k, v in wrong["mislabel_mechanism"].value_counts().items()}


def prepare(*, repo: Path, commit: str, profile: Path | None, factor: float, split: tuple[float, ...],
            out: Path) -> dict:
    from realbogus.profiles import apply_profile

    sha = subprocess.run(["git", "rev-parse", commit], cwd=repo, check=True, capture_output=True,
                         text=True).stdout.strip()
    archive = source_archive(repo, sha)
    with atomic_path(out, is_dir=True, command=COMMAND) as folder, \
            tempfile.TemporaryDirectory(prefix="rounds_prepare_") as scratch:
        source = Path(scratch) / "source"
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(source, filter="data")
        (source / ".dvc").mkdir(exist_ok=True)  # DVC reads the pipeline from a repository; git is not needed
        (source / ".dvc" / "config").write_text("[core]\n    no_scm = True\n")
        if profile is not None:
            apply_profile(profile, params_path=source / "params.yaml")
        params = yaml.safe_load((source / "params.yaml").read_text())
        n_mislabelled, mechanisms = count_mislabelled(params)
        budgets = budgets_for(n_mislabelled, factor=factor, split=split)
        plans = {}
        for phase, count in PHASES.items():
            params["mine"]["rounds"] = rounds_param(budgets, count)
            (source / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            shutil.copyfile(source / "params.yaml", folder / f"params_{phase}.yaml")
            plans[phase] = pipeline_without_dvc.plan(source)
            (folder / f"plan_{phase}.json").write_text(json.dumps(plans[phase], indent=1) + "\n")
        (folder / SOURCE).write_bytes(archive)
        summary = {"commit": sha, "profile": str(profile) if profile else None, "n": params["simulate"]["n"],
                   "seed": params["simulate"]["seed"], "label_noise": params["simulate"]["label_noise"],
                   "n_mislabelled": n_mislabelled, "mechanisms": mechanisms, "budget_factor": factor,
                   "budget_split": list(split), "budgets": budgets, "members": params["ensemble"]["members"],
                   "rerun_in_three_rounds": downstream_of_new_stages(plans["one_round"], plans["three_rounds"])}
        (folder / "prepared.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def downstream_of_new_stages(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """The stages of ``before`` that depend, directly or not, on a stage ``after`` adds: what
    appending rounds makes stale (the final labels, the retrain, Table 4, the mining report)."""
    new = set(after) - set(before)
    stale: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name in before:
            if name not in stale and set(after[name]["deps"]) & (new | stale):
                stale.add(name)
                changed = True
    return sorted(stale)


# -- run (no DVC, no git) ----------------------------------------------------------------

def keep(work: Path, target: Path, *, timings: dict) -> None:
    """Copy what the figures need from the pipeline folder ``work`` into ``target``, whole."""
    with atomic_path(target, is_dir=True, command=COMMAND, inputs=[work]) as folder:
        for pattern in KEPT:
            for path in sorted(work.glob(pattern)):
                destination = folder / path.relative_to(work)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
        (folder / "timings.json").write_text(json.dumps(timings, indent=1) + "\n")
        logs = work / "logs"
        if logs.is_dir():
            shutil.copytree(logs, folder / "logs")


def run_phases(*, prepared: Path, work: Path, out: Path, jobs: int, deadline_s: float | None,
               keep_going: bool = False) -> dict:
    """Both phases in ``work`` (created here; refused if it exists); kept folders in ``out``.

    A phase with a failed stage ends the run. With ``keep_going`` every stage of that phase
    that does not depend on the failure still runs, and an incomplete first phase is kept all
    the same (its timings.json says what failed and what was skipped)."""
    summary = json.loads((prepared / "prepared.json").read_text())
    plans = {phase: json.loads((prepared / f"plan_{phase}.json").read_text()) for phase in PHASES}
    work = work.resolve()  # the stages run inside it: their logs and PYTHONPATH must not be relative
    work.mkdir(parents=True, exist_ok=False)
    with tarfile.open(prepared / SOURCE, mode="r:gz") as tar:
        tar.extractall(work, filter="data")
    pipeline_without_dvc.require_dependencies(work / "pyproject.toml")  # before the first stage, not minutes in
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    done: set[str] = set()
    results = {}
    for phase in PHASES:
        shutil.copyfile(prepared / f"params_{phase}.yaml", work / "params.yaml")
        stages = {name: spec for name, spec in plans[phase].items()
                  if name not in done or name in summary["rerun_in_three_rounds"]}
        remaining = None if deadline_s is None else deadline_s - (time.monotonic() - began)
        # The stages' paths are relative to the repository root: they run in the work folder.
        timings = pipeline_without_dvc.run(stages, jobs=jobs, logs=work / "logs" / phase, deadline_s=remaining,
                                           source=work / "src", keep_going=keep_going, cwd=work)
        results[phase] = {key: timings[key] for key in ("seconds", "completed", "error", "skipped")}
        print(json.dumps({"phase": phase, **results[phase]}), file=sys.stderr, flush=True)
        # An incomplete first phase is kept with keep_going: the work folder was new, so all it
        # holds is that phase's. Not a later one: a stage it skipped would leave the earlier
        # phase's output in place, to be kept as this one's.
        if timings["completed"] or (keep_going and not done):
            keep(work, out / phase, timings=timings)
        if not timings["completed"]:
            break
        done |= set(stages)
    return results


# -- report (anywhere) -------------------------------------------------------------------

def report(run_folder: Path, *, prepared: dict | None = None) -> dict:
    """The figures from ``run``'s kept folders (the three-round one may be missing).

    A member is compared when both kept folders hold its retrained scores; the FPRs compared
    are computed from those scores on the shared test samples, so Table 4 is only quoted
    where its phase wrote it."""
    one, three = run_folder / "one_round", run_folder / "three_rounds"
    params = yaml.safe_load((one / "params.yaml").read_text())
    members = list(params["ensemble"]["members"])
    truth = pd.read_parquet(one / "data" / "simulated" / "truth.parquet")
    result: dict = {"benchmark": "rounds_without_dvc", "members": members,
                    "n_mislabelled": int((truth["true_label"] != truth["given_label"]).sum()),
                    "budgets": [params["mine"]["rounds"][name]["budget"] for name in params["mine"]["rounds"]]}
    if prepared is not None:
        result["prepared"] = prepared
    first = summarise_rounds(round_table(one))[0]
    result["one_round"] = {"round1": first, "table4_fpr_at_mdr_0.05": table4_fpr(one, members),
                           "seconds": json.loads((one / "timings.json").read_text())["seconds"]}
    best = first["cleanlab_same_pool"][first["best_cleanlab_same_pool"]]["auprc"]
    goals: dict = {"round1_auprc_margin_over_best_cleanlab": round(first["miner"]["auprc"] - best, 4),
                   "round1_auprc_at_least_best_cleanlab_plus_0.03": first["miner"]["auprc"] >= best + 0.03}
    if (three / "reports" / "mine_truth" / "rounds.csv").is_file():
        three_params = yaml.safe_load((three / "params.yaml").read_text())
        result["budgets"] = [three_params["mine"]["rounds"][name]["budget"] for name in three_params["mine"]["rounds"]]
        rounds = summarise_rounds(round_table(three))
        compared = [m for m in members if all((folder / "data" / "retrain" / m / "scores.parquet").is_file()
                                              for folder in (one, three))]
        scores_one, scores_three = retrained_test_scores(one, compared), retrained_test_scores(three, compared)
        paired = {member: paired_fpr_comparison(one=scores_one[member], three=scores_three[member], truth=truth)
                  for member in compared}
        result["three_rounds"] = {"rounds": rounds, "table4_fpr_at_mdr_0.05": table4_fpr(three, members),
                                  "seconds": json.loads((three / "timings.json").read_text())["seconds"]}
        result["retrain_paired"] = paired
        recall = rounds[-1]["miner"]["cumulative_recall"]
        lower = [m for m in compared if paired[m]["fpr_three_rounds"] < paired[m]["fpr_one_round"]]
        goals.update({
            "cumulative_recall_three_rounds": recall,
            "cumulative_recall_at_least_0.85": recall >= 0.85,
            "retrain_test_sets_identical": all(entry["same_test_set"] for entry in paired.values()),
            "members_compared": compared,
            "members_fpr_lower_after_three_rounds": lower,
            "every_compared_member_fpr_lower_after_three_rounds": len(lower) == len(compared)})
    result["goals"] = goals
    return result


def table4_fpr(folder: Path, members: list[str]) -> dict[str, dict[str, float]]:
    """``bench_mining.retrained_fpr`` for the members whose Table 4 the phase wrote."""
    written = [m for m in members if (folder / "reports" / "evaluate" / f"table4_{m}.csv").is_file()]
    return retrained_fpr(folder, written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_parser = commands.add_parser("prepare", help="source, params and plans for both phases (needs git, DVC)")
    prepare_parser.add_argument("--out", type=Path, required=True)
    prepare_parser.add_argument("--profile", type=Path, help="a profile to apply (params-gpu.yaml)")
    prepare_parser.add_argument("--commit", default="HEAD")
    prepare_parser.add_argument("--budget-factor", type=float, default=1.2)
    prepare_parser.add_argument("--budget-split", default="0.5,0.3,0.2")
    run_parser = commands.add_parser("run", help="both phases, no DVC (KERAS_BACKEND=jax on a GPU)")
    run_parser.add_argument("--prepared", type=Path, required=True)
    run_parser.add_argument("--work", type=Path, required=True, help="a new folder for the pipeline (not reused)")
    run_parser.add_argument("--out", type=Path, required=True, help="folder for the kept phases")
    run_parser.add_argument("--jobs", type=int, default=4)
    run_parser.add_argument("--deadline-s", type=float, help="start no stage after this, stop those running")
    run_parser.add_argument("--keep-going", action="store_true",
                            help="after a failure, run what does not depend on it and keep the phase's outputs")
    report_parser = commands.add_parser("report", help="the figures from a run's kept phases")
    report_parser.add_argument("--run", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "prepare":
        split = tuple(float(share) for share in args.budget_split.split(","))
        if len(split) != len(ROUNDS):
            raise SystemExit(f"--budget-split: expected {len(ROUNDS)} shares, got {args.budget_split!r}")
        summary = prepare(repo=REPO, commit=args.commit, profile=args.profile, factor=args.budget_factor,
                          split=split, out=args.out)
        print(json.dumps(summary, indent=1))
        return 0
    if args.command == "run":
        phases = run_phases(prepared=args.prepared, work=args.work, out=args.out, jobs=args.jobs,
                            deadline_s=args.deadline_s, keep_going=args.keep_going)
        if not phases["one_round"]["completed"]:
            print(json.dumps({"phases": phases}, indent=1))
            return 1
        prepared = json.loads((args.prepared / "prepared.json").read_text())
        print(json.dumps({**report(args.out, prepared=prepared), "phases": phases}, indent=1))
        return 0 if all(phase["completed"] for phase in phases.values()) else 1
    print(json.dumps(report(args.run), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
