"""The review page at the paper's scale: 8,093 candidates (Ayyar et al. reviewed 8,093).

Usage: python benchmarks/bench_review.py [--candidates 8093] [--decided 5000] [--reviewers 3]
       [--pages 20] [--no-browser]

Writes a candidate list of N candidates over N stamps and a decisions file in which
``--reviewers`` reviewers have each decided the first ``--decided`` candidates (a review
well under way: ~15,000 records), starts ``realbogus review`` on it in its own process (as a
user does), and measures:

* HTTP, per request (median and max over the repeats): ``/api/state`` (what the page loads
  first: progress, resume point and the first page), ``/api/candidates`` (a next page),
  the 36 stamp PNGs of a page, ``/api/next-open``, and a decision (an fsync'ed append);
* in headless Chromium (Debian's, when installed): from opening the address to the first
  page shown with all its stamps loaded, and for each of ``--pages`` PageDown presses the
  time until the next page is shown with all its stamps (the page fetches one page ahead);
  then, after deciding the last candidate, the jump back to the first open one;
* the server's memory: RSS after start, and its peak (VmHWM) after every request above and
  after every page of the list was asked for once.

The goal (issue 17): first page and each next page under a second, memory bounded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.review.conftest import CHROMIUM_ARGS, CHROMIUM_PATH, write_decisions, write_review_inputs  # noqa: E402

CHANNELS = ("temp", "srch", "diff")


def _status_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def get(self, path: str) -> tuple[float, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        started = time.perf_counter()
        connection.request("GET", path, headers={"X-Review-Token": self.token})
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return elapsed, body

    def post(self, path: str, payload: dict) -> float:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps(payload).encode()
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers={"X-Review-Token": self.token,
                                                             "Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status}")
        return elapsed


def _summary(seconds: list[float]) -> dict:
    return {"median_ms": round(1e3 * statistics.median(seconds), 2), "max_ms": round(1e3 * max(seconds), 2),
            "n": len(seconds)}


def start_server(*, inputs, reviewer: str) -> tuple[subprocess.Popen, int, str, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "realbogus"), "review", "--candidates", str(inputs.candidates),
         "--stamps", str(inputs.stamps), "--decisions", str(inputs.decisions), "--reviewer", reviewer,
         "--port", "0", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        match = re.search(r"open (http://127\.0\.0\.1:(\d+)/\?token=(\S+)) in a browser", line)
        if match:
            return process, int(match.group(2)), match.group(3), time.perf_counter() - started
    raise RuntimeError(f"the review server did not start (exit {process.wait()})")


def measure_http(client: Client, *, total: int, decided: int, repeats: int) -> dict:
    state_times, page_times, stamp_times, next_open_times, decision_times = [], [], [], [], []
    for repeat in range(repeats):
        elapsed, body = client.get("/api/state")
        state_times.append(elapsed)
        state_bytes = len(body)
        state = json.loads(body)
        start = (state["start"] + 12 * (repeat + 1)) % total
        elapsed, body = client.get(f"/api/candidates?start={start}&count=12")
        page_times.append(elapsed)
        page = json.loads(body)["candidates"]
        started = time.perf_counter()
        for candidate in page:
            for channel in CHANNELS:
                client.get(f"/api/stamp/{candidate['id']}/{channel}.png")
        stamp_times.append(time.perf_counter() - started)
        next_open_times.append(client.get(f"/api/next-open?after={total - 1}")[0])
        decision_times.append(client.post("/api/decision", {"id": page[0]["id"], "decision": "unsure"}))
        client.post("/api/undo", {})
    return {"state_first_page": _summary(state_times), "state_bytes": state_bytes,
            "next_page_candidates": _summary(page_times), "stamps_36_pngs_of_a_page": _summary(stamp_times),
            "next_open": _summary(next_open_times), "decision_fsynced": _summary(decision_times),
            "resume_index": state["resume_index"], "expected_resume_index": decided}


def measure_browser(url: str, *, pages: int, total: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    all_stamps_loaded = ("() => { const imgs = [...document.querySelectorAll('.card img')]; "
                         "return imgs.length > 0 && imgs.every(img => img.complete && img.naturalWidth === 153); }")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1680, "height": 1050})
            started = time.perf_counter()
            page.goto(url)
            expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=30_000)
            page.wait_for_function(all_stamps_loaded, timeout=30_000)
            first_page = time.perf_counter() - started
            page_text = page.locator("#page-text")
            next_pages = []
            for _ in range(pages):
                before = page_text.text_content()
                started = time.perf_counter()
                page.keyboard.press("PageDown")
                expect(page_text).not_to_have_text(before, timeout=30_000)
                page.wait_for_function(all_stamps_loaded, timeout=30_000)
                next_pages.append(time.perf_counter() - started)
            page.keyboard.press("End")
            expect(page_text).to_contain_text(f"of {total} · page {(total + 11) // 12}/", timeout=30_000)
            before = page_text.text_content()
            started = time.perf_counter()
            page.keyboard.press("a")  # the last candidate: wraps round to the first open one
            expect(page_text).not_to_have_text(before, timeout=30_000)
            page.wait_for_function(all_stamps_loaded, timeout=30_000)
            wrap = time.perf_counter() - started
            return {"first_page_with_stamps_ms": round(1e3 * first_page, 1),
                    "next_page_with_stamps": _summary(next_pages),
                    "next_page_with_stamps_all_ms": [round(1e3 * s, 1) for s in next_pages],
                    "decide_last_then_jump_to_first_open_page_ms": round(1e3 * wrap, 1)}
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=8093)
    parser.add_argument("--decided", type=int, default=5000)
    parser.add_argument("--reviewers", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    result: dict = {"benchmark": "review", "candidates": args.candidates, "decided_per_reviewer": args.decided,
                    "reviewers_in_file": args.reviewers, "load_average_1min_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = write_review_inputs(Path(tmp), n_candidates=args.candidates, n_stamps=args.candidates,
                                     textured=False)
        ranked = inputs.table.sort_values("rank")["id"].tolist()
        names = ["ann"] + [f"reviewer{k}" for k in range(1, args.reviewers)]
        for name in names:
            write_decisions(inputs, reviewer=name, ids=ranked[:args.decided])
        result["decision_records"] = args.reviewers * args.decided
        process, port, token, start_seconds = start_server(inputs=inputs, reviewer="ann")
        try:
            result["server_start_s"] = round(start_seconds, 2)
            result["server_rss_mib_after_start"] = round(_status_kib(process.pid, "VmRSS") / 1024, 1)
            client = Client(port, token)
            result["http"] = measure_http(client, total=args.candidates, decided=args.decided, repeats=args.repeats)
            result["server_peak_rss_mib_after_http"] = round(_status_kib(process.pid, "VmHWM") / 1024, 1)
            started = time.perf_counter()
            for start in range(0, args.candidates, 12):
                client.get(f"/api/candidates?start={start}&count=12")
            result["every_page_once_s"] = round(time.perf_counter() - started, 2)
            result["server_peak_rss_mib_after_every_page"] = round(_status_kib(process.pid, "VmHWM") / 1024, 1)
            if args.no_browser or not CHROMIUM_PATH.exists():
                result["browser"] = "skipped" + ("" if args.no_browser else f": {CHROMIUM_PATH} not installed")
            else:
                url = f"http://127.0.0.1:{port}/?token={token}"
                result["browser"] = measure_browser(url, pages=args.pages, total=args.candidates)
                result["server_peak_rss_mib_after_browser"] = round(_status_kib(process.pid, "VmHWM") / 1024, 1)
        finally:
            process.terminate()
            process.wait(timeout=30)
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
