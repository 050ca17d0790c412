"""The review page's HTTP server: 127.0.0.1 only, a fixed set of routes, JSON errors.

Routes (nothing else is served; no route turns request text into a file path):

- ``GET /``, ``GET /static/review.css``, ``GET /static/review.js``: the page, read from
  the package once at start;
- ``GET /api/state?reviewer=NAME``: the list's facts (size, members, version), the
  reviewer's progress, where to resume and the page of candidates holding that one;
- ``GET /api/candidates?reviewer=NAME&start=I&count=K``: candidates I .. I+K-1 in rank
  order with the reviewer's current decisions (a page; K <= 120);
- ``GET /api/next-open?reviewer=NAME&after=I``: the index of the first candidate after
  I (wrapping round) the reviewer has not decided;
- ``GET /api/stamp/<id>/<temp|srch|diff>.png``: one stamp of one candidate, by id;
- ``POST /api/decision`` ``{"reviewer", "id", "decision"}``: append a decision;
- ``POST /api/undo`` ``{"reviewer"}``: append an undo of the reviewer's latest decision.

Every refusal is a 4xx with ``{"error": "..."}`` and writes nothing.  The Host header
must name this server (so a web page elsewhere cannot reach it by DNS rebinding) and
POST bodies must be small, shallow JSON (a form on another site cannot post JSON without
the browser asking first).

Every request needs a token the server draws at start and prints in its address
(``http://127.0.0.1:8765/?token=...``, as Jupyter does), so another user of a shared
login node cannot read or write decisions: each reviewer named at start gets a token of
their own, and a token reads and writes only its reviewer's decisions (``show_others``
lets it read, never write, the others').  The page sends its token with every API call;
the first page load also sets it as a cookie for the stamps and static files.

Connections are served by a fixed number of threads with a socket timeout, so stalled
clients cannot pile up threads; a connection beyond that number gets 503 at once.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote

import numpy as np

from realbogus.release.layout import CHANNELS
from realbogus.review.candidates import CandidateList, load_candidates, load_stamps
from realbogus.review.render import stamp_png
from realbogus.review.store import DecisionFileError, DecisionStore, validate_reviewer
from realbogus.stamp_reader import StampFile
from realbogus.votes import DECISIONS, SKIP_VOTE

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY_BYTES = 4096  # a decision is ~80 bytes of JSON; anything near this is not one
MAX_JSON_DEPTH = 4  # a decision is one flat object; deep nesting is an attack on the parser
MAX_CONNECTIONS = 16  # threads serving connections; a browser opens about 6 per page
PAGE_SIZE = 12  # candidates per page of the review page (review.js takes it from /api/state)
MAX_PAGE_COUNT = 120  # candidates one /api/candidates request may ask for
SOCKET_TIMEOUT_S = 15.0  # a connection idle this long (a stalled or slow client) is closed
TOKEN_HEADER = "X-Review-Token"
ALLOWED_METHODS = ("GET", "POST")
_STAMP_ROUTE = re.compile(r"^/api/stamp/(\d{1,18})/(" + "|".join(CHANNELS) + r")\.png$")
_STATIC_FILES: dict[str, tuple[str, str]] = {
    # URL path -> (file in realbogus/review/static, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/review.css": ("review.css", "text/css; charset=utf-8"),
    "/static/review.js": ("review.js", "text/javascript; charset=utf-8"),
}


class ListenError(OSError):
    """The server could not bind its port (taken, or not allowed)."""


class RequestError(Exception):
    """A refused request: HTTP status and a message for the JSON body."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ReviewSession:
    """What the server serves: one candidate list, its stamps and one decisions file.

    The page asks for the candidates a page at a time (:meth:`page`), so neither the server
    nor the browser ever turns the whole list into JSON: at the paper's 8,093 candidates that
    would be ~1.2 MB per page load and grow with the list.
    """

    candidates: CandidateList
    stamps: np.ndarray
    store: DecisionStore
    default_reviewer: str

    def __post_init__(self) -> None:
        table = self.candidates.table
        members = self.candidates.members
        # Plain Python lists, built once: a page is then a slice, not a pandas lookup.
        self._ids: list[int] = [int(i) for i in table["id"].to_numpy()]
        self._index_of = {candidate_id: n for n, candidate_id in enumerate(self._ids)}
        self._old_label_of = {int(i): int(label) for i, label in zip(table["id"], table["given_label"])}
        self._ranks = table["rank"].tolist()
        self._rank_scores = [None if not np.isfinite(v) else round(v, 4) for v in table["rank_score"].tolist()]
        self._given_labels = table["given_label"].tolist()
        self._scores = table[[f"score_{m}" for m in members]].to_numpy(dtype=float).round(4).tolist()
        self._categories = table[[f"cat_{m}" for m in members]].to_numpy(dtype=int).tolist()
        self._rows = table["row"].tolist()
        # Stamps read with pread: through the map, every page a reviewer looked at would stay in RSS.
        self._stamp_file = StampFile.for_array(self.stamps)

    @property
    def total(self) -> int:
        return len(self._ids)

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

    def _progress(self, decisions: Mapping[int, str]) -> dict[str, int]:
        in_list = [d for i, d in decisions.items() if i in self._index_of]
        skipped = sum(1 for d in in_list if d == SKIP_VOTE)
        return {"decided": len(in_list) - skipped, "skipped": skipped, "total": self.total}

    def _next_open(self, decisions: Mapping[int, str], *, after: int) -> int | None:
        """The first candidate after index ``after`` (wrapping round) without a decision."""
        for k in range(1, self.total + 1):
            index = (after + k) % self.total
            if self._ids[index] not in decisions:
                return index
        return None

    def _candidate_rows(self, start: int, stop: int, decisions: Mapping[int, str]) -> list[dict]:
        return [{
            "index": n, "id": self._ids[n], "rank": self._ranks[n], "rank_score": self._rank_scores[n],
            "given_label": self._given_labels[n], "scores": self._scores[n], "categories": self._categories[n],
            "decision": decisions.get(self._ids[n]),
        } for n in range(start, stop)]

    def state(self, *, reviewer: str) -> dict:
        """What the page needs to start for one reviewer (JSON-ready): the list's facts, the
        reviewer's progress, where to resume, and the page of candidates holding that one."""
        decisions = self.store.decisions_of(reviewer)
        # Resume at the first candidate, in rank order, the reviewer has not dealt with.
        resume_index = self._next_open(decisions, after=-1) or 0
        page_start = resume_index - resume_index % PAGE_SIZE
        return {
            "reviewer": reviewer, "candidates_version": self.candidates.version,
            "candidates_file": self.candidates.path.name, "members": list(self.candidates.members),
            "total": self.total, "page_size": PAGE_SIZE, "progress": self._progress(decisions),
            "resume_index": resume_index, "start": page_start,
            "candidates": self._candidate_rows(page_start, min(self.total, page_start + PAGE_SIZE), decisions),
        }

    def page(self, *, reviewer: str, start: int, count: int) -> dict:
        """Candidates ``start`` .. ``start + count - 1`` in rank order with the reviewer's decisions."""
        if not 0 <= start < self.total:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"start must be a candidate index 0..{self.total - 1}, got {start}")
        if not 1 <= count <= MAX_PAGE_COUNT:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"count must be 1..{MAX_PAGE_COUNT}, got {count}")
        decisions = self.store.decisions_of(reviewer)
        return {"start": start, "total": self.total,
                "candidates": self._candidate_rows(start, min(self.total, start + count), decisions)}

    def next_open(self, *, reviewer: str, after: int) -> dict:
        """``{"index": i}``: the first candidate after index ``after`` without a decision (None: none left)."""
        if not -1 <= after < self.total:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"after must be -1..{self.total - 1}, got {after}")
        return {"index": self._next_open(self.store.decisions_of(reviewer), after=after)}

    def decide(self, *, reviewer: str, raw_id: object, decision: object) -> dict:
        index = self._candidate_index(raw_id)
        if decision not in DECISIONS:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"decision must be one of {list(DECISIONS)}, got {decision!r}")
        candidate_id = self._ids[index]
        record = self.store.append(candidate_id=candidate_id, decision=str(decision), reviewer=reviewer,
                                   old_label=self._old_label_of[candidate_id])
        decisions = self.store.decisions_of(reviewer)
        return {"id": candidate_id, "index": index, "decision": decisions.get(candidate_id), "time": record.time,
                "progress": self._progress(decisions)}

    def undo(self, *, reviewer: str) -> dict:
        record = self.store.undo_last(reviewer=reviewer, old_label_of=self._old_label_of)
        decisions = self.store.decisions_of(reviewer)
        if record is None:
            return {"id": None, "index": None, "decision": None, "progress": self._progress(decisions)}
        return {"id": record.id, "index": self._index_of.get(record.id), "decision": decisions.get(record.id),
                "time": record.time, "progress": self._progress(decisions)}

    def stamp(self, *, raw_id: str, channel: str) -> bytes:
        index = self._candidate_index(raw_id)
        row = np.array([self._rows[index]])
        stamp = (np.asarray(self.stamps[row]) if self._stamp_file is None
                 else self._stamp_file.read(row, shape=self.stamps.shape[1:], dtype=self.stamps.dtype))
        return stamp_png(stamp=stamp[0, :, :, CHANNELS.index(channel)])


class ReviewServer(HTTPServer):
    """An HTTP server bound to 127.0.0.1 that carries its ReviewSession and reviewers' tokens.

    tokens: token -> reviewer (one per reviewer named at start); show_others: a token may
    read other reviewers' decisions (never write them).  Connections are served by at
    most MAX_CONNECTIONS threads; one more is answered 503 and closed.
    """

    request_queue_size = 64  # the listen backlog: a page opens several connections at once

    def __init__(self, *, session: ReviewSession, port: int, quiet: bool = False,
                 reviewers: Sequence[str] = (), show_others: bool = False) -> None:
        self.session = session
        self.quiet = quiet
        self.show_others = show_others
        names = list(dict.fromkeys([session.default_reviewer, *reviewers]))
        self.tokens: dict[str, str] = {secrets.token_urlsafe(24): name for name in names}
        self.static = {
            route: (resources.files("realbogus.review").joinpath("static", name).read_bytes(), content_type)
            for route, (name, content_type) in _STATIC_FILES.items()
        }
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._workers = ThreadPoolExecutor(max_workers=MAX_CONNECTIONS, thread_name_prefix="review")
        self._open_connections: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((HOST, port), ReviewRequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def token_for(self, reviewer: str) -> str:
        """The token of a reviewer named at start (KeyError for anyone else)."""
        return next(token for token, name in self.tokens.items() if name == reviewer)

    def reviewer_of(self, token: str | None) -> str | None:
        """The reviewer a token belongs to, compared in constant time; None if it is no token of ours."""
        found = None
        for known, name in self.tokens.items():
            if token is not None and hmac.compare_digest(known.encode(), token.encode("utf-8", "replace")):
                found = name
        return found

    def url_for(self, reviewer: str) -> str:
        """The address to open as ``reviewer``: the page with the reviewer's token."""
        return f"http://{HOST}:{self.port}/?token={quote(self.token_for(reviewer))}"

    @property
    def url(self) -> str:
        return self.url_for(self.session.default_reviewer)

    @property
    def cookie_name(self) -> str:
        # Cookies are per host, not per port: two servers on 127.0.0.1 must not share one.
        return f"realbogus_review_{self.port}"

    # -- a fixed pool of threads instead of one thread per connection ------------------

    def process_request(self, request, client_address) -> None:  # noqa: ANN001 (stdlib signature)
        if not self._slots.acquire(blocking=False):
            body = json.dumps({"error": "the review server is busy; try again in a moment"}).encode()
            try:
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            self._workers.submit(self._serve_connection, request, client_address)
        except RuntimeError:  # the pool was shut down: the server is closing
            self._slots.release()
            self.shutdown_request(request)

    def _serve_connection(self, request, client_address) -> None:  # noqa: ANN001
        with self._open_lock:
            self._open_connections.add(request)
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - as socketserver does: report and go on serving
            self.handle_error(request, client_address)
        finally:
            with self._open_lock:
                self._open_connections.discard(request)
            self.shutdown_request(request)
            self._slots.release()

    def server_close(self) -> None:
        super().server_close()
        # Kept-alive browser connections would hold their threads until the socket
        # timeout; end them so the process can exit at once.
        with self._open_lock:
            for connection in list(self._open_connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._workers.shutdown(wait=False, cancel_futures=True)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # A browser closing a kept-alive connection, or a client timing out, is routine.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ReviewRequestHandler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "realbogus-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT_S  # socket timeout: a stalled client frees its thread
    # Headers and body go out as two writes; with Nagle's algorithm the body of a response
    # on a kept-alive connection waits for the client's delayed ACK of the headers (up to
    # 40 ms on Linux), which made a page's 36 stamps take ~300 ms instead of ~50.
    disable_nagle_algorithm = True

    # -- plumbing ------------------------------------------------------------------

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        if not self.server.quiet:
            # Never log a token: the request line may carry one in its query.
            message = _TOKEN_IN_QUERY.sub(r"\1token=...", format % args)
            sys.stderr.write(f"review: {self.address_string()} {message}\n")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Every error the stdlib itself raises (bad request line, headers too long) as JSON too."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        payload = json.dumps({"error": message or phrase}).encode("utf-8")
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(payload)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, *, cache: str = "no-store",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
        self.send_header("Referrer-Policy", "no-referrer")  # the page's address holds the token
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: HTTPStatus, payload: dict, *, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json", headers=headers)

    def _handle(self, method: str) -> None:
        try:
            self._check_host()
            path, query = self._checked_path()
            if method not in ALLOWED_METHODS:
                self.close_connection = True  # a body, if any, is not read
                raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED,
                                   f"method {method[:20]} is not supported; use GET or POST")
            token_reviewer = self._authenticated(query, path=path, method=method)
            if method == "GET":
                self._get(path, query, token_reviewer)
            else:
                self._post(path, token_reviewer)
        except RequestError as error:
            headers = {"Allow": ", ".join(ALLOWED_METHODS)} if error.status == HTTPStatus.METHOD_NOT_ALLOWED else None
            self._send_json(error.status, {"error": error.message}, headers=headers)
        except DecisionFileError as error:  # the file on disk, not the request, is at fault
            self.log_message("%s", f"decisions file problem: {error}")
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(error)})
        except OSError as error:
            if isinstance(error, (ConnectionError, TimeoutError)):
                raise
            self.log_message("%s", f"cannot use the decisions file: {error}")
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"cannot use the decisions file: {error}"})
        except ValueError as error:  # e.g. a bad reviewer name from the store's checks
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def __getattr__(self, name: str):  # noqa: ANN204
        # The stdlib looks up do_<METHOD> for every request; any other method (HEAD,
        # OPTIONS, TRACE, PUT, made-up ones) gets the same 405 JSON answer.
        if name.startswith("do_"):
            return lambda: self._handle(self.command)
        raise AttributeError(name)

    def _check_host(self) -> None:
        port = self.server.port
        if self.headers.get("Host", "") not in (f"{HOST}:{port}", f"localhost:{port}"):
            self.close_connection = True
            raise RequestError(HTTPStatus.FORBIDDEN, f"Host header must be {HOST}:{port}")

    def _authenticated(self, query: dict[str, list[str]], *, path: str, method: str) -> str:
        """The reviewer whose token this request carries (header, ?token= or the page's cookie).

        The cookie only opens what holds no decisions (the page, its static files, stamps):
        reading or writing decisions needs the token itself, which the page sends.
        """
        token = self.headers.get(TOKEN_HEADER) or None
        if token is None and "token" in query:
            token = query["token"][0] or None
        if token is None and method == "GET" and path != "/api/state":
            try:
                cookie = SimpleCookie(self.headers.get("Cookie", ""))
            except CookieError:
                cookie = SimpleCookie()
            if self.server.cookie_name in cookie:
                token = cookie[self.server.cookie_name].value
        reviewer = self.server.reviewer_of(token)
        if reviewer is None:
            self.close_connection = True
            raise RequestError(HTTPStatus.FORBIDDEN,
                               ("this token is not valid for this server" if token else "this server needs its token")
                               + f": open the address the review command printed (http://{HOST}:{self.server.port}"
                               "/?token=...)")
        return reviewer

    def _checked_path(self) -> tuple[str, dict[str, list[str]]]:
        # Split by hand: urlsplit would read "//host/x" as a network location.
        raw_path, _, raw_query = self.path.partition("?")
        decoded = unquote(raw_path)
        # Routes are fixed strings, so anything path-like in the URL is a trick or a typo.
        if not raw_path.startswith("/") or "%" in raw_path or any(
            trick in decoded for trick in ("..", "\\", "//", "\x00")
        ):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"path {self.path.partition('?')[0][:200]!r} is not allowed")
        try:
            query = parse_qs(raw_query, max_num_fields=10, strict_parsing=False)
        except ValueError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"bad query string: {error}") from None
        return raw_path, query

    def _reviewer(self, raw: object, *, token_reviewer: str, reading: bool) -> str:
        """The reviewer a request is about: the token's own, or (reading, with show_others) another."""
        if raw is None:
            return token_reviewer
        try:
            reviewer = validate_reviewer(raw)
        except ValueError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, str(error)) from None
        if reviewer != token_reviewer and not (reading and self.server.show_others):
            what = "see another reviewer's decisions" if reading else "decide for another reviewer"
            raise RequestError(HTTPStatus.FORBIDDEN,
                               f"this page's token belongs to reviewer {token_reviewer!r}; it cannot {what} "
                               f"({reviewer!r}): votes stay independent"
                               + (" (start the server with --show-others to let reviewers read each other's)"
                                  if reading else ""))
        return reviewer

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
        depth = _json_nesting_depth(body)
        if depth > MAX_JSON_DEPTH:
            raise RequestError(HTTPStatus.BAD_REQUEST,
                               f"body nests {depth} levels deep; at most {MAX_JSON_DEPTH} (a decision is one flat object)")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {error}") from None
        if not isinstance(payload, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return payload

    # -- routes --------------------------------------------------------------------

    def _get(self, path: str, query: dict[str, list[str]], token_reviewer: str) -> None:
        session = self.server.session
        if path in self.server.static:
            body, content_type = self.server.static[path]
            headers = None
            if path == "/":
                # The stamps and static files the page loads carry the token as a cookie.
                token = self.server.token_for(token_reviewer)
                headers = {"Set-Cookie": f"{self.server.cookie_name}={token}; Path=/; HttpOnly; SameSite=Strict"}
            self._send(HTTPStatus.OK, body, content_type, headers=headers)
            return
        if path in ("/api/state", "/api/candidates", "/api/next-open"):
            raw = query["reviewer"][0] if "reviewer" in query else None
            reviewer = self._reviewer(raw, token_reviewer=token_reviewer, reading=True)
            if path == "/api/state":
                payload = session.state(reviewer=reviewer)
                payload["read_only"] = reviewer != token_reviewer
                payload["token_reviewer"] = token_reviewer
            elif path == "/api/candidates":
                payload = session.page(reviewer=reviewer, start=_query_int(query, "start"),
                                       count=_query_int(query, "count", default=PAGE_SIZE))
            else:
                payload = session.next_open(reviewer=reviewer, after=_query_int(query, "after"))
            self._send_json(HTTPStatus.OK, payload)
            return
        match = _STAMP_ROUTE.match(path)
        if match:
            png = session.stamp(raw_id=match.group(1), channel=match.group(2))
            # A candidate's stamps never change within one candidate-list version.
            self._send(HTTPStatus.OK, png, "image/png", cache="private, max-age=86400")
            return
        raise RequestError(HTTPStatus.NOT_FOUND, f"no such page: {path[:200]!r}")

    def _post(self, path: str, token_reviewer: str) -> None:
        if path not in ("/api/decision", "/api/undo"):
            self.close_connection = True
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such action: {path[:200]!r}")
        payload = self._json_body()
        reviewer = self._reviewer(payload.get("reviewer"), token_reviewer=token_reviewer, reading=False)
        session = self.server.session
        if path == "/api/decision":
            for key in ("id", "decision"):
                if key not in payload:
                    raise RequestError(HTTPStatus.BAD_REQUEST, f"body lacks {key!r}; expected id, decision, reviewer")
            result = session.decide(reviewer=reviewer, raw_id=payload["id"], decision=payload["decision"])
        else:
            result = session.undo(reviewer=reviewer)
        self._send_json(HTTPStatus.OK, result)


_TOKEN_IN_QUERY = re.compile(r"([?&])token=[^&\s]*")


def _query_int(query: dict[str, list[str]], name: str, *, default: int | None = None) -> int:
    """An integer query parameter; 400 naming it when it is missing (without a default) or not one."""
    if name not in query:
        if default is None:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"query parameter {name!r} is required")
        return default
    raw = query[name][0]
    if not re.fullmatch(r"-?\d{1,9}", raw):
        raise RequestError(HTTPStatus.BAD_REQUEST, f"query parameter {name!r} must be an integer, got {raw[:40]!r}")
    return int(raw)


def _json_nesting_depth(body: bytes) -> int:
    """How deeply ``[`` and ``{`` nest in a JSON text, outside strings (without parsing it)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def make_server(
    *,
    candidates_path: str | os.PathLike[str],
    stamps_path: str | os.PathLike[str],
    decisions_path: str | os.PathLike[str],
    reviewer: str | Sequence[str],
    port: int = DEFAULT_PORT,
    quiet: bool = False,
    show_others: bool = False,
) -> ReviewServer:
    """Load and check the inputs, open the decisions file and bind 127.0.0.1:``port``.

    reviewer: the reviewer, or several (the first is the default); each gets a token
    (``server.url_for(name)``).  show_others: a reviewer's token may read the others'
    decisions.  ``port=0`` picks a free port (see ``server.port``).  Call
    ``serve_forever()`` on the result; ``shutdown()`` and ``server_close()`` stop it.
    Raises ValueError or FileNotFoundError naming the bad input, OSError when the port
    cannot be bound.
    """
    names = [reviewer] if isinstance(reviewer, str) else list(reviewer)
    if not names:
        raise ValueError("name at least one reviewer")
    names = [validate_reviewer(name) for name in names]
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be 0..65535, got {port}")
    candidates = load_candidates(path=candidates_path)
    stamps = load_stamps(path=stamps_path, candidates=candidates)
    decisions_path = Path(decisions_path)
    for source in (Path(candidates_path), Path(stamps_path)):
        if decisions_path.resolve() == source.resolve():
            raise ValueError(f"decisions file {decisions_path} must not be an input file")
    store = DecisionStore(path=decisions_path, candidates_version=candidates.version)
    session = ReviewSession(candidates=candidates, stamps=stamps, store=store, default_reviewer=names[0])
    try:
        return ReviewServer(session=session, port=port, quiet=quiet, reviewers=names[1:], show_others=show_others)
    except OSError as error:
        raise ListenError(f"cannot listen on {HOST}:{port}: {error.strerror or error} "
                          "(is another review running? try --port 0)") from error
