"""``realbogus review``: serve the review page for the mined candidates on 127.0.0.1.

The candidates are a review round's list (``--round NAME``: data/rounds/NAME/mine/candidates.csv;
by default the latest round of params.yaml ``mine.rounds`` whose list exists) or any list
given with ``--candidates``.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys

from pathlib import Path

from realbogus.cli._arguments import port
from realbogus.review.server import DEFAULT_PORT, make_server

ROUND_CANDIDATES = "data/rounds/{round}/mine/candidates.csv"


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "reviewer"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--round", default=None, metavar="NAME",
                       help=f"review this round's candidates ({ROUND_CANDIDATES.format(round='NAME')}; default: "
                            "the latest round of params.yaml mine.rounds whose candidate list exists)")
    which.add_argument("--candidates", default=None,
                       help="a candidate list from the mining stage, instead of a round's")
    parser.add_argument("--stamps", default="data/ingested/stamps.npy",
                        help="stamp array (N, 51, 51, 3) uint8 that the list's 'row' column indexes "
                             "(default: %(default)s)")
    parser.add_argument("--decisions", default="data/decisions/people.csv",
                        help="decisions CSV to append to, created if missing; the merge stage reads it "
                             "(default: %(default)s)")
    parser.add_argument("--port", type=port, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--reviewer", action="append", default=None, metavar="NAME",
                        help="your name, written with every decision (default: your login name); give it "
                             "again for each colleague reviewing on this server: each gets an address with a "
                             "token of their own")
    parser.add_argument("--show-others", action="store_true",
                        help="let each reviewer's page read (never change) the other reviewers' decisions "
                             "(?reviewer=NAME); off by default so that votes stay independent")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")


def run(args: argparse.Namespace) -> int:
    from realbogus.command_errors import one_line

    try:
        if args.candidates is None:
            args.candidates = round_candidates(args.round)
        server = make_server(
            candidates_path=args.candidates, stamps_path=args.stamps, decisions_path=args.decisions,
            reviewer=args.reviewer or [_default_reviewer()], port=args.port, quiet=args.quiet,
            show_others=args.show_others,
        )
    except (ValueError, OSError) as error:  # a bad input file, or the port (ListenError)
        print(f"realbogus review: {one_line(error)}", file=sys.stderr)
        return 2
    session = server.session
    progress = session.state(reviewer=session.default_reviewer)["progress"]
    print(f"reviewing {progress['total']} candidates ({args.candidates}, version "
          f"{session.candidates.version[:8]}) as {session.default_reviewer!r}; "
          f"{progress['decided']} decided so far")
    print(f"decisions go to {args.decisions}")
    others = [name for name in server.tokens.values() if name != session.default_reviewer]
    for name in others:
        print(f"address for {name!r} (give it to them only): {server.url_for(name)}")
    print(f"open {server.url} in a browser; Ctrl-C stops the server", flush=True)
    previous = _stop_on(signal.SIGINT, signal.SIGTERM)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped; every confirmed decision is on disk")
    finally:
        server.server_close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def round_candidates(review_round: str | None, *, params_file: str = "params.yaml") -> str:
    """The candidate list of ``review_round``, or of the latest round (in params.yaml order)
    whose list exists; a clear error when there is none."""
    if review_round is not None:
        path = ROUND_CANDIDATES.format(round=review_round)
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: round {review_round!r} has no candidate list yet "
                                    f"(run `dvc repro mine@{review_round}`)")
        return path
    from realbogus.mining.rounds import review_rounds
    from realbogus.params import load_params, section

    rounds = review_rounds(section(load_params(params_file), "mine").get("rounds"))
    existing = [r.name for r in rounds if Path(ROUND_CANDIDATES.format(round=r.name)).is_file()]
    if not existing:
        raise FileNotFoundError(f"no review round of {params_file} mine.rounds ({', '.join(r.name for r in rounds)}) "
                                f"has a candidate list yet; run `dvc repro mine@{rounds[0].name}` first")
    return ROUND_CANDIDATES.format(round=existing[-1])


def _stop_on(*signums: int) -> dict[int, object]:
    """Make these signals stop the server like Ctrl-C; returns the previous handlers.

    Also when the process inherited SIGINT as ignored (started in the background by a
    script), where Python would otherwise leave Ctrl-C ignored; SIGTERM (kill, systemd,
    docker stop) stops it cleanly too.  Decisions are appended and fsynced per request, so
    stopping between requests loses nothing.
    """
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return {signum: signal.signal(signum, stop) for signum in signums}
