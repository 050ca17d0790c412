"""The end-to-end tests start first, so that on several workers they do not end the run late."""

from __future__ import annotations

from dataclasses import dataclass

from run_order import run_order


@dataclass
class _Item:
    nodeid: str
    slow: bool

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "slow" and self.slow else None


def test_slow_pipeline_tests_then_other_slow_tests_then_the_rest_each_in_collection_order() -> None:
    collected = [
        _Item("tests/cnn/test_training.py::test_quick", slow=False),
        _Item("tests/cnn/test_backend.py::test_fresh_process", slow=True),
        _Item("tests/pipeline/test_experiments.py::test_queued", slow=True),
        _Item("tests/test_ids.py::test_ids", slow=False),
        _Item("tests/pipeline/test_pipeline_copy.py::test_copy", slow=False),
        _Item("tests/pipeline/test_repro.py::test_full_loop", slow=True),
        _Item("tests/test_tracking.py::test_server", slow=True),
    ]
    ordered = [item.nodeid.split("::")[1] for item in sorted(collected, key=run_order)]
    assert ordered == ["test_queued", "test_full_loop", "test_fresh_process", "test_server",
                       "test_quick", "test_ids", "test_copy"]
