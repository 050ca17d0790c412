"""The review page in real headless Chromium: decide by keys and mouse, undo, restart the
server, and the decisions are still there and the page resumes.

Set REALBOGUS_SCREENSHOT=/path/to/page.png to keep a screenshot of the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from .conftest import CHROMIUM_ARGS, write_decisions, write_review_inputs

pytestmark = pytest.mark.slow


def test_review_page_keys_undo_restart_resume(tmp_path: Path, start_server, chromium_executable: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    inputs = write_review_inputs(tmp_path / "data", n_candidates=14, n_stamps=30)
    ids = inputs.table.sort_values("rank")["id"].tolist()
    server = start_server(inputs, reviewer="ann")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1680, "height": 1050})
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and page_errors.append(message.text))
            page.goto(server.url)
            expect(page.locator("body")).to_have_attribute("data-ready", "true")

            cards = page.locator(".card")
            expect(cards).to_have_count(12)  # first page of 14
            expect(cards.nth(0)).to_have_class("card selected")
            expect(page.locator("#reviewer")).to_have_value("ann")
            expect(page.locator("#progress-text")).to_have_text(f"0 of {len(ids)} decided")
            expect(cards.nth(0).locator(".cid")).to_have_text(f"ID {ids[0]}")
            # The stamps really loaded, at 3x size.
            page.wait_for_function(
                "() => [...document.querySelectorAll('.card img')].slice(0, 6)"
                ".every(img => img.complete && img.naturalWidth === 153)"
            )

            for key in ("a", "r", "s", "u"):
                page.keyboard.press(key)
            expect(cards.nth(3)).to_have_attribute("data-decision", "unsure")
            expect(cards.nth(4)).to_have_class("card selected")
            expect(page.locator("#progress-text")).to_have_text(f"3 of {len(ids)} decided · 1 skipped")

            page.keyboard.press("z")  # undo "unsure" on the 4th
            expect(cards.nth(3)).not_to_have_attribute("data-decision", "unsure")
            expect(cards.nth(3)).to_have_class("card selected")
            page.keyboard.press("Backspace")  # undo "skip" on the 3rd
            expect(cards.nth(2)).not_to_have_attribute("data-decision", "skip")
            expect(cards.nth(2)).to_have_class("card selected")
            page.keyboard.press("ArrowRight")
            expect(cards.nth(3)).to_have_class("card selected")

            cards.nth(5).locator("button[data-decision='non-artifact']").click()  # the mouse works too
            expect(cards.nth(5)).to_have_attribute("data-decision", "non-artifact")
            expect(page.locator("#progress-text")).to_have_text(f"3 of {len(ids)} decided")
            expect(page.locator("#status")).to_contain_text(f"saved: ID {ids[5]}")

            screenshot = os.environ.get("REALBOGUS_SCREENSHOT")
            if screenshot:
                cards.nth(6).locator("button[data-decision='skip']").click()
                cards.nth(7).click()
                expect(cards.nth(6)).to_have_attribute("data-decision", "skip")
                page.mouse.move(0, 0)
                page.screenshot(path=screenshot, full_page=False)
                page.keyboard.press("z")
                expect(cards.nth(6)).not_to_have_attribute("data-decision", "skip")

            records = pd.read_csv(inputs.decisions)
            assert records["decision"].tolist()[:7] == [
                "artifact", "non-artifact", "skip", "unsure", "undo", "undo", "non-artifact"]
            assert records["id"].tolist()[:7] == [ids[0], ids[1], ids[2], ids[3], ids[3], ids[2], ids[5]]
            assert set(records["reviewer"]) == {"ann"}

            # The page needs the server's token: without it the API answers 403 and the page says so.
            page.goto(server.url.split("?")[0])
            expect(page.locator("#status")).to_contain_text("needs its token")
            page_errors.clear()  # the refused calls above are expected console errors

            # Restart the server, started by someone else with ann as a second reviewer:
            # a new process state reading the same decisions file, and new tokens.
            server.stop()
            restarted = start_server(inputs, reviewer=("someone-else", "ann"))
            page.goto(restarted.server.url_for("ann"))
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
            expect(page.locator("#reviewer")).to_have_value("ann")
            expect(page.locator("#progress-text")).to_have_text(f"3 of {len(ids)} decided")
            expect(cards.nth(0)).to_have_attribute("data-decision", "artifact")
            expect(cards.nth(1)).to_have_attribute("data-decision", "non-artifact")
            expect(cards.nth(5)).to_have_attribute("data-decision", "non-artifact")
            expect(cards.nth(2)).to_have_class("card selected")  # resumes at the first open one

            # Keys go on working after the restart, into the same file, on the second page too;
            # deciding the last candidate wraps round to the first open one.
            page.keyboard.press("PageDown")
            expect(cards).to_have_count(2)
            expect(cards.nth(1)).to_have_class("card selected")
            page.keyboard.press("a")
            expect(page.locator("#progress-text")).to_have_text(f"4 of {len(ids)} decided")
            expect(cards).to_have_count(12)
            expect(cards.nth(2)).to_have_class("card selected")
            last = pd.read_csv(inputs.decisions).iloc[-1]
            assert (last["id"], last["decision"], last["reviewer"]) == (ids[13], "artifact", "ann")
            assert page_errors == []
        finally:
            browser.close()


def test_review_page_at_the_papers_scale_pages_and_resumes(tmp_path: Path, start_server,
                                                           chromium_executable: str) -> None:
    """8,093 candidates (the paper's review), 5,000 decided earlier: the page opens where the
    reviewer stopped, pages forward and to the end, and a decision on the last candidate
    wraps round to the first open one, on a page the browser had not loaded."""
    from playwright.sync_api import expect, sync_playwright

    inputs = write_review_inputs(tmp_path / "data", n_candidates=8093, n_stamps=8100, textured=False)
    ids = inputs.table.sort_values("rank")["id"].tolist()
    write_decisions(inputs, reviewer="ann", ids=ids[:5000])
    server = start_server(inputs, reviewer="ann")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1680, "height": 1050})
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(server.url)
            expect(page.locator("body")).to_have_attribute("data-ready", "true")
            cards = page.locator(".card")
            expect(page.locator("#progress-text")).to_have_text("5000 of 8093 decided")
            expect(page.locator("#page-text")).to_have_text("4993–5004 of 8093 · page 417/675")
            selected = page.locator(".card.selected")
            expect(selected.locator(".cid")).to_have_text(f"ID {ids[5000]}")
            expect(cards.nth(7)).to_have_attribute("data-decision", "artifact")

            page.keyboard.press("PageDown")
            expect(page.locator("#page-text")).to_have_text("5005–5016 of 8093 · page 418/675")
            expect(selected.locator(".cid")).to_have_text(f"ID {ids[5012]}")
            page.keyboard.press("End")
            expect(page.locator("#page-text")).to_have_text("8089–8093 of 8093 · page 675/675")
            expect(cards).to_have_count(5)
            page.keyboard.press("a")  # the last one: wraps round to the first open one, 5,000
            expect(page.locator("#progress-text")).to_have_text("5001 of 8093 decided")
            expect(page.locator("#page-text")).to_have_text("4993–5004 of 8093 · page 417/675")
            expect(selected.locator(".cid")).to_have_text(f"ID {ids[5000]}")
            page.keyboard.press("Home")
            expect(page.locator("#page-text")).to_have_text("1–12 of 8093 · page 1/675")
            expect(cards.nth(0)).to_have_attribute("data-decision", "artifact")
            last = pd.read_csv(inputs.decisions).iloc[-1]
            assert (last["id"], last["decision"]) == (ids[8092], "artifact")
            assert page_errors == []
        finally:
            browser.close()
