"""Survey stage `train@finetune` / `train@scratch`: the base model fine-tuned on the vetted
survey training split, or its architecture trained from scratch on it; tracked in MLflow.
Its learning curves: reports/train/<mode>/history.csv and a figure in --figures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from realbogus import plots, tracking
from realbogus.atomic import atomic_path
from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.provenance import content_hash
from realbogus.survey.config import base_model_paths, train_config_for
from realbogus.survey.retrain import retrain_for_survey


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", required=True, choices=("finetune", "scratch"))
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--vetted", default="data/vetted")
    parser.add_argument("--out", required=True)
    parser.add_argument("--reports", required=True)
    parser.add_argument("--figures", default="reports/figures", help="folder of the survey's figures (DVC plots)")
    args = parser.parse_args(argv)
    params = load_params()
    base_model_path, model_config = base_model_paths(params)
    train_config = train_config_for(params, args.mode)
    ingested = Path(args.ingested)
    catalog = pd.read_parquet(ingested / "catalog.parquet", columns=["id", "row"])
    vetted = pd.read_csv(Path(args.vetted) / "labels.csv").merge(catalog, on="id", how="inner")
    stamps = np.load(ingested / "stamps.npy", mmap_mode="r")
    labels = np.zeros(len(stamps), dtype=np.int64)
    labels[vetted["row"].to_numpy()] = vetted["label"].to_numpy()
    rows = {name: np.sort(vetted.loc[vetted["split"] == name, "row"].to_numpy()) for name in ("train", "val")}
    run_params = {"base_model": params["base_model"], "mode": args.mode, "retrain": section(params, "retrain"),
                  "model": model_config.to_params()}
    with tracking.stage_run(stage="survey_train", params=run_params,
                            data_version=content_hash(ingested / "catalog.parquet"),
                            labels_version=content_hash(Path(args.vetted) / "labels.csv"),
                            data_source="simulated survey", run_name=f"survey-train-{args.mode}",
                            tags={"mode": args.mode, "base_model_hash": content_hash(base_model_path)}) as run:
        result = retrain_for_survey(
            mode=args.mode, base_model_path=base_model_path, model_config=model_config, stamps=stamps,
            labels=labels, train_rows=rows["train"], val_rows=rows["val"], train_config=train_config,
            seed=int(section(params, "retrain")["seed"]),
            on_epoch_end=lambda epoch, logs: run.log_metrics(logs, step=epoch),
            progress=lambda line: print(f"survey {args.mode}: {line}", flush=True))
        with atomic_path(args.out, is_dir=True, command="survey train",
                         inputs=(args.ingested, args.vetted, base_model_path)) as temporary:
            result.model.save(temporary / "model.keras")
            (temporary / "training.json").write_text(json.dumps({
                "mode": args.mode, "base_model": str(base_model_path), "best_epoch": result.best_epoch,
                "epochs_run": result.epochs_run, "fit_seconds": result.fit_seconds,
                "n_train": int(len(rows["train"])), "n_val": int(len(rows["val"]))}, indent=2) + "\n")
        history = pd.DataFrame({"epoch": np.arange(result.epochs_run), **result.history})
        with atomic_path(Path(args.reports) / "history.csv") as temporary:
            history.to_csv(temporary, index=False)
        plots.plot_learning_curves(history=result.history, path=Path(args.figures) / f"learning_curves_{args.mode}.png",
                                   title=f"survey {args.mode}: loss per epoch")
        run.log_metrics({"best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                         "fit_seconds": result.fit_seconds,
                         "best_val_loss": min(result.history.get("val_loss", [float("nan")]))})
        run.log_artifacts(Path(args.out) / "model.keras", artifact_path="model")
    print(f"{args.mode}: {result.epochs_run} epochs in {result.fit_seconds:.0f} s, best epoch {result.best_epoch}")


if __name__ == "__main__":
    run_stage(main)
