"""The order the tests start in.

The suite runs on several workers (pytest-xdist, `make test`).  Its wall time is at least
that of its longest test, the whole pipeline under `dvc repro` (42 % of a
one-worker run's wall time), so the end-to-end tests start first, the pipeline's own before the others, and
the short ones fill the other workers around them.  Used as a stable sort key: the order
within each group is the collection order.
"""

from __future__ import annotations


def run_order(item) -> int:  # noqa: ANN001 (a pytest item)
    """Sort key of a collected test: 0 slow tests of the pipeline, 1 other slow tests, 2 the rest."""
    if item.get_closest_marker("slow") is None:
        return 2
    return 0 if "/pipeline/" in f"/{item.nodeid}" else 1
