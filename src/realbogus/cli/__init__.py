"""The ``realbogus`` command line.

Each sub-command lives in its own module under ``realbogus.cli`` and defines
``add_arguments(parser)`` and ``run(args) -> int``.  Modules are imported only when their
command runs, so ``realbogus --help`` stays fast and a command never pays for TensorFlow
unless it needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> (module under realbogus.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("simulate", "write a simulated DES-like release with ground truth beside it"),
    "ingest": ("ingest", "read a release (tars or folders, GIF or FITS) into one stamp array and a catalog"),
    "models": ("models", "print the CNN presets with their layers and parameter counts"),
    "review": ("review", "serve the review page for the mined candidates on 127.0.0.1"),
    "labels": ("labels", "label versions in git history (log) and what changed between two (diff)"),
    "score": ("score", "score new detections (release, tar, ingested folder or .npy) with a trained CNN"),
    "survey": ("survey", "survey mode: simulate observers' votes, vet labels by majority, choose a threshold"),
    "ui": ("ui", "the MLflow UI on this repository's runs, opened on the training runs"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realbogus", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module_name, help_text) in COMMANDS.items():
        subparsers.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        build_parser().parse_args(argv)  # prints the help or names the unknown command, and exits
        return 2
    command = argv[0]
    module_name, help_text = COMMANDS[command]
    module = importlib.import_module(f"realbogus.cli.{module_name}")
    parser = argparse.ArgumentParser(prog=f"realbogus {command}", description=help_text)
    module.add_arguments(parser)
    return int(module.run(parser.parse_args(argv[1:])) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
