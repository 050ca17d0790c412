"""Rewrite the project-code deps of every stage in dvc.yaml and survey/dvc.yaml to match
the code each stage's script runs (the rule tests/test_stage_deps.py checks).

    python tools/fix_stage_deps.py          # rewrite in place, print what changed
    python tools/fix_stage_deps.py --check  # only say which stages are out of date (exit 1)

Only the ``src/realbogus/...`` lines (``../src/realbogus/...`` in survey/) of a stage's ``deps`` are touched: they are replaced
by the import closure of the stage's script, a folder where every module in it runs, the
files otherwise.  Data deps, comments and everything else stay as written.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_CODE_DEP = re.compile(r"^(\s+)- ((?:\.\./)*src/realbogus/\S+)\s*$")
_STAGE = re.compile(r"^  ([A-Za-z0-9_]+):\s*$")


def _analysis():
    spec = importlib.util.spec_from_file_location("stage_deps_analysis", REPO / "tests" / "test_stage_deps.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def wanted_code_deps(stage, analysis) -> list[str]:
    """The src/realbogus deps a stage should list: whole folders where all their code runs."""
    closure = {path for path in analysis.import_closure(stage.script) if not analysis.runs_no_code(path)}
    chosen: set[Path] = set()
    for path in closure:
        # The highest folder below src/realbogus whose every code module runs.
        entry = path
        for folder in reversed(path.relative_to(analysis.SRC / "realbogus").parents[:-1]):
            folder_path = analysis.SRC / "realbogus" / folder
            if analysis.code_modules(folder_path) <= closure:
                entry = folder_path
                break
        chosen.add(entry)
    return sorted(os.path.relpath(path, stage.pipeline.parent) for path in chosen)


def rewrite(pipeline: Path, stages: dict[str, object], analysis) -> list[str]:
    lines = pipeline.read_text().splitlines(keepends=True)
    out: list[str] = []
    changed: list[str] = []
    current = None
    index = 0
    while index < len(lines):
        line = lines[index]
        stage_match = _STAGE.match(line)
        if stage_match:
            current = stage_match.group(1)
        code = _CODE_DEP.match(line)
        if code and current in stages:
            indent = code.group(1)
            old = []
            while index < len(lines) and _CODE_DEP.match(lines[index]):
                old.append(_CODE_DEP.match(lines[index]).group(2))
                index += 1
            new = wanted_code_deps(stages[current], analysis)
            if old != new:
                changed.append(f"{pipeline.relative_to(REPO)}: {current}: -{sorted(set(old) - set(new))} "
                               f"+{sorted(set(new) - set(old))}")
            out.extend(f"{indent}- {dep}\n" for dep in new)
            continue
        out.append(line)
        index += 1
    if changed:
        pipeline.write_text("".join(out))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale stages, change nothing")
    args = parser.parse_args(argv)
    analysis = _analysis()
    changes: list[str] = []
    for pipeline in analysis.PIPELINES:
        stages = {stage.name: stage for stage in analysis.STAGES if stage.pipeline == pipeline}
        if args.check:
            original = pipeline.read_text()
            changes += rewrite(pipeline, stages, analysis)
            pipeline.write_text(original)
        else:
            changes += rewrite(pipeline, stages, analysis)
    print("\n".join(changes) if changes else "stage deps match the code")
    return 1 if (args.check and changes) else 0


if __name__ == "__main__":
    sys.exit(main())
