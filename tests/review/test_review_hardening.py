"""Issue 15, the review server: JSON limits, 405 JSON for every other method, bounded threads
with socket timeouts, a decisions file changed under it, tokens, independent reviewers and
spreadsheet-safe names."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from realbogus.cli import main as cli_main
from realbogus.review import server as server_module
from realbogus.review.server import MAX_CONNECTIONS, MAX_JSON_DEPTH
from realbogus.review.store import DECISION_COLUMNS, DecisionStore, escape_cell, read_decisions, unescape_cell

from .conftest import ReviewInputs, file_bytes


def _first_id(inputs: ReviewInputs) -> int:
    return int(inputs.table.sort_values("rank")["id"].iloc[0])


def test_deeply_nested_json_is_refused_before_parsing(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    body = b"[" * 2000 + b"]" * 2000  # under 4 KiB; json.loads would recurse 2,000 deep
    status, payload, _ = server.request("POST", "/api/decision", body=body,
                                        headers={"Content-Type": "application/json"})
    assert status == 400 and f"nests 2000 levels deep; at most {MAX_JSON_DEPTH}" in payload["error"]
    nested = json.dumps({"reviewer": "ann", "id": {"a": {"b": {"c": {"d": 1}}}}, "decision": "skip"}).encode()
    status, payload, _ = server.request("POST", "/api/decision", body=nested,
                                        headers={"Content-Type": "application/json"})
    assert status == 400 and "nests 5 levels" in payload["error"]
    # Brackets inside strings do not count.
    status, payload = server.post_json("/api/decision", {"reviewer": "ann", "id": _first_id(review_inputs),
                                                         "decision": "skip", "note": "[[[[[[[["})
    assert status == 200


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "PATCH", "CONNECT", "PROPFIND"])
def test_every_other_method_gets_405_json(review_inputs: ReviewInputs, start_server, method: str) -> None:
    server = start_server(review_inputs)
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    with connection:
        connection.sendall(f"{method} /api/state HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                           f"X-Review-Token: {server.token()}\r\nContent-Length: 0\r\n\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += connection.recv(4096)
        head, _, body = reply.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        if method != "HEAD":
            while len(body) < length:
                body += connection.recv(4096)
    assert head.startswith(b"HTTP/1.1 405"), head
    assert b"Content-Type: application/json" in head and b"Allow: GET, POST" in head
    if method == "HEAD":
        assert body == b""  # HEAD: headers only
    else:
        assert f"method {method} is not supported" in json.loads(body)["error"]


def test_errors_of_the_http_layer_itself_are_json_too(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\n" + b"X-Filler: 1\r\n" * 101 + b"\r\n")
        reply = b""
        while chunk := connection.recv(4096):  # the server closes after an error
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 431") and b"Content-Type: application/json" in reply
    assert json.loads(reply.partition(b"\r\n\r\n")[2]) == {"error": "Too many headers"}


def test_stalled_connections_cannot_pile_up_threads(review_inputs: ReviewInputs, start_server, monkeypatch) -> None:
    monkeypatch.setattr(server_module.ReviewRequestHandler, "timeout", 1.0)
    server = start_server(review_inputs)
    stalled = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(100)]
    try:
        time.sleep(0.3)
        serving = [t for t in threading.enumerate() if t.name.startswith("review")]
        assert len(serving) <= MAX_CONNECTIONS
        # Connections beyond the pool are answered 503 at once, not queued without bound; the
        # stalled ones in the pool are closed by the socket timeout (recv sees the end).
        replies = [connection.recv(4096) for connection in stalled]
        busy = [reply for reply in replies if reply.startswith(b"HTTP/1.1 503")]
        # (a few more than MAX_CONNECTIONS may get a thread: ones accepted after the first timed out)
        assert len(busy) >= 100 - 3 * MAX_CONNECTIONS
        assert all(reply == b"" for reply in replies if reply not in busy)
        # The socket timeout frees the stalled ones: the server answers again.
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = server.request("GET", "/api/state")[0]
            except (ConnectionError, json.JSONDecodeError):
                status = None
            time.sleep(0.2)
        assert status == 200
    finally:
        for connection in stalled:
            connection.close()


def test_a_decisions_file_replaced_or_shrunk_under_the_server_is_read_again(
        review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    ids = review_inputs.table.sort_values("rank")["id"].tolist()
    for candidate_id in ids[:4]:
        assert server.post_json("/api/decision", {"id": candidate_id, "decision": "artifact"})[0] == 200
    path = review_inputs.decisions
    lines = path.read_text().splitlines(keepends=True)

    # A `git checkout` of an older version: a new file (new inode), shorter.
    replacement = path.with_name("older.csv")
    replacement.write_text("".join(lines[:2]))
    os.replace(replacement, path)
    state = server.request("GET", "/api/state")[1]
    assert [c["decision"] for c in state["candidates"][:4]] == ["artifact", None, None, None]
    # Shrunk in place (same inode), then grown back by a decision: appended after what is there.
    with open(path, "r+") as handle:
        handle.truncate(len(lines[0]))
    assert server.request("GET", "/api/state")[1]["progress"]["decided"] == 0
    assert server.post_json("/api/decision", {"id": ids[5], "decision": "skip"})[0] == 200
    assert pd.read_csv(path)["id"].tolist() == [ids[5]]
    # Rewritten in place with the same size but other content: noticed, read again.
    text = path.read_text()
    path.write_text(text.replace(",skip,", ",nope,"))
    status, payload, _ = server.request("GET", "/api/state")
    assert status == 500 and "decision 'nope' is not one of" in payload["error"]
    path.write_text(text)  # repaired: the server recovers without a restart
    state = server.request("GET", "/api/state")[1]
    assert state["progress"] == {"decided": 0, "skipped": 1, "total": len(ids)}
    # Deleted: started afresh with a header.
    path.unlink()
    assert server.request("GET", "/api/state")[1]["progress"]["skipped"] == 0
    assert path.read_text() == ",".join(DECISION_COLUMNS) + "\n"


def test_decisions_pointing_at_a_folder_is_named(review_inputs: ReviewInputs, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "decisions"
    folder.mkdir()
    code = cli_main(["review", "--candidates", str(review_inputs.candidates), "--stamps", str(review_inputs.stamps),
                     "--decisions", str(folder), "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"decisions file {folder} is a folder; expected a CSV file" in err
    assert "cannot listen" not in err and list(folder.iterdir()) == []


def test_every_request_needs_the_servers_token(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    candidate_id = _first_id(review_inputs)
    for path in ("/", "/static/review.js", "/api/state", f"/api/stamp/{candidate_id}/diff.png"):
        status, payload, _ = server.request("GET", path, with_token=False)
        assert status == 403 and "needs its token" in payload["error"], path
        status, payload, _ = server.request("GET", path, headers={"X-Review-Token": "guessed"})
        assert status == 403 and "not valid for this server" in payload["error"], path
    status, _, _ = server.request("POST", "/api/decision", with_token=False, headers={"Content-Type": "application/json"},
                                  body=json.dumps({"id": candidate_id, "decision": "artifact"}).encode())
    assert status == 403 and not file_bytes(review_inputs.decisions).count(b"\n") > 1
    # The printed address carries it; the page load sets it as a cookie for stamps and static files only.
    token = server.token()
    assert server.url == f"http://127.0.0.1:{server.port}/?token={token}"
    status, _, _ = server.request("GET", f"/?token={token}", with_token=False)
    assert status == 200
    cookie = {"Cookie": f"realbogus_review_{server.port}={token}"}
    assert server.request("GET", "/static/review.css", headers=cookie, with_token=False)[0] == 200
    assert server.request("GET", f"/api/stamp/{candidate_id}/diff.png", headers=cookie, with_token=False)[0] == 200
    assert server.request("GET", "/api/state", headers=cookie, with_token=False)[0] == 403
    status, _, _ = server.request("POST", "/api/undo", headers={**cookie, "Content-Type": "application/json"},
                                  body=b"{}", with_token=False)
    assert status == 403


def test_reviewers_cannot_read_or_write_each_others_decisions(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs, reviewer=("ann", "bob"))
    candidate_id = _first_id(review_inputs)
    assert server.token("ann") != server.token("bob")
    assert server.post_json("/api/decision", {"reviewer": "bob", "id": candidate_id, "decision": "artifact"})[0] == 200
    status, payload, _ = server.request("GET", "/api/state?reviewer=bob", as_reviewer="ann")
    assert status == 403 and "cannot see another reviewer's decisions ('bob')" in payload["error"]
    status, payload = server.post_json("/api/decision", {"reviewer": "bob", "id": candidate_id, "decision": "skip"},
                                       as_reviewer="ann")
    assert status == 403 and "cannot decide for another reviewer" in payload["error"]
    status, payload = server.post_json("/api/undo", {"reviewer": "bob"}, as_reviewer="ann")
    assert status == 403
    records = pd.read_csv(review_inputs.decisions)
    assert records[["reviewer", "decision"]].values.tolist() == [["bob", "artifact"]]
    assert server.request("GET", "/api/state", as_reviewer="ann")[1]["candidates"][0]["decision"] is None


def test_show_others_lets_a_reviewer_read_but_never_write_the_others(review_inputs: ReviewInputs,
                                                                     start_server) -> None:
    server = start_server(review_inputs, reviewer=("ann", "bob"), show_others=True)
    candidate_id = _first_id(review_inputs)
    server.post_json("/api/decision", {"reviewer": "bob", "id": candidate_id, "decision": "artifact"})
    status, state, _ = server.request("GET", "/api/state?reviewer=bob", as_reviewer="ann")
    assert status == 200 and state["read_only"] and state["candidates"][0]["decision"] == "artifact"
    status, _ = server.post_json("/api/decision", {"reviewer": "bob", "id": candidate_id, "decision": "skip"},
                                 as_reviewer="ann")
    assert status == 403


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","x")', "+1", "-2+3", "@SUM(A1)", "'quoted",
                                  "plain name"])
def test_formula_like_names_are_escaped_in_the_file_and_read_back_exactly(tmp_path: Path, name: str) -> None:
    path = tmp_path / "decisions.csv"
    store = DecisionStore(path=path, candidates_version="v1")
    store.append(candidate_id=7, decision="artifact", reviewer=name, old_label=0)
    cell = path.read_text().splitlines()[1].split(",", 2)[2]
    if name[0] in "=+-@'":
        assert cell.lstrip('"').startswith("'"), cell  # a spreadsheet shows it as text
    else:
        assert cell.startswith(name)
    assert unescape_cell(escape_cell(name)) == name
    assert DecisionStore(path=path, candidates_version="v1").records()[0].reviewer == name
    assert read_decisions(path)["reviewer"].tolist() == [name]


def test_the_merge_stage_reads_escaped_names_back(tmp_path: Path) -> None:
    from realbogus.relabel import merge_decisions

    path = tmp_path / "people.csv"
    store = DecisionStore(path=path, candidates_version="v1")
    store.append(candidate_id=3, decision="artifact", reviewer="=ann", old_label=0)
    labels = pd.DataFrame({"id": [3, 4], "label": [0, 1]})
    expert = pd.DataFrame(columns=list(DECISION_COLUMNS))
    _, changelog, counts = merge_decisions(labels=labels, people=read_decisions(path), expert=expert, min_votes=1)
    assert counts["changed_0_to_1"] == 1 and changelog["reviewers"].tolist() == ["=ann"]
