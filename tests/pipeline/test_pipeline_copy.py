"""The pipeline tests' copy of the checkout leaves a developer's own DVC state behind."""

from __future__ import annotations

from pathlib import Path

from pipeline.conftest import copy_pipeline_files


def test_the_copy_leaves_config_local_cache_and_tmp_behind(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    for relative, text in {".dvc/config": "[core]\n", ".dvc/config.local": "['remote \"mine\"']\n  password = x\n",
                           ".dvc/.gitignore": "/config.local\n", ".dvc/cache/files/md5/ab/cd": "",
                           ".dvc/tmp/lock": "", "dvc.yaml": "stages: {}\n", "stages/split.py": "",
                           "src/realbogus/__init__.py": "", "survey/dvc.yaml": "stages: {}\n"}.items():
        (checkout / relative).parent.mkdir(parents=True, exist_ok=True)
        (checkout / relative).write_text(text)
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_pipeline_files(checkout, repo)
    copied = sorted(str(path.relative_to(repo)) for path in repo.rglob("*") if path.is_file())
    assert copied == [".dvc/.gitignore", ".dvc/config", "dvc.yaml", "src/realbogus/__init__.py", "stages/split.py",
                      "survey/dvc.yaml"]
