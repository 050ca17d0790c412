"""`realbogus labels log|diff` on a tiny git + DVC repository: every revision gets an answer
on one line, and each version's changes are counted against the one before it (the first
against the release's labels)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # real git and dvc repro in a temporary repository

PIPELINE = """\
stages:
  ingest:
    cmd: python make_outputs.py ingest
    deps: [release.csv]
    outs: [data/ingested]
  merge:
    cmd: python make_outputs.py merge
    deps: [decisions.csv]
    outs: [data/labels/labels.csv]
"""
# The stages copy the release's labels into an ingested catalog, and release labels with
# the decisions applied into a labels table, as the real ingest and merge stages do.
MAKE_OUTPUTS = """\
import sys
from pathlib import Path
import pandas as pd
release = pd.read_csv("release.csv")
if sys.argv[1] == "ingest":
    Path("data/ingested").mkdir(parents=True, exist_ok=True)
    release.assign(row=range(len(release))).to_parquet("data/ingested/catalog.parquet", index=False)
else:
    labels = release.set_index("id")["label"]
    for row in pd.read_csv("decisions.csv").itertuples():
        labels[row.id] = row.label
    Path("data/labels").mkdir(parents=True, exist_ok=True)
    labels.reset_index().to_csv("data/labels/labels.csv", index=False)
"""


def _run(args: list[str], *, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _commit(repo: Path, message: str) -> None:
    _run(["git", "add", "-A"], cwd=repo)
    _run(["git", "commit", "-qm", message], cwd=repo)


def _labels(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return _run(["realbogus", "labels", *args, "--repo", str(repo)], cwd=repo, check=False)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Commits: 'code' (no dvc.lock), 'ingest' (release only), 'v1' and 'v2' (label versions)."""
    repo = tmp_path_factory.mktemp("labels") / "repo"
    repo.mkdir()
    _run(["git", "init", "-q"], cwd=repo)
    _run(["git", "config", "user.email", "test@example.org"], cwd=repo)
    _run(["git", "config", "user.name", "test"], cwd=repo)
    _run(["dvc", "init", "-q"], cwd=repo)
    (repo / "dvc.yaml").write_text(PIPELINE)
    (repo / "make_outputs.py").write_text(MAKE_OUTPUTS)
    # The release: ids 10..19, labels 0,1 alternating.
    pd.DataFrame({"id": range(10, 20), "label": [0, 1] * 5}).to_csv(repo / "release.csv", index=False)
    (repo / "decisions.csv").write_text("id,label\n10,1\n12,1\n11,0\n")  # v1: 2 0->1, 1 1->0 vs the release
    _commit(repo, "code")
    _run(["dvc", "repro", "ingest"], cwd=repo)
    _commit(repo, "ingest")
    _run(["dvc", "repro", "merge"], cwd=repo)
    _commit(repo, "v1")
    _run(["git", "tag", "labels-v1"], cwd=repo)
    (repo / "decisions.csv").write_text("id,label\n10,1\n12,1\n14,1\n")  # v2 vs v1: 14 0->1, 11 back 0->1
    _run(["dvc", "repro", "merge"], cwd=repo)
    _commit(repo, "v2")
    return repo


def test_log_counts_each_version_against_the_previous_and_the_first_against_the_release(history: Path) -> None:
    result = _labels(history, "log")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [row[-1] for row in rows] == ["v2", "v1"]  # newest first
    v2, v1 = rows
    assert v1[3:6] == ["2", "1", "release"]
    v1_commit = v1[1]
    assert v2[3:6] == ["2", "0", v1_commit]
    assert "the first against the release's own labels" in result.stderr


def test_diff_between_versions_lists_the_changed_ids(history: Path) -> None:
    result = _labels(history, "diff", "labels-v1", "HEAD")
    assert result.returncode == 0, result.stderr
    changed = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert changed.to_dict("records") == [{"id": 11, "old_label": 0, "new_label": 1},
                                          {"id": 14, "old_label": 0, "new_label": 1}]
    assert "2 labels differ (2 0->1, 0 1->0)" in result.stderr


def test_a_revision_before_the_first_version_compares_the_release_labels(history: Path) -> None:
    result = _labels(history, "diff", "labels-v1~1", "labels-v1")
    assert result.returncode == 0, result.stderr
    assert "the release's labels (no label version yet)" in result.stderr
    assert sorted(pd.read_csv(pd.io.common.StringIO(result.stdout))["id"]) == [10, 11, 12]


@pytest.mark.parametrize(("old", "expected"), [
    ("labels-v1~2", "has no dvc.lock: no labels were committed there yet"),
    ("no-such-tag", "'no-such-tag' is not a commit, tag or branch"),
])
def test_a_revision_without_labels_is_one_line(history: Path, old: str, expected: str) -> None:
    result = _labels(history, "diff", old, "labels-v1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("realbogus labels diff: ") and expected in result.stderr


def test_labels_not_in_the_cache_are_one_line(history: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(history), str(clone)], cwd=tmp_path)
    result = _labels(clone, "diff", "labels-v1", "HEAD")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "cannot read data/labels/labels.csv as of commit" in result.stderr
    assert "not in this clone's DVC cache" in result.stderr and "dvc pull" in result.stderr
    log = _labels(clone, "log")
    assert log.returncode == 0 and [line.split()[3:5] for line in log.stdout.splitlines()[1:]] == [["?", "?"]] * 2


def test_outside_a_git_repository_is_one_line(tmp_path: Path) -> None:
    result = _labels(tmp_path, "log")
    assert result.returncode == 2
    assert result.stderr.strip() == f"realbogus labels log: {tmp_path} is not a git repository: label versions are commits of dvc.lock"
