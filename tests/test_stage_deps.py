"""Every DVC stage depends on the project code it runs, so `dvc repro` reruns it when that
code changes, and on no project code it does not run.

For each stage of dvc.yaml and survey/dvc.yaml the test finds the script its ``cmd`` runs,
follows its imports within ``src/realbogus`` statically (ast; imports inside functions
count, ``if TYPE_CHECKING:`` blocks do not run and do not count), and compares that
closure with the stage's ``deps``.  A folder in ``deps`` covers every module under it.
A package ``__init__.py`` that holds only a docstring runs no code and needs no dep; a
package that imports its own modules at run time (``pkgutil.iter_modules``, as
``realbogus.feature_models`` finds its kinds) counts as importing all of them.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = "realbogus"
PIPELINES = (REPO / "dvc.yaml", REPO / "survey" / "dvc.yaml")
SCRIPT = re.compile(r"\bpython3?\s+(\S+\.py)\b")


@dataclass(frozen=True)
class Stage:
    pipeline: Path
    name: str
    script: Path
    deps: tuple[Path, ...]  # resolved; templated entries (data such as ${item.model}) left out

    def __str__(self) -> str:
        return f"{self.pipeline.relative_to(REPO)}: {self.name}"


def pipeline_stages() -> Iterator[Stage]:
    for pipeline in PIPELINES:
        for name, stage in yaml.safe_load(pipeline.read_text())["stages"].items():
            body = stage.get("do", stage)  # a foreach stage's template
            scripts = SCRIPT.findall(body["cmd"])
            assert len(scripts) == 1, f"{pipeline}: stage {name!r} should run one python script, cmd: {body['cmd']!r}"
            deps = tuple((pipeline.parent / (dep if isinstance(dep, str) else next(iter(dep)))).resolve()
                         for dep in body.get("deps", []) if "${" not in str(dep))
            yield Stage(pipeline=pipeline, name=name, script=(pipeline.parent / scripts[0]).resolve(), deps=deps)


def module_path(name: str) -> Path | None:
    """The file of module ``name`` inside src/realbogus, or None (another package's)."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    raise AssertionError(f"import of {name!r}: no such module under {SRC}")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runs_code(node: ast.AST) -> list[ast.stmt]:
    """The statements that run, leaving out ``if TYPE_CHECKING:`` bodies."""
    kept = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            kept.extend(child.orelse)
            continue
        kept.append(child)
    return kept


@functools.cache
def imported_modules(path: Path) -> frozenset[str]:
    """Names of the modules a file imports anywhere in its code (parents included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    own = module_name(path) if path.is_relative_to(SRC) else None
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        for child in _runs_code(node):
            pending.append(child)
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the file's own package
                    package = own.split(".") if path.name == "__init__.py" else own.split(".")[:-1]
                    base = ".".join(package[: len(package) - child.level + 1] + ([base] if base else []))
                names.add(base)
                for alias in child.names:
                    names.add(f"{base}.{alias.name}")  # kept below only if it is a module
    with_parents = set()
    for name in names:
        parts = name.split(".")
        with_parents.update(".".join(parts[:index]) for index in range(1, len(parts) + 1))
    if "iter_modules" in path.read_text() and path.name == "__init__.py":
        with_parents.update(f"{module_name(path)}.{child.stem}" for child in path.parent.glob("*.py"))
    return frozenset(with_parents)


def _is_module(name: str) -> bool:
    try:
        return module_path(name) is not None
    except AssertionError:
        return False


@functools.cache
def import_closure(script: Path) -> dict[Path, list[str]]:
    """{project module file: the import chain from the script to it}."""
    chains: dict[Path, list[str]] = {}
    pending = [(script, [str(script.relative_to(REPO))])]
    while pending:
        path, chain = pending.pop()
        for name in sorted(imported_modules(path)):
            if not (name == PACKAGE or name.startswith(PACKAGE + ".")) or not _is_module(name):
                continue
            target = module_path(name)
            if target not in chains:
                chains[target] = [*chain, name]
                pending.append((target, chains[target]))
    return chains


@functools.cache
def runs_no_code(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return path.name == "__init__.py" and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def covered(path: Path, deps: tuple[Path, ...]) -> bool:
    return any(path == dep or dep in path.parents for dep in deps)


STAGES = list(pipeline_stages())


@pytest.mark.parametrize("stage", STAGES, ids=str)
def test_stage_depends_on_every_project_module_it_runs(stage: Stage) -> None:
    assert stage.script in stage.deps, f"{stage}: its script {stage.script.relative_to(REPO)} is not among its deps"
    missing = {path: chain for path, chain in import_closure(stage.script).items()
               if not runs_no_code(path) and not covered(path, stage.deps)}
    assert not missing, f"{stage} runs project code it does not depend on (add to its deps, or run python tools/fix_stage_deps.py):\n" + "\n".join(
        f"  {path.relative_to(REPO)}   via {' -> '.join(chain)}" for path, chain in sorted(missing.items()))


def code_modules(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*.py") if not runs_no_code(path)}


@pytest.mark.parametrize("stage", STAGES, ids=str)
def test_stage_depends_on_no_project_code_it_does_not_run(stage: Stage) -> None:
    closure = set(import_closure(stage.script))
    # A file dep must be run; a folder dep must have every module in it run, else list the files.
    stale = [dep.relative_to(REPO) for dep in stage.deps if dep.is_relative_to(SRC)
             and (dep not in closure if dep.is_file() else not code_modules(dep) <= closure)]
    assert not stale, f"{stage} depends on project code it does not run (a needless rerun; python tools/fix_stage_deps.py mends it): {stale}"


def test_the_closure_follows_function_level_relative_and_discovered_imports() -> None:
    members = import_closure(REPO / "stages" / "train.py")
    names = {module_name(path) for path in members}
    # members.py imports the CNN code inside a function; feature_models finds forest/boosting at run time.
    assert {"realbogus.members", "realbogus.cnn.training", "realbogus.feature_models.forest",
            "realbogus.feature_models.boosting", "realbogus.metrics", "realbogus.provenance"} <= names
    assert "realbogus.simulate.scene" not in names
    assert members[SRC / "realbogus" / "cnn" / "training.py"][:3] == [
        "stages/train.py", "realbogus.members", "realbogus.cnn.training"]
    assert runs_no_code(SRC / "realbogus" / "__init__.py") and not runs_no_code(SRC / "realbogus" / "features" / "__init__.py")
