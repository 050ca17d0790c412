"""Write the HTML template of `dvc plots show` / `dvc plots diff` pages (the repository's
``.dvc/config`` names it as ``plots.html_template``) with vega, vega-lite and vega-embed
inlined, so the pages draw with no network (a cluster node, a laptop on a train).

    python tools/build_plots_page.py --scripts tools/plots-page/node_modules --out build/dvc-plots/page.html
    python tools/build_plots_page.py --cdn --out build/dvc-plots/page.html

The scripts are the npm registry packages pinned in ``tools/plots-page/package-lock.json``,
installed by ``make setup`` (``npm ci``) into the git-ignored ``tools/plots-page/node_modules``.
``--cdn`` (what ``make setup`` does where npm is missing or the registry is out of reach)
keeps DVC's own script tags instead, which load the scripts from the internet.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE_SOURCE = REPO / "tools" / "plots-page" / "page.html"
SCRIPTS_MARK = "<!-- PLOT SCRIPTS -->"
# In load order: vega-embed's UMD build needs the globals `vega` and `vegaLite`.
PACKAGES = (("vega", "build/vega.min.js"), ("vega-lite", "build/vega-lite.min.js"),
            ("vega-embed", "build/vega-embed.min.js"))
# What dvc_render's HTML report fills in: a script must not contain these, nor end its tag.
DVC_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=\S+\s*$", re.MULTILINE)


def inline_scripts(node_modules: Path) -> str:
    """``<script>`` elements holding the three packages' browser builds, with their versions."""
    elements = []
    for package, build in PACKAGES:
        script_path = node_modules / package / build
        manifest = node_modules / package / "package.json"
        if not script_path.is_file() or not manifest.is_file():
            raise FileNotFoundError(f"{script_path}: not installed (run `npm ci --prefix tools/plots-page`, "
                                    "which `make setup` does)")
        version = json.loads(manifest.read_text())["version"]
        # The source map is not shipped with the page; its comment would only make a browser look for it.
        code = _SOURCE_MAP.sub("", script_path.read_text(encoding="utf-8"))
        problems = [text for text in ("</script", *DVC_PLACEHOLDERS) if text in code]
        if problems:
            raise ValueError(f"{script_path}: contains {problems}, which would break the page when inlined")
        elements.append(f'<script data-package="{package}" data-version="{version}">\n{code}\n</script>')
    return "\n".join(elements)


def build_page(*, scripts: str) -> str:
    source = PAGE_SOURCE.read_text(encoding="utf-8")
    if SCRIPTS_MARK not in source or "{plot_divs}" not in source:
        raise ValueError(f"{PAGE_SOURCE}: needs {SCRIPTS_MARK!r} and '{{plot_divs}}'")
    return source.replace(SCRIPTS_MARK, scripts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--scripts", type=Path, help="the node_modules folder holding vega, vega-lite, vega-embed")
    source.add_argument("--cdn", action="store_true", help="keep DVC's script tags (the pages need the internet)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from realbogus.atomic import atomic_path

    # DVC fills "{scripts}" with its own tags, which load the scripts from a CDN.
    page = build_page(scripts="{scripts}" if args.cdn else inline_scripts(args.scripts))
    with atomic_path(args.out, command="build_plots_page") as temporary:
        temporary.write_text(page, encoding="utf-8")
    how = "loading vega from the internet (DVC's default)" if args.cdn else "with vega, vega-lite, vega-embed inlined"
    print(f"{args.out}: the `dvc plots` page template, {how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
