"""``realbogus models``: the paper's CNN presets, their layers and parameter counts vs the paper."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names",
        nargs="*",
        metavar="PRESET",
        help="presets to show (default: all of model1..model4)",
    )
    parser.add_argument("--layers", action="store_true", help="also list every layer with its output shape")
    parser.add_argument("--json", action="store_true", help="print one JSON object per preset instead of text")


def run(args: argparse.Namespace) -> int:
    from realbogus.cnn.models import PRESETS, build_model, count_params, layer_summary

    names = args.names or sorted(PRESETS)
    unknown = [name for name in names if name not in PRESETS]
    if unknown:
        raise ValueError(f"unknown preset(s) {unknown}; expected some of {sorted(PRESETS)}")
    all_match = True
    for name in names:
        preset = PRESETS[name]
        model = build_model(config=preset.config, name=name)
        trainable, total = count_params(model)
        matches = (trainable, total) == (preset.paper_trainable_params, preset.paper_total_params)
        all_match &= matches
        layers = layer_summary(model)
        if args.json:
            print(
                json.dumps(
                    {
                        "preset": name,
                        "config": preset.config.to_params(),
                        "layers": [type_name for _, type_name, _, _ in layers],
                        "trainable_params": trainable,
                        "total_params": total,
                        "paper_trainable_params": preset.paper_trainable_params,
                        "paper_total_params": preset.paper_total_params,
                        "matches_paper": matches,
                    }
                )
            )
            continue
        # One summary line: the layer sequence, with runs of blocks easy to read.
        sequence = " > ".join(_short(type_name) for _, type_name, _, _ in layers[1:])
        verdict = "matches paper" if matches else "DIFFERS from paper"
        print(f"{name}: {sequence}")
        print(
            f"  trainable {trainable:,} / total {total:,}   paper {preset.paper_trainable_params:,} / "
            f"{preset.paper_total_params:,}   {verdict}"
        )
        if args.layers:
            for layer_name, type_name, shape, params in layers:
                print(f"    {layer_name:<16} {type_name:<20} {str(shape):<22} {params:>9,}")
    return 0 if all_match else 1


_SHORT_NAMES = {
    "Rescaling": "cast",
    "Conv2D": "Conv",
    "BatchNormalization": "BN",
    "MaxPooling2D": "Pool",
    "Dropout": "Drop",
    "Flatten": "Flat",
    "Dense": "Dense",
}


def _short(type_name: str) -> str:
    return _SHORT_NAMES.get(type_name, type_name)
