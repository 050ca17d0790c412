"""Argument types shared by the commands: numbers checked at parse time, with one-line errors."""

from __future__ import annotations

import argparse


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def non_negative_int(text: str) -> int:
    """An integer >= 0 (e.g. --workers, where 0 means 'in this process')."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (counts, batch sizes, worker processes)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def port(text: str) -> int:
    """A TCP port 0..65535 (0: the system picks a free one)."""
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0..65535, got {value}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1] (thresholds, rates)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value:g}")
    return value


def add_force(parser: argparse.ArgumentParser, *, what: str) -> None:
    """The --force switch of every command that writes an output the user names."""
    parser.add_argument("--force", action="store_true",
                        help=f"replace {what} even when it is not an earlier output of this command "
                             "(never the input, the current folder or a repository root)")
