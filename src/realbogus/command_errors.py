"""How a command or a stage ends on an error: one line on stderr, exit status 2.

A survey astronomer running ``realbogus ingest`` or ``dvc repro`` should read what was
wrong (the file, the record, what was expected), not a traceback.  The traceback is
still there for whoever debugs: ``--debug`` on the command line, or ``REALBOGUS_DEBUG=1``
in the environment (stages, which DVC starts).

SIGTERM is turned into an interrupt while the body runs, so ``finally`` clean-ups run
(temporary outputs removed, process pools shut down) when a job scheduler or ``kill``
stops a run.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from realbogus.atomic import OutputPathError, terminate_as_interrupt

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
DEBUG_FLAG = "--debug"
DEBUG_ENVIRONMENT = "REALBOGUS_DEBUG"
# Errors whose message is written for the user: shown as they are.  Anything else is a
# bug or an unforeseen failure: shown with its type and the hint to rerun with --debug.
_USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, RuntimeError, LookupError)


def one_line(error: BaseException) -> str:
    """The error's message on one line (multi-line messages joined, blank lines dropped)."""
    if isinstance(error, KeyError) and len(error.args) == 1:
        # str(KeyError) quotes its argument: show a message as written, a bare key as a key.
        key = error.args[0]
        text = key if isinstance(key, str) and " " in key else f"missing key {key!r}"
    else:
        text = str(error)
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return text or type(error).__name__


def debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """(whether ``--debug`` or REALBOGUS_DEBUG=1 asks for tracebacks, argv without ``--debug``)."""
    wanted = DEBUG_FLAG in argv or os.environ.get(DEBUG_ENVIRONMENT, "").strip().lower() in {"1", "true", "yes"}
    return wanted, [argument for argument in argv if argument != DEBUG_FLAG]


def run_reporting_errors(name: str, body: Callable[[], int | None], *, debug: bool = False) -> int:
    """Run ``body``; its return value (None = 0) is the exit status.

    An exception becomes one line ``<name>: <message>`` on stderr and status 2 (with
    ``debug`` the traceback is printed too); an interrupt (Ctrl-C, SIGTERM) becomes
    status 130 after the clean-ups ran.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        import signal

        previous = signal.getsignal(signal.SIGTERM)
        terminate_as_interrupt()
    try:
        return int(body() or 0)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; temporary outputs were removed, earlier outputs are unchanged",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - every error ends as one line (or a traceback with --debug)
        if debug:
            import traceback

            traceback.print_exc()
        message = one_line(error)
        if not isinstance(error, _USER_ERRORS):
            message = f"{type(error).__name__}: {message} (rerun with {DEBUG_FLAG} for the traceback)"
        print(f"{name}: {message}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)


def run_stage(main: Callable[[list[str] | None], None]) -> None:
    """A DVC stage's ``__main__``: run ``main`` with errors as one line, then exit with its status."""
    debug, argv = debug_requested(sys.argv[1:])
    name = f"stage {Path(sys.argv[0]).stem}"

    def body() -> None:
        try:
            main(argv)
        except OutputPathError as error:
            if not error.forceable:
                raise
            # A stage has no --force: its outputs are DVC's, which removes them before a run.
            raise OutputPathError(f"output {error.path} {error.problem}; run the stage with `dvc repro` "
                                  "(which removes its outputs first) or remove the output yourself") from error

    raise SystemExit(run_reporting_errors(name, body, debug=debug))


__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "debug_requested", "one_line", "run_reporting_errors", "run_stage"]
