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
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="realbogus", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        # Arguments are added lazily in main() once the command is known.
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Find the command first, then let its module declare its own arguments.
    known, _ = parser.parse_known_args(argv) if argv and argv[0] in COMMANDS else (None, None)
    if known is None:
        parser.parse_args(argv)  # prints help or the error and exits
        return 2
    module = importlib.import_module(f"realbogus.cli.{known._module}")
    help_text = COMMANDS[known.command][1]
    sub = argparse.ArgumentParser(prog=f"realbogus {known.command}", description=help_text)
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    return int(module.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
