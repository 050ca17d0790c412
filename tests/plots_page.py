"""Open a `dvc plots show` / `dvc plots diff` page in headless Chromium with the network off
and count what drew: the tests of the offline plots page share this."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from review.conftest import CHROMIUM_ARGS, CHROMIUM_PATH

REPO = Path(__file__).resolve().parents[1]
PAGE_TEMPLATE = REPO / "build" / "dvc-plots" / "page.html"
MIN_COLOURED_PIXELS = 200  # a few short line segments; a drawn figure has thousands

# For each plot of the page (DVC writes one div per plot into the body): did vega-embed put a
# canvas or an SVG into it, and how many canvas pixels are coloured?  Vega paints the
# background white and axes, text and the reference points grey or black: only marks drawn
# from data (lines, bars in the category colours) are coloured, so an empty chart counts 0.
_COUNT_DRAWN = """() => {
  return [...document.querySelectorAll('body > div')].map(div => {
    const canvas = div.querySelector('canvas');
    const svg = div.querySelector('svg.marks');  // vega's SVG renderer (DVC's pages use canvas)
    let painted = 0;
    if (canvas && canvas.width && canvas.height) {
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < pixels.length; i += 4) {
        const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
        if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 64) painted++;
      }
    }
    return {id: div.id, canvas: !!canvas, svg: !!svg, painted: painted,
            width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0};
  });
}"""


@dataclass
class DrawnPage:
    expected_vega_plots: int  # vegaEmbed calls in the page's source
    plots: list[dict]  # one per plot div: id, canvas, svg, painted (coloured pixels), width, height
    images: list[dict]  # one per <img>: src, loaded (naturalWidth > 0)
    network_requests: list[str] = field(default_factory=list)  # any request that left the file system
    errors: list[str] = field(default_factory=list)  # page errors and console errors

    @property
    def drawn(self) -> list[str]:
        return [plot["id"] for plot in self.plots if plot["canvas"] and plot["painted"] >= MIN_COLOURED_PIXELS]


def require_page_template() -> Path:
    if not PAGE_TEMPLATE.is_file():
        pytest.skip(f"{PAGE_TEMPLATE} not built: run `make setup` (it installs vega from the npm registry)")
    if "{scripts}" in PAGE_TEMPLATE.read_text(encoding="utf-8"):
        pytest.skip(f"{PAGE_TEMPLATE} loads vega from the internet (npm was missing at `make setup`): "
                    "run `make plots-page` with npm")
    return PAGE_TEMPLATE


def chromium() -> str:
    if not CHROMIUM_PATH.exists() or not os.access(CHROMIUM_PATH, os.X_OK):
        pytest.skip(f"{CHROMIUM_PATH} not found: install Debian's chromium (make browser) to run the page test")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    return str(CHROMIUM_PATH)


def draw_offline(page_path: Path, *, screenshot: str | os.PathLike[str] | None = None) -> DrawnPage:
    """Load ``page_path`` (a file) in Chromium with every network request refused."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    network: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1500, "height": 1000})

            def refuse_network(route) -> None:  # noqa: ANN001 (playwright's Route)
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    network.append(route.request.url)
                    route.abort()

            context.route("**/*", refuse_network)
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            expected = page_path.read_text(encoding="utf-8").count("vegaEmbed(")
            page.goto(page_path.resolve().as_uri())
            page.wait_for_load_state("load")
            # vega-embed renders asynchronously (and replaces the div's script): wait until as
            # many plots have a canvas or svg as the page embeds, or give up and count.
            try:
                page.wait_for_function(
                    "expected => document.querySelectorAll('body > div canvas, body > div svg.marks').length >= expected",
                    arg=expected, timeout=60_000)
            except Exception:  # noqa: BLE001 - a plot that never draws is what the caller asserts on
                pass
            page.wait_for_timeout(300)  # the last canvas paints on the next frame
            plots = page.evaluate(_COUNT_DRAWN)
            images = page.evaluate("""() => [...document.images].map(
                image => ({src: image.getAttribute('src'), loaded: image.complete && image.naturalWidth > 0}))""")
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return DrawnPage(expected_vega_plots=expected, plots=plots, images=images, network_requests=network,
                     errors=errors)
