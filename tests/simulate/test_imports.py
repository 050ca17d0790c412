"""The simulator's modules import one another one way only (no cycle, not even inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import realbogus.simulate

PACKAGE = "realbogus.simulate"


def _imports_of(path: Path) -> set[str]:
    """Sibling modules of the simulate package that ``path`` imports anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(PACKAGE + "."):
                found.add(node.module.split(".")[2])
            elif node.module == PACKAGE:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[2] for alias in node.names if alias.name.startswith(PACKAGE + "."))
    return found


def test_simulate_modules_form_no_import_cycle() -> None:
    folder = Path(realbogus.simulate.__file__).parent
    graph = {path.stem: _imports_of(path) & {p.stem for p in folder.glob("*.py")} - {path.stem}
             for path in folder.glob("*.py") if path.stem != "__init__"}
    graph = {module: {target for target in targets if target != "__init__"} for module, targets in graph.items()}
    assert "scene" not in graph["artifacts"]  # the cycle issue 16 asked to break
    visiting, done = set(), set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if module in done:
            return
        assert module not in visiting, f"import cycle: {' -> '.join(trail + (module,))}"
        visiting.add(module)
        for target in graph.get(module, ()):
            visit(target, trail + (module,))
        visiting.discard(module)
        done.add(module)

    for module in graph:
        visit(module, ())
