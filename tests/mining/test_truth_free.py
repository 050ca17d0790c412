"""The miner never sees ground truth: no truth parameter anywhere in its public API, no
import of the evaluation module (which alone reads truth), and the mine stage's output is
byte-identical with the truth in place, gone, or different (the fast-suite twin of the
end-to-end check in tests/pipeline/test_repro.py)."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

from realbogus.mining import gallery, ranking, tables

TRUTH_WORDS = ("truth", "true_label", "mechanism", "mislabel")


def test_miner_functions_take_no_truth_argument():
    for module in (ranking, tables, gallery):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__:
                continue
            for parameter in inspect.signature(function).parameters:
                where = f"{module.__name__}.{name}({parameter})"
                assert not any(word in parameter.lower() for word in TRUTH_WORDS), where


def test_miner_modules_do_not_import_truth_eval():
    for module in (ranking, tables, gallery):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        assert not [name for name in imported if "truth" in name], (module.__name__, imported)


def test_importing_the_miner_loads_neither_truth_eval_nor_cleanlab():
    code = (
        "import sys; import realbogus.mining.ranking, realbogus.mining.tables, realbogus.mining.gallery; "
        "print(sorted(m for m in sys.modules if 'truth_eval' in m or m.split('.')[0] == 'cleanlab'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_mine_ensemble_takes_no_truth_argument():
    """run.py sits beside the truth evaluation; only ``evaluate_mining`` may take the truth."""
    from realbogus.mining import run

    for name, function in inspect.getmembers(run, inspect.isfunction):
        if function.__module__ != run.__name__ or name == "evaluate_mining":
            continue
        for parameter in inspect.signature(function).parameters:
            assert not any(word in parameter.lower() for word in TRUTH_WORDS), f"run.{name}({parameter})"


# Runs the mine stage's own code three times in one fresh interpreter: with the simulated
# truth in place, with it gone, and with a different truth; then lists what got imported.
_MINE_THREE_WAYS = """
import importlib.util, json, os, sys
import numpy as np, pandas as pd
spec = importlib.util.spec_from_file_location("mine_stage", sys.argv[1])
stage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stage)
truth = "data/simulated/truth.parquet"
stage.main(["--out", "with_truth/mine", "--reports", "with_truth/reports"])
os.rename(truth, "truth_hidden.parquet")
stage.main(["--out", "without_truth/mine", "--reports", "without_truth/reports"])
other = pd.read_parquet("truth_hidden.parquet")
other["true_label"] = 1 - other["true_label"]
other.to_parquet(truth)
stage.main(["--out", "other_truth/mine", "--reports", "other_truth/reports"])
print(json.dumps(sorted(m for m in sys.modules if "truth_eval" in m or m.split(".")[0] == "cleanlab")))
"""


def test_the_mine_stage_output_is_the_same_with_without_or_with_another_truth(tmp_path):
    import json

    import numpy as np
    import pandas as pd
    import yaml

    repo = Path(__file__).resolve().parents[2]
    rng = np.random.default_rng(0)
    n, members = 120, ("a", "b")
    ids = np.sort(rng.choice(np.arange(10**5, 10**6), size=n, replace=False))
    labels = rng.integers(0, 2, n)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["ensemble"]["members"] = list(members)
    params["mine"].update(budget=15, gallery_size=3)
    params["tracking"]["enabled"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for folder in ("data/crossfit", "data/ingested", "data/simulated"):
        (tmp_path / folder).mkdir(parents=True)
    for member in members:
        score = np.clip(labels + rng.normal(0, 0.4, n), 0, 1)
        pd.DataFrame({"id": ids, "fold": np.arange(n) % 2, "label": labels,
                      "artifact_score": score}).to_parquet(tmp_path / f"data/crossfit/{member}.parquet")
    pd.DataFrame({"id": ids, "row": np.arange(n), "label": labels}).to_parquet(tmp_path / "data/ingested/catalog.parquet")
    np.save(tmp_path / "data/ingested/stamps.npy", rng.integers(0, 256, (n, 51, 51, 3), dtype=np.uint8))
    pd.DataFrame({"id": ids, "true_label": labels, "mislabel_mechanism": "none"}).to_parquet(
        tmp_path / "data/simulated/truth.parquet")

    result = subprocess.run([sys.executable, "-c", _MINE_THREE_WAYS, str(repo / "stages" / "mine.py")],
                            cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "REALBOGUS_TRACKING": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []  # neither truth_eval nor cleanlab loaded
    outputs = sorted(path.relative_to(tmp_path / "with_truth") for path in (tmp_path / "with_truth").rglob("*")
                     if path.is_file())
    assert {Path("mine/candidates.csv"), Path("mine/ranking.parquet"), Path("reports/gallery.png")} <= set(outputs)
    for relative in outputs:
        expected = (tmp_path / "with_truth" / relative).read_bytes()
        for other in ("without_truth", "other_truth"):
            assert (tmp_path / other / relative).read_bytes() == expected, f"{other}/{relative}"
