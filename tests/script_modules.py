"""Load one of the repository's scripts (benchmarks/, stages/) as a module, to test its functions.

The scripts are not a package: each runs as ``python benchmarks/NAME.py`` or from dvc.yaml,
so a test imports it from its file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_script(path: Path | str, name: str | None = None) -> ModuleType:
    """Execute the script at ``path`` (relative paths are under the repository) and return it as a module."""
    path = Path(path)
    if not path.is_absolute():
        path = REPO / path
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
