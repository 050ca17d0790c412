"""Tiny candidate lists and stamps made on the fly, a running review server, and Chromium."""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realbogus.review.server import ReviewServer, make_server

CHROMIUM_PATH = Path("/usr/bin/chromium")
# Flags for a headless Chromium in a container with no network and no GPU.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
MEMBERS = ("model1", "model2", "rf")


@dataclass(frozen=True)
class ReviewInputs:
    candidates: Path
    stamps: Path
    decisions: Path
    table: pd.DataFrame  # as written, in file order (not rank order)
    stamp_array: np.ndarray


def category_of(*, label: int, artifact_score: float) -> int:
    """The paper's category 1..6 from the given label and an artifact score."""
    if label == 1:
        return 1 if artifact_score < 0.1 else 2 if artifact_score < 0.5 else 3
    return 4 if artifact_score < 0.5 else 5 if artifact_score < 0.9 else 6


def make_stamps(*, n_stamps: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 51, 51, 3) uint8 stamps that look roughly like the release's, so a screenshot
    of the page is readable: a noisy sky, a galaxy in template and search, and in every
    other stamp a point source in search and difference (else a dipole residual)."""
    yy, xx = np.mgrid[:51, :51].astype(float)

    def blob(y: float, x: float, sigma: float) -> np.ndarray:
        return np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))

    stamps = np.empty((n_stamps, 51, 51, 3), dtype=np.uint8)
    for i in range(n_stamps):
        galaxy = rng.uniform(40, 120) * blob(*rng.uniform(18, 33, 2), rng.uniform(3, 7))
        source = rng.uniform(60, 140) * blob(25 + rng.normal(0, 1), 25 + rng.normal(0, 1), rng.uniform(1.4, 2.2))
        if i % 2:
            difference = source
        else:  # a mis-subtraction: positive and negative lobes side by side
            difference = source - 0.9 * rng.uniform(60, 140) * blob(25, 27.5, 1.8)
        template = 60 + galaxy + rng.normal(0, 6, (51, 51))
        search = 60 + galaxy + (source if i % 2 else 0) + rng.normal(0, 8, (51, 51))
        difference = 80 + difference + rng.normal(0, 8, (51, 51))
        stamps[i] = np.clip(np.stack([template, search, difference], axis=-1), 0, 255).astype(np.uint8)
    return stamps


def write_review_inputs(directory: Path, *, n_candidates: int = 8, n_stamps: int = 20, seed: int = 3,
                        textured: bool = True) -> ReviewInputs:
    """A candidate list of ``n_candidates`` over ``n_stamps`` random stamps.

    Ids are not in rank order and rows are a shuffled subset, so a test that mixes up
    id, row and rank fails.  textured=False: plain noise stamps, quick to make by the thousand.
    """
    rng = np.random.default_rng(seed)
    if textured:
        stamp_array = make_stamps(n_stamps=n_stamps, rng=rng)
    else:
        stamp_array = rng.integers(0, 256, size=(n_stamps, 51, 51, 3), dtype=np.uint8)
    ids = rng.choice(np.arange(100_000, 999_999), size=n_candidates, replace=False)
    labels = rng.integers(0, 2, size=n_candidates)
    table = pd.DataFrame({
        "id": ids,
        "row": rng.choice(n_stamps, size=n_candidates, replace=False),
        "given_label": labels,
        "rank": rng.permutation(n_candidates),
        "rank_score": rng.random(n_candidates).round(4),
    })
    for member in MEMBERS:
        # Scores that disagree with the label, as mined candidates do.
        scores = np.where(labels == 1, rng.uniform(0, 0.3, n_candidates), rng.uniform(0.7, 1, n_candidates))
        table[f"score_{member}"] = scores.round(4)
        table[f"cat_{member}"] = [category_of(label=l, artifact_score=s) for l, s in zip(labels, scores)]
    directory.mkdir(parents=True, exist_ok=True)
    candidates = directory / "candidates.csv"
    stamps = directory / "stamps.npy"
    table.to_csv(candidates, index=False)
    np.save(stamps, stamp_array)
    return ReviewInputs(candidates=candidates, stamps=stamps, decisions=directory / "review" / "decisions.csv",
                        table=table, stamp_array=stamp_array)


@pytest.fixture
def review_inputs(tmp_path: Path) -> ReviewInputs:
    return write_review_inputs(tmp_path / "data")


class RunningServer:
    """A ReviewServer serving in a background thread, with a tiny HTTP client."""

    def __init__(self, server: ReviewServer) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    def token(self, reviewer: str | None = None) -> str:
        """The token of ``reviewer`` (default: the server's default reviewer)."""
        return self.server.token_for(reviewer or self.server.session.default_reviewer)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, skip_host: bool = False,
                as_reviewer: str | None = None, with_token: bool = True) -> tuple[int, dict | bytes, str]:
        """(status, JSON payload or raw bytes, content type) of one request on a fresh connection.

        Sends the token of ``as_reviewer`` (default: the default reviewer) in the
        X-Review-Token header, as the page does, unless ``with_token`` is False or the
        headers carry one already.
        """
        headers = dict(headers or {})
        if with_token and "X-Review-Token" not in headers:
            headers["X-Review-Token"] = self.token(as_reviewer)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            if body is not None and "Content-Length" not in headers:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read()
            content_type = response.getheader("Content-Type", "")
        finally:
            connection.close()
        if content_type.startswith("application/json"):
            return response.status, json.loads(data), content_type
        return response.status, data, content_type

    def post_json(self, path: str, payload: object, *, as_reviewer: str | None = None) -> tuple[int, dict]:
        """POST JSON with the token of ``as_reviewer`` (default: the payload's reviewer, else the default)."""
        if as_reviewer is None and isinstance(payload, dict) and payload.get("reviewer") in self.server.tokens.values():
            as_reviewer = payload["reviewer"]
        status, data, _ = self.request("POST", path, body=json.dumps(payload).encode(),
                                       headers={"Content-Type": "application/json"}, as_reviewer=as_reviewer)
        return status, data

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """Factory: start a review server on a free port for given inputs; all stopped at the end."""
    started: list[RunningServer] = []

    def start(inputs: ReviewInputs, *, reviewer: str | tuple[str, ...] = "ann", port: int = 0,
              show_others: bool = False) -> RunningServer:
        server = make_server(candidates_path=inputs.candidates, stamps_path=inputs.stamps,
                             decisions_path=inputs.decisions, reviewer=reviewer, port=port, quiet=True,
                             show_others=show_others)
        running = RunningServer(server)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()


@pytest.fixture
def chromium_executable() -> str:
    """Debian's Chromium (``apt-get install chromium``; ``make browser`` does it).

    Skips, saying why, only when it is not installed; Playwright's own browser download
    is never used (the test machines have no internet).
    """
    if not CHROMIUM_PATH.exists() or not os.access(CHROMIUM_PATH, os.X_OK):
        pytest.skip(f"{CHROMIUM_PATH} not found: install Debian's chromium (make browser) to run the page test")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    return str(CHROMIUM_PATH)


def file_bytes(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""



def write_decisions(inputs: ReviewInputs, *, reviewer: str, ids: list[int], decision: str = "artifact") -> None:
    """Append one decision per id to the inputs' decisions file, as the store writes them
    (a review left half done by an earlier session)."""
    from realbogus.review.candidates import file_md5
    from realbogus.review.store import DECISION_COLUMNS

    version = file_md5(inputs.candidates)
    given = dict(zip(inputs.table["id"].tolist(), inputs.table["given_label"].tolist()))
    inputs.decisions.parent.mkdir(parents=True, exist_ok=True)
    new_file = not inputs.decisions.exists()
    with open(inputs.decisions, "a", encoding="utf-8") as handle:
        if new_file:
            handle.write(",".join(DECISION_COLUMNS) + "\n")
        for candidate_id in ids:
            handle.write(f"{candidate_id},{decision},{reviewer},2026-12-01T10:00:00.000+00:00,{version},"
                         f"{given[candidate_id]}\n")
