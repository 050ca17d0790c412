"""The ``realbogus`` command line.

Each sub-command lives in its own module under ``realbogus.cli`` and defines
``add_arguments(parser)`` and ``run(args) -> int``.  Modules are imported only when their
command runs, so ``realbogus --help`` stays fast and a command never pays for TensorFlow
unless it needs it.

Every error ends as one line ``realbogus COMMAND: what was wrong`` on stderr with exit
status 2 (``--debug`` adds the traceback); a bad argument too.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from realbogus.command_errors import DEBUG_FLAG, EXIT_ERROR, debug_requested, run_reporting_errors

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


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a bad argument reported on one line (no usage block), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="realbogus", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_module_name, help_text) in COMMANDS.items():
        subparsers.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    debug, argv = debug_requested(list(sys.argv[1:] if argv is None else argv))
    if not argv or argv[0] not in COMMANDS:
        build_parser().parse_args(argv)  # prints the help or names the unknown command, and exits
        return EXIT_ERROR
    command = argv[0]
    module_name, help_text = COMMANDS[command]
    module = importlib.import_module(f"realbogus.cli.{module_name}")
    parser = ArgumentParser(prog=f"realbogus {command}", description=help_text)
    module.add_arguments(parser)
    parser.add_argument(DEBUG_FLAG, action="store_true", help="on an error, print the traceback too")
    try:
        args = parser.parse_args(argv[1:])
    except SystemExit as stop:  # --help (0) or a bad argument (2), already printed
        return int(stop.code or 0)
    action = getattr(args, "action", None)  # survey vet, labels diff: name the action too
    name = f"realbogus {command}" + (f" {action}" if action else "")
    return run_reporting_errors(name, lambda: module.run(args), debug=debug)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
