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


def test_mine_round_takes_no_truth_argument():
    """run.py sits beside the truth evaluation; only ``evaluate_rounds`` may take the truth."""
    from realbogus.mining import run

    for name, function in inspect.getmembers(run, inspect.isfunction):
        if function.__module__ != run.__name__ or name == "evaluate_rounds":
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
def mine(out):
    stage.main(["--round", "round2", "--budget", "15", "--start", "data/rounds/round2/start",
                "--crossfit-dir", "data/rounds/round2/crossfit", "--out", out + "/mine", "--reports", out + "/reports",
                "--metrics", out + "/mine.json"])
mine("with_truth")
os.rename(truth, "truth_hidden.parquet")
mine("without_truth")
other = pd.read_parquet("truth_hidden.parquet")
other["true_label"] = 1 - other["true_label"]
other.to_parquet(truth)
mine("other_truth")
print(json.dumps(sorted(m for m in sys.modules if "truth_eval" in m or m.split(".")[0] == "cleanlab")))
"""


def test_the_mine_stage_output_is_the_same_with_without_or_with_another_truth(tmp_path):
    """A second review round: the members' margins, their regional reliability and a model of
    round 1's review outcomes join the ranking, and still nothing depends on the truth."""
    import json

    import numpy as np
    import pandas as pd
    import yaml

    from realbogus.release.layout import FEATURE_NAMES

    repo = Path(__file__).resolve().parents[2]
    rng = np.random.default_rng(0)
    n, members = 120, ("a", "b")
    ids = np.sort(rng.choice(np.arange(10**5, 10**6), size=n, replace=False))
    labels = rng.integers(0, 2, n)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["ensemble"]["members"] = list(members)
    params["mine"].update(gallery_size=3, evidence={"training_dynamics": 0.5, "reliability": 1.0})
    params["tracking"]["enabled"] = False
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    start, crossfit = tmp_path / "data/rounds/round2/start", tmp_path / "data/rounds/round2/crossfit"
    for folder in (start, crossfit, tmp_path / "data/ingested", tmp_path / "data/simulated",
                   tmp_path / "data/features"):
        folder.mkdir(parents=True)
    for member in members:
        score = np.clip(labels + rng.normal(0, 0.4, n), 0, 1)
        pd.DataFrame({"id": ids, "fold": np.arange(n) % 2, "label": labels, "artifact_score": score,
                      "margin_area": rng.uniform(-1, 1, n)}).to_parquet(crossfit / f"{member}.parquet")
    pd.DataFrame({"id": ids, "label": labels}).to_csv(start / "labels.csv", index=False)
    reviewed = np.arange(0, 40)
    pd.DataFrame({"id": ids[reviewed], "round": "round1", "old_label": 1 - labels[reviewed],
                  "new_label": labels[reviewed], "outcome": np.where(reviewed % 3 == 0, "confirmed", "corrected")}
                 ).assign(old_label=lambda table: np.where(table["outcome"] == "confirmed", table["new_label"],
                                                           table["old_label"])).to_csv(start / "reviews.csv",
                                                                                       index=False)
    features = pd.DataFrame(rng.normal(0, 1, (n, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    features["BAND"] = rng.choice(list("griz"), n)
    features.insert(0, "id", ids)
    features.to_parquet(tmp_path / "data/features/features.parquet")
    pd.DataFrame({"id": ids, "row": np.arange(n), "label": labels}).to_parquet(tmp_path / "data/ingested/catalog.parquet")
    np.save(tmp_path / "data/ingested/stamps.npy", rng.integers(0, 256, (n, 51, 51, 3), dtype=np.uint8))
    pd.DataFrame({"id": ids, "true_label": labels, "mislabel_mechanism": "none"}).to_parquet(
        tmp_path / "data/simulated/truth.parquet")

    result = subprocess.run([sys.executable, "-c", _MINE_THREE_WAYS, str(repo / "stages" / "mine.py")],
                            cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "REALBOGUS_TRACKING": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []  # neither truth_eval nor cleanlab loaded
    summary = json.loads((tmp_path / "with_truth" / "mine.json").read_text())
    assert summary["review_model"] is True and summary["reviewed_before"] == 40
    outputs = sorted(path.relative_to(tmp_path / "with_truth") for path in (tmp_path / "with_truth").rglob("*")
                     if path.is_file())
    assert {Path("mine/candidates.csv"), Path("mine/ranking.parquet"), Path("reports/gallery.png")} <= set(outputs)
    for relative in outputs:
        expected = (tmp_path / "with_truth" / relative).read_bytes()
        for other in ("without_truth", "other_truth"):
            assert (tmp_path / other / relative).read_bytes() == expected, f"{other}/{relative}"
