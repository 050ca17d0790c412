"""Survey stages `score_original` / `score@<mode>`: every survey detection scored by one model."""

from __future__ import annotations

import argparse
import json

from realbogus.command_errors import run_stage
from realbogus.params import load_params, section
from realbogus.survey.scoring import load_scoring_model, open_stamp_source, score_stamps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--ingested", default="data/ingested")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    params = load_params()
    model, model_hash = load_scoring_model(args.model)
    summary = score_stamps(source=open_stamp_source(args.ingested), model=model, model_path=args.model,
                           model_hash=model_hash, out_path=args.out, threshold=float(params["alert_threshold"]),
                           batch_size=int(section(params, "score")["batch_size"]), progress=False)
    print(json.dumps(summary.as_dict(), indent=2))


if __name__ == "__main__":
    run_stage(main)
