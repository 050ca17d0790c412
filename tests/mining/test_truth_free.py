"""The miner never sees ground truth: no truth parameter anywhere in its public API and
no import of the evaluation module (which alone reads truth)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

from realbogus import training_dynamics
from realbogus.mining import cleanlab_methods, evidence, gallery, ranking, rounds, tables

# Every module the `mine` stage ranks with (run.py holds the truth evaluation too, in
# functions of their own that import truth_eval lazily; the pipeline test checks its output
# without the truth).
MINER_MODULES = (ranking, tables, gallery, evidence, rounds, cleanlab_methods, training_dynamics)

TRUTH_WORDS = ("truth", "true_label", "mechanism", "mislabel")


def test_miner_functions_take_no_truth_argument():
    for module in MINER_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__:
                continue
            for parameter in inspect.signature(function).parameters:
                where = f"{module.__name__}.{name}({parameter})"
                assert not any(word in parameter.lower() for word in TRUTH_WORDS), where


def test_miner_modules_do_not_import_truth_eval():
    for module in MINER_MODULES:
        tree = ast.parse(Path(module.__file__).read_text())
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        assert not [name for name in imported if "truth" in name], (module.__name__, imported)


def test_importing_the_miner_loads_neither_truth_eval_nor_cleanlab():
    code = (
        "import sys; import realbogus.mining.ranking, realbogus.mining.tables, realbogus.mining.gallery, "
        "realbogus.mining.evidence, realbogus.mining.rounds, realbogus.mining.cleanlab_methods, "
        "realbogus.mining.run; "
        "print(sorted(m for m in sys.modules if 'truth_eval' in m or m.split('.')[0] == 'cleanlab'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout
