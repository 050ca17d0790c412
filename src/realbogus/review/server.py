"""The review page's HTTP server: 127.0.0.1 only, a fixed set of routes, JSON errors.

Routes (nothing else is served; no route turns request text into a file path):

- ``GET /``, ``GET /static/review.css``, ``GET /static/review.js``: the page, read from
  the package once at start;
- ``GET /api/state?reviewer=NAME``: the candidates in rank order with the reviewer's
  current decisions, progress and where to resume;
- ``GET /api/stamp/<id>/<temp|srch|diff>.png``: one stamp of one candidate, by id;
- ``POST /api/decision`` ``{"reviewer", "id", "decision"}``: append a decision;
- ``POST /api/undo`` ``{"reviewer"}``: append an undo of the reviewer's latest decision.

Every refusal is a 4xx with ``{"error": "..."}`` and writes nothing.  The Host header
must name this server (so a web page elsewhere cannot reach it by DNS rebinding) and
POST bodies must be small JSON (a form on another site cannot post JSON without the
browser asking first).
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote

import numpy as np

from realbogus.release.layout import CHANNELS
from realbogus.review.candidates import CandidateList, load_candidates, load_stamps
from realbogus.review.render import stamp_png
from realbogus.review.store import DecisionStore, current_decisions, validate_reviewer
from realbogus.votes import DECISIONS, SKIP_VOTE

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY_BYTES = 4096  # a decision is ~80 bytes of JSON; anything near this is not one
_STAMP_ROUTE = re.compile(r"^/api/stamp/(\d{1,18})/(" + "|".join(CHANNELS) + r")\.png$")
_STATIC_FILES: dict[str, tuple[str, str]] = {
    # URL path -> (file in realbogus/review/static, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/review.css": ("review.css", "text/css; charset=utf-8"),
    "/static/review.js": ("review.js", "text/javascript; charset=utf-8"),
}


class RequestError(Exception):
    """A refused request: HTTP status and a message for the JSON body."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ReviewSession:
    """What the server serves: one candidate list, its stamps and one decisions file."""

    candidates: CandidateList
    stamps: np.ndarray
    store: DecisionStore
    default_reviewer: str

    def __post_init__(self) -> None:
        table = self.candidates.table
        self._index_of = {int(i): n for n, i in enumerate(table["id"].to_numpy())}
        self._old_label_of = {int(i): int(label) for i, label in zip(table["id"], table["given_label"])}

    def _candidate_index(self, raw_id: object) -> int:
        if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"id must be an integer candidate id, got {raw_id!r}")
        try:
            candidate_id = int(raw_id)
        except ValueError:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"id must be an integer candidate id, got {raw_id!r}") from None
        if candidate_id not in self._index_of:
            raise RequestError(HTTPStatus.NOT_FOUND, f"unknown candidate id {candidate_id}: not in {self.candidates.path.name}")
        return self._index_of[candidate_id]

    def _progress(self, decisions: dict[int, str]) -> dict[str, int]:
        in_list = {i: d for i, d in decisions.items() if i in self._index_of}
        skipped = sum(1 for d in in_list.values() if d == SKIP_VOTE)
        return {"decided": len(in_list) - skipped, "skipped": skipped, "total": len(self._index_of)}

    def state(self, *, reviewer: str) -> dict:
        """The page's whole state for one reviewer (JSON-ready)."""
        decisions = current_decisions(self.store.records(), reviewer=reviewer)
        table = self.candidates.table
        members = self.candidates.members
        scores = table[[f"score_{m}" for m in members]].to_numpy(dtype=float).round(4)
        categories = table[[f"cat_{m}" for m in members]].to_numpy(dtype=int)
        rows = []
        for n, (candidate_id, rank, rank_score, given_label) in enumerate(
            zip(table["id"].tolist(), table["rank"].tolist(), table["rank_score"].tolist(), table["given_label"].tolist())
        ):
            rows.append({
                "id": candidate_id, "rank": rank,
                "rank_score": None if not np.isfinite(rank_score) else round(rank_score, 4),
                "given_label": given_label, "scores": scores[n].tolist(),
                "categories": categories[n].tolist(), "decision": decisions.get(candidate_id),
            })
        # Resume at the first candidate, in rank order, the reviewer has not dealt with.
        resume_index = next((n for n, row in enumerate(rows) if row["decision"] is None), 0)
        return {
            "reviewer": reviewer, "candidates_version": self.candidates.version,
            "candidates_file": self.candidates.path.name, "members": list(members),
            "candidates": rows, "progress": self._progress(decisions), "resume_index": resume_index,
        }

    def decide(self, *, reviewer: str, raw_id: object, decision: object) -> dict:
        index = self._candidate_index(raw_id)
        if decision not in DECISIONS:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"decision must be one of {list(DECISIONS)}, got {decision!r}")
        candidate_id = int(self.candidates.table["id"].iloc[index])
        record = self.store.append(candidate_id=candidate_id, decision=str(decision), reviewer=reviewer,
                                   old_label=self._old_label_of[candidate_id])
        decisions = current_decisions(self.store.records(), reviewer=reviewer)
        return {"id": candidate_id, "decision": decisions.get(candidate_id), "time": record.time,
                "progress": self._progress(decisions)}

    def undo(self, *, reviewer: str) -> dict:
        record = self.store.undo_last(reviewer=reviewer, old_label_of=self._old_label_of)
        decisions = current_decisions(self.store.records(), reviewer=reviewer)
        if record is None:
            return {"id": None, "decision": None, "progress": self._progress(decisions)}
        return {"id": record.id, "decision": decisions.get(record.id), "time": record.time,
                "progress": self._progress(decisions)}

    def stamp(self, *, raw_id: str, channel: str) -> bytes:
        index = self._candidate_index(raw_id)
        row = int(self.candidates.table["row"].iloc[index])
        return stamp_png(stamp=np.asarray(self.stamps[row, :, :, CHANNELS.index(channel)]))


class ReviewServer(ThreadingHTTPServer):
    """A threading HTTP server bound to 127.0.0.1 that carries its ReviewSession."""

    daemon_threads = True

    def __init__(self, *, session: ReviewSession, port: int, quiet: bool = False) -> None:
        self.session = session
        self.quiet = quiet
        self.static = {
            route: (resources.files("realbogus.review").joinpath("static", name).read_bytes(), content_type)
            for route, (name, content_type) in _STATIC_FILES.items()
        }
        super().__init__((HOST, port), ReviewRequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # A browser closing a kept-alive connection is routine, not an error worth a trace.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"


class ReviewRequestHandler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "realbogus-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    # -- plumbing ------------------------------------------------------------------

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        if not self.server.quiet:
            sys.stderr.write(f"review: {self.address_string()} {format % args}\n")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, *, cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: HTTPStatus, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _handle(self, method: str) -> None:
        try:
            self._check_host()
            path, query = self._checked_path()
            if method == "GET":
                self._get(path, query)
            elif method == "POST":
                self._post(path)
            else:
                raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"method {method} is not supported; use GET or POST")
        except RequestError as error:
            self._send_json(error.status, {"error": error.message})
        except ValueError as error:  # e.g. a bad reviewer name from the store's checks
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self.close_connection = True  # the body, if any, is not read
        self._handle(self.command)

    do_DELETE = do_PATCH = do_PUT

    def _check_host(self) -> None:
        port = self.server.port
        if self.headers.get("Host", "") not in (f"{HOST}:{port}", f"localhost:{port}"):
            self.close_connection = True
            raise RequestError(HTTPStatus.FORBIDDEN, f"Host header must be {HOST}:{port}")

    def _checked_path(self) -> tuple[str, dict[str, list[str]]]:
        # Split by hand: urlsplit would read "//host/x" as a network location.
        raw_path, _, raw_query = self.path.partition("?")
        decoded = unquote(raw_path)
        # Routes are fixed strings, so anything path-like in the URL is a trick or a typo.
        if not raw_path.startswith("/") or "%" in raw_path or any(
            trick in decoded for trick in ("..", "\\", "//", "\x00")
        ):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"path {self.path[:200]!r} is not allowed")
        try:
            query = parse_qs(raw_query, max_num_fields=10, strict_parsing=False)
        except ValueError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"bad query string: {error}") from None
        return raw_path, query

    def _reviewer(self, raw: object) -> str:
        if raw is None:
            return self.server.session.default_reviewer
        try:
            return validate_reviewer(raw)
        except ValueError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, str(error)) from None

    def _json_body(self) -> dict:
        content_type = self.headers.get("Content-Type", "")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length header")
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length {length_header[:40]!r} is not a number") from None
        if length < 0 or length > MAX_BODY_BYTES:
            # Refuse before reading a byte of it; the connection closes with the unread body.
            self.close_connection = True
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"body of {length} bytes refused; at most {MAX_BODY_BYTES} bytes")
        body = self.rfile.read(length)
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                               f"Content-Type must be application/json, got {content_type[:80]!r}")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {error}") from None
        if not isinstance(payload, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return payload

    # -- routes --------------------------------------------------------------------

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        session = self.server.session
        if path in self.server.static:
            body, content_type = self.server.static[path]
            self._send(HTTPStatus.OK, body, content_type)
            return
        if path == "/api/state":
            reviewer = self._reviewer(query["reviewer"][0] if "reviewer" in query else None)
            self._send_json(HTTPStatus.OK, session.state(reviewer=reviewer))
            return
        match = _STAMP_ROUTE.match(path)
        if match:
            png = session.stamp(raw_id=match.group(1), channel=match.group(2))
            # A candidate's stamps never change within one candidate-list version.
            self._send(HTTPStatus.OK, png, "image/png", cache="private, max-age=86400")
            return
        raise RequestError(HTTPStatus.NOT_FOUND, f"no such page: {path[:200]!r}")

    def _post(self, path: str) -> None:
        if path not in ("/api/decision", "/api/undo"):
            self.close_connection = True
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such action: {path[:200]!r}")
        payload = self._json_body()
        reviewer = self._reviewer(payload.get("reviewer"))
        session = self.server.session
        if path == "/api/decision":
            for key in ("id", "decision"):
                if key not in payload:
                    raise RequestError(HTTPStatus.BAD_REQUEST, f"body lacks {key!r}; expected id, decision, reviewer")
            result = session.decide(reviewer=reviewer, raw_id=payload["id"], decision=payload["decision"])
        else:
            result = session.undo(reviewer=reviewer)
        self._send_json(HTTPStatus.OK, result)


def make_server(
    *,
    candidates_path: str | os.PathLike[str],
    stamps_path: str | os.PathLike[str],
    decisions_path: str | os.PathLike[str],
    reviewer: str,
    port: int = DEFAULT_PORT,
    quiet: bool = False,
) -> ReviewServer:
    """Load and check the inputs, open the decisions file and bind 127.0.0.1:``port``.

    ``port=0`` picks a free port (see ``server.port``).  Call ``serve_forever()`` on the
    result; ``shutdown()`` and ``server_close()`` stop it.  Raises ValueError or
    FileNotFoundError naming the bad input, OSError when the port is taken.
    """
    candidates = load_candidates(path=candidates_path)
    stamps = load_stamps(path=stamps_path, candidates=candidates)
    decisions_path = Path(decisions_path)
    for source in (Path(candidates_path), Path(stamps_path)):
        if decisions_path.resolve() == source.resolve():
            raise ValueError(f"decisions file {decisions_path} must not be an input file")
    store = DecisionStore(path=decisions_path, candidates_version=candidates.version)
    session = ReviewSession(candidates=candidates, stamps=stamps, store=store,
                            default_reviewer=validate_reviewer(reviewer))
    return ReviewServer(session=session, port=port, quiet=quiet)
