"""The review server over real HTTP: the API, bad requests refused with nothing written,
concurrent reviewers, and restart-resume."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import realbogus.review
from realbogus.review.server import MAX_BODY_BYTES, make_server
from realbogus.votes import combine_votes

from .conftest import ReviewInputs, file_bytes, write_decisions, write_review_inputs


def test_state_lists_candidates_in_rank_order_with_scores(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs, reviewer=("ann", "bob"))
    status, state, _ = server.request("GET", "/api/state?reviewer=bob", as_reviewer="bob")
    assert status == 200
    assert state["reviewer"] == "bob"
    table = review_inputs.table.sort_values("rank")
    assert [c["id"] for c in state["candidates"]] == table["id"].tolist()
    first = state["candidates"][0]
    assert first["given_label"] == int(table["given_label"].iloc[0])
    assert first["scores"] == pytest.approx(table[["score_model1", "score_model2", "score_rf"]].iloc[0].tolist())
    assert first["categories"] == table[["cat_model1", "cat_model2", "cat_rf"]].iloc[0].tolist()
    assert state["progress"] == {"decided": 0, "skipped": 0, "total": len(table)}
    assert state["resume_index"] == 0
    # Without a name, the token's own reviewer.
    assert server.request("GET", "/api/state")[1]["reviewer"] == "ann"
    assert server.request("GET", "/api/state", as_reviewer="bob")[1]["reviewer"] == "bob"


def test_page_and_assets_are_served(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    static = Path(realbogus.review.__file__).parent / "static"
    for path, name, kind in (("/", "index.html", "text/html"), ("/static/review.css", "review.css", "text/css"),
                             ("/static/review.js", "review.js", "text/javascript")):
        status, body, content_type = server.request("GET", path)
        assert status == 200 and content_type.startswith(kind)
        assert body == (static / name).read_bytes(), path  # the page itself, whole
    # The page loads the served style and script, and has the places the script fills with
    # the state: the progress line ("0 of N decided"), the card grid and one card's layout.
    page = server.request("GET", "/")[1].decode()
    for part in ('href="/static/review.css"', 'src="/static/review.js"', 'id="progress-text"', 'id="grid"',
                 'id="card-template"', 'class="cid"', 'data-decision="artifact"', 'data-decision="non-artifact"'):
        assert part in page, part
    # What it shows comes from the state: one card per candidate and the count.  (That the
    # page draws exactly these, in real Chromium, is test_review_browser's.)
    state = server.request("GET", "/api/state")[1]
    assert len(state["candidates"]) == state["progress"]["total"] == len(review_inputs.table)
    assert {"id", "given_label", "scores", "categories"} <= set(state["candidates"][0])


def test_stamp_is_the_candidates_own_channel(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    candidate_id, row = (int(v) for v in review_inputs.table[["id", "row"]].iloc[3])
    for channel_index, channel in enumerate(("temp", "srch", "diff")):
        status, png, content_type = server.request("GET", f"/api/stamp/{candidate_id}/{channel}.png")
        assert status == 200 and content_type == "image/png"
        image = np.asarray(Image.open(io.BytesIO(png)))
        expected = review_inputs.stamp_array[row, :, :, channel_index]
        np.testing.assert_array_equal(image[::3, ::3], expected)


def test_decide_undo_and_resume_after_restart(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    ids = review_inputs.table.sort_values("rank")["id"].tolist()
    for candidate_id, decision in zip(ids[:3], ("artifact", "skip", "non-artifact")):
        status, result = server.post_json("/api/decision", {"reviewer": "ann", "id": candidate_id, "decision": decision})
        assert status == 200 and result["decision"] == decision
    assert result["progress"] == {"decided": 2, "skipped": 1, "total": len(ids)}
    status, undone = server.post_json("/api/undo", {"reviewer": "ann"})
    assert (status, undone["id"], undone["decision"]) == (200, ids[2], None)
    server.stop()

    restarted = start_server(review_inputs, reviewer=("ann", "cy"))
    state = restarted.request("GET", "/api/state?reviewer=ann")[1]
    assert [c["decision"] for c in state["candidates"][:3]] == ["artifact", "skip", None]
    assert state["resume_index"] == 2
    assert state["progress"] == {"decided": 1, "skipped": 1, "total": len(ids)}
    # Another reviewer starts from the top.
    assert restarted.request("GET", "/api/state?reviewer=cy", as_reviewer="cy")[1]["resume_index"] == 0
    records = pd.read_csv(review_inputs.decisions)
    assert records["decision"].tolist() == ["artifact", "skip", "non-artifact", "undo"]
    given = dict(zip(review_inputs.table["id"], review_inputs.table["given_label"]))
    assert records["old_label"].tolist() == [given[i] for i in records["id"]]
    assert records["candidates_version"].nunique() == 1


def _bad_requests(candidate_id: int) -> list[tuple[str, str, bytes | None, dict[str, str], int, str]]:
    json_type = {"Content-Type": "application/json"}

    def body(payload: object) -> bytes:
        return json.dumps(payload).encode()

    return [
        # method, path, body, headers, expected status, words in the error
        ("POST", "/api/decision", body({"reviewer": "ann", "id": 123, "decision": "artifact"}), json_type, 404, "unknown candidate id 123"),
        ("POST", "/api/decision", body({"reviewer": "ann", "id": "../1", "decision": "artifact"}), json_type, 400, "integer candidate id"),
        ("POST", "/api/decision", body({"reviewer": "ann", "id": candidate_id, "decision": "real"}), json_type, 400, "decision must be one of"),
        ("POST", "/api/decision", body({"reviewer": "ann", "id": candidate_id, "decision": "undo"}), json_type, 400, "decision must be one of"),
        ("POST", "/api/decision", body({"reviewer": "ann", "id": candidate_id}), json_type, 400, "lacks 'decision'"),
        ("POST", "/api/decision", body({"reviewer": "a\nb", "id": candidate_id, "decision": "skip"}), json_type, 400, "control characters"),
        ("POST", "/api/decision", body(["not", "an", "object"]), json_type, 400, "JSON object"),
        ("POST", "/api/decision", b"{not json", json_type, 400, "not valid JSON"),
        ("POST", "/api/decision", body({"reviewer": "ann", "id": candidate_id, "decision": "skip"}),
         {"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"),
        ("POST", "/api/decision", b"x" * (MAX_BODY_BYTES + 1), json_type, 413, f"at most {MAX_BODY_BYTES} bytes"),
        ("POST", "/api/decision", b"{}", {**json_type, "Content-Length": "10000000000"}, 413, "refused"),
        ("POST", "/api/decision", b"{}", {**json_type, "Content-Length": "ten"}, 400, "not a number"),
        ("POST", "/api/elsewhere", body({}), json_type, 404, "no such action"),
        ("GET", "/static/../../../etc/passwd", None, {}, 400, "not allowed"),
        ("GET", "/static/%2e%2e/%2e%2e/etc/passwd", None, {}, 400, "not allowed"),
        ("GET", "/api/stamp/..%2f..%2fstamps.npy", None, {}, 400, "not allowed"),
        ("GET", "//etc/passwd", None, {}, 404, "no such page"),  # the stdlib folds leading slashes
        ("GET", "/static/..\\candidates.csv", None, {}, 400, "not allowed"),
        ("GET", "/candidates.csv", None, {}, 404, "no such page"),
        ("GET", "/decisions.csv", None, {}, 404, "no such page"),
        ("GET", "/static/index.html", None, {}, 404, "no such page"),
        ("GET", "/api/stamp/123/diff.png", None, {}, 404, "unknown candidate id 123"),
        ("GET", f"/api/stamp/{candidate_id}/fits.png", None, {}, 404, "no such page"),
        ("GET", "/api/state?reviewer=" + "x" * 70, None, {}, 400, "1..64 characters"),
        ("DELETE", "/api/decision", None, {}, 405, "not supported"),
        ("GET", "/", None, {"Host": "evil.example:80"}, 403, "Host header"),
    ]


def test_bad_requests_get_4xx_json_and_write_nothing(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    candidate_id = int(review_inputs.table["id"].iloc[0])
    server.post_json("/api/decision", {"reviewer": "ann", "id": candidate_id, "decision": "artifact"})
    before = file_bytes(review_inputs.decisions)
    inputs_before = (review_inputs.candidates.read_bytes(), review_inputs.stamps.read_bytes())
    for method, path, body, headers, expected_status, words in _bad_requests(candidate_id):
        status, payload, content_type = server.request(method, path, body=body, headers=headers,
                                                       skip_host="Host" in headers)
        assert (status, content_type) == (expected_status, "application/json"), (method, path, payload)
        assert words in payload["error"], (method, path, payload)
    assert file_bytes(review_inputs.decisions) == before
    assert (review_inputs.candidates.read_bytes(), review_inputs.stamps.read_bytes()) == inputs_before
    assert sorted(p.name for p in review_inputs.decisions.parent.iterdir()) == ["decisions.csv"]
    # and the server still works afterwards
    status, result = server.post_json("/api/decision", {"reviewer": "ann", "id": candidate_id, "decision": "unsure"})
    assert (status, result["decision"]) == (200, "unsure")


def test_huge_body_is_refused_without_reading_it(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/decision HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b"X-Review-Token: %s\r\nContent-Length: 50000000\r\n\r\n" % (server.port, server.token().encode())
            + b"{" * 1000
        )
        reply = connection.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413")
    assert not review_inputs.decisions.exists() or len(pd.read_csv(review_inputs.decisions)) == 0


def test_two_reviewers_at_once_lose_nothing(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs, reviewer=("ann", "bob"))
    ids = review_inputs.table["id"].tolist()
    jobs = [(reviewer, candidate_id, decision)
            for reviewer, decision in (("ann", "artifact"), ("bob", "non-artifact"))
            for _ in range(3) for candidate_id in ids]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda job: server.post_json(
            "/api/decision", {"reviewer": job[0], "id": job[1], "decision": job[2]})[0], jobs))
    assert statuses == [200] * len(jobs)
    records = pd.read_csv(review_inputs.decisions)
    assert len(records) == len(jobs)
    assert records.groupby("reviewer").size().to_dict() == {"ann": 3 * len(ids), "bob": 3 * len(ids)}
    # Majority needs two votes: every candidate is a 1-1 tie between ann and bob.
    result = combine_votes(records, min_votes=2, voter_column="reviewer", vote_column="decision", known_ids=ids)
    assert result.labels.empty
    assert set(result.undecided["id"]) == set(ids)
    assert result.undecided["reason"].str.startswith("tie").all()


def test_server_binds_loopback_only_and_refuses_a_taken_port(review_inputs: ReviewInputs, start_server) -> None:
    server = start_server(review_inputs)
    assert server.server.server_address[0] == "127.0.0.1"
    with pytest.raises(OSError):
        make_server(candidates_path=review_inputs.candidates, stamps_path=review_inputs.stamps,
                    decisions_path=review_inputs.decisions, reviewer="ann", port=server.port, quiet=True)


def test_decisions_path_must_not_be_an_input(review_inputs: ReviewInputs) -> None:
    with pytest.raises(ValueError, match="must not be an input file"):
        make_server(candidates_path=review_inputs.candidates, stamps_path=review_inputs.stamps,
                    decisions_path=review_inputs.candidates, reviewer="ann", port=0, quiet=True)


PAPER_REVIEWED = 8_093  # the candidates Ayyar et al. reviewed


def test_paging_through_the_papers_8093_candidates(tmp_path, start_server) -> None:
    inputs = write_review_inputs(tmp_path / "data", n_candidates=PAPER_REVIEWED, n_stamps=PAPER_REVIEWED + 7,
                                 textured=False)
    ranked = inputs.table.sort_values("rank")["id"].tolist()
    # An earlier session decided the first 5,000 (and someone else 3,000 of them).
    write_decisions(inputs, reviewer="ann", ids=ranked[:5000])
    write_decisions(inputs, reviewer="bob", ids=ranked[:3000], decision="non-artifact")
    server = start_server(inputs, reviewer="ann")

    status, state, _ = server.request("GET", "/api/state")
    assert status == 200 and state["total"] == PAPER_REVIEWED and state["page_size"] == 12
    assert state["progress"] == {"decided": 5000, "skipped": 0, "total": PAPER_REVIEWED}
    # Resumes at candidate 5,000, on the page that holds it; only that page is sent.
    assert state["resume_index"] == 5000 and state["start"] == 4992
    assert [c["index"] for c in state["candidates"]] == list(range(4992, 5004))
    assert [c["decision"] for c in state["candidates"]] == ["artifact"] * 8 + [None] * 4
    assert len(json.dumps(state)) < 10_000

    # Every page, in order, gives back the whole list in rank order, each once.
    seen = []
    for start in range(0, PAPER_REVIEWED, 120):
        status, page, _ = server.request("GET", f"/api/candidates?start={start}&count=120")
        assert status == 200 and page["start"] == start
        seen += [c["id"] for c in page["candidates"]]
    assert seen == ranked
    last = server.request("GET", "/api/candidates?start=8088&count=12")[1]["candidates"]
    assert [c["index"] for c in last] == [8088, 8089, 8090, 8091, 8092]

    # The next open candidate, from anywhere, wrapping round past the decided ones.
    assert server.request("GET", "/api/next-open?after=8092")[1]["index"] == 5000
    assert server.request("GET", "/api/next-open?after=5000")[1]["index"] == 5001
    status, result = server.post_json("/api/decision", {"id": ranked[5001], "decision": "skip"})
    assert status == 200 and result["index"] == 5001
    assert server.request("GET", "/api/next-open?after=5000")[1]["index"] == 5002
    status, undone = server.post_json("/api/undo", {})
    assert (undone["id"], undone["index"], undone["decision"]) == (ranked[5001], 5001, None)

    for query, message in (("start=8093", "start must be a candidate index 0..8092"),
                           ("start=0&count=121", "count must be 1..120"), ("start=x", "must be an integer"),
                           ("count=5", "'start' is required")):
        status, payload, _ = server.request("GET", f"/api/candidates?{query}")
        assert status == 400 and message in payload["error"], query
    assert server.request("GET", "/api/next-open?after=8093")[0] == 400
