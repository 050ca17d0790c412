"""Settings for the whole test session."""

from __future__ import annotations

import shutil
import tempfile

from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from run_order import run_order

_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="realbogus-hypothesis-")

# Property tests draw the same examples on every run and machine (a CI failure reproduces
# at a developer's desk, and a green run means the same thing twice), and keep no example
# database.  `pytest --hypothesis-profile=explore` searches afresh with random examples.
settings.register_profile("realbogus", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("realbogus")


def pytest_configure(config) -> None:  # noqa: ANN001 (pytest's signature)
    # Hypothesis keeps its example database and a cache of constants under .hypothesis/
    # in the current folder; a test run must write nothing into the working tree.
    set_hypothesis_home_dir(_HYPOTHESIS_HOME)


def pytest_unconfigure(config) -> None:  # noqa: ANN001
    shutil.rmtree(_HYPOTHESIS_HOME, ignore_errors=True)


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001 (pytest's signature)
    items.sort(key=run_order)
