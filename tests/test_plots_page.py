"""The pipeline's DVC plots: the page template carries vega itself, every figure declared in
dvc.yaml draws in headless Chromium with the network off (`dvc plots show` and `dvc plots
diff`), and the survey's plots stay silent until the survey has run.

Set REALBOGUS_SCREENSHOT=/path/to/page.png to keep a screenshot of the `dvc plots show` page.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from plots_page import PAGE_TEMPLATE, REPO, draw_offline, require_page_template
from realbogus.figure_tables import AFTER, BEFORE, write_figure_tables
from realbogus.metrics import GOLDSTEIN_2015_POINTS
from realbogus.mining.tables import cross_member_placement
from realbogus.plots import plot_learning_curves
from realbogus.report import before_after_table

sys.path.insert(0, str(REPO / "tools"))
import build_plots_page  # noqa: E402

MEMBERS = ("rf", "model1")


def _dvc(args: list[str], *, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["dvc", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _git(args: list[str], *, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _scores(rng: np.random.Generator, *, n: int, separation: float) -> pd.DataFrame:
    labels = rng.integers(0, 2, n)
    artifact_score = 1 / (1 + np.exp(-(labels - 0.5) * separation - rng.normal(0, 1, n)))
    return pd.DataFrame({"id": np.arange(n), "split": rng.choice(["train", "val", "test"], n, p=[0.5, 0.2, 0.3]),
                         "label": labels, "artifact_score": artifact_score.astype(np.float32)})


def _write_pipeline_outputs(repo: Path, *, seed: int) -> None:
    """What the evaluate and mine stages write for the plots, from made-up scores."""
    rng = np.random.default_rng(seed)
    before = {member: _scores(rng, n=900, separation=4 + 2 * k) for k, member in enumerate(MEMBERS)}
    after = {member: _scores(rng, n=900, separation=5 + 2 * k) for k, member in enumerate(MEMBERS)}
    new_labels = before["rf"][["id", "label"]]
    table4 = {member: before_after_table(old_scores=before[member], new_scores=after[member], new_labels=new_labels)
              for member in MEMBERS}
    histories = {("model1", when): pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": np.linspace(0.6, 0.3, 4) + shift,
                                                 "val_loss": np.linspace(0.65, 0.4, 4) + shift})
                 for when, shift in ((BEFORE, 0.0), (AFTER, -0.05))}
    write_figure_tables(out_dir=repo / "reports" / "evaluate", before=before, after=after, table4=table4,
                        histories=histories)
    labels = before["rf"]["label"].to_numpy()
    placement = cross_member_placement(given_labels=labels, member_names=MEMBERS, member_scores=np.column_stack(
        [before[member]["artifact_score"].to_numpy() for member in MEMBERS]))
    folder = repo / "reports" / "rounds" / "round1" / "mine"  # the first review round's
    folder.mkdir(parents=True, exist_ok=True)
    placement.to_csv(folder / "placement.csv", index=False)


@pytest.fixture()
def plots_repo(tmp_path: Path) -> Path:
    """A git + DVC repository with the project's plot declarations, templates and DVC config
    (dvc.yaml's top-level plots only: no stages) and made-up data in their places."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(["init", "-q"], cwd=repo)
    _git(["config", "user.email", "test@example.org"], cwd=repo)
    _git(["config", "user.name", "test"], cwd=repo)
    shutil.copytree(REPO / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache", "config.local"))
    declared = yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"plots": declared}, sort_keys=False))
    page = repo / "build" / "dvc-plots" / "page.html"
    page.parent.mkdir(parents=True)
    shutil.copy(require_page_template(), page)
    (repo / ".gitignore").write_text("/build/\n/dvc_plots/\n")
    _write_pipeline_outputs(repo, seed=1)
    return repo


def test_the_page_template_carries_the_pinned_registry_scripts() -> None:
    page = require_page_template().read_text(encoding="utf-8")
    lock = json.loads((REPO / "tools" / "plots-page" / "package-lock.json").read_text())["packages"]
    for package in ("vega", "vega-lite", "vega-embed"):
        assert f'data-package="{package}" data-version="{lock[f"node_modules/{package}"]["version"]}"' in page
    assert "<script src" not in page and "{scripts}" not in page and "cdn." not in page
    assert "{plot_divs}" in page


def test_the_builder_refuses_scripts_that_would_break_the_page(tmp_path: Path) -> None:
    modules = tmp_path / "node_modules"
    for package, build in build_plots_page.PACKAGES:
        (modules / package / build).parent.mkdir(parents=True)
        (modules / package / "package.json").write_text('{"version": "1.0.0"}')
        (modules / package / build).write_text("var x = 1;\n//# sourceMappingURL=x.min.js.map\n")
    assert "sourceMappingURL" not in build_plots_page.inline_scripts(modules)
    (modules / "vega" / "build" / "vega.min.js").write_text("var html = '</script>';")
    with pytest.raises(ValueError, match="</script"):
        build_plots_page.inline_scripts(modules)
    with pytest.raises(FileNotFoundError, match="npm ci"):
        build_plots_page.inline_scripts(tmp_path / "nowhere")
    # Without npm, `make setup` keeps DVC's own (online) script tags in the same page.
    out = tmp_path / "page.html"
    assert build_plots_page.main(["--cdn", "--out", str(out)]) == 0
    assert "{scripts}" in out.read_text() and "{plot_divs}" in out.read_text()


def test_the_roc_templates_mark_goldsteins_points() -> None:
    for name in ("rb_roc_members", "rb_roc_before_after"):
        template = json.loads((REPO / ".dvc" / "plots" / f"{name}.json").read_text())
        layers = template["layer"] if "layer" in template else template["spec"]["layer"]
        [reference] = [layer for layer in layers if "data" in layer]
        assert [(point["mdr"], point["fpr"]) for point in reference["data"]["values"]] == list(GOLDSTEIN_2015_POINTS)


@pytest.mark.slow
def test_every_declared_figure_draws_offline_in_show_and_diff(plots_repo: Path) -> None:
    declared = [next(iter(entry)) for entry in yaml.safe_load((REPO / "dvc.yaml").read_text())["plots"]]
    shown = json.loads(_dvc(["plots", "show", "--json"], cwd=plots_repo).stdout)
    assert "errors" not in shown
    assert list(shown["data"]) == declared

    _dvc(["plots", "show"], cwd=plots_repo)
    page = draw_offline(plots_repo / "dvc_plots" / "index.html", screenshot=os.environ.get("REALBOGUS_SCREENSHOT"))
    assert page.network_requests == [] and page.errors == []
    assert page.expected_vega_plots == len(declared) == len(page.plots)
    assert page.drawn == declared, page.plots

    # Two revisions overlaid figure by figure: every figure draws both.
    _git(["add", "-A"], cwd=plots_repo)
    _git(["commit", "-qm", "first"], cwd=plots_repo)
    _write_pipeline_outputs(plots_repo, seed=2)
    diffed = json.loads(_dvc(["plots", "diff", "HEAD", "--json"], cwd=plots_repo).stdout)
    assert "errors" not in diffed
    assert all(set(plot[0]["revisions"]) == {"HEAD", "workspace"} for plot in diffed["data"].values())
    _dvc(["plots", "diff", "HEAD"], cwd=plots_repo)
    page = draw_offline(plots_repo / "dvc_plots" / "index.html")
    assert page.network_requests == [] and page.errors == []
    assert page.drawn == declared, page.plots


def test_survey_plots_and_metrics_appear_only_once_the_survey_has_run(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(["init", "-q"], cwd=repo)
    shutil.copytree(REPO / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache", "config.local"))
    shutil.copy(REPO / ".dvcignore", repo / ".dvcignore")
    survey = yaml.safe_load((REPO / "survey" / "dvc.yaml").read_text())
    (repo / "survey").mkdir()
    (repo / "survey" / "dvc.yaml").write_text(yaml.safe_dump({"plots": survey["plots"], "metrics": survey["metrics"]}))
    # As in a fresh clone: the folders hold only the READMEs that keep them in git.
    for folder in ("figures", "headline"):
        (repo / "survey" / "reports" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "survey" / "reports" / folder / "README.md", repo / "survey" / "reports" / folder)

    before = json.loads(_dvc(["plots", "show", "--json"], cwd=repo).stdout)
    assert before == {}  # no plot, and no error
    metrics = _dvc(["metrics", "show"], cwd=repo)
    assert metrics.stdout == "" and metrics.stderr == ""  # no metrics, and no "failed to load"
    (repo / "survey" / "reports" / "headline" / "headline.json").write_text('{"finetune": {"auc": 0.97}}')
    assert "0.97" in _dvc(["metrics", "show"], cwd=repo).stdout
    plot_learning_curves(history={"loss": [0.5, 0.4]}, path=repo / "survey" / "reports" / "figures" / "roc_fpr_mdr.png")
    after = json.loads(_dvc(["plots", "show", "--json"], cwd=repo).stdout)
    assert "errors" not in after
    assert list(after["data"]) == ["survey/reports/figures/roc_fpr_mdr.png"]
    assert after["data"]["survey/reports/figures/roc_fpr_mdr.png"][0]["type"] == "image"
